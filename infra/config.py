"""The deployment parameters (README, "Deployment parameters") as validated, immutable data.

Values come from CDK context (``cdk.json`` or ``cdk deploy -c name=value``), so every parameter is
accepted both as a JSON value and as the plain string the CLI passes. Validation collects every
problem before raising, so one synth shows the user all that is wrong, each as
``<parameter>: <value> <rule it breaks>``.

This module imports nothing from CDK: the embedded stack and the unit tests use it as plain Python.
"""

from __future__ import annotations

import functools
import json
import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

MODEL_ARN_PATTERN = re.compile(
    r"^arn:aws(-[a-z]+)*:rekognition:[a-z0-9-]+:\d{12}:"
    r"project/[A-Za-z0-9_.-]{1,255}/version/[A-Za-z0-9_.-]{1,255}/\d{13}$"
)
_MODEL_ARN_FORMAT = (
    "a Rekognition Custom Labels project version ARN "
    "(arn:aws:rekognition:<region>:<account>:project/<name>/version/<name>/<13-digit timestamp>)"
)

# A pragmatic address check (dot-atom local part, dotted host name); SNS itself is the final judge.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_HOST_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL_PATTERN = re.compile(rf"^{_ATOM}(?:\.{_ATOM})*@{_HOST_LABEL}(?:\.{_HOST_LABEL})+$")
MAX_EMAIL_LENGTH = 254

MAX_LABELS = 10
MAX_LABEL_LENGTH = 100
_LABEL_FORBIDDEN = ",=|"
# Control (Cc), format (Cf: zero-width, bidi overrides, BOM) and line/paragraph separators: a label
# holding one never equals the model's label, and in an e-mail it is invisible or reorders the text.
_LABEL_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})

DATABASE_PATTERN = re.compile(r"^[a-z0-9_]{1,255}$")
MAX_KEY_PREFIX_LENGTH = 512
_IAM_WILDCARDS = "*?"  # the prefix is written into the detect role's s3:GetObject resource

_BUCKET_CHARS = re.compile(r"^[a-z0-9.-]+$")
_IP_ADDRESS = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
_BUCKET_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_BUCKET_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")

_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}

DEFAULT_MIN_CONFIDENCE = 70.0
DEFAULT_DATABASE = "labelwatch"


DLQ_RETENTION_DAYS = 14  # every DLQ keeps its messages this long (SQS's maximum; infra/queues.py)
INGEST_RETENTION_MINUTES = 14 * 24 * 60  # the ingest queue keeps waiting images 14 days (infra/queues.py)

# modelControl: who starts and stops the model (docs/autopilot.md)
MODEL_CONTROLS = ("manual", "on-demand", "always-on")
DEFAULT_MODEL_CONTROL = "on-demand"
# executionLogLevel: the state machine's log level (the console's Express view needs ALL)
EXECUTION_LOG_LEVELS = ("ALL", "ERROR", "FATAL", "OFF")
DEFAULT_EXECUTION_LOG_LEVEL = "ALL"
EXPRESS_LIMIT_SECONDS = 300  # an Express execution's longest run
VISIBILITY_MARGIN_SECONDS = 30  # the Pipe's start and its receive, SQS's clock


@dataclass(frozen=True)
class _IntRule:
    attribute: str
    low: int
    high: int
    default: int
    why: str = ""


