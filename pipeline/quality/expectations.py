"""Great Expectations suites run on bounded reads of the warehouse.

The suites are files in schemas/expectations/ or, for the stats marts, generated from the
metric definitions (pipeline/mart_suites.py); both are plain GX 1.x suite JSON (``name``,
``expectations`` with ``type``/``kwargs``/``meta``) plus a ``meta.dvc`` block saying what to
read:

- ``table`` (with optional ``columns``) or ``query``: the rows to check;
- ``bound``: ``period`` (rows of the run's windows, by ``period_grain``/``period_label``) or
  ``year`` (rows whose ``year`` is a yearly window of the run); without windows, or without a
  bound, the read is ``order_by`` + ``limit`` (newest first);
- ``sample_rows``: a reservoir sample of that many rows instead (large tables);
- ``derived_columns``: SQL expressions over the bounded rows (alias ``t``) computed by DuckDB,
  so identities and cross-row rules become simple column expectations;
- ``parameters``: suite parameters (``{"$PARAMETER": name}`` in kwargs), each from ``sql``
  (first value of the query) or from an ``env`` variable with a ``default``;
- ``index_columns``: columns shown next to every unexpected value (which rows broke a rule),
  and ``partial_unexpected_count``: how many unexpected values to keep (default 20);
- ``severity``: ``error`` or ``warn`` for every expectation without its own ``meta.severity``.

GX has no DuckDB or Polars engine: the bounded rows go to pandas (``con.execute(sql).df()``)
and GX's pandas datasource checks them. ``great_expectations`` is imported only inside
:func:`validate_frame` (it costs seconds and ~300 MB), so nothing else in the pipeline pays
for it. Each validation is stored under the quality folder (GX result JSON) and rendered into
(``<quality>/data_docs/index.html``), keeping the latest ``DVC_QUALITY_KEEP`` results per suite.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
import os
import re
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from pipeline import config
from pipeline.output_modes import make_folders, restrict_tree
from pipeline.quality import data_docs

log = logging.getLogger(__name__)

SUITES_DIR = config.REPO_ROOT / "schemas" / "expectations"
ENV_QUALITY_DIR = "DVC_QUALITY_DIR"
ENV_KEEP = "DVC_QUALITY_KEEP"
SEVERITIES = ("error", "warn")
_GX_SEVERITY = {"error": "critical", "warn": "warning"}  # GX's own FailureSeverity, shown in Data Docs
PARTIAL_UNEXPECTED = 20
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


# ---------------------------------------------------------------------------------------
# Suites
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Suite:
    name: str
    path: Path
    notes: str
    expectations: tuple[dict[str, Any], ...]
    table: str | None = None
    query: str | None = None
    columns: tuple[str, ...] = ()
    bound: str | None = None
    order_by: str | None = None
    limit: int | None = None
    sample_rows: int | None = None
    derived_columns: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, dict[str, Any]] = field(default_factory=dict)
    index_columns: tuple[str, ...] = ()
    partial_unexpected_count: int = PARTIAL_UNEXPECTED
    severity: str = "error"

    def expectation_severity(self, expectation: Mapping[str, Any]) -> str:
        return (expectation.get("meta") or {}).get("severity", self.severity)

    @property
    def has_error_expectations(self) -> bool:
        return any(self.expectation_severity(e) == "error" for e in self.expectations)


def suite_names() -> list[str]:
    """The suite files of schemas/expectations/ and the suites generated from the metrics."""
    from pipeline.quality.mart_suites import GENERATED_SUITES

    return sorted({p.stem for p in SUITES_DIR.glob("*.json")} | set(GENERATED_SUITES))


def load_suite(name_or_path: str | Path) -> Suite:
    """Read and check a suite: a generated one (pipeline/mart_suites.py), or a file (a name
    looks in schemas/expectations/)."""
    from pipeline.quality.mart_suites import GENERATED_SUITES

    path = Path(name_or_path)
    if isinstance(name_or_path, str) and name_or_path in GENERATED_SUITES:
        # Named like a file of its own (the results and pages are filed under the name).
        path = SUITES_DIR / f"{name_or_path}.json"
        raw = GENERATED_SUITES[name_or_path]()
    else:
        if path.suffix != ".json":
            path = SUITES_DIR / f"{name_or_path}.json"
        raw = json.loads(path.read_text(encoding="utf-8"))
    dvc = (raw.get("meta") or {}).get("dvc") or {}
    name = raw.get("name", "")
    problems: list[str] = []
    if name != path.stem or not _NAME.match(name):
        problems.append(f"name {name!r} must equal the file name and be snake_case")
    if bool(dvc.get("table")) == bool(dvc.get("query")):
        problems.append("meta.dvc needs exactly one of 'table' and 'query'")
    if dvc.get("bound") not in (None, "period", "year"):
        problems.append(f"meta.dvc.bound must be 'period' or 'year', not {dvc.get('bound')!r}")
    if dvc.get("bound") and dvc.get("sample_rows"):
        problems.append("meta.dvc: a bounded read cannot also be a sample")
    severity = dvc.get("severity", "error")
    expectations = tuple(raw.get("expectations") or ())
    if not expectations:
        problems.append("no expectations")
    for i, e in enumerate(expectations):
        sev = (e.get("meta") or {}).get("severity", severity)
        if sev not in SEVERITIES:
            problems.append(f"expectation {i} ({e.get('type')}): severity {sev!r} not in {SEVERITIES}")
        if not str(e.get("type", "")).startswith("expect_"):
            problems.append(f"expectation {i}: type {e.get('type')!r}")
    for pname, spec in (dvc.get("parameters") or {}).items():
        if not isinstance(spec, dict) or not (("sql" in spec) ^ ("env" in spec and "default" in spec)):
            problems.append(f"parameter {pname!r}: give either 'sql', or 'env' and 'default'")
    if problems:
        raise ValueError(f"suite {path}: " + "; ".join(problems))
    return Suite(
        name=name,
        path=path,
        notes=raw.get("notes", ""),
        expectations=expectations,
        table=dvc.get("table"),
        query=dvc.get("query"),
        columns=tuple(dvc.get("columns") or ()),
        bound=dvc.get("bound"),
        order_by=dvc.get("order_by"),
        limit=dvc.get("limit"),
        sample_rows=dvc.get("sample_rows"),
        derived_columns=dict(dvc.get("derived_columns") or {}),
        parameters=dict(dvc.get("parameters") or {}),
        index_columns=tuple(dvc.get("index_columns") or ()),
        partial_unexpected_count=int(dvc.get("partial_unexpected_count", PARTIAL_UNEXPECTED)),
        severity=severity,
    )


Window = tuple[str, str]  # (period_grain, period_label)


def bounded_select(suite: Suite, windows: Iterable[Window] | None = None) -> tuple[str, list[Any], str]:
    """(SQL, parameters, description) of the rows a suite checks.

    With windows and a ``bound``, only the rows of those windows; otherwise the newest
    ``limit`` rows (``order_by``), or a reservoir sample of ``sample_rows``.
    """
    windows = sorted(set(windows)) if windows is not None else None
    cols = ", ".join(suite.columns) if suite.columns else "*"
    source = suite.table if suite.table else f"({suite.query}) q"
    params: list[Any] = []
    where = ""
    if suite.bound and windows is not None:
        if suite.bound == "period":
            keys = [f"{g}|{label}" for g, label in windows]
            where = "WHERE list_contains(?::VARCHAR[], period_grain || '|' || period_label)"
            described = f"{len(keys)} windows of this run"
        else:
            keys = sorted({label for g, label in windows if g == "year"})
            where = "WHERE list_contains(?::VARCHAR[], CAST(year AS VARCHAR))"
            described = f"years {', '.join(keys) or '(none)'} of this run"
        params.append(keys)
    elif suite.sample_rows:
        source += f" USING SAMPLE reservoir({int(suite.sample_rows)} ROWS) REPEATABLE (7)"
        described = f"a sample of up to {suite.sample_rows:,} rows"
    else:
        described = "every row" if not suite.limit else f"the first {suite.limit:,} rows"
        if suite.order_by and suite.limit:
            described += f" by {suite.order_by}"
    inner = f"SELECT {cols} FROM {source} {where}"
    if suite.order_by:
        inner += f" ORDER BY {suite.order_by}"
    if suite.limit:
        inner += f" LIMIT {int(suite.limit)}"
    derived = "".join(f",\n    {expr} AS {name}" for name, expr in suite.derived_columns.items())
    sql = f"SELECT t.*{derived}\nFROM ({inner}) t"
    return sql, params, f"{suite.table or 'query'}: {described}"


def resolve_parameters(con: duckdb.DuckDBPyConnection, suite: Suite) -> dict[str, Any]:
    """Suite parameters: from SQL, or from the environment (falling back to the default)."""
    out: dict[str, Any] = {}
    for name, spec in suite.parameters.items():
        if "sql" in spec:
            row = con.execute(spec["sql"]).fetchone()
            out[name] = row[0] if row else None
            continue
        raw = os.environ.get(spec["env"], "").strip()
        default = spec["default"]
        if not raw:
            out[name] = default
            continue
        try:
            value = type(default)(raw) if isinstance(default, int | float) else raw
        except ValueError:
            raise ValueError(f"{spec['env']} must be a number like {default!r}, got {raw!r}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{spec['env']} must be a finite number, got {raw!r}")
        out[name] = value
    return out


# ---------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExpectationOutcome:
    type: str
    kwargs: dict[str, Any]
    success: bool
    severity: str
    notes: str = ""
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    observed_value: Any = None
    partial_unexpected: list[Any] = field(default_factory=list)
    unexpected_rows: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    @property
    def name(self) -> str:
        """``expect_...(column)``, ``expect_...(a, b)``, or the bare type for table rules."""
        k = self.kwargs
        if "column" in k:
            args = [k["column"]]
        elif "column_A" in k:
            args = [k["column_A"], k["column_B"]]
        elif "column_list" in k:
            args = list(k["column_list"])
        else:
            args = []
        return f"{self.type}({', '.join(args)})" if args else self.type

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"expectation": self.name, "severity": self.severity}
        for key in ("unexpected_count", "unexpected_percent", "observed_value", "error"):
            value = getattr(self, key)
            if value is not None:
                out[key] = round(value, 4) if isinstance(value, float) else value
        if self.unexpected_rows:
            out["unexpected_rows"] = self.unexpected_rows
        elif self.partial_unexpected:
            out["partial_unexpected"] = self.partial_unexpected
        if self.notes:
            out["notes"] = self.notes
        return out


@dataclass(frozen=True)
class SuiteResult:
    suite: str
    success: bool
    rows: int
    bound: str
    outcomes: tuple[ExpectationOutcome, ...]
    seconds: float
    parameters: dict[str, Any] = field(default_factory=dict)
    data_docs_index: Path | None = None
    validation_page: Path | None = None

    @property
    def failed(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success]

    @property
    def failed_names(self) -> list[str]:
        return [o.name for o in self.failed]

    @property
    def severity(self) -> str:
        """``error`` when an error-level expectation failed, ``warn`` when only warnings did, else ``""``."""
        if self.success:
            return ""
        return "error" if any(o.severity == "error" for o in self.failed) else "warn"

    def outcome(self, name: str) -> ExpectationOutcome:
        found = [o for o in self.outcomes if o.name == name]
        if len(found) != 1:
            raise KeyError(f"{name!r} is not one expectation of {self.suite}: {[o.name for o in self.outcomes]}")
        return found[0]


def _plain(value: Any) -> Any:
    """JSON-safe copy for metadata: numpy scalars to Python, NaN/NaT to None, dates to text."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and callable(value.item) and not isinstance(value, str | bytes):
        try:
            value = value.item()  # numpy scalar
        except (TypeError, ValueError):
            return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    text = str(value)
    return None if text in ("NaT", "nan", "<NA>") else text


