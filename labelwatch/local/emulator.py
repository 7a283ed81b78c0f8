"""The embedded AWS: one object that owns moto's server, every change the twin makes to moto, and
the state those changes share.

moto serves AWS's APIs but is more forgiving than AWS: no IAM, no KMS, no payload limits, a Custom
Labels API that answers anything. The twin closes those gaps by replacing a few moto internals
(``labelwatch.local.patching``). All of them are applied by ``Emulator.start()`` and removed by
``Emulator.stop()``, and everything they consult lives on the Emulator, not in module globals:

- ``models``: the Custom Labels stand-in's versions (``custom_labels.CustomLabelsRegistry``);
- ``functions``: the Lambda runtime that runs the template's handlers;
- ``authorizer``: the synthesized template's policies, checked on every call (strict mode);
- ``limits``: the payload, size and time limits AWS enforces and moto does not;
- ``faults``: faults injected by count (tests, the soak);
- ``outbox``: the e-mails SNS would send.

moto's backends are process-wide, so one Emulator runs per process at a time. ``LocalStack``
(``labelwatch local up``), the tests and the soak hold it by reference. Nothing in ``functions/``,
``infra/`` or ``statemachine/`` imports this package.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication

from labelwatch.local import (
    custom_labels,
    dynamodb_fixes,
    event_delivery,
    executions,
    faults,
    json_copies,
    kms_fixes,
    lambdas,
    limits,
    outbox,
    pipe,
    s3_events,
    server_fixes,
    sfn_clients,
    sfn_fixes,
    sqs_fixes,
)
from labelwatch.local.endpoint import ADMIN_CREDENTIALS, DEFAULT_REGION, endpoint_clients
from labelwatch.local.execution_logs import ExecutionLogs
from labelwatch.local.faults import Faults
from labelwatch.local.function_urls import FunctionUrls
from labelwatch.local.iam.authorizer import Authorizer
from labelwatch.local.iam.middleware import AuthorizingApp
from labelwatch.local.in_process import InProcessTransport
from labelwatch.local.lambda_runtime import FunctionRuntimes
from labelwatch.local.patching import PatchSet
from labelwatch.local.provision import ACCOUNT_ID
from labelwatch.local.queue_waits import QueueWaits
from labelwatch.local.retry_waits import RetryWaits
from labelwatch.local.trace_pages import TracePages

log = logging.getLogger(__name__)

EXECUTING_STEP_FUNCTIONS = {"stepfunctions": {"execute_state_machine": True}}

_process_lock = threading.Lock()
_running: Emulator | None = None


class TemplateNotSupported(ValueError):
    """A template the twin cannot run faithfully."""


class EmulatorBusy(RuntimeError):
    """Another Emulator runs in this process (moto's backends are process-wide)."""


@dataclass
class Emulator:
    """Start with ``start()`` (or ``with Emulator() as emulator``); ``stop()`` undoes everything."""

    region: str = DEFAULT_REGION
    host: str = "127.0.0.1"
    port: int = 0
    strict: bool = True  # False: the authorizer records what AWS would refuse but allows it
    log_dir: Path | None = None  # one log file per function, like CloudWatch Logs
    models: custom_labels.CustomLabelsRegistry = field(default_factory=custom_labels.CustomLabelsRegistry)
    outbox: outbox.Outbox = field(default_factory=outbox.Outbox)
    limits: limits.Limits = field(default_factory=limits.Limits)  # AWS's; a test may lower one

    faults: Faults | None = None
    event_deliveries: int = 1  # how many times EventBridge delivers each S3 event
    authorizer: Authorizer | None = None  # set by deploy(): the template's policies
    refused_deliveries: list[event_delivery.RefusedDelivery] = field(default_factory=list)
    endpoint: str = ""
    functions: FunctionRuntimes | None = None  # the Lambda execution environments, from start()
    patches: PatchSet = field(init=False)
    _server: _LoopbackServer | None = field(default=None, repr=False)
    _saved_env: dict[str, str | None] = field(default_factory=dict, repr=False)
    _clients: Callable[[str], Any] | None = field(default=None, repr=False)
    _internal_clients: Callable[[str], Any] | None = field(default=None, repr=False)
    _requests: AuthorizingApp | None = field(default=None, repr=False)
    _provisioned: Any = field(default=None, repr=False)  # the deployed stack's resources
    # moto's interpreter would build a boto3 client per task (25-55 ms each): shared ones instead
    task_clients: sfn_clients.TaskClients = field(init=False, repr=False)
    # the Retry policies' waits: recorded, and slept at ``retry_waits.scale`` × their length
    retry_waits: RetryWaits = field(default_factory=RetryWaits)
    # the end of every execution, for the Pipe's synchronous start (no DescribeExecution polling)
    execution_ends: executions.ExecutionEnds = field(default_factory=executions.ExecutionEnds, repr=False)
    # the Pipe's waits for messages, which stop() ends at once (moto's long poll cannot be ended)
    queue_waits: QueueWaits = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.queue_waits = QueueWaits(ACCOUNT_ID, self.region)
        self.patches = PatchSet()
        # the twin's calls to itself (the interpreter's tasks, the Pipe, provisioning) skip the socket
        self.transport = InProcessTransport(lambda: self._requests if self.running else None)
        self.task_clients = sfn_clients.TaskClients(host=self.host, prepare=self.transport.attach)
        # each ended execution's events into its state machine's log group, as Step Functions writes them
        self.execution_logs = ExecutionLogs(self._logs_backend)
        self.execution_ends.listeners.append(self.execution_logs.write)
        self.patches.add(sfn_clients.patches(self.task_clients))
        self.patches.add(server_fixes.patches())
        self.patches.add(lambdas.patches(self._functions))
        self.patches.add(custom_labels.patches(self.models))
        self.patches.add(s3_events.patches(lambda: self.event_deliveries))
        self.patches.add(sfn_fixes.patches())
        self.patches.add(self.execution_ends.patches())
        self.patches.add(self.retry_waits.patches())
        self.patches.add(dynamodb_fixes.patches())
        self.patches.add(kms_fixes.patches())
        self.patches.add(json_copies.patches())
        self.patches.add(sqs_fixes.patches())
        self.patches.add(pipe.patches())
        self.patches.add(outbox.patches(self.outbox))
        self.patches.add(faults.patches(lambda: self.faults))
        self.patches.add(event_delivery.patches(lambda: self.authorizer, self.refused_deliveries))
        # before the server starts: one of them changes how moto's server routes S3 keys
        self.patches.add(limits.patches(self.limits))

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> Emulator:
        global _running
        with _process_lock:
            if _running is not None:
                raise EmulatorBusy("an embedded AWS already runs in this process (stop it first)")
            _running = self
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log line per AWS call
        self.queue_waits.reset()
        self.patches.apply()
        self._server = _LoopbackServer(self, ip_address=self.host, port=self.port)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        self._clients = endpoint_clients(self.endpoint, self.region)
        self._internal_clients = endpoint_clients(self.endpoint, self.region, prepare=self.transport.attach)
        self._set_env(
            {
                **ADMIN_CREDENTIALS,
                "AWS_DEFAULT_REGION": self.region,
                "AWS_ENDPOINT_URL": self.endpoint,
                # moto's Step Functions interpreter calls the other services on this port
                "MOTO_PORT": str(port),
            }
        )
        self._post("/moto-api/reset", {})  # a fresh, empty AWS (backends are process-wide)
        self._post("/moto-api/config", EXECUTING_STEP_FUNCTIONS)
        self.functions = FunctionRuntimes(
            {"AWS_ENDPOINT_URL": self.endpoint}, self.log_dir, credentials_for=self.credentials_for
        )

    def stop(self) -> None:
        """Undo everything start() did; each step runs even if one before it failed."""
        try:
            self.queue_waits.end()
            self._stop_server()
        finally:
            self._undo()

    def _stop_server(self) -> None:
        if self._server is None:
            return
        server, self._server = self._server, None
        try:
            self._post("/moto-api/reset", {})  # nothing of this run stays in the process
        except OSError:
            log.warning("could not reset the embedded AWS on stop")
        server.stop()

    def _undo(self) -> None:
        try:
            self.clear_faults()
            if self.functions is not None:
                self.functions.close()  # no environment outlives the twin
        finally:
            self._restore_moto()

    def _restore_moto(self) -> None:
        global _running
        self.patches.restore()
        self.task_clients.clear()
        self.execution_ends.clear()
        self.execution_logs.clear()
        self.models.cancel_pending()  # a start or stop still in its delay
        self.models.versions.clear()
        self.authorizer = None
        self._provisioned = None
        self._requests = None
        self._restore_env()
        with _process_lock:
            if _running is self:
                _running = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    # --- use -------------------------------------------------------------------------------
    def client(self, service: str) -> Any:
        """A client of the embedded AWS signed as the account's administrator."""
        assert self._clients is not None, "start() first"
        return self._clients(service)

    def internal_client(self, service: str) -> Any:
        """The administrator's client for the twin's own parts (CloudFormation's provisioning, the
        Pipe's synchronous start), served in this process without a socket (``in_process``)."""
        assert self._internal_clients is not None, "start() first"
        return self._internal_clients(service)

    def credentials_for(self, role_arn: str) -> tuple[str, str]:
        """The credentials a function with this execution role signs with."""
        if self.authorizer is None:
            return ADMIN_CREDENTIALS["AWS_ACCESS_KEY_ID"], ADMIN_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]
        return self.authorizer.credentials_for(role_arn)

    def deploy(self, template: dict[str, Any], *, stack_name: str = "labelwatch"):
        """Create the template's resources (as the administrator); from then on its policies govern
        every call: each principal signs with its role's credentials and is judged as AWS would."""
        from labelwatch.local.embedded import EmbeddedStack

        if self.authorizer is not None:
            raise RuntimeError("one stack per embedded AWS: stop it and start another")
        stack = EmbeddedStack.create(template, self, stack_name=stack_name)
        authorizer = Authorizer(
            stack.provisioned, region=self.region, permissive=not self.strict, unknown_keys="deny"
        )
        machines = stack.provisioned.of_type("AWS::StepFunctions::StateMachine")
        if len(machines) > 1:
            raise TemplateNotSupported(
                f"the template has {len(machines)} state machines; the twin attributes Step Functions "
                "task calls to one state machine per stack"
            )
        for logical_id, arn in machines.items():
            properties = stack.provisioned.resources[logical_id].properties
            # moto's interpreter signs every task call with one key: the state machine's role
            authorizer.alias(self.task_clients.credentials.access_key, properties["RoleArn"])
            self.execution_logs.configure(arn, properties.get("LoggingConfiguration") or {})
        for resource in stack.provisioned.resources.values():
            if resource.type == "AWS::Logs::LogGroup" and resource.properties.get("DataProtectionPolicy"):
                self.execution_logs.mask(
                    str(resource.properties.get("LogGroupName", resource.ref)),
                    resource.properties["DataProtectionPolicy"],
                )
        self.authorizer = authorizer
        self._provisioned = stack.provisioned
        if self._requests is not None:
            self._requests.authorizer = authorizer
        return stack

    def clients_for(self, role_arn: str, *, in_process: bool = False) -> Callable[[str], Any]:
        """A client factory signed as a session of one of the template's roles (served in this
        process without a socket with ``in_process``: for the twin's own parts, like the Pipe)."""
        key, secret = self.credentials_for(role_arn)
        return endpoint_clients(
            self.endpoint,
            self.region,
            {"AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret},
            prepare=self.transport.attach if in_process else None,
        )

    def request_stats(self) -> dict[str, Any]:
        """Requests authorized, refused, and the mean cost of authorizing one (for the bench)."""
        return self._requests.stats() if self._requests is not None else {}

    def inject(self, injected: Faults, *, deliveries: int = 1) -> Faults:
        """Inject faults (by count) until ``clear_faults()``."""
        injected.models = self.models
        self.faults = injected
        self.models.fault = injected.detect_fault
        self.event_deliveries = deliveries
        return injected

    def clear_faults(self) -> None:
        """End the faults; a model they stopped is started again (the outage is over)."""
        injected, self.faults = self.faults, None
        self.models.fault = None
        self.event_deliveries = 1
        if injected is not None:
            injected.end()

    def expire_visibility_timeouts(self, queue_url: str) -> int:
        """Fast-forward a queue's clock: in-flight messages become receivable, as after their timeout.

        In-flight messages cannot be reached through the SQS API, so this acts on moto's queue. It
        lets tests and the soak see a retry without waiting out the stack's visibility timeout.
        """
        from moto.sqs.models import sqs_backends

        queue = sqs_backends[ACCOUNT_ID][self.region].queues[queue_url.rsplit("/", 1)[1]]
        messages = list(queue._messages)
        for message in messages:
            message.change_visibility(0)
        return len(messages)

    def time_out_executions(self) -> int:
        """Fast-forward every running execution to its time limit: each ends TIMED_OUT at once, as an
        Express execution does after 5 minutes (no Catch runs; a claim it took stays). Returns how
        many it ended.

        Like ``expire_visibility_timeouts``, this acts on moto's executions, so tests see what an
        execution that dies mid-way leaves behind without waiting out the limit."""
        from moto.stepfunctions.parser.api import ExecutionStatus
        from moto.stepfunctions.parser.models import stepfunctions_parser_backends

        backend = stepfunctions_parser_backends[ACCOUNT_ID][self.region]
        return sum(
            limits.time_out(execution) for execution in backend._get_executions(ExecutionStatus.RUNNING)
        )

    # --- internals -------------------------------------------------------------------------
    def _logs_backend(self) -> Any:
        from moto.logs.models import logs_backends

        return logs_backends[ACCOUNT_ID][self.region]

    def _functions(self) -> FunctionRuntimes:
        if self.functions is None:
            raise RuntimeError("the embedded AWS is not running: nothing can invoke a function")
        return self.functions

    def wsgi_app(self, app: Any) -> Any:
        """moto's server application, behind the authorizer (which judges calls once deployed), and
        the deployed stack's function URLs beside it."""
        self._requests = AuthorizingApp(server_fixes.with_raw_uri(app), self.authorizer)
        pages = TracePages(
            self._requests,
            outputs=lambda: self._provisioned.outputs if self._provisioned is not None else {},
            client=lambda service: self.internal_client(service),
        )
        return FunctionUrls(
            pages,
            urls=lambda: self._provisioned.function_urls if self._provisioned is not None else [],
            permissions=lambda: self._provisioned.permissions if self._provisioned is not None else [],
            invoke=self._invoke_by_url,
        )

    def _invoke_by_url(self, function_name: str, event: dict[str, Any]) -> Any:
        """A function URL's invocation: the event in, the function's answer out (``FunctionFailed``
        when it raised)."""
        lambda_client = self.internal_client("lambda")
        try:
            answer = lambda_client.invoke(FunctionName=function_name, Payload=json.dumps(event))
        except lambda_client.exceptions.TooManyRequestsException:
            raise FunctionUrls.Throttled() from None
        payload = json.loads(answer["Payload"].read() or b"null")
        if answer.get("FunctionError"):
            raise FunctionUrls.FunctionFailed(str(payload))
        return payload

    def _post(self, path: str, body: dict[str, Any]) -> None:
        request = urllib.request.Request(
            f"{self.endpoint}{path}",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()

    def _set_env(self, values: dict[str, str]) -> None:
        for name, value in values.items():
            self._saved_env.setdefault(name, os.environ.get(name))
            os.environ[name] = value

    def _restore_env(self) -> None:
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()


class _LoopbackServer:
    """moto's application served by waitress on loopback, with HTTP keep-alive.

    moto's own server (werkzeug's development server) closes the connection after every response,
    so each AWS call of the twin paid a new TCP connection and a new thread (5-6 ms here, about 19
    calls per image). waitress keeps connections open for botocore's connection pools and serves
    them from a fixed pool of threads, enough for the nested calls a task makes (a Lambda
    invocation whose handler calls the twin while the Invoke request waits).
    """

    THREADS = 48

    def __init__(self, emulator: Emulator, *, ip_address: str, port: int) -> None:
        self._emulator = emulator
        self._ip_address = ip_address
        self._port = port
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        from waitress.server import create_server

        app = self._emulator.wsgi_app(DomainDispatcherApplication(server_fixes.backend_app))
        try:
            self._server = create_server(
                app,
                host=self._ip_address,
                port=self._port,
                threads=self.THREADS,
                channel_timeout=600,  # a Pipe's RequestResponse call waits for the execution
                connection_limit=1000,
                ident="labelwatch",
                expose_tracebacks=False,
            )
        except OSError as error:
            raise OSError(98, f"cannot listen on {self._ip_address}:{self._port} ({error!r})") from None
        self._thread = threading.Thread(target=self._server.run, name="embedded-aws", daemon=True)
        self._thread.start()

    def get_host_and_port(self) -> tuple[str, int]:
        assert self._server is not None, "start() first"
        return self._server.effective_host, int(self._server.effective_port)

    def stop(self) -> None:
        if self._server is None:
            return
        server = self._server

        def close_everything() -> None:
            """In the server's own loop (no fd closed under its poll): the listener and every
            kept-alive connection; the loop ends when it has no channel left."""
            for channel in list(server._map.values()):
                if channel is not server.trigger:  # task threads may still pull it: closed last
                    with contextlib.suppress(OSError):
                        channel.close()
            server._map.clear()

        try:
            server.trigger.pull_trigger(close_everything)
        except OSError:  # the wake-up pipe is gone: close from here, the loop ends at its next poll
            close_everything()
        server.task_dispatcher.shutdown(timeout=5)
        if self._thread is not None:
            self._thread.join(10)
        # a task thread still finishing a request wakes the loop when it is done: nothing to wake
        # now (its write to the closed pipe would print a traceback on the user's terminal)
        server.trigger.pull_trigger = lambda thunk=None: None
        with contextlib.suppress(OSError):
            server.trigger.close()
        self._server = None