# camelCase context key -> (dataclass field, bounds, default, why the bound exists)
_INT_RULES: dict[str, _IntRule] = {
    "imageLinkDays": _IntRule(
        "image_link_days",
        1,
        30,
        7,
        "an alert's image link is a signed token the link function checks (docs/links.md); a key "
        "rotation keeps the old key this long",
    ),
    "linkConcurrency": _IntRule(
        "link_concurrency",
        0,
        100,
        5,
        "it is the link function's reserved concurrency, which throttles a flood of clicks (0 leaves "
        "it unreserved, for accounts whose concurrency quota is still 10)",
    ),
    "alertCooldownMinutes": _IntRule(
        "alert_cooldown_minutes",
        0,
        1440,
        60,
        "at most one alert per label per folder per window this long (0 turns flood control off); "
        "further matches go into one digest at the window's end (docs/flood-control.md)",
    ),
    "batchSize": _IntRule(
        "batch_size", 1, 50, 10, "the Pipe hands Step Functions at most 262,144 characters per batch"
    ),
    "batchWindowSeconds": _IntRule("batch_window_seconds", 0, 300, 2),
    "maxReceiveCount": _IntRule("max_receive_count", 1, 1000, 12),
    "visibilityTimeoutSeconds": _IntRule(
        "visibility_timeout_seconds",
        330,
        43200,
        360,
        "it must outlast the Express workflow's 5-minute worst case",
    ),
    "mapConcurrency": _IntRule(
        "map_concurrency",
        1,
        40,
        10,
        "a batch's images run in ceil(batchSize / mapConcurrency) rounds, which must fit in 5 minutes",
    ),
    "maxConcurrentDetections": _IntRule(
        "max_concurrent_detections",
        0,
        1000,
        0,
        "it is the detect function's reserved concurrency (0 leaves the function unreserved)",
    ),
    "claimRetentionDays": _IntRule(
        "claim_retention_days",
        DLQ_RETENTION_DAYS,
        365,
        DLQ_RETENTION_DAYS,
        f"a message redriven from a DLQ (kept {DLQ_RETENTION_DAYS} days) must still find its claim",
    ),
    "maxLabelsPerImage": _IntRule(
        "max_labels_per_image",
        1,
        100,
        50,
        "an object-detection model returns a label per box, and the workflow carries at most 256 KiB",
    ),
    "modelIdleMinutes": _IntRule(
        "model_idle_minutes",
        1,
        1440,
        10,
        "with modelControl on-demand the model stops after the queue has been empty this long",
    ),
    "maxWaitMinutes": _IntRule(
        "max_wait_minutes",
        1,
        INGEST_RETENTION_MINUTES - 1,
        60,
        "an image older than this on the ingest queue raises the backlog alarm, before the queue's "
        "14-day retention drops it",
    ),
    "minInferenceUnits": _IntRule(
        "min_inference_units",
        1,
        100,
        1,
        "StartProjectVersion's MinInferenceUnits: the units that bill while the model runs",
    ),
    "maxInferenceUnits": _IntRule(
        "max_inference_units",
        0,
        100,
        0,
        "0 leaves auto-scaling off; otherwise Custom Labels adds units up to this under load",
    ),
    "noncurrentVersionDays": _IntRule(
        "noncurrent_version_days",
        DLQ_RETENTION_DAYS,
        3650,
        30,
        f"a message redriven from a DLQ (kept {DLQ_RETENTION_DAYS} days) reads the version of the image "
        "it names",
    ),
}

CONTEXT_KEYS: tuple[str, ...] = (
    "modelArn",
    "notificationEmails",
    "labelsOfInterest",
    "minConfidence",
    "inputBucketName",
    "resultsBucketName",
    "imageLinks",
    "keyPrefix",
    *_INT_RULES,
    "modelControl",
    "executionLogLevel",
    "opsEmail",
    "analyticsDatabase",
)


# Context keys that are not labelwatch parameters but belong in the context: the app's own
# (infra/app.py) and the CDK's plain names (`cdk acknowledge`, the asset repository override). The
# CDK's other keys are namespaced: feature flags '@aws-cdk/...', 'aws:cdk:...', lookups 'ami:...'.
APP_CONTEXT_KEYS: tuple[str, ...] = ("stackName",)
_CDK_PLAIN_KEYS = frozenset({"acknowledged-issue-numbers", "assets-ecr-repository-name"})


