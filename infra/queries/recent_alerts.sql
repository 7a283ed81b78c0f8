-- The 50 most recent alerting detections: which image, which label, how confident, when uploaded.
SELECT
    image,
    label,
    confidence,
    uploaded_at
FROM results
WHERE alert
ORDER BY uploaded_at DESC, confidence DESC
LIMIT 50
