"""``make bench-autopilot``: a bursty day on the twin with the model autopilot on, time compressed.

Not a test: a report. A model is trained on generated leaves; the stack runs with cdk.json's
parameters (``modelControl`` on-demand, ``modelIdleMinutes`` 10) and the model stopped. The day
starts at 00:00 on the twin's clock, which runs ``--scale`` times faster than real time (60: an
autopilot minute lasts a second). Between bursts, with the model STOPPED and the queue empty,
the clock skips to the next burst (nothing runs then; the skip is printed). At each burst
``--images`` photos are uploaded; the run waits until each has its outcome and the autopilot has
stopped the Pipe and the model again.

The model's start takes ``--start-minutes`` of twin time (AWS: 10-30 minutes); processing runs at
the twin's real speed, so at a higher scale it counts for more of the day than it would on AWS.

The last line is ``autopilot: N images, lost L, duplicate alerts D, model running P% of the day,
first alert after S s (median over bursts)``, P from the stand-in's meter (inference-unit seconds
from each start call until STOPPED, over one unit for 24 h), S in twin seconds from a burst's
first upload. Exit status 1 if an image was lost (no outcome, or more than one) or alerted twice.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

DAY = 86_400.0
BOUND_SECONDS = 600.0  # generous: a condition not met in this long is a failure, not slowness


@dataclass
class Burst:
    at: float  # twin seconds after midnight
    images: int
    uploaded_at: float = 0.0
    first_alert_at: float | None = None
    keys: set[str] = field(default_factory=set)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m labelwatch.bench_autopilot", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--bursts", default="08:00,17:00", help="burst times of the day, HH:MM [08:00,17:00]")
    parser.add_argument("--images", type=int, default=200, help="photos per burst [200]")
    parser.add_argument("--scale", type=float, default=60.0, help="twin seconds per real second [60]")
    parser.add_argument("--start-minutes", type=float, default=10.0, help="a model start, twin minutes [10]")
    parser.add_argument("--size", type=int, default=160, help="photo side, px [160]")
    args = parser.parse_args(argv)
    if args.images < 1 or args.scale <= 0 or args.start_minutes < 0:
        parser.error("--images must be at least 1, --scale above 0, --start-minutes not negative")
    return args


def burst_times(text: str) -> list[float]:
    times = []
    for part in text.split(","):
        hours, _, minutes = part.strip().partition(":")
        if not (hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60):
            raise SystemExit(f"--bursts: {part.strip()!r} is not a time of day HH:MM")
        times.append(int(hours) * 3600 + int(minutes) * 60)
    return sorted(times)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    bursts = [Burst(at, args.images) for at in burst_times(args.bursts)]
    with tempfile.TemporaryDirectory(prefix="labelwatch-bench-autopilot-") as scratch:
        return run(Path(scratch), bursts, args)


def run(workdir: Path, bursts: list[Burst], args: argparse.Namespace) -> int:
    from labelwatch.demo.leaves import generate_dataset, incoming_batch
    from labelwatch.demo.outcomes_wait import wait_for_outcomes
    from labelwatch.local.home import Home
    from labelwatch.local.model_source import StoreModelSource
    from labelwatch.local.server import LocalStack, wait_for
    from labelwatch.model import ModelStore, train
    from labelwatch.uploads import plan_uploads, upload_all

    home = Home.resolve(workdir / "home")
    print("training the model on generated leaves…", flush=True)
    generate_dataset(workdir / "training", 12, 5, "JPEG", size=args.size)
    arn = train(workdir / "training", ModelStore(home.models), project="bench-autopilot", seed=0).arn
    midnight = datetime(2027, 1, 15, tzinfo=UTC).timestamp()
    alerts: list[tuple[float, str, str]] = []  # (twin time, recipient, subject)
    lock = threading.Lock()
    stack = LocalStack(
        home,
        context={"modelArn": arn},  # cdk.json's parameters: modelControl on-demand
        model_source=StoreModelSource(home.models),
        model_start_seconds=args.start_minutes * 60 / args.scale,
        time_scale=args.scale,
        time_start=midnight,
    )

    def on_mail(mail) -> None:
        with lock:
            alerts.append((stack.clock.now(), mail.recipient, mail.subject))

    stack.on_mail = on_mail
    stack.start()
    print(f"stack up: modelControl {stack.outputs.get('ModelControl')}; {stack.clock.describe()}", flush=True)
    outcomes_all: dict[str, list] = {}
    try:
        for number, burst in enumerate(bursts, 1):
            quiet = (midnight + burst.at) - stack.clock.now()
            if quiet > 0:
                assert stack.emulator.models.status(arn) in ("STOPPED", "TRAINING_COMPLETED"), (
                    "skips only while stopped"
                )
                stack.clock.skip(quiet)
                print(f"skipped {quiet / 3600:.2f} h of quiet time (model stopped, queue empty)", flush=True)
            photos = incoming_batch(workdir / f"burst-{number}", burst.images, 100 + number, size=args.size)
            uploads = plan_uploads([workdir / f"burst-{number}"], prefix=f"burst-{number}")
            burst.keys = {upload.key for upload in uploads}
            burst.uploaded_at = stack.clock.now()
            upload_all(stack.client("s3"), stack.outputs["InputBucketName"], uploads)
            found = wait_for_outcomes(stack.client, stack.outputs, burst.keys, timeout=BOUND_SECONDS)
            outcomes_all.update(found)
            stopped = wait_for(
                lambda: stack.emulator.models.status(arn) == "STOPPED", timeout=BOUND_SECONDS, interval=0.2
            )
            with lock:
                first = [
                    at
                    for at, _to, subject in alerts
                    if at >= burst.uploaded_at and f" burst-{number}/" in subject
                ]
            burst.first_alert_at = min(first) if first else None
            took = (stack.clock.now() - burst.uploaded_at) / 60
            clock_time = f"{int(burst.at // 3600):02d}:{int(burst.at % 3600 // 60):02d}"
            after = "stopped again" if stopped else "NOT stopped"
            print(
                f"burst {number} at {clock_time}: {len(photos)} photos, {len(found)} with an outcome; "
                f"model {after} {took:.1f} twin minutes later",
                flush=True,
            )
        end = midnight + DAY - stack.clock.now()
        if end > 0 and stack.emulator.models.status(arn) == "STOPPED":
            stack.clock.skip(end)
        metered = sum(entry["unitSeconds"] for entry in stack.emulator.models.usage())
    finally:
        stack.stop()

    images = sum(len(burst.keys) for burst in bursts)
    lost = sum(1 for burst in bursts for key in burst.keys if len(outcomes_all.get(key, [])) != 1)
    per_alert = Counter((to, subject) for _at, to, subject in alerts)
    duplicates = sum(count - 1 for count in per_alert.values() if count > 1)
    latencies = [
        burst.first_alert_at - burst.uploaded_at for burst in bursts if burst.first_alert_at is not None
    ]
    median = statistics.median(latencies) if latencies else float("nan")
    running = metered / DAY * 100
    print(
        f"alerts sent: {len(alerts)}; model metered {metered / 3600:.2f} inference-unit hours of twin time "
        f"({stack.clock.describe()}; a model start takes {args.start_minutes:g} twin minutes)"
    )
    print(
        f"autopilot: {images} images, lost {lost}, duplicate alerts {duplicates}, model running "
        f"{running:.1f}% of the day, first alert after {median:.0f} s (median over bursts)"
    )
    return 1 if lost or duplicates else 0


if __name__ == "__main__":
    sys.exit(main())
