"""``labelwatch demo``: the whole system on this machine, from generated photos to a report."""

from __future__ import annotations

import contextlib
import json
import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path

from rich.rule import Rule

from labelwatch.cli.analytics_cmd import render_rows, run_query, write_dashboard
from labelwatch.cli.console import console, print_table, progress, table
from labelwatch.cli.errors import INCOMPLETE, CliError
from labelwatch.cli.local_cmd import start_local_stack, start_stack_model
from labelwatch.cli.model_cmd import render_training, train_model
from labelwatch.cli.target import LOCAL, Target
from labelwatch.local.home import Home
from labelwatch.local.outbox import Mail

PROJECT = "plant-leaves"
DEMO_MINUTE_SECONDS = 1.0  # an autopilot minute lasts a second: the demo shows the autopilot at work


def autopilot_line(stack) -> str:
    """What the autopilot did, and the model's metered time, in the stack's (compressed) time."""
    if stack.scheduler is None:
        return f"model: modelControl {stack.outputs.get('ModelControl', 'manual')}, started by hand"
    reasons = [run.payload["reason"] for run in stack.scheduler.runs if isinstance(run.payload, dict)]
    started = sum(1 for reason in reasons if reason.endswith("starting it"))
    metered = sum(entry["unitSeconds"] for entry in stack.emulator.models.usage())
    return (
        f"model autopilot: {len(reasons)} decisions, {started} model start(s); the model has run "
        f"{metered / 60:.1f} inference-unit minutes so far ({stack.clock.describe()})"
    )


def _step(text: str) -> None:
    console.print(Rule(f"[bold]{text}", align="left"))


def opened(url: str) -> tuple[int, str, int]:
    """(status, content type, bytes) of a GET of ``url``, its redirect followed."""
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.headers.get("Content-Type", ""), len(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), 0


def show_one_alerts_links(mails: list[Mail]) -> bool:
    """Open the first alert's links, as a reader would, and print them with what they gave; False
    only when they did not open."""
    links = mails[0].links if mails else []
    if len(links) < 2:
        console.print("no alert with links to open", highlight=False)
        return True
    photo, page = links[:2]
    photo_answer, page_answer = opened(photo), opened(page)
    ok = (
        photo_answer[0] == 200
        and photo_answer[1].startswith("image/")
        and page_answer[0] == 200
        and page_answer[1].startswith("text/html")
    )
    verdict = (
        f"checked: the photo opens as {photo_answer[1]} ({photo_answer[2]:,} bytes), its page as "
        f"{page_answer[1].split(';')[0]}"
        if ok
        else f"[red]refused: {photo_answer[0]} and {page_answer[0]}[/]"
    )
    console.print(f"one alert's links ({verdict}):", highlight=False)
    console.print(f"  photo: {photo}", soft_wrap=True, highlight=False)  # a link is never cut
    console.print(f"  page:  {page}", soft_wrap=True, highlight=False)
    return ok


def wait_until_interrupted() -> None:
    with contextlib.suppress(KeyboardInterrupt):
        while True:
            time.sleep(3600)


