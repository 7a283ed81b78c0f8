"""Deliver the alerts topic's e-mail subscriptions to a local outbox of ``.eml`` files.

moto accepts ``email`` subscriptions and silently drops what is published to them. Here each
delivery SNS would make (after the subscription's filter policy, exactly as on AWS) is written
as one RFC 5322 message: open it with any mail client, or read it as text. Listeners (the
``local up`` console) are told about every mail as it is written.
"""

from __future__ import annotations

import inspect
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

from moto.sns.models import Subscription

from labelwatch.local.patching import Patch

EMAIL_PROTOCOLS = ("email", "email-json")
SENDER = "AWS Notifications <no-reply@sns.amazonaws.com>"
DEFAULT_SUBJECT = "AWS Notification Message"  # what SNS uses when Publish has no Subject
FOOTER = (
    "\n\n--\nIf you wish to stop receiving notifications from this topic, unsubscribe in the "
    "labelwatch stack's configuration (notificationEmails).\n"
)


@dataclass(frozen=True)
class Mail:
    path: Path
    recipient: str
    subject: str
    body: str
    sent_at: datetime
    topic_arn: str

    @property
    def links(self) -> list[str]:
        """The alert's links, each on a line of its own: the photo's, then its page's (``?view``)."""
        return re.findall(r"^https?://\S+$", self.body, flags=re.MULTILINE)


@dataclass
class Outbox:
    directory: Path | None = None
    listeners: list[Callable[[Mail], None]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _count: int = 0

    def deliver(self, *, topic_arn: str, recipient: str, subject: str | None, body: str) -> Mail | None:
        if self.directory is None:
            return None
        sent_at = datetime.now(UTC)
        message = EmailMessage()
        message["From"] = SENDER
        message["To"] = recipient
        message["Subject"] = subject or DEFAULT_SUBJECT
        message["Date"] = format_datetime(sent_at)
        message["Message-ID"] = make_msgid(domain="sns.amazonaws.com")
        message["X-Labelwatch-Topic"] = topic_arn
        message.set_content(body + FOOTER)
        with self._lock:
            self._count += 1
            name = f"{sent_at:%Y%m%dT%H%M%S%fZ}-{self._count:05d}-{_safe(recipient)}.eml"
            self.directory.mkdir(parents=True, exist_ok=True)
            path = self.directory / name
            path.write_bytes(bytes(message))
        mail = Mail(path, recipient, message["Subject"], body, sent_at, topic_arn)
        for listener in list(self.listeners):
            listener(mail)
        return mail


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9@._-]", "_", text)[:80]


_original_publish = Subscription.publish


def patches(outbox: Outbox) -> list[Patch]:
    """Write e-mail deliveries into ``outbox`` (after the subscription's filter policy)."""

    def publish(
        self: Subscription,
        message: str,
        message_id: str,
        subject: str | None = None,
        message_attributes: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        _original_publish(
            self, message, message_id, subject=subject, message_attributes=message_attributes, **kwargs
        )
        if self.protocol not in EMAIL_PROTOCOLS:
            return
        matcher = self._filter_policy_matcher
        if matcher is not None and not matcher.matches(message_attributes, message):
            return
        outbox.deliver(topic_arn=self.topic.arn, recipient=self.endpoint, subject=subject, body=message)

    return [Patch(Subscription, "publish", publish, signature=str(inspect.signature(_original_publish)))]


def read_mail(path: Path) -> dict[str, str]:
    """The headers and text of an ``.eml`` file in the outbox."""
    from email import policy
    from email.parser import BytesParser

    message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    body = message.get_body(preferencelist=("plain",))
    return {
        "to": str(message["To"]),
        "subject": str(message["Subject"]),
        "date": str(message["Date"]),
        "body": body.get_content() if body else "",
        "file": str(path),
    }
