"""Build the CDK app: read and validate the parameters, make the stack, apply cdk-nag."""

from __future__ import annotations

from aws_cdk import App, Environment

from infra.config import LabelwatchConfig
from infra.nag import add_checks
from infra.stack import LabelwatchStack

STACK_NAME = "Labelwatch"


def build_app(app: App | None = None, *, nag: bool = True) -> App:
    app = app or App()
    config = LabelwatchConfig.from_context(app.node)
    stack_name = app.node.try_get_context("stackName") or STACK_NAME
    LabelwatchStack(app, stack_name, config=config, env=Environment(account=None, region=None))
    if nag:
        add_checks(app)
    return app


def stack_of(app: App) -> LabelwatchStack:
    """The one labelwatch stack in ``app``."""
    return next(child for child in app.node.children if isinstance(child, LabelwatchStack))