# One line each for `labelwatch local up --help`; a test keeps it in step with CONTEXT_KEYS.
PARAMETER_HELP: dict[str, str] = {
    "modelArn": "Custom Labels project version ARN (required)",
    "notificationEmails": "alert addresses ('a@x.com=leaf-smut|rust' filters)",
    "labelsOfInterest": "1-10 labels that alert ('leaf-smut=80')",
    "minConfidence": "default threshold, 0-100 [70]",
    "inputBucketName": "input bucket name [generated]",
    "resultsBucketName": "results bucket name [generated]",
    "imageLinks": "image links in alerts: true/false [true]",
    "keyPrefix": "only keys under this prefix are processed",
    **{key: f"a whole number, {rule.low}-{rule.high} [{rule.default}]" for key, rule in _INT_RULES.items()},
    "modelControl": f"{', '.join(MODEL_CONTROLS)} [{DEFAULT_MODEL_CONTROL}]",
    "executionLogLevel": f"{', '.join(EXECUTION_LOG_LEVELS)} [{DEFAULT_EXECUTION_LOG_LEVEL}]",
    "opsEmail": "address for operational alarms [none]",
    "analyticsDatabase": "Glue database of the results [labelwatch]",
}


class ConfigError(ValueError):
    """Every problem found in the deployment parameters; ``problems`` lists them one per entry."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        heading = f"invalid labelwatch configuration ({count} problem{'s' if count != 1 else ''}):"
        super().__init__("\n  - ".join([heading, *self.problems]))


@dataclass(frozen=True)
class Subscriber:
    """An alert e-mail address; ``labels`` empty means every alert, else only alerts on those labels."""

    email: str
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class LabelwatchConfig:
    model_arn: str
    subscribers: tuple[Subscriber, ...]
    labels_of_interest: tuple[str, ...]
    # label of interest -> effective minimum confidence (its override, else min_confidence);
    # plain str/float so json.dumps() gives the detect Lambda's LABEL_RULES directly.
    label_rules: dict[str, float] = field(hash=False)
    min_confidence: float = DEFAULT_MIN_CONFIDENCE
    input_bucket_name: str | None = None
    results_bucket_name: str | None = None
    image_links: bool = True
    image_link_days: int = 7
    link_concurrency: int = 5
    alert_cooldown_minutes: int = 60
    key_prefix: str = ""
    batch_size: int = 10
    batch_window_seconds: int = 2
    max_receive_count: int = 12
    visibility_timeout_seconds: int = 360
    map_concurrency: int = 10
    max_concurrent_detections: int = 0  # 0: no reserved concurrency
    claim_retention_days: int = DLQ_RETENTION_DAYS
    max_labels_per_image: int = 50
    noncurrent_version_days: int = 30  # the input bucket's lifecycle rule
    model_control: str = DEFAULT_MODEL_CONTROL
    model_idle_minutes: int = 10
    max_wait_minutes: int = 60
    min_inference_units: int = 1
    max_inference_units: int = 0  # 0: no auto-scaling (StartProjectVersion without MaxInferenceUnits)
    execution_log_level: str = DEFAULT_EXECUTION_LOG_LEVEL
    ops_email: str | None = None
    analytics_database: str = DEFAULT_DATABASE

    @property
    def model_partition(self) -> str:
        """The model's partition (``aws``, ``aws-us-gov``…): the stack must be deployed in it."""
        return self.model_arn.split(":")[1]

    @property
    def model_region(self) -> str:
        """The model's region: Custom Labels answers only there, so the stack must be deployed there."""
        return self.model_arn.split(":")[3]

    @classmethod
    def from_context(cls, node: _ContextNode) -> LabelwatchConfig:
        """Validate the whole context of ``node`` (a construct's ``node``), so that a misspelt
        ``-c`` name is reported instead of silently leaving its parameter at the default."""
        return cls.from_mapping(node.get_all_context())

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> LabelwatchConfig:
        """Validate camelCase parameters; raise one ConfigError listing every problem.

        ``None`` and ``""`` mean "not given". The mapping may be the whole CDK context: the CDK's
        own keys and ``APP_CONTEXT_KEYS`` are skipped, and any other name that is not a parameter
        is a problem naming the closest parameter (or listing them all).
        """
        return _Parser(mapping).parse()


