-- Each window's latest official issue, onto mart.period_status; issuing a provisional window makes
-- it final (docs/definitions.md §6).
UPDATE mart.period_status s
SET latest_issue = i.issue,
    status = CASE WHEN s.status = 'provisional' THEN 'final' ELSE s.status END
FROM (
    SELECT period_grain, period_label, max(issue) AS issue
    FROM issued.issues
    GROUP BY period_grain, period_label
) i
WHERE s.period_grain = i.period_grain AND s.period_label = i.period_label;