def run_demo(
    home: Home,
    *,
    images: int,
    per_label: int,
    size: int,
    seed: int,
    timeout: float,
    keep_up: bool = False,
) -> None:
    from labelwatch.analytics.named_queries import named_query
    from labelwatch.demo.leaves import generate_dataset, incoming_batch
    from labelwatch.demo.outcomes_wait import score, wait_for_outcomes
    from labelwatch.uploads import plan_uploads, upload_all

    started = time.monotonic()
    workdir = home.demo
    shutil.rmtree(workdir, ignore_errors=True)

    _step("1/6  Generate synthetic plant-leaf photos")
    with console.status("drawing leaves…"):
        generate_dataset(workdir / "training", per_label, seed, "JPEG", size=size)
        incoming_root = workdir / "incoming"
        batch = incoming_batch(incoming_root, images, seed + 1, size=size)
    console.print(
        f"training set: {workdir / 'training'} ({per_label} per label); "
        f"{len(batch)} incoming photos in {incoming_root}",
        highlight=False,
    )

    _step("2/6  Train the model (pretrained features + classifier, held-out test split)")
    result = train_model(home.models, workdir / "training", project=PROJECT, test_fraction=0.2, seed=seed)
    console.print(render_training(result))

    _step("3/6  Start the embedded stack (the autopilot starts the model)")
    mails: list[Mail] = []
    with console.status("synthesizing the CDK app and creating its resources…"):
        stack = start_local_stack(
            home,
            port=0,
            model_arn=result.arn,
            context={},
            on_mail=mails.append,
            minute_seconds=DEMO_MINUTE_SECONDS,
        )
    try:
        if stack.outputs.get("ModelControl") == "manual":
            start_stack_model(stack)
        console.print(
            f"endpoint {stack.endpoint}; model {result.version_name}: "
            f"{stack.emulator.models.status(result.arn)}; modelControl {stack.outputs.get('ModelControl')} "
            f"({stack.clock.describe()})",
            highlight=False,
        )
        target = Target(
            LOCAL,
            stack.outputs,
            stack.client,
            f"local stack at {stack.endpoint}",
            model_arn=result.arn,
            home=home,
        )

        _step(f"4/6  Upload {len(batch)} photos and wait for every outcome")
        uploads = plan_uploads([incoming_root])
        truth = {
            upload.key: label
            for upload, (_path, label) in zip(uploads, _by_path(batch, uploads), strict=True)
        }
        with progress() as bar:
            sent = bar.add_task("uploading", total=len(uploads))
            upload_all(
                stack.client("s3"),
                stack.outputs["InputBucketName"],
                uploads,
                on_done=lambda _u: bar.advance(sent),
            )
            done = bar.add_task("processed", total=len(uploads))
            outcomes = wait_for_outcomes(
                stack.client,
                stack.outputs,
                set(truth),
                timeout=timeout,
                on_progress=lambda n: bar.update(done, completed=n),
            )
        missing = sorted(set(truth) - set(outcomes))
        kinds: dict[str, int] = {}
        for found in outcomes.values():
            for outcome in found:
                kinds[outcome.kind] = kinds.get(outcome.kind, 0) + 1
        console.print(
            "outcomes: " + ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())), highlight=False
        )
        console.print(autopilot_line(stack), highlight=False)

        _step("5/6  What happened")
        time.sleep(0.2)  # the last alert e-mails are written just after their result
        rows = [(mail.recipient, mail.subject) for mail in mails[:15]]
        if len(mails) > 15:
            rows.append(("…", f"{len(mails) - 15} more in the outbox"))
        print_table(
            table(["to", "subject"], rows, title=f"{len(mails)} alert e-mails sent (outbox: {home.outbox})")
        )
        links_open = show_one_alerts_links(mails)
        label_counts = named_query("label_counts")
        answer = run_query(target, label_counts.sql)
        render_rows(answer.columns, answer.rows, title="label mix: labelwatch query --named label_counts")
        accuracy = score(truth, outcomes)
        min_confidence = min(json.loads(stack.stack.detect_environment()["LABEL_RULES"]).values())
        per_label = ", ".join(
            f"{label} {hit}/{total}" for label, (hit, total) in accuracy.per_label().items()
        )
        unlabelled = sum(n for (_truth, predicted), n in accuracy.confusion.items() if predicted == "(none)")
        console.print(
            f"model accuracy on the incoming photos: [bold]{accuracy.correct}/{accuracy.total} "
            f"({accuracy.ratio:.1%})[/]  ({per_label}); {unlabelled} got no label at or above the "
            f"stack's {min_confidence:g} % floor, {accuracy.total - accuracy.correct - unlabelled} "
            "a wrong one",
            highlight=False,
        )

        _step("6/6  Report")
        report = write_dashboard(target, home.reports / "demo-report.html")
        if keep_up:
            console.print(
                f"The stack keeps serving at {stack.endpoint}: the alerts' links in {home.outbox} "
                "open while it runs. Ctrl-C stops it.",
                soft_wrap=True,
                highlight=False,
            )
            wait_until_interrupted()
    finally:
        with console.status("stopping the embedded stack…"):
            stack.stop()
    console.print(
        f"HTML report: [bold]{report}[/]\noutbox:      [bold]{home.outbox}[/] (.eml files)\n"
        f"logs:        {home.logs}\n"
        f"demo finished in {time.monotonic() - started:.0f} s; nothing is left running"
        + ("" if keep_up else " (`labelwatch demo --keep-up` keeps the stack up, so the alerts' links open)")
        + ".\n"
        "The results stay readable offline: `labelwatch results`, `labelwatch query --named "
        "label_counts`, `labelwatch alerts`, `labelwatch report`.",
        highlight=False,
    )
    if not links_open:
        raise CliError("the alerts' links did not open the image and its page", INCOMPLETE)
    if missing:
        raise CliError(
            f"{len(missing)} image(s) had no outcome within {timeout:.0f} s: " + ", ".join(missing[:5]),
            INCOMPLETE,
        )


def _by_path(batch: list[tuple[Path, str]], uploads) -> list[tuple[Path, str]]:
    """The generator's (path, label) pairs in the order of the planned uploads."""
    labels = {path.resolve(): label for path, label in batch}
    return [(upload.path, labels[upload.path.resolve()]) for upload in uploads]