def _outcome(result: Any) -> ExpectationOutcome:
    cfg = result.expectation_config
    kwargs = {k: v for k, v in dict(cfg.kwargs).items() if k != "batch_id"}
    meta = dict(cfg.meta or {})
    res = dict(result.result or {})
    error = None
    info = result.exception_info or {}
    if info.get("raised_exception"):
        error = info.get("exception_message")
    else:  # keyed by metric when a metric failed (e.g. a missing column)
        messages = [v.get("exception_message") for v in info.values() if isinstance(v, dict) and v.get("raised_exception")]
        error = messages[0] if messages else None
    return ExpectationOutcome(
        type=cfg.type,
        kwargs=_plain(kwargs),
        success=bool(result.success),
        severity=meta.get("severity", "error"),
        notes=meta.get("notes", ""),
        unexpected_count=res.get("unexpected_count"),
        unexpected_percent=res.get("unexpected_percent"),
        observed_value=_plain(res.get("observed_value")),
        partial_unexpected=_plain(res.get("partial_unexpected_list") or []),
        unexpected_rows=_plain(res.get("partial_unexpected_index_list") or []),
        error=error,
    )


# ---------------------------------------------------------------------------------------
# Running GX
# ---------------------------------------------------------------------------------------
def quality_dir(warehouse_path: Path | str) -> Path:
    """Where validation results and Data Docs go: DVC_QUALITY_DIR, else ``<warehouse dir>/quality``."""
    override = os.environ.get(ENV_QUALITY_DIR, "").strip()
    return Path(override) if override else Path(warehouse_path).resolve().parent / "quality"


