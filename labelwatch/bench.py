"""``make bench``: throughput of the embedded stack, the detector alone, and the time per state.

Not a test: it prints numbers. Everything runs on the embedded stack with a model trained on
generated leaves, so the figures are comparable between machines and commits:

- the detector alone (the local model's predict, in-process), and DetectCustomLabels through the
  endpoint (HTTP, the S3 read, the model);
- images per second end to end (upload → S3 event → EventBridge → SQS → Pipe → Express
  workflow → result) at several Pipe batch sizes, after a warm-up round (steady state: warm
  execution environments, as a busy deployment has them);
- the mean time per state of the workflow, from the execution histories, so the orchestration
  overhead next to the detector is visible;
- the detect function's Init Duration (the import of its handler in a fresh process, as Lambda's
  REPORT line counts it) and the authorizer's cost per checked call, when the twin has one;
- the detect function's peak memory on the worst image it accepts of every decoded mode
  (``labelwatch.bench_memory``), against 60 % of its 1024 MB.

moto's Step Functions interpreter builds a boto3 client per task; the run shares them
(``labelwatch.local.sfn_clients``) unless the twin already does.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from labelwatch import bench_memory

console = Console(width=None if sys.stdout.isatty() else 120)

FUNCTIONS_DIR = Path(__file__).resolve().parents[1] / "functions"
DETECT_HANDLER = "detect.handler"
# What Lambda sets before the handler module is imported (Powertools reads LAMBDA_TASK_ROOT to
# tell Lambda from a laptop; _X_AMZN_TRACE_ID is set per invocation, not during Init).
LAMBDA_INIT_ENV = {
    "LAMBDA_TASK_ROOT": str(FUNCTIONS_DIR),
    "AWS_LAMBDA_FUNCTION_NAME": "labelwatch-detect",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
    "AWS_REGION": "us-east-1",
    "POWERTOOLS_SERVICE_NAME": "labelwatch",
}
POLL_SECONDS = 0.5  # how often the measured round's uploader looks for outcomes (see completion_seconds)
_IMPORT_PROBE = """
import sys, time
sys.path.insert(0, sys.argv[1])
started = time.perf_counter()
__import__(sys.argv[2])
print((time.perf_counter() - started) * 1000)
"""


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


def measure_import_ms(
    module: str = DETECT_HANDLER, *, runs: int = 7, path: Path = FUNCTIONS_DIR
) -> list[float]:
    """Milliseconds to import ``module`` in a fresh interpreter, once per run, with Lambda's Init env."""
    env = {**os.environ, **LAMBDA_INIT_ENV, "PYTHONDONTWRITEBYTECODE": "1"}
    for name in ("_X_AMZN_TRACE_ID", "AWS_ENDPOINT_URL", "PYTHONPATH"):
        env.pop(name, None)
    return [
        float(
            subprocess.run(
                [sys.executable, "-c", _IMPORT_PROBE, str(path), module],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            ).stdout.split()[-1]
        )
        for _ in range(runs)
    ]


def reported_init_ms(stack: Any, function: str = "detect") -> list[float] | None:
    """Init Durations the twin's Lambda runtime reported (its REPORT lines), if it runs one.

    ``stack.emulator.functions.stats()`` → {function name: FunctionStats(init_durations_ms=...)};
    the first function whose name contains ``function`` and that had a cold start counts.
    """
    functions = getattr(getattr(stack, "emulator", None), "functions", None)
    stats = getattr(functions, "stats", None)
    if not callable(stats):
        return None
    for name, counters in stats().items():
        values = getattr(counters, "init_durations_ms", ())
        if function in name.lower() and values:
            return [float(value) for value in values]
    return None


