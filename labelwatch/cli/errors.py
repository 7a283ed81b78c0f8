"""Exit codes scripts can rely on (also listed in the README), and errors a person can act on."""

from __future__ import annotations

OK = 0
FAILURE = 1  # something unexpected went wrong (a bug, or AWS said no)
USAGE = 2  # bad command line: unknown command or option, missing or malformed argument
NO_STACK = 3  # no local stack is running / the deployed stack, profile or credentials were not found
BAD_INPUT = 4  # a dataset, SQL query, path or parameter that cannot be used
INCOMPLETE = 5  # the work did not finish: images without an outcome, a model not running


class CliError(Exception):
    """An error the user can act on: printed without a traceback, exits with ``code``."""

    def __init__(self, message: str, code: int = FAILURE, hint: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.hint = hint


def from_aws_error(error: BaseException) -> CliError | None:
    """The CliError for a botocore error a person can fix (profile, credentials, a bad value)."""
    from botocore import exceptions as aws

    if isinstance(error, aws.ProfileNotFound):
        return CliError(str(error), NO_STACK, hint="list the profiles with `aws configure list-profiles`")
    if isinstance(error, aws.NoCredentialsError | aws.PartialCredentialsError):
        return CliError(f"no usable AWS credentials: {error}", NO_STACK, hint="pass --profile NAME")
    if isinstance(error, aws.NoRegionError):
        return CliError("no AWS region is configured", NO_STACK, hint="pass --region NAME")
    if isinstance(error, aws.EndpointConnectionError):
        return CliError(f"cannot reach AWS: {error}", NO_STACK)
    if isinstance(error, aws.ParamValidationError):
        report = str(error.kwargs.get("report", error)).strip()
        return CliError(f"invalid value for AWS: {' '.join(report.split())}", BAD_INPUT)
    if isinstance(error, aws.ClientError):
        details = error.response.get("Error", {})
        return CliError(f"AWS said no: {details.get('Code', '?')}: {details.get('Message', '')}", FAILURE)
    return None
