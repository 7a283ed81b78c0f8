"""A function run once a minute by EventBridge Scheduler, as a role only that schedule may assume."""

from __future__ import annotations

import json

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from constructs import Construct

from infra.service_roles import role_for_one_resource

EVERY_MINUTE = "rate(1 minute)"
# The schedule hands its own time to the function: its "now" (functions/schedule_event.py)
SCHEDULED_TIME_INPUT = json.dumps({"time": "<aws.scheduler.scheduled-time>"})


def every_minute(
    scope: Construct, *, name_suffix: str, function: lambda_.IFunction, description: str
) -> scheduler.CfnSchedule:
    """The schedule ``<stack>-<name_suffix>`` and its role (``ScheduleRole``, ``Schedule`` in ``scope``).

    A missed minute is not made up (no retries, events older than a minute dropped): the next run
    looks afresh."""
    stack = Stack.of(scope)
    schedule_name = f"{stack.stack_name}-{name_suffix}"[:64]
    schedule_arn = (
        f"arn:{stack.partition}:scheduler:{stack.region}:{stack.account}:schedule/default/{schedule_name}"
    )
    role = role_for_one_resource(
        scope,
        "ScheduleRole",
        service="scheduler.amazonaws.com",
        source_arn=schedule_arn,
        description=f"labelwatch {name_suffix} schedule: invoke its function",
    )
    role.add_to_policy(
        iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[function.function_arn])
    )
    return scheduler.CfnSchedule(
        scope,
        "Schedule",
        name=schedule_name,
        description=description,
        schedule_expression=EVERY_MINUTE,
        flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
        target=scheduler.CfnSchedule.TargetProperty(
            arn=function.function_arn,
            role_arn=role.role_arn,
            input=SCHEDULED_TIME_INPUT,
            retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                maximum_retry_attempts=0, maximum_event_age_in_seconds=60
            ),
        ),
    )
