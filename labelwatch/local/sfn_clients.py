"""Reuse boto3 clients in moto's Step Functions interpreter instead of building one per task.

moto's ``boto_client_for(region, service, state_credentials=None)``
(``moto/stepfunctions/parser/asl/utils/boto_client.py``) creates a new boto3 client for every Task
state it runs: 25-55 ms on these machines, most of the time a Lambda or SNS task takes in the twin.
``TaskClients`` keeps one client per (region, service, endpoint, credentials) and hands it out
again; botocore clients are safe to share between the interpreter's threads once created. Creation
happens under a lock from one boto3 session (boto3's default session is not safe for concurrent
client creation).

The clients are configured as moto configures its own (no retries, no parameter validation, moto's
task timeouts) and reach moto the way moto does: through the in-process stubber while ``mock_aws``
intercepts botocore, else ``http://localhost:<moto_server_port()>`` (read on every call, so a
server started later on another port gets clients of its own).

The credentials the interpreter signs with are ``TaskClients.credentials`` (moto's constant
``ak``/``sk`` unless set), or what ``TaskClients.resolve(state_credentials)`` returns when set: the
twin's authorizer can map that access key to the state machine's role.

``client_patches(clients)`` are the ``Patch`` records (``labelwatch.local.patching``) that route
moto's function to ``clients``. Every interpreter module did ``from ...boto_client import
boto_client_for`` and holds its own reference, so each importing module's name is patched, plus the
defining module's for anything that looks the function up there at call time.

``parse_cache_patches()`` remove the interpreter's two other per-use parsing costs, found by
profiling the twin (numbers on this 2-core machine):

- every JSONPath the interpreter evaluates (``$.detail.object.key``, ResultPath, ...) is parsed
  again by jsonpath_ng, which builds a new PLY parser each time: ~3.5 ms per path, ~40 paths per
  image. Parsed paths are immutable and cached per string (``functools.lru_cache``).
- every execution parses the whole definition with ANTLR (~90-150 ms for the workflow, pure Python,
  holding the GIL) and then builds its evaluation components with the preprocessor (~20 ms) before
  it runs a state. Both are cached per definition: the components keep no state of an evaluation
  (every execution's data lives in its ``Environment``; moto itself runs one Map item processor's
  components for all its concurrent iterations), which ``tests/unit/test_sfn_clients.py`` checks
  in moto's source, so one program serves every execution of a definition. Definitions with
  syntax errors are not cached and raise as before.

``patches(clients)`` is both lists.
"""

from __future__ import annotations

import functools
import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from labelwatch.clients import boto3_session, new_client
from labelwatch.local.patching import Patch

# str(inspect.signature(boto_client_for)) in moto 5.2.5
SIGNATURE = "(region: str, service: str, state_credentials: Any = None) -> botocore.client.BaseClient"
DEFINING_MODULE = "moto.stepfunctions.parser.asl.utils.boto_client"
_STATE = "moto.stepfunctions.parser.asl.component.state.exec"
# Every module of moto 5.2.5 that did ``from moto...boto_client import boto_client_for``
# (grep -rn boto_client_for moto/stepfunctions). tests/unit/test_sfn_clients.py checks none is missing.
IMPORTING_MODULES = (
    f"{_STATE}.state_map.result_writer.resource_eval.resource_eval_s3",
    f"{_STATE}.state_map.item_reader.eval.resource_eval_s3",
    f"{_STATE}.state_task.lambda_eval_utils",
    f"{_STATE}.state_task.service.state_task_service_unsupported",
    f"{_STATE}.state_task.service.state_task_service_glue",
    f"{_STATE}.state_task.service.state_task_service_events",
    f"{_STATE}.state_task.service.state_task_service_ecs",
    f"{_STATE}.state_task.service.state_task_service_sqs",
    f"{_STATE}.state_task.service.state_task_service_sfn",
    f"{_STATE}.state_task.service.state_task_service_dynamodb",
    f"{_STATE}.state_task.service.state_task_service_batch",
    f"{_STATE}.state_task.service.state_task_service_sns",
    f"{_STATE}.state_task.service.state_task_service_aws_sdk",
)


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str
    session_token: str | None = None


