"""The synth's check that a batch's worst case fits in an Express execution (free of CDK imports, so
the unit tests check the exported definition without starting Node.js)."""

from __future__ import annotations

from typing import Any

from infra.config import EXPRESS_LIMIT_SECONDS, MAX_LABELS, ConfigError
from statemachine import budget

# The detect function's timeout (infra.workflow.DETECT_TIMEOUT): a download of up to 15 MB, a decode
# with its own deadline and one model call; its six attempts are most of an image's worst case.
DETECT_TIMEOUT_SECONDS = 25


def lambda_attempt_limit(lambda_timeout_seconds: float) -> budget.AttemptLimit:
    """A Task that names a Lambda function (not a ``states:::`` integration) lasts at most the
    function's timeout; the detect function is the one a Task calls without a TimeoutSeconds of its
    own (ApplyCooldown has one)."""

    def limit(_name: str, state: dict[str, Any]) -> float | None:
        return None if ":states:::" in str(state.get("Resource", "")) else float(lambda_timeout_seconds)

    return limit


def check_batch_fits(
    definition: dict[str, Any],
    *,
    batch_size: int,
    lambda_timeout_seconds: float = DETECT_TIMEOUT_SECONDS,
    execution_limit_seconds: float = EXPRESS_LIMIT_SECONDS,
) -> budget.WorstCase:
    """The worst case of a batch of ``batch_size`` images must end within an Express execution's
    5 minutes: past them the execution stops with every image in it, and no Catch runs. The Map's
    MaxConcurrency is the ``mapConcurrency`` parameter."""
    attempt_limit = lambda_attempt_limit(lambda_timeout_seconds)
    # an image's own Maps (its alerts) get at most one item per label of interest
    nested = MAX_LABELS
    image = budget.map_items(definition, attempt_limit=attempt_limit, nested_items_per_map=nested)
    map_concurrency = budget.map_state(definition).get("MaxConcurrency", 0) or batch_size
    batch = budget.worst_case(
        definition, attempt_limit=attempt_limit, items_per_map=batch_size, nested_items_per_map=nested
    )
    limit = execution_limit_seconds
    if batch.seconds > limit:
        rounds = -(-batch_size // map_concurrency)
        fitting_rounds = int(limit // image.seconds) if image.seconds else rounds
        if fitting_rounds == 0:  # the definition's own retry budget, not a parameter
            raise budget.UnboundedWorkflow(f"one image's worst case {image.describe()} exceeds {limit:.0f} s")
        raise ConfigError(
            [
                f"batchSize/mapConcurrency: batchSize={batch_size} with mapConcurrency={map_concurrency}"
                f" is {rounds} rounds of images, and one image's worst case (every attempt at its time"
                f" limit, every retry's longest wait) is {image.describe()}; the batch's worst case,"
                f" {batch.seconds:.0f} s, exceeds an Express execution's {limit:.0f} s. Make"
                f" mapConcurrency at least {-(-batch_size // fitting_rounds)} or batchSize at most"
                f" {fitting_rounds * map_concurrency}"
            ]
        )
    return batch
