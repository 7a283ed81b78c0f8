"""What a subscriber reads: the SNS subject, the message and the label attribute."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlparse

import boto3
from botocore.config import Config
from detect.alert import alert_labels, build_message, build_subject
from detect.labels import Label
from detect.links import ImageLink, presign_image
from detect.rules import parse_label_rules
from moto import mock_aws

from tests.unit.factories import BUCKET, EXECUTION, MODEL_ARN

RULES = parse_label_rules('{"Leaf-Smut": 80, "bacterial-leaf-blight": 70.5}')
NOW = datetime(2026, 11, 25, 10, 0, 42, tzinfo=UTC)


def printable_ascii(text: str) -> bool:
    return all(" " <= char <= "~" for char in text)


def labels_and_matches():
    labels = [Label("leaf-smut", 93.12), Label("bacterial-leaf-blight", 71.0), Label("healthy", 40.0)]
    labels.append(Label("bacterial-leaf-blight", 50.25))
    return labels, RULES.evaluate(labels)


def test_subject_names_top_label_and_key():
    _, matches = labels_and_matches()
    assert (
        build_subject(matches, "leaves/img.jpg") == "labelwatch: leaf-smut 93.1% (+1 more) in leaves/img.jpg"
    )


def test_subject_with_long_unicode_key_fits_sns_limits():
    _, matches = labels_and_matches()
    key = "фото/" + "写真" * 80 + "/\u00e9t\u00e9\nleaf photo.jpg"
    subject = build_subject(matches, key)
    assert len(subject) <= 100
    assert printable_ascii(subject)
    assert subject.startswith("labelwatch: leaf-smut 93.1% (+1 more) in ...")
    assert subject.endswith("/ete?leaf photo.jpg")  # accents folded, newline and CJK replaced


def test_subject_with_absurdly_long_label_name_is_cut():
    rules = parse_label_rules('{"' + "x" * 150 + '": 10}')
    subject = build_subject(rules.evaluate([Label("x" * 150, 50.0)]), "a.jpg")
    assert len(subject) == 100 and subject.endswith("...") and printable_ascii(subject)


def test_no_matches_no_subject():
    assert build_subject([], "a.jpg") == ""
    assert alert_labels([]) == "[]"


def test_alert_labels_are_the_configured_names_once_each():
    labels = [Label("LEAF-SMUT", 90.0), Label("leaf-smut", 85.0), Label("bacterial-leaf-blight", 75.0)]
    assert json.loads(alert_labels(RULES.evaluate(labels))) == ["Leaf-Smut", "bacterial-leaf-blight"]


def message(link=None, *, key: str = "leaves/my photoé.jpg", matches=None, labels=None):
    """The alert text for ``labels_and_matches()``, or for the ``matches`` and ``labels`` given."""
    if matches is None:
        labels, matches = labels_and_matches()
    return build_message(
        image_uri=f"s3://{BUCKET}/{key}",
        uploaded_at=datetime(2026, 11, 25, 9, 59, 58, tzinfo=UTC),
        detected_at=NOW,
        matches=matches,
        labels=labels,
        rules=RULES,
        model_arn=MODEL_ARN,
        execution=EXECUTION,
        link=link,
    )


def test_message_explains_matches_and_context():
    text = message()
    assert "leaf-smut: 93.12% (threshold 80%)" in text
    assert "bacterial-leaf-blight: 71% (threshold 70.5%)" in text
    assert "healthy: 40%" in text
    assert "bacterial-leaf-blight: 50.25% (below your threshold 70.5%)" in text
    assert f"s3://{BUCKET}/leaves/my photoé.jpg" in text
    assert "2026-11-25 09:59:58 UTC" in text
    assert MODEL_ARN in text and EXECUTION in text
    assert "http" not in text and "valid until" not in text


def test_message_with_link_states_its_expiry_and_carries_the_photo_and_its_page():
    link = ImageLink(url="https://abc.lambda-url.us-east-1.on.aws/i/TOKEN", expires_at=NOW.replace(hour=11))
    text = message(link)
    lines = text.splitlines()
    assert link.url in lines and f"{link.url}?view" in lines
    assert "valid until 2026-11-25 11:00 UTC" in text
    assert "credentials" not in text  # the link outlives them


def presigned(key: str, *, version_id: str | None = None, image_format: str = "jpeg", expiry: int = 900):
    """``presign_image`` with an s3v4 client, as the function signs alert links."""
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1", config=Config(signature_version="s3v4"))
        return presign_image(
            client,
            bucket=BUCKET,
            key=key,
            version_id=version_id,
            expiry_seconds=expiry,
            now=NOW,
            image_format=image_format,
        )


def test_presigned_link_is_sigv4_for_the_uploaded_version():
    link = presigned("leaves/my photoé.jpg", version_id="v-9")
    query = parse_qs(urlparse(link.url).query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Expires"] == ["900"]
    assert query["versionId"] == ["v-9"]
    assert link.expires_at == datetime(2026, 11, 25, 10, 15, 42, tzinfo=UTC)


PHISHING_KEY = "leaf.jpg\n\nURGENT: re-authenticate at https://evil.example/login\r\n"


def message_for_key(key: str) -> str:
    return message(key=key)


def test_a_key_with_line_breaks_cannot_write_lines_of_its_own_into_the_alert():
    text = message_for_key(PHISHING_KEY)

    assert text.count("\n") == message_for_key("leaf.jpg").count("\n"), "the key adds no line"
    assert not any(line.lstrip().startswith("URGENT") for line in text.splitlines())
    (image_line,) = [line for line in text.splitlines() if line.startswith("Image:")]
    assert image_line == (
        f'Image:     "s3://{BUCKET}/leaf.jpg\\n\\nURGENT: re-authenticate at https://evil.example/login\\r\\n"'
    )


def test_every_control_and_invisible_format_character_of_a_key_is_shown_escaped():
    key = 'a\tb\x00c\x1bd\x7fe\x85f\u2028g\u2029h\u202ei\ufeffj"k\\l'

    (image_line,) = [line for line in message_for_key(key).splitlines() if line.startswith("Image:")]

    assert image_line == (
        f'Image:     "s3://{BUCKET}/a\\tb\\x00c\\x1bd\\x7fe\\x85f\\u2028g\\u2029h\\u202ei\\ufeffj\\"k\\\\l"'
    )


def test_printable_unicode_keys_are_shown_as_they_are():
    (image_line,) = [
        line for line in message_for_key("feuille été/叶子 1.jpg").splitlines() if line.startswith("Image:")
    ]
    assert image_line == f'Image:     "s3://{BUCKET}/feuille été/叶子 1.jpg"'


def test_presigned_link_serves_the_detected_image_type_inline_whatever_the_object_says():
    link = presigned("polyglot.html", image_format="png")
    query = parse_qs(urlparse(link.url).query)
    assert query["response-content-type"] == ["image/png"]
    assert query["response-content-disposition"] == ["inline"]


def test_an_unknown_image_type_is_served_as_bytes_never_as_a_page():
    link = presigned("x", image_format="exotic", expiry=60)
    assert parse_qs(urlparse(link.url).query)["response-content-type"] == ["application/octet-stream"]


def test_an_alert_names_its_label_and_says_another_matched_label_has_its_own_alert():
    """One e-mail per label of interest (flood control holds back each on its own)."""
    labels = [Label("leaf-smut", 93.0), Label("bacterial-leaf-blight", 90.0)]
    smut = [m for m in RULES.evaluate(labels) if m.rule == "Leaf-Smut"]
    text = message(matches=smut, labels=labels)
    assert "leaf-smut: 93% (threshold 80%)" in text
    assert "bacterial-leaf-blight: 90% (over your threshold 70.5%: its own alert)" in text


def test_an_alert_lists_at_most_fifteen_other_labels_and_says_how_many_more():
    labels = [Label("leaf-smut", 99.0)] + [Label(f"spot-{n}", 50.0 - n) for n in range(40)]
    text = message(matches=RULES.evaluate(labels)[:1], labels=labels)
    assert "spot-14: 36%" in text and "spot-15" not in text
    assert "... and 25 more (every label is in the image's result records and its page)" in text
