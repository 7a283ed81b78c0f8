"""A handler module whose import fails (Lambda's Runtime.ImportModuleError)."""

import module_that_does_not_exist  # noqa: F401


def handler(event, context):
    return {}
