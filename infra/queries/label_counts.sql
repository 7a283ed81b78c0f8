-- Label mix: for each label, how often it was detected, how many of those detections raised an
-- alert, and the average and highest confidence. Images with no label count under '(none)';
-- rejected images are left out.
SELECT
    coalesce(label, '(none)') AS label,
    count(*) AS detections,
    sum(CASE WHEN alert THEN 1 ELSE 0 END) AS alerts,
    round(avg(confidence), 1) AS avg_confidence,
    round(max(confidence), 1) AS max_confidence
FROM results
WHERE status = 'ok'
GROUP BY coalesce(label, '(none)')
ORDER BY detections DESC, label
