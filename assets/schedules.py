"""Nightly schedule: at 01:30 local time pull the previous day from the export API."""


from datetime import timedelta

import dagster as dg

from assets.jobs import portal_pull_job
from assets.partitions import TIMEZONE


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