class _ContextNode(Protocol):
    def get_all_context(self) -> Mapping[str, Any]: ...


def _normalised_key(key: str) -> str:
    return key.replace("_", "").replace("-", "").lower()


_KEY_BY_NORMALISED = {_normalised_key(key): key for key in CONTEXT_KEYS}


def is_cdk_or_app_context_key(key: str) -> bool:
    """A context key of the CDK's (namespaced with '@' or ':', or one of its plain names) or the app's."""
    return key.startswith("@") or ":" in key or key in _CDK_PLAIN_KEYS or key in APP_CONTEXT_KEYS


def closest_parameter(key: str) -> str | None:
    """The parameter a misspelt key most likely meant (``minConfidance``, ``min_confidence``)."""
    import difflib

    normalised = _normalised_key(key)
    if normalised in _KEY_BY_NORMALISED:
        return _KEY_BY_NORMALISED[normalised]
    close = difflib.get_close_matches(normalised, list(_KEY_BY_NORMALISED), n=1, cutoff=0.6)
    return _KEY_BY_NORMALISED[close[0]] if close else None


# Parameters of earlier releases, and what took their place.
RETIRED_KEYS = {
    "imageLinkExpiryMinutes": "it was replaced by imageLinkDays (1-30): alert links no longer expire "
    "with the signing role's credentials",
}


def _unknown_key_hint(key: str) -> str:
    if key in RETIRED_KEYS:
        return RETIRED_KEYS[key]
    meant = closest_parameter(key)
    return f"did you mean {meant!r}?" if meant else f"the parameters are {', '.join(CONTEXT_KEYS)}"


def _character_names(characters: set[str]) -> str:
    """``U+200B ZERO WIDTH SPACE, U+0009``: code point and Unicode name (control characters have none)."""
    names = (f"U+{ord(c):04X} {unicodedata.name(c, '')}".rstrip() for c in sorted(characters))
    return ", ".join(names)


def _rekognition_region_problem(partition: str, region: str) -> str | None:
    """Why no Custom Labels model can live in ``region`` of ``partition`` (None: it can), by the
    endpoint data of the installed botocore: a typo or a made-up region would fail every image."""
    partitions = _aws_partitions()
    if partition not in partitions:
        return f"partition {partition!r}, which is not an AWS partition ({', '.join(partitions)})"
    regions = _rekognition_regions(partition)
    if not regions:
        return f"partition {partition!r}, where Amazon Rekognition runs in no region"
    if region not in regions:
        return (
            f"region {region!r}, which is not a region of partition {partition!r} where Amazon Rekognition "
            f"runs ({', '.join(regions)})"
        )
    return None


@functools.cache
def _aws_partitions() -> tuple[str, ...]:
    import botocore.session

    return tuple(botocore.session.get_session().get_available_partitions())


@functools.cache
def _rekognition_regions(partition: str) -> tuple[str, ...]:
    import botocore.session

    return tuple(botocore.session.get_session().get_available_regions("rekognition", partition))


