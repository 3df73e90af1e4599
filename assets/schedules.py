"""Schedules: at 01:30 local time pull the previous day from the export API; at 06:00 issue
every period whose report is due that day (or overdue) and was never issued."""


from datetime import timedelta

import dagster as dg
import duckdb

from assets.jobs import issue_job, portal_pull_job
from assets.partitions import TIMEZONE
from pipeline import config
from pipeline.cycle import issue, timeline
from pipeline.warehouse import connect


@dg.schedule(
    job=portal_pull_job,
    cron_schedule="30 1 * * *",
    execution_timezone=TIMEZONE,
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="01:30 Asia/Ho_Chi_Minh: pull yesterday's changes; the marts sensor then refreshes the windows they touched.",
)
def nightly_portal_pull(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    yesterday = (context.scheduled_execution_time - timedelta(days=1)).date().isoformat()
    return dg.RunRequest(run_key=f"nightly-{yesterday}", partition_key=yesterday, tags={"trigger": "nightly"})


def issue_run_requests(warehouse_path: str, today) -> list[dg.RunRequest] | dg.SkipReason:
    """One issue_job run per window due on ``today`` (or final) and never issued."""
    try:
        con = connect(warehouse_path, read_only=True)
    except (RuntimeError, duckdb.Error) as exc:
        return dg.SkipReason(f"warehouse busy or missing, will retry: {exc}")
    try:
        due = issue.periods_to_issue(con, today)
        newest = timeline.data_as_of(con)
    finally:
        con.close()
    # An incomplete window is issued only on a clerk's explicit confirmation (docs/definitions.md §6):
    # the schedule leaves it to `issue --confirm-incomplete` instead of failing every day.
    waiting = [p for p in due if timeline.is_incomplete(p, newest)]
    due = [p for p in due if p not in waiting]
    if not due:
        held = (f"; incomplete, waiting for data or `issue --confirm-incomplete`: "
                f"{', '.join(p.label for p in waiting)}" if waiting else "")
        return dg.SkipReason(f"no period due or final without an issue as of {today}{held}")
    return [
        dg.RunRequest(
            run_key=f"issue-{p.label}", partition_key=p.label,
            run_config={"ops": {"issued__period": {"config": {"as_of": today.isoformat()}}}},
            tags={"trigger": "daily_issue"},
        )
        for p in due
    ]


@dg.schedule(
    job=issue_job,
    cron_schedule="0 6 * * *",
    execution_timezone=TIMEZONE,
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="06:00 Asia/Ho_Chi_Minh: issue every quarter, half and year whose report is due that day (or that "
    "turned final) and has no issue yet, so each report is issued by its due day.",
)
def daily_issue(context: dg.ScheduleEvaluationContext):
    return issue_run_requests(str(config.default_warehouse()), context.scheduled_execution_time.date())
