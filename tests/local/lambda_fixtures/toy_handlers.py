"""Toy Lambda handlers for tests/local/test_lambda_runtime.py (imported by the worker processes)."""

import logging
import os
import sys
import time

IMPORTS = 1  # a module global: counts imports of this module in one process (always 1 if imported once)
CALLS = 0
print("toy_handlers imported")  # init output: goes to the log before the first START


def environment(event, context):
    return {name: os.environ.get(name) for name in event["names"]}


def counter(event, context):
    global CALLS
    CALLS += 1
    return {"imports": IMPORTS, "calls": CALLS, "pid": os.getpid()}


def context_fields(event, context):
    return {
        "function_name": context.function_name,
        "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "aws_request_id": context.aws_request_id,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "trace_id": os.environ.get("_X_AMZN_TRACE_ID"),
        "cwd": os.getcwd(),
    }


def sleep(event, context):
    time.sleep(event["seconds"])
    return {"pid": os.getpid()}


def allocate(event, context):
    block = b"\x01" * (event["mb"] * 1024 * 1024)  # touches every page
    time.sleep(event.get("hold_s", 0))
    return {"allocated": len(block), "pid": os.getpid()}


def crash(event, context):
    print("about to exit", flush=True)
    os._exit(event.get("code", 3))


def fail(event, context):
    raise ValueError(f"boom {event.get('n', 0)}")


def not_json(event, context):
    return {"when": object()}


def chatty(event, context):
    print(f"stdout line {event['n']}")
    print(f"stderr line {event['n']}", file=sys.stderr)
    logging.getLogger().warning("logged %s", event["n"])
    return {"pid": os.getpid()}


def noop(event, context):
    return None


def gate(event, context):
    """Mark the start, then wait until the test creates the release file."""
    with open(os.path.join(event["started_dir"], context.aws_request_id), "w") as mark:
        mark.write(str(os.getpid()))
    deadline = time.monotonic() + 20
    while not os.path.exists(event["release"]) and time.monotonic() < deadline:
        time.sleep(0.01)
    return {"pid": os.getpid()}
