"""Fixtures that run the deployable state machine in moto's executing Step Functions.

The stack comes from the synthesized template (not a hand-kept copy) and runs in the strict twin
(``labelwatch.local.emulator.Emulator``): the template's policies govern every call, the detect
handler runs as the template configures it, DetectCustomLabels is answered by a scripted model
with Custom Labels semantics, and the Pipe's part is played by ``LocalPipe``.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

import pytest
from PIL import Image

from labelwatch.local.emulator import Emulator

REGION = "us-east-1"

# A leaf's colour stands for its disease in these tests: the scripted model "sees" the colour.
COLOURS = {
    "healthy": (40, 160, 60),
    "leaf-smut": (60, 40, 30),
    "bacterial-leaf-blight": (200, 170, 60),
}


def leaf_image(kind: str, *, fmt: str = "JPEG", size: tuple[int, int] = (160, 120)) -> bytes:
    image = Image.new("RGB", size, COLOURS[kind])
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def scripted_predictor(image_bytes: bytes) -> list[tuple[str, float, None]]:
    """Classify by the centre pixel: the closest colour gets 93 %, the others share the rest."""
    image = Image.open(io.BytesIO(image_bytes)).convert("RGB")
    pixel = image.getpixel((image.width // 2, image.height // 2))

    def distance(colour: tuple[int, int, int]) -> int:
        return sum((a - b) ** 2 for a, b in zip(pixel, colour, strict=True))

    best = min(COLOURS, key=lambda name: distance(COLOURS[name]))
    return [(name, 93.0 if name == best else 3.5, None) for name in COLOURS]


@pytest.fixture
def emulator():
    """The embedded AWS, strict: what AWS would refuse, it refuses. The Retry policies' waits are
    recorded but not slept (``emulator.retry_waits.waits``)."""
    with Emulator(region=REGION) as emulator:
        emulator.retry_waits.scale = 0
        yield emulator


@pytest.fixture
def retry_waits(emulator):
    """The intervals the workflow's Retry policies asked for, in order (not slept)."""
    return emulator.retry_waits


@pytest.fixture
def aws(emulator):
    """A boto3 client factory for the embedded AWS, signed as the account's administrator."""
    return emulator.client


@pytest.fixture
def stack(emulator, template):
    return emulator.deploy(template)


@pytest.fixture
def model(stack):
    """The Custom Labels model version the stack is configured with, running, scripted."""
    arn = stack.detect_environment()["MODEL_ARN"]
    return stack.emulator.models.register(arn, scripted_predictor, running=True)


@dataclass
class Inbox:
    """An SQS queue subscribed to the alerts topic: what an e-mail subscriber would receive."""

    client: object
    url: str

    def messages(self) -> list[dict]:
        received = []
        while True:
            batch = (
                self.client("sqs")
                .receive_message(QueueUrl=self.url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
                .get("Messages", [])
            )
            if not batch:
                return received
            received.extend(json.loads(message["Body"]) for message in batch)


def subscribe_queue(aws, topic_arn: str, name: str, filter_policy: dict | None = None) -> Inbox:
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    attributes = {"FilterPolicy": json.dumps(filter_policy)} if filter_policy else {}
    aws("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, Attributes=attributes)
    return Inbox(client=aws, url=url)


@pytest.fixture
def inbox(aws, stack) -> Inbox:
    return subscribe_queue(aws, stack.outputs["AlertsTopicArn"], "test-inbox")


@pytest.fixture
def inbox_for(aws):
    """For tests that deploy a template of their own: an inbox on that stack's alerts topic."""
    return lambda stack: subscribe_queue(aws, stack.outputs["AlertsTopicArn"], "test-inbox")