def keep_results() -> int:
    raw = os.environ.get(ENV_KEEP, "20").strip()
    try:
        keep = int(raw)
    except ValueError:
        raise ValueError(f"{ENV_KEEP} must be a whole number of results to keep, got {raw!r}") from None
    return max(keep, 1)


def _prune(quality: Path, suite: str, keep: int) -> None:
    """Keep the newest ``keep - 1`` stored results of a suite (the run adds one) and their pages."""
    store = quality / "gx" / "validations" / suite
    if not store.is_dir():
        return
    results = sorted(store.rglob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in results[max(keep - 1, 0):]:
        rel = old.relative_to(quality / "gx" / "validations")
        old.unlink(missing_ok=True)
        page = (quality / "data_docs" / "validations" / rel).with_suffix(".html")
        page.unlink(missing_ok=True)
        page.with_name(page.name + data_docs.SUMMARY_SUFFIX).unlink(missing_ok=True)
    for root in (store, quality / "data_docs" / "validations" / suite):
        if root.is_dir():
            for folder in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
                if not any(folder.iterdir()):
                    folder.rmdir()


def _import_gx() -> Any:
    """great_expectations, imported quietly: it probes optional engines (PySpark, when the spark
    extra is installed) whose import-time FutureWarnings would reach the operator's terminal."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        import great_expectations as gx
    return gx


def _context(quality: Path | None):
    gx = _import_gx()
    from great_expectations.data_context.types.base import DataContextConfig, ProgressBarsConfig

    def store(class_name: str, folder: str | None) -> dict[str, Any]:
        backend = (
            {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(quality / "gx" / folder)}
            if quality is not None and folder
            else {"class_name": "InMemoryStoreBackend"}
        )
        return {"class_name": class_name, "store_backend": backend}

    # No GX Data Docs site: its templates load scripts from CDNs (pipeline/quality_docs.py
    # renders offline pages instead).
    sites: dict[str, Any] = {}
    project = DataContextConfig(
        stores={
            "expectations_store": store("ExpectationsStore", "expectations"),
            "validation_results_store": store("ValidationResultsStore", "validations"),
            "checkpoint_store": store("CheckpointStore", None),
            "validation_definition_store": store("ValidationDefinitionStore", None),
        },
        expectations_store_name="expectations_store",
        validation_results_store_name="validation_results_store",
        checkpoint_store_name="checkpoint_store",
        data_docs_sites=sites,
        analytics_enabled=False,  # no usage statistics leave the machine
        progress_bars=ProgressBarsConfig(globally=False),
    )
    return gx.get_context(project_config=project, mode="ephemeral")


def validate_frame(
    frame: Any,
    suite: Suite,
    *,
    parameters: Mapping[str, Any] | None = None,
    quality: Path | None = None,
    run_name: str | None = None,
    bound: str = "",
) -> SuiteResult:
    """Run a suite on a pandas DataFrame; with ``quality``, store the result and build Data Docs."""
    started = time.perf_counter()
    gx = _import_gx()
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.exceptions import DataContextError
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    if quality is not None:
        make_folders(quality)
        _prune(quality, suite.name, keep_results())
    context = _context(quality)
    batch_definition = (
        context.data_sources.add_pandas("warehouse")
        .add_dataframe_asset(suite.table or suite.name)
        .add_batch_definition_whole_dataframe("bounded read")
    )
    expectations = []
    for e in suite.expectations:
        meta = dict(e.get("meta") or {})
        meta["severity"] = suite.expectation_severity(e)
        expectations.append(ExpectationConfiguration(
            type=e["type"], kwargs=dict(e["kwargs"]), meta=meta, severity=_GX_SEVERITY[meta["severity"]]
        ))
    if quality is not None:  # the stored copy is rewritten from the file (cheaper than GX's update)
        with contextlib.suppress(DataContextError):
            context.suites.delete(suite.name)
    gx_suite = context.suites.add(
        gx.ExpectationSuite(name=suite.name, expectations=expectations, meta={"notes": suite.notes})
    )
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=suite.name, data=batch_definition, suite=gx_suite)
    )
    result_format: dict[str, Any] = {"result_format": "SUMMARY", "partial_unexpected_count": suite.partial_unexpected_count}
    index = [c for c in suite.index_columns if c in frame.columns]
    if index:
        result_format["unexpected_index_column_names"] = index
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(name=suite.name, validation_definitions=[definition], actions=[], result_format=result_format)
    )
    params = dict(parameters or {})
    run = checkpoint.run(
        batch_parameters={"dataframe": frame},
        expectation_parameters=params,
        run_id=RunIdentifier(run_name=run_name) if run_name else None,
    )
    [(identifier, validation)] = run.run_results.items()
    outcomes = tuple(_outcome(r) for r in validation.results)
    index_page = page = None
    result = SuiteResult(
        suite=suite.name,
        success=bool(validation.success),
        rows=len(frame),
        bound=bound,
        outcomes=outcomes,
        seconds=round(time.perf_counter() - started, 2),
        parameters=_plain(params) if params else {},
    )
    if quality is not None:
        # Our own offline pages (pipeline/quality_docs.py), named like the stored GX result.
        stored = max((quality / "gx" / "validations" / suite.name).rglob("*.json"), key=lambda p: p.stat().st_mtime)
        rel = stored.relative_to(quality / "gx" / "validations")
        page = data_docs.write_validation_page(
            (quality / "data_docs" / "validations" / rel).with_suffix(".html"),
            suite=suite.name, table=suite.table or "query", bound=bound, run_name=run_name,
            result=result, notes=suite.notes,
        )
        index_page = data_docs.write_index(quality / "data_docs")
        restrict_tree(quality)  # GX's own result files too: DVC_OUTPUT_MODE
    return dataclasses.replace(result, data_docs_index=index_page, validation_page=page)


@dataclass(frozen=True)
class Batch:
    """What a suite checks: the bounded rows (pandas) and the resolved parameters."""

    suite: Suite
    frame: Any
    parameters: dict[str, Any]
    bound: str


def read_batch(
    con: duckdb.DuckDBPyConnection,
    suite: Suite,
    *,
    windows: Iterable[Window] | None = None,
    parameters: Mapping[str, Any] | None = None,
) -> Batch:
    """Read a suite's bounded rows and parameters (the only part that needs the warehouse)."""
    sql, sql_params, bound = bounded_select(suite, windows)
    frame = _plain_dtypes(con.execute(sql, sql_params).df())
    params = resolve_parameters(con, suite) | dict(parameters or {})
    return Batch(suite, frame, params, bound)


def validate_batch(batch: Batch, *, quality: Path | None = None, run_name: str | None = None) -> SuiteResult:
    result = validate_frame(
        batch.frame, batch.suite, parameters=batch.parameters, quality=quality, run_name=run_name, bound=batch.bound
    )
    log.info(
        "quality %s: %s on %d rows (%s), %d/%d expectations failed, %.2fs",
        result.suite, "passed" if result.success else f"FAILED ({result.severity})", result.rows, result.bound,
        len(result.failed), len(result.outcomes), result.seconds,
    )
    return result


def run_suite(
    con: duckdb.DuckDBPyConnection,
    suite: Suite | str,
    *,
    windows: Iterable[Window] | None = None,
    quality: Path | None = None,
    run_name: str | None = None,
    parameters: Mapping[str, Any] | None = None,
) -> SuiteResult:
    """Read a suite's bounded rows from DuckDB, validate them with GX, return the outcome."""
    suite = load_suite(suite) if isinstance(suite, str) else suite
    batch = read_batch(con, suite, windows=windows, parameters=parameters)
    return validate_batch(batch, quality=quality, run_name=run_name)


_MASKED_NUMBERS = {f"{kind}{bits}" for kind in ("Int", "UInt") for bits in (8, 16, 32, 64)} | {"Float32", "Float64"}


def _plain_dtypes(frame: Any) -> Any:
    """pandas' nullable Int64/boolean columns (DuckDB gives them for columns with NULLs) trip
    GX's pandas comparisons (``boolean value of NA is ambiguous``): use float64 / object."""
    casts: dict[str, str] = {}
    for column, dtype in frame.dtypes.items():
        name = str(dtype)
        if name in _MASKED_NUMBERS:
            casts[column] = "float64"
        elif name == "boolean":
            casts[column] = "object"
    if not casts:
        return frame
    frame = frame.astype(casts)
    for column, dtype in casts.items():
        if dtype == "object":
            frame[column] = frame[column].where(frame[column].notna(), None)
    return frame


def windows_of(periods: Sequence[Any]) -> list[Window]:
    """(grain, label) of pipeline.periods.Period objects."""
    return [(p.grain, p.label) for p in periods]
