"""Runs the jobs declared in ``assets.definitions`` in this process.

The command line, the demo and the benchmark pick a job and its partitions here; which assets a
job holds and in which order they run is declared once, in ``assets/jobs.py``. A failed run
raises ``CommandError`` with the first failure in one line (and which expectation failed when a
blocking check stopped it).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import dagster as dg

from app.errors import CommandError
from assets import jobs, partitions
from assets.definitions import ASSET_CHECKS, ASSETS, build_definitions, build_resources
from assets.resources import RunSettings
from pipeline import marts
from pipeline.ingest.reference import ReferenceDataError
from pipeline.warehouse import open_warehouse

log = logging.getLogger("pipeline")

# The asset groups of marts_job, for callers that show or test what a refresh writes.
MART_GROUPS = jobs.MARTS_JOB_GROUPS
# Jobs run here log through the command line's logger (assets/loggers.py): plain lines.
JOB_RUN_CONFIG = {"loggers": {"command_line": {}}}
# Ad-hoc selections (dg.materialize takes no loggers): Dagster's console logger at INFO.
ADHOC_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


def dagster_instance() -> dg.DagsterInstance:
    """The instance of DAGSTER_HOME when set (runs show in `dagster dev`), else an ephemeral one."""
    if os.environ.get("DAGSTER_HOME"):
        return dg.DagsterInstance.get()
    return dg.DagsterInstance.ephemeral()


def range_tags(first_key: str, last_key: str) -> dict[str, str]:
    """Tags that make one run over a range of partitions (single-run backfill)."""
    return {"dagster/asset_partition_range_start": first_key, "dagster/asset_partition_range_end": last_key}


class Runner:
    """Executes declared jobs against one warehouse (and inbox), in one Dagster instance."""

    def __init__(
        self,
        warehouse: Path,
        *,
        inbox: Path | None = None,
        instance: dg.DagsterInstance | None = None,
        command: str | None = None,
        settings: RunSettings | None = None,
    ) -> None:
        self.warehouse = Path(warehouse)
        self.definitions = build_definitions(str(warehouse), str(inbox) if inbox else None, settings)
        self.instance = instance or dagster_instance()
        self.command = command

    def run(
        self,
        job_name: str,
        *,
        partition_range: tuple[str, str] | None = None,
        run_config: dict[str, Any] | None = None,
        tags: dict[str, str] | None = None,
    ) -> dg.ExecuteInProcessResult:
        job = self.definitions.resolve_job_def(job_name)
        all_tags = dict(tags or {})
        if self.command:
            all_tags["command"] = self.command
        if partition_range:
            all_tags |= range_tags(*partition_range)
        result = job.execute_in_process(
            run_config=JOB_RUN_CONFIG | (run_config or {}),
            instance=self.instance,
            tags=all_tags,
            raise_on_error=False,
        )
        if not result.success:
            raise CommandError(first_failure(result))
        return result

    def refresh_pending_marts(self, *, full: bool = False) -> str | None:
        """One marts_job run over every quarter the new data touched (every quarter with data
        when ``full``); returns the quarters' span, or None when nothing was pending."""
        try:
            with open_warehouse(self.warehouse) as con:
                quarters = marts.pending_quarters(con, full=full)
                if full:  # every window recounted from all its cases, the drill-down's too
                    marts.forget_drill_state(con)
                change, moved = marts.reference_pending(con)
                built_before = _marts_were_built(con)
        except ReferenceDataError as exc:  # the marts would fail on it: say which file and row
            raise CommandError(f"reference data: {exc}") from None
        if not quarters:
            log.info("marts are up to date: no core or reference-list changes since the last refresh")
            return None
        if moved and not full and built_before:  # a first build has no "change" to report
            log.info(
                "reference lists changed since the marts were built (%s): quarters %s..%s are refreshed with them",
                ", ".join(change.lists), moved[0].label, moved[-1].label,
            )
        keys, outside = partitions.existing_quarter_keys(quarters)
        if outside:
            log.warning(
                "%d quarter(s) with data lie outside the reporting partitions and are not refreshed: %s "
                "(partitions start at DVC_FIRST_PERIOD and end with the open quarter)",
                len(outside), ", ".join(q.label for q in outside[:8]),
            )
        if not keys:
            return None
        span = f"{partitions.quarter_label(keys[0])}..{partitions.quarter_label(keys[-1])}"
        log.info("refreshing marts for quarters %s", span)
        self.run(jobs.marts_job.name, partition_range=(keys[0], keys[-1]), tags={"quarters": span})
        return span


def _marts_were_built(con) -> bool:
    """Whether a mart refresh ever completed in this warehouse."""
    from pipeline.db import table_exists

    return table_exists(con, "mart.refresh_log") and bool(
        con.execute("SELECT count(*) FROM mart.refresh_log WHERE completed_at IS NOT NULL").fetchone()[0]
    )


def materialize(
    selection: list[list[str]] | tuple[str, ...],
    *,
    warehouse: Path,
    inbox: Path | None = None,
    run_config: dict[str, Any] | None = None,
    tags: dict[str, str] | None = None,
    instance: dg.DagsterInstance | None = None,
) -> dg.ExecuteInProcessResult:
    """Materialise an ad-hoc selection (asset keys, or group names as a tuple) with its checks.

    For tests and one-off repairs; commands run the declared jobs through ``Runner``.
    """
    if isinstance(selection, tuple):
        asset_selection = dg.AssetSelection.groups(*selection)
    else:
        asset_selection = dg.AssetSelection.assets(*selection)
    result = dg.materialize(
        assets=[*ASSETS, *ASSET_CHECKS],
        selection=asset_selection,
        resources=build_resources(str(warehouse), str(inbox) if inbox else None),
        run_config=ADHOC_RUN_CONFIG | (run_config or {}),
        tags=tags,
        instance=instance or dagster_instance(),
        raise_on_error=False,
    )
    if not result.success:
        raise CommandError(first_failure(result))
    return result


def first_failure(result: dg.ExecuteInProcessResult) -> str:
    """The run's first failure in one line, with what the failed check said, if any."""
    failed_checks = {
        event.event_specific_data.check_name: (event.event_specific_data.description or "").strip()
        for event in result.all_events
        if event.event_type_value == "ASSET_CHECK_EVALUATION" and not event.event_specific_data.passed
    }
    for event in result.all_events:
        if event.event_type_value in ("STEP_FAILURE", "RUN_FAILURE"):
            data = event.event_specific_data
            error = getattr(data, "error", None)
            if error is not None:
                cause = error
                while getattr(cause, "cause", None) is not None:
                    cause = cause.cause
                message = (cause.message or error.message).strip().splitlines()
                line = f"{event.step_key or 'run'} failed: {message[-1] if message else 'unknown error'}"
                reasons = [d for name, d in failed_checks.items() if d and name in line]
                return line + (f" ({reasons[0].splitlines()[0]})" if reasons else "")
    for event in result.all_events:
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            if not evaluation.passed:
                return f"check {evaluation.check_name} failed on {evaluation.asset_key.to_user_string()}"
    return "run failed (see the log above)"


def step_metadata(result: dg.ExecuteInProcessResult, step: str) -> dict[str, Any]:
    """The metadata values of a step's materializations (e.g. what a landing run read)."""
    out: dict[str, Any] = {}
    for mat in result.asset_materializations_for_node(step):
        out |= {k: v.value for k, v in mat.metadata.items()}
    return out