def _absent(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


class _Parser:
    def __init__(self, mapping: Mapping[str, Any]) -> None:
        self.raw = mapping
        self.problems: list[str] = []

    def problem(self, parameter: str, text: str) -> None:
        self.problems.append(f"{parameter}: {text}")

    def get(self, key: str) -> Any:
        value = self.raw.get(key)
        return None if _absent(value) else value

    def parse(self) -> LabelwatchConfig:
        self._check_unknown_keys()
        model_arn = self._model_arn()
        min_confidence = self._confidence("minConfidence", self.get("minConfidence"))
        if min_confidence is None:
            min_confidence = DEFAULT_MIN_CONFIDENCE
        labels, overrides = self._labels()
        subscribers = self._subscribers("notificationEmails", labels)
        input_bucket = self._bucket_name("inputBucketName")
        results_bucket = self._bucket_name("resultsBucketName")
        if input_bucket and input_bucket == results_bucket:
            self.problem(
                "resultsBucketName",
                f"{results_bucket!r} is also the inputBucketName; the two buckets must differ",
            )
        ints = {rule.attribute: self._int(key, rule) for key, rule in _INT_RULES.items()}
        self._check_visibility_timeout(ints)
        self._check_inference_units(ints)
        self._check_link_days(ints)
        values = dict(
            model_arn=model_arn,
            subscribers=subscribers,
            labels_of_interest=labels,
            label_rules={label: overrides.get(label, min_confidence) for label in labels},
            min_confidence=min_confidence,
            input_bucket_name=input_bucket,
            results_bucket_name=results_bucket,
            image_links=self._bool("imageLinks", default=True),
            key_prefix=self._key_prefix(),
            ops_email=self._ops_email(),
            analytics_database=self._database(),
            model_control=self._choice("modelControl", MODEL_CONTROLS, DEFAULT_MODEL_CONTROL),
            execution_log_level=self._choice(
                "executionLogLevel", EXECUTION_LOG_LEVELS, DEFAULT_EXECUTION_LOG_LEVEL, upper=True
            ),
            **ints,
        )
        if self.problems:
            raise ConfigError(self.problems)
        return LabelwatchConfig(**values)

    def _check_visibility_timeout(self, ints: dict[str, int]) -> None:
        """A message's visibility timeout is also the claim's lease (docs/contracts.md, "Claims"): it
        must outlast the batching window, the Express execution's 5 minutes and a margin, or SQS hands
        a message whose execution still runs to a second one."""
        needed = ints["batch_window_seconds"] + EXPRESS_LIMIT_SECONDS + VISIBILITY_MARGIN_SECONDS
        if ints["visibility_timeout_seconds"] < needed:
            self.problem(
                "visibilityTimeoutSeconds",
                f"{ints['visibility_timeout_seconds']} is too short for batchWindowSeconds="
                f"{ints['batch_window_seconds']}; it must be at least batchWindowSeconds + "
                f"{EXPRESS_LIMIT_SECONDS} (an Express execution's limit) + {VISIBILITY_MARGIN_SECONDS}"
                f" = {needed}",
            )

    def _check_inference_units(self, ints: dict[str, int]) -> None:
        low, high = ints["min_inference_units"], ints["max_inference_units"]
        if high and high < low:
            self.problem(
                "maxInferenceUnits",
                f"{high} is below minInferenceUnits={low}; it must be at least minInferenceUnits "
                "(or 0 for no auto-scaling)",
            )

    def _check_link_days(self, ints: dict[str, int]) -> None:
        """A link opens the exact version it was sent for: once an image is overwritten, its old
        version expires after noncurrentVersionDays, so a longer-lived link would answer 403 before
        the date its alert gives."""
        days, kept = ints["image_link_days"], ints["noncurrent_version_days"]
        if days > kept:
            self.problem(
                "imageLinkDays",
                f"{days} is more than noncurrentVersionDays={kept}; a link opens the version it was "
                "sent for, which an overwrite leaves for noncurrentVersionDays only",
            )

    # -- individual parameters -------------------------------------------------------------

    def _check_unknown_keys(self) -> None:
        for key in self.raw:
            if key in CONTEXT_KEYS or is_cdk_or_app_context_key(str(key)):
                continue
            self.problem(str(key), f"{self.raw[key]!r} is not a parameter; {_unknown_key_hint(str(key))}")

    def _model_arn(self) -> str:
        value = self.get("modelArn")
        if value is None:
            self.problem("modelArn", f"not set; it is required: {_MODEL_ARN_FORMAT}")
            return ""
        if not isinstance(value, str) or not MODEL_ARN_PATTERN.match(value.strip()):
            self.problem("modelArn", f"{value!r} is not {_MODEL_ARN_FORMAT}")
            return ""
        _, partition, _, region = value.strip().split(":")[:4]
        where = _rekognition_region_problem(partition, region)
        if where:
            self.problem("modelArn", f"{value!r} is in {where}")
            return ""
        return value.strip()

    def _confidence(self, parameter: str, value: Any, context: str = "") -> float | None:
        """A number from 0 to 100, or None (not given, or invalid and reported).

        ``context`` prefixes the value in messages, e.g. for a per-label override.
        """
        if value is None:
            return None
        number = _to_number(value)
        if number is None:
            self.problem(parameter, f"{context}{value!r} is not a number; a confidence is 0 to 100")
            return None
        if not 0 <= number <= 100:
            shown = _format_number(number)
            self.problem(parameter, f"{context}{shown} is out of range; must be between 0 and 100")
            return None
        return float(number)

    def _labels(self) -> tuple[tuple[str, ...], dict[str, float]]:
        parameter = "labelsOfInterest"
        value = self.get(parameter)
        if value is None:
            self.problem(parameter, f"not set; it is required: 1 to {MAX_LABELS} labels")
            return (), {}
        entries = self._entries(parameter, value)
        if entries is None:
            return (), {}
        if not 1 <= len(entries) <= MAX_LABELS:
            self.problem(parameter, f"{len(entries)} labels given; 1 to {MAX_LABELS} are allowed")
        labels: list[str] = []
        overrides: dict[str, float] = {}
        seen: dict[str, str] = {}
        for entry in entries:
            if isinstance(entry, tuple):  # from a JSON object {"label": threshold | null}
                name, threshold_text = entry
                shown = repr({name: threshold_text})
            elif isinstance(entry, str):
                name, sep, threshold_text = entry.partition("=")
                threshold_text = threshold_text.strip() if sep else None
                shown = repr(entry.strip())
                if sep and threshold_text == "":
                    self.problem(parameter, f"{shown} has an empty threshold after '='")
                    threshold_text = None
            else:
                self.problem(parameter, f"{entry!r} is not a label name (a string)")
                continue
            name = name.strip() if isinstance(name, str) else name
            if not self._label_name(parameter, name):
                continue
            if name.casefold() in seen:
                self.problem(
                    parameter,
                    f"{name!r} is listed more than once (as {seen[name.casefold()]!r}); "
                    "labels are compared case-insensitively",
                )
                continue
            seen[name.casefold()] = name
            labels.append(name)
            if threshold_text is not None:
                threshold = self._confidence(parameter, threshold_text, context=f"{shown}: threshold ")
                if threshold is not None:
                    overrides[name] = threshold
        return tuple(labels), overrides

    def _label_name(self, parameter: str, name: Any) -> bool:
        if not isinstance(name, str):
            self.problem(parameter, f"{name!r} is not a label name (a string)")
            return False
        if not name:
            self.problem(parameter, "'' is blank; a label name has 1 to 100 characters")
            return False
        if len(name) > MAX_LABEL_LENGTH:
            self.problem(parameter, f"{name!r} is longer than {MAX_LABEL_LENGTH} characters")
            return False
        bad = sorted({c for c in name if c in _LABEL_FORBIDDEN})
        if bad:
            self.problem(parameter, f"{name!r} contains {''.join(bad)!r}; label names may not contain , = |")
            return False
        invisible = {c for c in name if unicodedata.category(c) in _LABEL_INVISIBLE_CATEGORIES}
        if invisible:
            self.problem(
                parameter,
                f"{name!r} contains {_character_names(invisible)}; "
                "label names may not contain control or invisible characters",
            )
            return False
        return True

    def _entries(self, parameter: str, value: Any) -> list[Any] | None:
        """A list from a JSON list/object (or a string holding one) or a comma-separated string."""
        if isinstance(value, str):
            text = value.strip()
            if text[:1] in "[{":
                try:
                    value = json.loads(text)
                except json.JSONDecodeError as error:
                    self.problem(parameter, f"{text!r} is not valid JSON ({error.msg})")
                    return None
            else:
                return text.split(",")
        if isinstance(value, Mapping):
            return list(value.items())
        if isinstance(value, list | tuple):
            return list(value)
        self.problem(parameter, f"{value!r} is not a list or a comma-separated string")
        return None

    def _subscribers(self, parameter: str, labels: tuple[str, ...]) -> tuple[Subscriber, ...]:
        value = self.get(parameter)
        if value is None:
            self.problem(parameter, "not set; it is required: one or more e-mail addresses")
            return ()
        entries = self._entries(parameter, value)
        if entries is None:
            return ()
        if not entries:
            self.problem(parameter, "[] has no address; give one or more e-mail addresses")
        subscribers: list[Subscriber] = []
        seen: set[str] = set()
        for entry in entries:
            parsed = self._subscriber(parameter, entry, labels)
            if parsed is None:
                continue
            if parsed.email.lower() in seen:
                self.problem(
                    parameter,
                    f"{parsed.email!r} is listed more than once; give each address once "
                    "with all the labels it wants",
                )
                continue
            seen.add(parsed.email.lower())
            subscribers.append(parsed)
        return tuple(subscribers)

    def _subscriber(self, parameter: str, entry: Any, labels: tuple[str, ...]) -> Subscriber | None:
        shown = repr(entry)
        if isinstance(entry, Mapping):
            email, wanted = entry.get("email"), entry.get("labels") or []
            if isinstance(wanted, str):
                wanted = wanted.split("|")
        elif isinstance(entry, str):
            entry = entry.strip()
            shown = repr(entry)
            # The filter starts at the first '=' after the '@': a local part may itself hold '='.
            at = entry.find("@")
            cut = entry.find("=", at + 1) if at >= 0 else -1
            email, wanted = (entry, []) if cut < 0 else (entry[:cut], entry[cut + 1 :].split("|"))
        else:
            self.problem(parameter, f"{shown} is not an e-mail address or an {{email, labels}} object")
            return None
        if not isinstance(email, str) or not email.strip():
            self.problem(parameter, f"{shown} has no e-mail address")
            return None
        if not self._email(parameter, email.strip(), shown):
            return None
        if not isinstance(wanted, list | tuple):
            self.problem(parameter, f"{shown} labels must be a list of label names")
            return None
        filters: list[str] = []
        for label in wanted:
            name = label.strip() if isinstance(label, str) else label
            if name == "":
                self.problem(parameter, f"{shown} has an empty label in its filter")
            elif name not in labels:
                allowed = ", ".join(repr(known) for known in labels) or "none are valid"
                self.problem(
                    parameter,
                    f"{shown} filters on {name!r}, which is not one of labelsOfInterest ({allowed})",
                )
            elif name not in filters:
                filters.append(name)
        return Subscriber(email=email.strip(), labels=tuple(filters))

    def _email(self, parameter: str, email: str, shown: str | None = None) -> bool:
        shown = shown or repr(email)
        if len(email) > MAX_EMAIL_LENGTH:
            self.problem(parameter, f"{shown} is longer than {MAX_EMAIL_LENGTH} characters")
            return False
        local = email.rpartition("@")[0]
        if not EMAIL_PATTERN.match(email) or len(local) > 64:
            self.problem(parameter, f"{shown} is not a valid e-mail address")
            return False
        return True

    def _ops_email(self) -> str | None:
        value = self.get("opsEmail")
        if value is None:
            return None
        if not isinstance(value, str):
            self.problem("opsEmail", f"{value!r} is not an e-mail address")
            return None
        return value.strip() if self._email("opsEmail", value.strip()) else None

    def _bucket_name(self, parameter: str) -> str | None:
        value = self.get(parameter)
        if value is None:
            return None
        if not isinstance(value, str):
            self.problem(parameter, f"{value!r} is not a bucket name (a string)")
            return None
        reasons = bucket_name_problems(value)
        if reasons:
            self.problem(parameter, f"{value!r} is not a valid S3 bucket name: {'; '.join(reasons)}")
            return None
        return value

    def _int(self, parameter: str, rule: _IntRule) -> int:
        value = self.get(parameter)
        if value is None:
            return rule.default
        number = _to_number(value)
        if number is None or number != int(number):
            self.problem(parameter, f"{value!r} is not a whole number")
            return rule.default
        number = int(number)
        if not rule.low <= number <= rule.high:
            why = f" ({rule.why})" if rule.why else ""
            self.problem(
                parameter, f"{number} is out of range; must be between {rule.low} and {rule.high}{why}"
            )
            return rule.default
        return number

    def _choice(self, parameter: str, choices: tuple[str, ...], default: str, *, upper: bool = False) -> str:
        value = self.get(parameter)
        if value is None:
            return default
        text = value.strip() if isinstance(value, str) else None
        if text is not None and upper:
            text = text.upper()
        if text not in choices:
            self.problem(parameter, f"{value!r} is not one of {', '.join(choices)}")
            return default
        return text

    def _bool(self, parameter: str, *, default: bool) -> bool:
        value = self.get(parameter)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower() if isinstance(value, str | int) else None
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        self.problem(parameter, f"{value!r} is not a boolean; use true/false, yes/no or 1/0")
        return default

    def _key_prefix(self) -> str:
        value = self.raw.get("keyPrefix")
        if value is None or value == "":
            return ""
        if not isinstance(value, str):
            self.problem("keyPrefix", f"{value!r} is not a string")
        elif value.startswith("/"):
            self.problem("keyPrefix", f"{value!r} starts with '/'; S3 keys have no leading slash")
        elif len(value) > MAX_KEY_PREFIX_LENGTH:
            self.problem("keyPrefix", f"{value!r} is longer than {MAX_KEY_PREFIX_LENGTH} characters")
        elif wildcard := next((c for c in value if c in _IAM_WILDCARDS), None):
            self.problem(
                "keyPrefix",
                f"{value!r} contains {wildcard!r}; '*' and '?' are IAM wildcards and would widen the "
                "detect function's read access beyond the prefix",
            )
        else:
            return value
        return ""

    def _database(self) -> str:
        value = self.get("analyticsDatabase")
        if value is None:
            return DEFAULT_DATABASE
        if not isinstance(value, str) or not DATABASE_PATTERN.match(value):
            self.problem(
                "analyticsDatabase",
                f"{value!r} is not a valid Glue database name "
                "(1 to 255 lowercase letters, digits and underscores)",
            )
            return DEFAULT_DATABASE
        return value


def bucket_name_problems(name: str) -> list[str]:
    """The S3 general purpose bucket naming rules ``name`` breaks (empty when it is valid)."""
    reasons: list[str] = []
    if not 3 <= len(name) <= 63:
        reasons.append(f"must be 3 to 63 characters long (it has {len(name)})")
    if not _BUCKET_CHARS.match(name):
        reasons.append("may contain only lowercase letters, digits, hyphens and dots")
    if not (name[:1].isalnum() and name[-1:].isalnum()) or not name.isascii():
        reasons.append("must begin and end with a lowercase letter or digit")
    if ".." in name:
        reasons.append("must not contain two adjacent dots")
    if _IP_ADDRESS.match(name):
        reasons.append("must not be formatted as an IP address")
    reasons += [f"must not start with {p!r}" for p in _BUCKET_RESERVED_PREFIXES if name.startswith(p)]
    reasons += [f"must not end with {s!r}" for s in _BUCKET_RESERVED_SUFFIXES if name.endswith(s)]
    return reasons


def _to_number(value: Any) -> float | None:
    """A finite number from an int/float or a numeric string; None for anything else (incl. bool)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _format_number(number: float) -> str:
    return str(int(number)) if number == int(number) else repr(number)
