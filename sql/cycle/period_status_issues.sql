-- Each window's latest official issue, onto mart.period_status.
UPDATE mart.period_status s
SET latest_issue = i.issue
FROM (
    SELECT period_grain, period_label, max(issue) AS issue
    FROM issued.issues
    GROUP BY period_grain, period_label
) i
WHERE s.period_grain = i.period_grain AND s.period_label = i.period_label;
