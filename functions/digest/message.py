"""A flood-control digest's SNS subject, plain-text message and the Athena query that lists its matches.

Pure functions of one window (no AWS call). The label and the folder come from configuration and
from uploaders' keys, so nothing of them reaches the e-mail raw: the subject is printable ASCII
(``to_ascii``), the text shows them with ``quoted()`` (line breaks escaped), and the query's string
literals are SQL-escaped, as Trino's Unicode literals (``U&'...'``) when they hold a line break or an
invisible character, so that even the SQL shows no line of the uploader's (it still means the same
text). Everything is shown in UTC, the windows' own zone.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime

from detect.alert import ELLIPSIS, SUBJECT_MAX, quoted, to_ascii

TOP_LEVEL = "(top level)"
# What quoted() escapes in the text: controls (line breaks among them), line and paragraph
# separators, invisible format characters (bidirectional overrides, zero-width ones).
_UNSAFE_CATEGORIES = {"Cc", "Cf", "Zl", "Zp"}


@dataclass(frozen=True)
class DigestWindow:
    """One window that held matches back, as the workflow recorded it (the cooldown table's item)."""

    pk: str
    label: str  # the rule's label, as configured
    folder: str  # the key up to its last "/"; "" for the bucket's top level
    bucket: str
    window_start: datetime  # UTC, inclusive
    window_end: datetime  # UTC, exclusive
    count: int  # how many matches were held back (the size of the item's ``suppressed`` set)
    alert_image: str | None = None  # the image id of the window's one alert
    alert_image_uri: str | None = None  # its s3://bucket/key


def iso_utc(value: datetime) -> str:
    """``2026-12-02T10:00:00Z``: how the table and the result records write times."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _span(start: datetime, end: datetime) -> str:
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if start.date() == end.date():
        return f"{start:%H:%M}-{end:%H:%M} UTC"
    return f"{start:%Y-%m-%d %H:%M} - {end:%Y-%m-%d %H:%M} UTC"


def build_subject(window: DigestWindow) -> str:
    """e.g. ``labelwatch: 37 more leaf-smut in field-7/ (10:00-11:00 UTC)``: printable ASCII within
    SNS's 100 characters; a long folder is shortened from the left (its end is the useful part), an
    absurdly long label is cut, and the count and the times are always kept."""
    head = f"labelwatch: {window.count} more {to_ascii(window.label)} in "
    tail = f" ({_span(window.window_start, window.window_end)})"
    where = to_ascii(window.folder) if window.folder else TOP_LEVEL
    room = SUBJECT_MAX - len(head) - len(tail)
    if len(where) <= room:
        return head + where + tail
    if room >= len(ELLIPSIS) + 8:
        return head + ELLIPSIS + where[-(room - len(ELLIPSIS)) :] + tail
    return (head + where)[: SUBJECT_MAX - len(tail) - len(ELLIPSIS)] + ELLIPSIS + tail


def sql_string(text: str) -> str:
    """A Trino string literal of ``text``: ``'`` doubled; when ``text`` holds a character that would
    break or hide lines where the SQL is read, a Unicode literal with those characters escaped
    (``U&'field\\000A7/'``; a backslash is then ``\\\\``)."""
    if not any(unicodedata.category(char) in _UNSAFE_CATEGORIES for char in text):
        return "'" + text.replace("'", "''") + "'"
    out = []
    for char in text:
        if char == "\\":
            out.append("\\\\")
        elif char == "'":
            out.append("''")
        elif unicodedata.category(char) in _UNSAFE_CATEGORIES:
            code = ord(char)
            out.append(f"\\{code:04X}" if code <= 0xFFFF else f"\\+{code:06X}")
        else:
            out.append(char)
    return "U&'" + "".join(out) + "'"


def sql_identifier(name: str) -> str:
    """A quoted identifier: ``"`` doubled."""
    return '"' + name.replace('"', '""') + '"'


def suppressed_query(
    database: str, table: str, label: str, folder: str, window_start: datetime, window_end: datetime
) -> str:
    """The Athena query that lists the matches a window held back: the label's suppressed records of
    keys directly in ``folder`` (not in its subfolders), uploaded in [window_start, window_end).

    The label is compared as the rules compare names (trimmed, case-insensitive); the folder with
    ``starts_with`` rather than ``LIKE``, so ``%`` and ``_`` in it are plain characters; ``dt`` (the
    upload's UTC day) bounds the partitions read."""
    label_text = label.strip().lower()  # as Trino's lower() folds (casefold would make ß "ss")
    if folder:
        in_folder = (
            f"starts_with(key, {sql_string(folder)})\n  AND strpos(substr(key, {len(folder) + 1}), '/') = 0"
        )
    else:
        in_folder = "strpos(key, '/') = 0"
    start, end = iso_utc(window_start), iso_utc(window_end)
    return (
        "SELECT key, label, confidence, uploaded_at, image\n"
        f"FROM {sql_identifier(database)}.{sql_identifier(table)}\n"
        f"WHERE dt BETWEEN {sql_string(start[:10])} AND {sql_string(end[:10])}\n"
        "  AND suppressed = true\n"
        f"  AND lower(trim(label)) = {sql_string(label_text)}\n"
        f"  AND from_iso8601_timestamp(uploaded_at) >= from_iso8601_timestamp({sql_string(start)})\n"
        f"  AND from_iso8601_timestamp(uploaded_at) < from_iso8601_timestamp({sql_string(end)})\n"
        f"  AND {in_folder}\n"
        "ORDER BY uploaded_at;"
    )


def _when(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def build_message(
    window: DigestWindow,
    *,
    cooldown_minutes: int,
    database: str,
    table: str,
    workgroup: str,
    console_url: str,
) -> str:
    """Plain text for e-mail: how many matches were held back, where and when, why, which image was
    alerted, and how to list the others."""
    images = "image" if window.count == 1 else "images"
    where = (
        f"in the folder {quoted(window.folder)} of bucket {quoted(window.bucket)}"
        if window.folder
        else f"at the top level of bucket {quoted(window.bucket)}"
    )
    lines = [
        f"labelwatch held back the alerts of {window.count} more {images} matching {quoted(window.label)}",
        f"{where}",
        f"between {_when(window.window_start)} and {_when(window.window_end)}.",
        "",
        f"Flood control sends one alert per label per folder every {cooldown_minutes} minutes",
        "(alertCooldownMinutes); the other matches of that time are recorded as suppressed and",
        "summed up here once, after the window has closed.",
        "",
    ]
    if window.alert_image_uri:
        lines.append(f"The alert sent for this window was for {quoted(window.alert_image_uri)}.")
    elif window.alert_image:
        lines.append(f"The alert sent for this window was for the image {quoted(window.alert_image)}.")
    else:
        lines.append("The alert sent for this window is not on record.")
    lines += ["", f"List them in Athena (workgroup {quoted(workgroup)}):"]
    if console_url:
        lines.append(console_url)
    lines += [
        "",
        suppressed_query(
            database, table, window.label, window.folder, window.window_start, window.window_end
        ),
        "",
        "(One row per detection: an object-detection model may give an image several.)",
    ]
    return "\n".join(lines) + "\n"
