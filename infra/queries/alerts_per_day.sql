-- Alerts per day (by the dt partition, the UTC day of the upload): how many alerts were sent
-- (one per uploaded image with a match) and how many label matches they carried.
SELECT
    day,
    count(*) AS alerts,
    sum(matches) AS matched_labels
FROM (
    SELECT dt AS day, image, uploaded_at, count(*) AS matches
    FROM results
    WHERE alert
    GROUP BY dt, image, uploaded_at
) AS per_upload
GROUP BY day
ORDER BY day
