"""The alert's SNS subject, message and label attribute."""

from __future__ import annotations

import json
import unicodedata
from datetime import UTC, datetime

from .labels import Label
from .links import ImageLink
from .rules import LabelRules, Match

SUBJECT_MAX = 100  # SNS: at most 100 printable ASCII characters, no line breaks
ELLIPSIS = "..."
# An e-mail lists this many of the image's other labels (an object-detection answer can hold 100,
# and an image alerting on ten labels sends ten e-mails, all carried in one state of 256 KiB).
MAX_OTHER_LABELS = 15


def to_ascii(text: str) -> str:
    """Printable ASCII only: accents are dropped ('é' -> 'e'), other characters become '?'."""
    folded = unicodedata.normalize("NFKD", text)
    out = []
    for char in folded:
        if unicodedata.combining(char):
            continue
        out.append(char if " " <= char <= "~" else "?")
    return "".join(out)


# Characters that would move, hide or reorder text where a reader sees it: controls (C0, DEL, C1: line
# breaks among them), Unicode's line and paragraph separators, and invisible format characters
# (bidirectional overrides, zero-width ones).
_UNSAFE_CATEGORIES = {"Cc", "Cf", "Zl", "Zp"}
_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", '"': '\\"', "\\": "\\\\"}


def _escaped(char: str) -> str:
    if char in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[char]
    if unicodedata.category(char) not in _UNSAFE_CATEGORIES:
        return char
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def quoted(text: str) -> str:
    """``text`` in double quotes with every unsafe character escaped, so that text from an uploader (a
    key may hold any UTF-8, line breaks included) reads as one quoted value and never as lines of the
    alert: ``leaf.jpg<LF>URGENT`` becomes ``"leaf.jpg\\nURGENT"``. Printable characters, accented and
    non-Latin ones included, are kept; a quote and a backslash are escaped so the value stays
    unambiguous."""
    return '"' + "".join(_escaped(char) for char in text) + '"'


def pct(confidence: float, decimals: int = 2) -> str:
    """93.1 -> '93.1%', 80.0 -> '80%', 93.126 -> '93.13%'."""
    text = f"{confidence:.{decimals}f}".rstrip("0").rstrip(".")
    return f"{text}%"


def _when(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def alert_labels(matches: list[Match]) -> str:
    """JSON array of the matched labels as configured (what subscription filter policies name)."""
    names: list[str] = []
    for match in matches:
        if match.rule not in names:
            names.append(match.rule)
    return json.dumps(names, ensure_ascii=False)


def build_subject(matches: list[Match], key: str) -> str:
    """e.g. ``labelwatch: leaf-smut 93.1% (+1 more) in leaves/img.jpg``; the key is shortened from the
    left (the file name is the useful end) so the subject stays within SNS's limit."""
    if not matches:
        return ""
    top = matches[0]
    others = len({m.rule for m in matches} - {top.rule})
    head = f"labelwatch: {to_ascii(top.label.name)} {pct(top.label.confidence, 1)}"
    if others:
        head += f" (+{others} more)"
    head += " in "
    where = to_ascii(key)
    room = SUBJECT_MAX - len(head)
    if len(where) <= room:
        return head + where
    if room >= len(ELLIPSIS) + 8:
        return head + ELLIPSIS + where[-(room - len(ELLIPSIS)) :]
    return (head + where)[: SUBJECT_MAX - len(ELLIPSIS)] + ELLIPSIS


def build_message(
    *,
    image_uri: str,
    uploaded_at: datetime,
    detected_at: datetime,
    matches: list[Match],
    labels: list[Label],
    rules: LabelRules,
    model_arn: str,
    execution: str | None,
    link: ImageLink | None,
) -> str:
    """Plain text for e-mail: what matched and why, what else was seen, where the image is."""
    lines = ["labelwatch found labels of interest in an uploaded image.", ""]
    # The URI ends in the uploader's key: quoted and escaped, it cannot add lines of its own.
    lines += [f"Image:     {quoted(image_uri)}", f"Uploaded:  {_when(uploaded_at)}"]
    lines += [f"Detected:  {_when(detected_at)}"]
    lines += ["", "Matched labels (confidence, your threshold):"]
    for m in matches:
        lines.append(f"  - {m.label.name}: {pct(m.label.confidence)} (threshold {pct(m.threshold)})")

    matched = {id(m.label) for m in matches}
    others = [label for label in labels if id(label) not in matched]
    lines += ["", "Other labels seen:"]
    if not others:
        lines.append("  (none)")
    for label in others[:MAX_OTHER_LABELS]:
        rule = rules.rule_for(label.name)
        note = ""
        if rule and rules.is_match(label):
            note = f" (over your threshold {pct(rule[1])}: its own alert)"
        elif rule:
            note = f" (below your threshold {pct(rule[1])})"
        lines.append(f"  - {label.name}: {pct(label.confidence)}{note}")
    if len(others) > MAX_OTHER_LABELS:
        more = len(others) - MAX_OTHER_LABELS
        lines.append(f"  ... and {more} more (every label is in the image's result records and its page)")

    if link is not None:
        expiry = link.expires_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        lines += ["", f"The photo (links valid until {expiry}):", link.url]
        lines += ["Its labels, boxes and the rule that matched:", link.view_url]
    lines += ["", f"Model:     {model_arn}", f"Execution: {execution or '-'}"]
    return "\n".join(lines) + "\n"