def authorizer_stats(stack: Any) -> dict[str, float] | None:
    """The twin's authorizer's cost: {"mean_us": per check, "checks": n, "request_us": per request}.

    From ``stack.emulator.authorizer.stats()`` (``mean_us_per_check``, ``checks``) and, if the
    Emulator offers it, ``request_stats()`` (``mean_us_per_request``: classification included).
    None when the twin has no authorizer.
    """
    emulator = getattr(stack, "emulator", None)
    authorizer = getattr(stack, "authorizer", None) or getattr(emulator, "authorizer", None)
    stats = getattr(authorizer, "stats", None)
    if not callable(stats):
        return None
    checks = stats()
    result = {"mean_us": checks.get("mean_us_per_check"), "checks": checks.get("checks")}
    requests = getattr(emulator, "request_stats", None)
    if callable(requests):
        result["request_us"] = requests().get("mean_us_per_request")
    return result if result["mean_us"] is not None else None


@contextlib.contextmanager
def shared_task_clients(host: str = "localhost") -> Iterator[dict[str, Any]]:
    """moto's interpreter with one client per service and its parse caches (``sfn_clients``).

    Yields {"owner", "clients"} for the report. What the twin (the Emulator) already applied is
    reported as the twin's and not applied a second time.
    """
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

    from labelwatch.local import sfn_clients
    from labelwatch.local.patching import PatchSet

    current = lambda_eval_utils.boto_client_for
    patch_set = PatchSet()
    if sfn_clients.is_task_clients(current):
        owner, clients = "twin", current.__self__
    else:
        owner, clients = "bench", sfn_clients.TaskClients(host=host)
        patch_set.add(sfn_clients.client_patches(clients))
    caches = "twin" if sfn_clients.parse_caches_applied() else "bench"
    if caches == "bench":
        patch_set.add(sfn_clients.parse_cache_patches())
    patch_set.apply()
    try:
        yield {"owner": owner, "clients": clients, "parse_caches": caches}
    finally:
        patch_set.restore()
        if owner == "bench":
            clients.clear()


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


def bench_end_to_end(
    home, arn: str, paths: list[Path], batch_size: int, timeout: float, share_clients: bool = True
) -> dict[str, Any]:
    from labelwatch.local.model_source import StoreModelSource
    from labelwatch.local.server import LocalStack

    stack = LocalStack(
        home,
        # the model runs throughout (started below): throughput, not the autopilot (bench_autopilot.py)
        context={"modelArn": arn, "batchSize": batch_size, "modelControl": "manual"},
        model_source=StoreModelSource(home.models),
    ).start()
    host = urllib.parse.urlsplit(stack.endpoint).hostname or "localhost"  # the address the server is bound to
    task_clients = shared_task_clients(host) if share_clients else contextlib.nullcontext({"owner": "none"})
    try:
        with task_clients as sharing:
            return _run_end_to_end(stack, arn, paths, batch_size, timeout) | {
                "task_clients": sharing.get("owner"),
                "parse_caches": sharing.get("parse_caches"),
                "task_client_stats": sharing["clients"].stats() if "clients" in sharing else None,
                "authorizer": authorizer_stats(stack),
                "init_reported": reported_init_ms(stack),
            }
    finally:
        stack.stop()


