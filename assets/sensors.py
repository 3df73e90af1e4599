"""Sensors: new inbox files -> ingest run; a successful ingest -> core + marts refresh."""


import json
from pathlib import Path

import dagster as dg
import duckdb

from assets.ingest import inbox_files
from assets.jobs import core_refresh_job, ingest_files_job, marts_job, portal_pull_job
from assets.partitions import existing_quarter_keys
from pipeline import config, marts
from pipeline.ingest.reference import ReferenceDataError
from pipeline.warehouse import connect


def file_run_key(path: Path) -> str:
    stat = path.stat()
    return f"{path.name}:{stat.st_size}:{int(stat.st_mtime)}"


@dg.sensor(
    job=ingest_files_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Lands files dropped into the inbox (DVC_INBOX). Each file version (name, size, mtime) is requested once.",
)
def inbox_sensor(context: dg.SensorEvaluationContext):
    inbox = Path(config.default_inbox())
    seen: set[str] = set(json.loads(context.cursor)) if context.cursor else set()
    new = [p for p in inbox_files(inbox) if file_run_key(p) not in seen]
    if not new:
        return dg.SkipReason(f"no new files in {inbox}")
    keys = [file_run_key(p) for p in new]
    context.update_cursor(json.dumps(sorted(seen | set(keys))))
    return dg.RunRequest(
        run_key="|".join(keys),
        run_config={"ops": {"raw__export_files": {"config": {"files": [str(p) for p in new]}}}},
        tags={"trigger": "inbox_sensor"},
    )


def marts_run_request(warehouse_path: str, trigger: str = "after_ingest") -> dg.RunRequest | dg.SkipReason:
    """One marts run over every quarter touched since the last full refresh: by core changes
    and by changes of the reference lists (pipeline/marts/reference_state.py)."""
    try:
        con = connect(warehouse_path, read_only=True)
    except (RuntimeError, duckdb.Error) as exc:
        return dg.SkipReason(f"warehouse busy or missing, will retry: {exc}")
    try:
        quarters = marts.pending_quarters(con)
    except ReferenceDataError as exc:  # the marts would fail on it: wait for the lists' fix
        return dg.SkipReason(f"reference data: {exc}")
    finally:
        con.close()
    keys, outside = existing_quarter_keys(quarters)
    if not keys:
        reason = "no core or reference-list changes since the last mart refresh"
        if outside:
            reason = f"changes only in quarters outside the partitions ({', '.join(q.label for q in outside)})"
        return dg.SkipReason(reason)
    return dg.RunRequest(
        job_name=marts_job.name,
        tags={
            "dagster/asset_partition_range_start": keys[0],
            "dagster/asset_partition_range_end": keys[-1],
            "trigger": trigger,
        },
    )


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[ingest_files_job, portal_pull_job, core_refresh_job],
    request_jobs=[core_refresh_job, marts_job],
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="After a pull: fold it into core.cases; after core.cases changed: refresh the marts of the quarters it touched.",
)
def refresh_after_ingest(context: dg.RunStatusSensorContext):
    if context.dagster_run.job_name == portal_pull_job.name:
        return dg.RunRequest(job_name=core_refresh_job.name, tags={"trigger": "after_pull"})
    return marts_run_request(str(config.default_warehouse()))


# A marts run that is queued or running applies the lists it reads; asking again would only
# stack up runs (a failed run leaves the change pending, and the next evaluation asks again).
_ACTIVE = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
           dg.DagsterRunStatus.STARTED]


@dg.sensor(
    job=marts_job,
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Refreshes the marts when the reference lists (DVC_SEEDS_DIR: units, crosswalk, targets, "
    "procedures) changed since the marts were built, also when no new case came: the quarters the change moves.",
)
def reference_lists_sensor(context: dg.SensorEvaluationContext):
    if context.instance.get_runs(
        filters=dg.RunsFilter(job_name=marts_job.name, statuses=_ACTIVE), limit=1
    ):
        return dg.SkipReason("a marts run is in progress")
    return marts_run_request(str(config.default_warehouse()), trigger="reference_lists")