MOTO_CREDENTIALS = Credentials("ak", "sk")  # what moto's boto_client_for signs with


def _moto_config() -> Any:
    """The botocore Config moto's boto_client_for uses, with a larger connection pool.

    The pool is per client and the clients are shared between the interpreter's threads: with the
    default 10, a Map state running more iterations at once would open and discard connections.
    """
    from botocore.config import Config
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds

    return Config(
        parameter_validation=False,
        retries={"max_attempts": 0, "total_max_attempts": 1},
        connect_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
        read_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
        max_pool_connections=50,
    )


def _endpoint(host: str) -> str | None:
    """Where moto's own boto_client_for would send a request now (None: the in-process stubber)."""
    from moto.core.models import botocore_stubber
    from moto.settings import moto_server_port

    if botocore_stubber.enabled:
        return None
    return f"http://{host}:{moto_server_port()}"


@dataclass
class TaskClients:
    """Clients for the interpreter's task states, created once per key and shared."""

    credentials: Credentials = MOTO_CREDENTIALS
    # state_credentials (moto's StateCredentials of a Task's ``Credentials`` field, usually None)
    # → the credentials to sign with; None: ``credentials`` for every task.
    resolve: Callable[[Any], Credentials] | None = None
    # moto's "localhost"; the address the server is bound to (127.0.0.1) skips the name lookup and,
    # where localhost is ::1 first, a refused IPv6 connect: about 1 ms of each task's request here
    # (the server closes every connection, so each request connects again).
    host: str = "localhost"
    # called with each new client (the twin: its in-process transport); None: clients as built
    prepare: Callable[[Any], Any] | None = None
    created: int = 0  # clients built (cache misses)
    reused: int = 0  # cache hits
    _cache: dict[tuple[str, str, str | None, Credentials], Any] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _session: Any = field(default=None, repr=False)
    _config: Any = field(default=None, repr=False)

    def client_for(self, region: str, service: str, state_credentials: Any = None) -> Any:
        """Drop-in for moto's ``boto_client_for`` (same signature)."""
        credentials = self.resolve(state_credentials) if self.resolve is not None else self.credentials
        key = (region, service, _endpoint(self.host), credentials)
        client = self._cache.get(key)
        if client is not None:
            self.reused += 1  # a statistic: a lost increment under contention does not matter
            return client
        with self._lock:
            client = self._cache.get(key)
            if client is None:
                client = self._cache[key] = self._create(*key)
                self.created += 1
            else:
                self.reused += 1
        return client

    def _create(self, region: str, service: str, endpoint: str | None, credentials: Credentials) -> Any:
        if self._session is None:
            self._session = boto3_session()
            self._config = _moto_config()
        client = new_client(
            self._session,
            service,
            region_name=region,
            endpoint_url=endpoint,
            aws_access_key_id=credentials.access_key,
            aws_secret_access_key=credentials.secret_key,
            aws_session_token=credentials.session_token,
            config=self._config,
        )
        return self.prepare(client) if self.prepare is not None else client

    def clear(self) -> None:
        """Forget the clients (a restarted twin starts with new ones) and the counts."""
        with self._lock:
            clients = list(self._cache.values())
            self._cache.clear()
            self.created = self.reused = 0
        for client in clients:
            client.close()

    def stats(self) -> dict[str, int]:
        return {"clients": len(self._cache), "created": self.created, "reused": self.reused}


def is_task_clients(function: Any) -> bool:
    """Whether ``function`` is a ``TaskClients.client_for`` (some twin already patched moto)."""
    return isinstance(getattr(function, "__self__", None), TaskClients)


