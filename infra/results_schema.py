"""The results table: what the detect Lambda writes and the Glue table declares (README, "Result records").

No CDK import here: the stack (``infra/analytics.py``) and ``labelwatch query`` both read it, and
the command must not start Node.js.
"""

from __future__ import annotations

RESULTS_PREFIX = "results/"
ATHENA_RESULTS_PREFIX = "athena-results/"
TABLE_NAME = "results"

# (name, Glue/Hive type, comment): exactly the result record of the README, in its order.
RESULT_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("image", "string", "s3:// URI of the uploaded image"),
    ("bucket", "string", "input bucket"),
    ("key", "string", "object key, URL-decoded"),
    ("label", "string", "detected label; null when none was detected or the image was rejected"),
    ("confidence", "double", "0-100"),
    ("alert", "boolean", "this label matched a rule and was alerted"),
    (
        "suppressed",
        "boolean",
        "this label matched a rule within its cooldown: no alert, counted in the window's digest",
    ),
    ("rule_threshold", "double", "the threshold of the rule for this label (alerted or not); null when none"),
    ("status", "string", "ok | rejected"),
    ("reason", "string", "why the image was rejected"),
    ("model", "string", "Custom Labels project version ARN"),
    ("uploaded_at", "string", "ISO 8601 UTC time of the upload event"),
    ("detected_at", "string", "ISO 8601 UTC time of detection"),
    ("execution", "string", "Step Functions execution ARN"),
    ("width", "int", "image width in pixels"),
    ("height", "int", "image height in pixels"),
    (
        "geometry",
        "struct<width:double,height:double,left:double,top:double>",
        "bounding box (ratios of the image size) for object-detection models, else null",
    ),
    (
        "normalised",
        "string",
        "what was done so the model could read the image (e.g. 'webp→jpeg, rotated 90°'); null if sent as is",
    ),
    (
        "version_id",
        "string",
        "the uploaded object's version id (what an image link serves); null if unversioned",
    ),
    (
        "image_format",
        "string",
        "the upload's format as read from its bytes (jpeg, png, webp, ...); null if refused first",
    ),
)
PARTITION_KEY = "dt"  # results/dt=YYYY-MM-DD/: UTC day of the upload (a redelivery rewrites the same object)
