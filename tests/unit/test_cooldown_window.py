"""Flood control's window for an alert (functions/detect/cooldown.py) and the alerts detect makes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from detect.cooldown import cooldown_window, folder_of

UPLOADED = datetime(2026, 11, 25, 10, 59, 59, tzinfo=UTC)


def window(key: str = "field-7/a.jpg", label: str = "leaf-smut", minutes: int = 60, **times):
    return cooldown_window(
        label=label,
        bucket="b",
        key=key,
        uploaded_at=times.get("uploaded_at", UPLOADED),
        detected_at=times.get("detected_at", UPLOADED + timedelta(seconds=3)),
        minutes=minutes,
        retention_days=14,
    )


@pytest.mark.parametrize(
    ("key", "folder"),
    [("field-7/a.jpg", "field-7/"), ("a.jpg", ""), ("a/b/c.jpg", "a/b/"), ("line\nbreak/x", "line\nbreak/")],
)
def test_the_folder_is_the_key_up_to_its_last_slash(key, folder):
    assert folder_of(key) == folder


def test_windows_are_aligned_to_the_cooldown_on_the_upload_time():
    payload = window().payload()
    assert (payload["windowStart"], payload["windowEnd"]) == ("2026-11-25T10:00:00Z", "2026-11-25T11:00:00Z")
    assert (
        window(uploaded_at=UPLOADED + timedelta(seconds=1)).payload()["windowStart"] == "2026-11-25T11:00:00Z"
    )
    assert window(minutes=45).payload()["windowStart"] == "2026-11-25T10:30:00Z"  # 45-minute steps since 1970


def test_the_same_label_and_folder_in_the_same_window_share_one_item_whatever_else_differs():
    first = window("field-7/a.jpg", "leaf-smut")
    assert window("field-7/b.jpg", "Leaf-Smut ").pk == first.pk  # rules compare trimmed, case-insensitively
    assert window("field-8/a.jpg").pk != first.pk
    assert window("field-7/sub/a.jpg").pk != first.pk
    assert window(label="blight").pk != first.pk
    assert window(uploaded_at=UPLOADED + timedelta(hours=1)).pk != first.pk
    assert len(window("é" * 500 + "/x.jpg").pk) < 80  # a folder can be 1 KB: the key is a digest


def test_the_digest_is_due_when_no_execution_can_still_add_to_the_window():
    in_time = window(detected_at=UPLOADED + timedelta(seconds=0.5))
    assert in_time.payload()["digestDue"] == "2026-11-25T11:05:00Z"  # its end + an Express execution
    late = window(detected_at=datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC))  # a backlog, processed late
    assert late.payload()["digestDue"] == "2026-11-25T12:05:00Z"


def test_the_item_expires_after_the_retention():
    assert window().expires_at == int(datetime(2026, 12, 9, 11, 0, tzinfo=UTC).timestamp())


def test_a_zero_minute_window_is_refused():
    with pytest.raises(ValueError, match="at least 1 minute"):
        window(minutes=0)
