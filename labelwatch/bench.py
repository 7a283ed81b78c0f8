"""``make bench``: throughput of the embedded stack, the detector alone, and the time per state.

Not a test: it prints numbers. Everything runs on the embedded stack with a model trained on
generated leaves, so the figures are comparable between machines and commits:

- the detector alone (the local model's predict, in-process), and DetectCustomLabels through the
  endpoint (HTTP, the S3 read, the model);
- images per second end to end (upload → S3 event → EventBridge → SQS → Pipe → Express
  workflow → result) at several Pipe batch sizes;
- the mean time per state of the workflow, from the execution histories, so the orchestration
  overhead next to the detector is visible.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

console = Console()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def timed(action: Callable[[], Any]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def state_durations(sfn: Any, state_machine_arn: str) -> dict[str, list[float]]:
    """Seconds spent in each state (entered → exited), over every execution of the state machine.

    Map iterations interleave in one history; entries and exits of a state are paired in order,
    which is exact for the means reported here.
    """
    durations: dict[str, list[float]] = defaultdict(list)
    executions = sfn.list_executions(stateMachineArn=state_machine_arn, maxResults=1000)["executions"]
    for execution in executions:
        events = sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)["events"]
        entered: dict[str, list[Any]] = defaultdict(list)
        for event in events:
            if "stateEnteredEventDetails" in event:
                entered[event["stateEnteredEventDetails"]["name"]].append(event["timestamp"])
            elif "stateExitedEventDetails" in event:
                name = event["stateExitedEventDetails"]["name"]
                if entered[name]:
                    start = entered[name].pop(0)
                    durations[name].append((event["timestamp"] - start).total_seconds())
    return durations


def prepare(workdir: Path, images: int, per_label: int, size: int):
    from labelwatch.demo.leaves import generate_dataset, incoming_batch
    from labelwatch.local.home import Home
    from labelwatch.model import ModelStore, train

    home = Home.resolve(workdir / "home")
    generate_dataset(workdir / "training", per_label, 5, "JPEG", size=size)
    trained = train(workdir / "training", ModelStore(home.models), project="bench", seed=0)
    batch = incoming_batch(workdir / "incoming", images, 6, size=size)
    return home, trained.arn, [path for path, _label in batch]


def bench_detector(home, arn: str, paths: list[Path]) -> dict[str, float]:
    from labelwatch.model import ModelStore

    model = ModelStore(home.models).load(arn)
    blobs = [path.read_bytes() for path in paths]
    model.predict(blobs[0])  # load the ONNX session
    times = [timed(lambda blob=blob: model.predict(blob)) for blob in blobs]
    return {"mean": statistics.mean(times), "p95": percentile(times, 0.95)}


def bench_end_to_end(home, arn: str, paths: list[Path], batch_size: int, timeout: float) -> dict[str, Any]:
    from labelwatch.cli.local_cmd import start_stack_model
    from labelwatch.demo.outcomes_wait import wait_for_outcomes
    from labelwatch.local.model_source import StoreModelSource
    from labelwatch.local.server import LocalStack

    stack = LocalStack(
        home,
        context={"modelArn": arn, "batchSize": batch_size},
        model_source=StoreModelSource(home.models),
    ).start()
    try:
        start_stack_model(stack)
        s3 = stack.client("s3")
        bucket = stack.outputs["InputBucketName"]
        # DetectCustomLabels through the endpoint: HTTP + the S3 read + the model
        s3.put_object(Bucket=bucket, Key="probe/warm.jpg", Body=paths[0].read_bytes())
        api = [
            timed(
                lambda: stack.client("rekognition").detect_custom_labels(
                    ProjectVersionArn=arn, Image={"S3Object": {"Bucket": bucket, "Name": "probe/warm.jpg"}}
                )
            )
            for _ in range(10)
        ]
        wait_for_outcomes(stack.client, stack.outputs, {"probe/warm.jpg"}, timeout=timeout)
        batches_before = len(stack.pipe.batches)
        keys = {f"bench/{path.parent.name}/{path.name}" for path in paths}
        started = time.perf_counter()
        for path in paths:
            s3.put_object(Bucket=bucket, Key=f"bench/{path.parent.name}/{path.name}", Body=path.read_bytes())
        uploaded = time.perf_counter() - started
        outcomes = wait_for_outcomes(stack.client, stack.outputs, keys, timeout=timeout, interval=0.1)
        elapsed = time.perf_counter() - started
        durations = state_durations(stack.client("stepfunctions"), stack.outputs["StateMachineArn"])
        batches = stack.pipe.batches[batches_before:]
        return {
            "batch_size": batch_size,
            "images": len(keys),
            "done": len(outcomes),
            "seconds": elapsed,
            "upload_seconds": uploaded,
            "executions": len(batches),
            "api_mean": statistics.mean(api),
            "states": durations,
        }
    finally:
        stack.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=60, help="images per end-to-end run")
    parser.add_argument("--batch-sizes", default="1,5,10", help="Pipe batch sizes to compare")
    parser.add_argument("--per-label", type=int, default=20, help="training images per label")
    parser.add_argument("--size", type=int, default=256, help="image size in pixels")
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args(argv)
    sizes = [int(item) for item in args.batch_sizes.split(",")]

    with tempfile.TemporaryDirectory(prefix="labelwatch-bench-") as scratch:
        with console.status("generating images and training the model…"):
            home, arn, paths = prepare(Path(scratch), args.images, args.per_label, args.size)
        detector = bench_detector(home, arn, paths)
        runs = []
        for batch_size in sizes:
            with console.status(f"end to end, batch size {batch_size}…"):
                runs.append(bench_end_to_end(home, arn, paths, batch_size, args.timeout))

    console.print(f"[bold]labelwatch benchmark[/] — {args.images} images of {args.size} px per run")
    console.print(
        f"detector alone (local model predict): mean {detector['mean'] * 1000:.1f} ms, "
        f"p95 {detector['p95'] * 1000:.1f} ms, {1 / detector['mean']:.0f} images/s"
    )
    console.print(
        f"DetectCustomLabels through the endpoint (HTTP + S3 read + model): "
        f"mean {statistics.mean(run['api_mean'] for run in runs) * 1000:.1f} ms"
    )
    table = Table(title="end to end: upload → result", title_justify="left")
    for column in ("batch", "images", "outcomes", "executions", "seconds", "images/s", "ms/image"):
        table.add_column(column, justify="right")
    for run in runs:
        table.add_row(
            str(run["batch_size"]),
            str(run["images"]),
            str(run["done"]),
            str(run["executions"]),
            f"{run['seconds']:.1f}",
            f"{run['images'] / run['seconds']:.1f}",
            f"{run['seconds'] / run['images'] * 1000:.0f}",
        )
    console.print(table)
    last = runs[-1]
    states = Table(
        title=f"time per state (batch size {last['batch_size']}, all executions)", title_justify="left"
    )
    for column in ("state", "entries", "mean ms", "p95 ms", "max ms"):
        states.add_column(column, justify="left" if column == "state" else "right")
    for name, values in sorted(last["states"].items(), key=lambda item: -statistics.mean(item[1])):
        states.add_row(
            name,
            str(len(values)),
            f"{statistics.mean(values) * 1000:.0f}",
            f"{percentile(values, 0.95) * 1000:.0f}",
            f"{max(values) * 1000:.0f}",
        )
    console.print(states)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    console.print(f"peak memory (RSS) of the benchmark process: {peak:.0f} MB")


if __name__ == "__main__":
    main()
