"""``labelwatch upload PATH…``: files and folders into the input bucket, with a progress bar."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer

from labelwatch.cli.console import console, progress
from labelwatch.cli.errors import BAD_INPUT, INCOMPLETE, CliError
from labelwatch.uploads import missing_paths, normalised_prefix, plan_uploads, upload_all


def outcome_counts(client, outputs) -> Counter[str]:
    """Outcomes recorded so far per key (a key uploaded again gets one more)."""
    from labelwatch.outcomes import collect_outcomes

    return Counter({key: len(found) for key, found in collect_outcomes(client, outputs).items()})


def summarise(outcomes) -> str:
    """'9 ok (3 alerted), 2 rejected (1 not-an-image, 1 too-small), 1 failed'."""
    from labelwatch.outcomes import FAILED, OK, REJECTED, UNDELIVERED

    kinds = Counter(outcome.kind for outcome in outcomes)
    alerted = sum(1 for outcome in outcomes if outcome.kind == OK and outcome.detail == "alert")
    reasons = Counter(outcome.detail for outcome in outcomes if outcome.kind == REJECTED)
    parts = []
    if kinds[OK]:
        parts.append(f"{kinds[OK]} ok ({alerted} alerted)")
    if kinds[REJECTED]:
        detail = ", ".join(f"{n} {reason}" for reason, n in reasons.most_common())
        parts.append(f"{kinds[REJECTED]} rejected ({detail})")
    if kinds[FAILED]:
        parts.append(f"{kinds[FAILED]} failed (see `labelwatch dlq list`)")
    if kinds[UNDELIVERED]:
        parts.append(f"{kinds[UNDELIVERED]} undelivered (see `labelwatch dlq list`)")
    return ", ".join(parts) or "no outcome"


def register(app: typer.Typer) -> None:
    @app.command(short_help="Upload images to the input bucket.")
    def upload(
        ctx: typer.Context,
        paths: Annotated[list[Path], typer.Argument(metavar="PATH", help="Image files or folders")],
        prefix: Annotated[str, typer.Option(metavar="PREFIX", help="Key prefix in the input bucket")] = "",
        wait: Annotated[
            bool, typer.Option(help="Wait until every image has its outcome, then summarise (exit 5 if not)")
        ] = False,
        timeout: Annotated[float, typer.Option(min=1, metavar="SECONDS", help="How long --wait waits")] = 600,
    ) -> None:
        """Upload images to the input bucket (local stack, or deployed with --profile).

        Folders are uploaded recursively, keyed by the folder's name; hidden files are skipped and a
        file given twice is uploaded once."""
        missing = missing_paths(paths)
        if missing:
            raise CliError(f"{missing[0]}: no such file or folder", BAD_INPUT)
        target = ctx.obj.target()  # before walking the folders: with no stack, say so at once
        try:
            uploads = plan_uploads(paths, prefix)
        except FileNotFoundError as error:  # removed while walking
            raise CliError(str(error), BAD_INPUT) from None
        if not uploads:
            raise CliError("nothing to upload: the folders hold no files", BAD_INPUT)
        bucket = target.output("InputBucketName")
        before = outcome_counts(target.client, target.outputs) if wait else Counter()
        with progress() as bar:
            task = bar.add_task("uploading", total=len(uploads))
            upload_all(target.client("s3"), bucket, uploads, on_done=lambda _u: bar.advance(task))
        size = sum(u.size for u in uploads)
        console.print(
            f"uploaded {len(uploads)} file(s), {size / 1e6:.1f} MB, to "
            f"s3://{bucket}/{normalised_prefix(prefix)} ({target.description})",
            highlight=False,
        )
        if not wait:
            console.print("follow them with `labelwatch results` (or upload with --wait)")
            return
        _wait_for(target, [u.key for u in uploads], before, timeout)


def _wait_for(target, keys: list[str], before: Counter[str], timeout: float) -> None:
    """Until each uploaded key has one outcome more than before the upload (or time runs out)."""
    import time

    from labelwatch.outcomes import collect_outcomes

    wanted = Counter(keys)
    deadline = time.monotonic() + timeout
    with progress() as bar:
        task = bar.add_task("processed", total=len(keys))
        while True:
            found = collect_outcomes(target.client, target.outputs)
            new = {key: found.get(key, [])[before[key] :] for key in wanted}
            done = sum(min(len(new[key]), n) for key, n in wanted.items())
            bar.update(task, completed=done)
            if done >= len(keys) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    outcomes = [outcome for key, n in wanted.items() for outcome in new[key][:n]]
    console.print(f"outcomes: {summarise(outcomes)}", highlight=False)
    missing = [key for key, n in wanted.items() if len(new[key]) < n]
    if missing:
        raise CliError(
            f"{len(missing)} image(s) had no outcome within {timeout:g} s: " + ", ".join(missing[:5]),
            INCOMPLETE,
            hint="`labelwatch local status` says why images wait (a stopped model keeps them queued)",
        )
