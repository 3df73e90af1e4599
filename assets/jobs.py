"""Jobs: what the schedule, the sensors and the command line launch."""


import dagster as dg

from assets.partitions import issue_periods, portal_days, reporting_quarters

ingest_files_job = dg.define_asset_job(
    "ingest_files_job",
    selection=dg.AssetSelection.assets(["raw", "export_files"], ["core", "reference_lists"], ["core", "cases"]),
    description="Load the reference lists, land the inbox's new export files and fold them into core.cases.",
)

portal_pull_job = dg.define_asset_job(
    "portal_pull_job",
    selection=dg.AssetSelection.assets(["raw", "portal_pull"]),
    partitions_def=portal_days,
    description="Pull days of changes from the export API (one run for any range of days).",
)

core_refresh_job = dg.define_asset_job(
    "core_refresh_job",
    selection=dg.AssetSelection.assets(["core", "reference_lists"], ["core", "cases"]),
    description="Load the reference lists and fold landed batches into core.cases.",
)

# What a mart refresh writes: the marts, the analyst copy and the official report files.
MARTS_JOB_GROUPS: tuple[str, ...] = ("mart", "publish", "report")

marts_job = dg.define_asset_job(
    "marts_job",
    selection=dg.AssetSelection.groups(*MARTS_JOB_GROUPS),
    partitions_def=reporting_quarters,
    description="Recompute the marts for a range of reporting quarters (one run), publish them, and write the official reports.",
)

issue_job = dg.define_asset_job(
    "issue_job",
    selection=dg.AssetSelection.assets(["issued", "period"]),
    partitions_def=issue_periods,
    description="Issue one closed period (partition = its label, e.g. 2025-Q3): frozen rows in schema issued and the "
    "official files, written once. Already issued: a no-op that says so.",
)

# The marts computed elsewhere (`backfill --engine spark`, pipeline/marts/spark_engine.py): the
# rest of marts_job over the tables it wrote (period status, restatements, analyst copy, reports).
# Every table the engine writes is listed, the index's too: the job must not recompute over them.
SPARK_COMPUTED_MARTS: tuple[tuple[str, str], ...] = (
    ("mart", "unit_period_stats"), ("mart", "level_period_stats"), ("mart", "target_attainment"),
    ("mart", "procedure_period_stats"), ("mart", "field_period_stats"),
    ("mart", "procedure_province_stats"), ("mart", "late_cases"),
    ("mart", "index766_cases"), ("mart", "index766_scores"),
)

marts_publish_job = dg.define_asset_job(
    "marts_publish_job",
    selection=dg.AssetSelection.groups(*MARTS_JOB_GROUPS) - dg.AssetSelection.assets(*[list(k) for k in SPARK_COMPUTED_MARTS]),
    partitions_def=reporting_quarters,
    description="After the marts were computed on Spark (backfill --engine spark): period status, restatements, "
    "the analyst copy and the official reports, as marts_job writes them.",
)