def _run_end_to_end(stack, arn: str, paths: list[Path], batch_size: int, timeout: float) -> dict[str, Any]:
    from labelwatch.cli.local_cmd import start_stack_model
    from labelwatch.demo.outcomes_wait import wait_for_outcomes

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
    # Steady state: one round of uploads (two batches per Pipe poller) first, so the run measures
    # warm execution environments as a busy deployment has them; cold starts are reported apart.
    warm = [f"warm-up/{index}/{path.name}" for index, path in enumerate(paths[: batch_size * 2 * 2])]
    for key, path in zip(warm, paths, strict=False):
        s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())
    wait_for_outcomes(stack.client, stack.outputs, set(warm), timeout=timeout, interval=0.1)
    batches_before = len(stack.pipe.batches)
    uploads = [(f"bench/{path.parent.name}/{path.name}", str(path)) for path in paths]
    # The measured round runs in a process of its own, as a user's uploader does: its boto3 work
    # (signing, parsing, polling the results) does not take the twin's processor (one GIL).
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        pool.submit(time.sleep, 0).result()  # the child is up before the clock starts
        before = os.times()
        measured = pool.submit(
            upload_and_wait, stack.endpoint, stack.region, stack.outputs, uploads, timeout
        ).result(timeout + 60)
        after = os.times()
    # the twin's own processor time (all its threads; not the Lambda workers), for the report
    measured["twin_cpu_seconds"] = (after.user - before.user) + (after.system - before.system)
    sfn = stack.client("stepfunctions")
    durations = state_durations(sfn, stack.outputs["StateMachineArn"])
    batches = stack.pipe.batches[batches_before:]
    measured["seconds"] = completion_seconds(sfn, batches, measured)
    return {
        "batch_size": batch_size,
        "images": len(uploads),
        **measured,
        "executions": len(batches),
        "api_mean": statistics.mean(api),
        "states": durations,
    }


def completion_seconds(sfn: Any, batches: list[Any], measured: dict[str, float]) -> float:
    """Seconds from the first upload to the end of the last execution that carried a measured image.

    The uploader's wait polls the results bucket (every ``POLL_SECONDS``, reading each new result
    object), so the moment it sees the last outcome is late by up to a poll and its reads; the
    executions' stop dates are exact (one clock: the twin and the uploader share the machine). The
    polled figure is the fallback when no execution ended later than the uploads began.
    """
    stops = [
        sfn.describe_execution(executionArn=batch.execution_arn)["stopDate"].timestamp()
        for batch in batches
        if batch.execution_arn
    ]
    last = max(stops, default=0.0) - measured["started_at"]
    return last if 0 < last <= measured["polled_seconds"] else measured["polled_seconds"]