def client_patches(clients: TaskClients) -> list[Patch]:
    """Patches routing every ``boto_client_for`` of moto's interpreter to ``clients.client_for``."""
    replacement = clients.client_for
    return [
        Patch(importlib.import_module(name), "boto_client_for", replacement, signature=SIGNATURE)
        for name in (DEFINING_MODULE, *IMPORTING_MODULES)
    ]


# --- parse caches ---------------------------------------------------------------------------------
JSON_PATH_MODULE = "moto.stepfunctions.parser.asl.utils.json_path"  # from jsonpath_ng.ext import parse
RESULT_PATH_MODULE = "moto.stepfunctions.parser.asl.component.common.path.result_path"  # jsonpath_ng.parse
ASL_PARSER_MODULE = "moto.stepfunctions.parser.asl.parse.asl_parser"
EXT_PARSE_SIGNATURE = "(path: 'str', debug: 'bool | None' = None) -> 'JSONPath'"
PLAIN_PARSE_SIGNATURE = "(string: 'str') -> 'JSONPath'"
ASL_PARSE_SIGNATURE = (
    "(definition: str) -> tuple[moto.stepfunctions.parser.asl.component.eval_component.EvalComponent, "
    "antlr4.ParserRuleContext.ParserRuleContext]"
)
MAX_DEFINITIONS = 64  # parse trees kept (one per state machine definition; the twin has a few)


def _cached_json_path(parse: Callable[..., Any]) -> Callable[..., Any]:
    cached = functools.lru_cache(maxsize=4096)(parse)

    @functools.wraps(parse)
    def parse_path(path: str, *args: Any) -> Any:
        return cached(path, *args)

    parse_path.cache_info = cached.cache_info  # type: ignore[attr-defined]
    return parse_path


@dataclass
class DefinitionTrees:
    """Parsed state machine definitions (the program and its ANTLR tree), one per definition string."""

    original: Callable[[str], tuple[Any, Any]]
    trees: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    parsed: int = 0  # definitions parsed with ANTLR
    reused: int = 0  # executions that reused a parsed program
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def parse(self, definition: str) -> tuple[Any, Any]:
        parsed = self.trees.get(definition)
        if parsed is None:
            parsed = self.original(definition)  # raises ASLParserException as before
            with self._lock:
                if len(self.trees) >= MAX_DEFINITIONS:
                    self.trees.clear()
                self.trees[definition] = parsed
                self.parsed += 1
            return parsed
        self.reused += 1
        return parsed


def parse_caches_applied() -> bool:
    """Whether some twin already applied ``parse_cache_patches()``."""
    parser = importlib.import_module(ASL_PARSER_MODULE).AmazonStateLanguageParser
    return isinstance(getattr(parser.parse, "__self__", None), DefinitionTrees)


_trees: DefinitionTrees | None = None  # one per process: parse trees outlive a twin (they are only read)


def parse_cache_patches() -> list[Patch]:
    """Patches caching parsed JSONPaths and definition parse trees (see the module docstring)."""
    global _trees
    json_path = importlib.import_module(JSON_PATH_MODULE)
    result_path = importlib.import_module(RESULT_PATH_MODULE)
    parser = importlib.import_module(ASL_PARSER_MODULE).AmazonStateLanguageParser
    if _trees is None:
        current = parser.parse
        owner = getattr(current, "__self__", None)  # a twin's cache already in place: its original
        _trees = DefinitionTrees(owner.original if isinstance(owner, DefinitionTrees) else current)
    trees = _trees
    return [
        Patch(json_path, "parse", _cached_json_path(json_path.parse), signature=EXT_PARSE_SIGNATURE),
        Patch(result_path, "parse", _cached_json_path(result_path.parse), signature=PLAIN_PARSE_SIGNATURE),
        Patch(parser, "parse", staticmethod(trees.parse), signature=ASL_PARSE_SIGNATURE),
    ]


def patches(clients: TaskClients) -> list[Patch]:
    """Everything this module changes in moto's interpreter: shared clients and the parse caches."""
    return [*client_patches(clients), *parse_cache_patches()]