def upload_and_wait(
    endpoint: str, region: str, outputs: dict[str, str], uploads: list[tuple[str, str]], timeout: float
) -> dict[str, float]:
    """Upload each (key, file) to the input bucket, then wait until every key has its outcome.

    Runs in a child process: ``started_at`` is the first upload's wall-clock time, ``polled_seconds``
    from it until the wait saw the last outcome.
    """
    from labelwatch.demo.outcomes_wait import wait_for_outcomes
    from labelwatch.local.endpoint import endpoint_clients

    client = endpoint_clients(endpoint, region)
    s3 = client("s3")
    bucket = outputs["InputBucketName"]
    bodies = [(key, Path(path).read_bytes()) for key, path in uploads]
    started_at, started = time.time(), time.perf_counter()
    for key, body in bodies:
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    uploaded = time.perf_counter() - started
    outcomes = wait_for_outcomes(
        client, outputs, {key for key, _ in uploads}, timeout=timeout, interval=POLL_SECONDS
    )
    return {
        "started_at": started_at,
        "polled_seconds": time.perf_counter() - started,
        "upload_seconds": uploaded,
        "done": len(outcomes),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=60, help="images per end-to-end run")
    parser.add_argument("--batch-sizes", default="1,5,10", help="Pipe batch sizes to compare")
    parser.add_argument("--per-label", type=int, default=20, help="training images per label")
    parser.add_argument("--size", type=int, default=256, help="image size in pixels")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--init-runs", type=int, default=7, help="fresh processes timing the handler import")
    parser.add_argument(
        "--client-per-task",
        action="store_true",
        help="moto's interpreter as it ships: a boto3 client per task, a parse per JSONPath and execution",
    )
    args = parser.parse_args(argv)
    sizes = [int(item) for item in args.batch_sizes.split(",")]

    with tempfile.TemporaryDirectory(prefix="labelwatch-bench-") as scratch:
        with console.status("generating images and training the model…"):
            home, arn, paths = prepare(Path(scratch), args.images, args.per_label, args.size)
        detector = bench_detector(home, arn, paths)
        runs = []
        bracket: list[float] = []  # the detector alone just before and just after the last run
        for index, batch_size in enumerate(sizes):
            if index == len(sizes) - 1:
                bracket.append(bench_detector(home, arn, paths)["mean"])
            with console.status(f"end to end, batch size {batch_size}…"):
                runs.append(
                    bench_end_to_end(
                        home, arn, paths, batch_size, args.timeout, share_clients=not args.client_per_task
                    )
                )
        bracket.append(bench_detector(home, arn, paths)["mean"])
        with console.status("timing the detect handler's import (Init Duration)…"):
            init_measured = measure_import_ms(runs=args.init_runs)
    with console.status("the detect function's memory on the worst images it accepts…"):
        peaks = bench_memory.measure_all()

    console.print(f"[bold]labelwatch benchmark[/] — {args.images} images of {args.size} px per run")
    console.print(
        f"detector alone (local model predict): mean {detector['mean'] * 1000:.1f} ms, "
        f"p95 {detector['p95'] * 1000:.1f} ms, {1 / detector['mean']:.0f} images/s"
    )
    console.print(
        f"DetectCustomLabels through the endpoint (HTTP + S3 read + model): "
        f"mean {statistics.mean(run['api_mean'] for run in runs) * 1000:.1f} ms"
    )
    table = Table(title="end to end: first upload → end of the last execution", title_justify="left")
    for column in (
        "batch",
        "images",
        "outcomes",
        "executions",
        "seconds",
        "images/s",
        "ms/image",
        "seen after",
    ):
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
            f"{run['polled_seconds']:.1f} s",  # when the uploader's polling saw the last outcome
        )
    console.print(table)
    last = runs[-1]
    console.print(
        "processor time of the twin's process (moto, the interpreter, the authorizer, the Pipe; "
        "not the Lambda workers) per image: "
        + ", ".join(
            f"{run['twin_cpu_seconds'] / run['images'] * 1000:.0f} ms at batch {run['batch_size']}"
            for run in runs
        )
    )
    end_to_end = last["images"] / last["seconds"]
    # The machine's speed drifts within a run (a shared host): the ratio compares the last run with
    # the detector measured right before and right after it, not minutes earlier.
    around = statistics.mean(bracket)
    console.print(
        f"end to end at batch {last['batch_size']} / detector alone: {end_to_end * around:.0%} "
        f"({end_to_end:.1f} of {1 / around:.0f} images/s, the detector measured just before and after "
        f"the run: {bracket[0] * 1000:.1f} and {bracket[-1] * 1000:.1f} ms an image; target ≥ 15 %)"
    )
    reported = last["init_reported"]
    for source, init in (
        ("REPORT lines of the twin's Lambda runtime, during the run", reported),
        ("handler import alone, fresh process", init_measured),
    ):
        if init:
            console.print(
                f"detect Init Duration ({source}): median {statistics.median(init):.0f} ms, "
                f"min {min(init):.0f}, max {max(init):.0f} (n={len(init)})"
            )
    authorizer = last["authorizer"]
    console.print(
        "authorizer cost per call: "
        + (
            f"mean {authorizer['mean_us']:.0f} µs per policy check over {authorizer['checks']} checks"
            + (
                f", {authorizer['request_us']:.0f} µs per request with classification"
                if authorizer.get("request_us") is not None
                else ""
            )
            if authorizer
            else "n/a"
        )
    )
    sharing = last["task_clients"]
    stats = last["task_client_stats"]
    console.print(
        "Step Functions interpreter: "
        + (
            f"task clients shared (applied by the {sharing}), {stats['created']} created, "
            f"{stats['reused']} reused; JSONPath and definition parse caches (applied by the "
            f"{last['parse_caches']})"
            if stats
            else "a client per task and a parse per use (moto as shipped)"
        )
    )
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
    bench_memory.print_peaks(console, peaks)


if __name__ == "__main__":
    main()
