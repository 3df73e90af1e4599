"""Settings from the environment. Secrets (the PII key, the portal token) never have defaults
that reach production silently, and are never logged."""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
SQL_DIR = REPO_ROOT / "sql"
SEEDS_DIR = REPO_ROOT / "seeds"

# Only for demos and tests: a warehouse built with it cannot be joined with production hashes.
DEV_PII_KEY = "dev-only-pii-key-change-me"
ENV_PII_KEY = "DVC_PII_KEY"
ENV_WAREHOUSE = "DVC_WAREHOUSE"
ENV_INBOX = "DVC_INBOX"
ENV_CUTOFF_DAY = "DVC_CUTOFF_DAY"
ENV_REPORTS_DIR = "DVC_REPORTS_DIR"
ENV_REPORT_DUE_DAYS = "DVC_REPORT_DUE_DAYS"
ENV_AS_OF = "DVC_AS_OF"
LOCAL_TIMEZONE = "Asia/Ho_Chi_Minh"

_warned_dev_key = False


def pii_key() -> str:
    """Key for the keyed hash of personal data, from DVC_PII_KEY.

    Falls back to a published development key with a loud warning, so demos run out of the
    box but nobody mistakes a demo warehouse for a production one.
    """
    global _warned_dev_key
    key = os.environ.get(ENV_PII_KEY, "")
    if key:
        return key
    if not _warned_dev_key:
        log.warning(
            "!!! %s is not set: personal data is hashed with the PUBLIC development key. "
            "Set %s to a secret before loading real case records. !!!",
            ENV_PII_KEY,
            ENV_PII_KEY,
        )
        _warned_dev_key = True
    return DEV_PII_KEY


def using_dev_pii_key() -> bool:
    return not os.environ.get(ENV_PII_KEY)


def cutoff_day() -> int:
    """Day of month on which the reporting windows start (docs/definitions.md §1; default 15)."""
    raw = os.environ.get(ENV_CUTOFF_DAY, "15")
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{ENV_CUTOFF_DAY} must be a day number, got {raw!r}") from exc


ENV_PLAUSIBLE_FROM = "DVC_PLAUSIBLE_FROM"
ENV_PLAUSIBLE_TO = "DVC_PLAUSIBLE_TO"


def _env_date(name: str, default: date) -> date:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a date YYYY-MM-DD, got {raw!r}") from exc


def plausible_date_range() -> tuple[date, date]:
    """[from, to) of case dates that can be real (DVC_PLAUSIBLE_FROM / DVC_PLAUSIBLE_TO).

    A record with a date outside it (0001, 9999, before the first reporting quarter) is
    quarantined: it would otherwise fall outside every partition and block every refresh.
    Defaults: the start of the first reporting quarter (DVC_FIRST_PERIOD, default 2020-Q1:
    2019-12-15), so the partitions cover every landed case, and today + 1 year.
    """
    from pipeline import periods

    first = periods.parse_label(first_period_label(), cutoff_day())
    start = _env_date(ENV_PLAUSIBLE_FROM, first.start)
    end = _env_date(ENV_PLAUSIBLE_TO, date.today() + timedelta(days=366))
    if end <= start:
        raise ValueError(f"{ENV_PLAUSIBLE_TO} ({end}) must be after {ENV_PLAUSIBLE_FROM} ({start})")
    return start, end


def max_line_bytes() -> int:
    """Longest JSONL line / CSV row read (DVC_MAX_LINE_MB, default 32 MB); longer ones are
    quarantined as too long, with their line number."""
    raw = os.environ.get("DVC_MAX_LINE_MB", "32").strip()
    try:
        mb = int(raw)
    except ValueError as exc:
        raise ValueError(f"DVC_MAX_LINE_MB must be a whole number of megabytes, got {raw!r}") from exc
    if not 1 <= mb <= 1024:
        raise ValueError(f"DVC_MAX_LINE_MB must be 1..1024, got {mb}")
    return mb << 20


def pii_rekey_requested() -> bool:
    """DVC_PII_REKEY=1: accept a DVC_PII_KEY different from the one the warehouse was built
    with (older hashes are then not comparable with new ones)."""
    return os.environ.get("DVC_PII_REKEY", "").strip().lower() in ("1", "true", "yes")


def report_due_days() -> int:
    """Days after a window's last day on which its report is due (docs/definitions.md §6; default 6:
    the 14th + 6 = the 20th of the window's last month, Quảng Trị's 2025 plan)."""
    raw = os.environ.get(ENV_REPORT_DUE_DAYS, "6").strip()
    try:
        days = int(raw)
    except ValueError as exc:
        raise ValueError(f"{ENV_REPORT_DUE_DAYS} must be a number of days, got {raw!r}") from exc
    if days < 0:
        raise ValueError(f"{ENV_REPORT_DUE_DAYS} must be 0 or more, got {days}")
    return days


def as_of_override() -> str | None:
    """The injected "today" (DVC_AS_OF, YYYY-MM-DD) for reproducible runs, or None."""
    return os.environ.get(ENV_AS_OF, "").strip() or None


def duckdb_memory_limit() -> str:
    """DuckDB memory limit (DVC_DUCKDB_MEMORY_LIMIT, e.g. '2GB'); it spills to disk beyond it."""
    value = os.environ.get("DVC_DUCKDB_MEMORY_LIMIT", "1536MB").strip()
    if not value[:1].isdigit():
        raise ValueError(f"DVC_DUCKDB_MEMORY_LIMIT must look like 2GB or 1536MB, got {value!r}")
    return value


def lock_wait_seconds() -> float:
    """How long a writing step waits for a reader that holds the warehouse (DVC_LOCK_WAIT_S,
    default 120) before it gives up: someone running `summary` must not fail a nightly run."""
    raw = os.environ.get("DVC_LOCK_WAIT_S", "120").strip()
    try:
        seconds = float(raw)
    except ValueError:
        raise ValueError(f"DVC_LOCK_WAIT_S must be a number of seconds, got {raw!r}") from None
    if seconds < 0:
        raise ValueError(f"DVC_LOCK_WAIT_S must be 0 or more, got {raw!r}")
    return seconds


def output_file_mode() -> int:
    """Mode of the files the pipeline writes for people (reports, dashboards, Data Docs, the
    analyst copy): DVC_OUTPUT_MODE, octal, default 0640 (owner and group read, no one else).
    Their folders get the matching search bits (0640 -> 0750)."""
    raw = os.environ.get("DVC_OUTPUT_MODE", "0640").strip()
    try:
        mode = int(raw, 8)
    except ValueError:
        raise ValueError(f"DVC_OUTPUT_MODE must be an octal file mode such as 0640, got {raw!r}") from None
    if not 0 <= mode <= 0o666 or not mode & 0o400:
        raise ValueError(f"DVC_OUTPUT_MODE must be a file mode the owner can read (e.g. 0640, 0600), got {raw!r}")
    return mode


def output_folder_mode() -> int:
    """Folders of the outputs: the file mode plus search (x) wherever it grants read."""
    mode = output_file_mode()
    return mode | ((mode & 0o444) >> 2) | 0o700


def first_period_label() -> str:
    """The first reporting quarter the pipeline keeps (DVC_FIRST_PERIOD, e.g. 2024-Q1): Dagster's
    partitions start there, so the UI lists no empty quarters before the data."""
    return os.environ.get("DVC_FIRST_PERIOD", "2020-Q1").strip()


# Oldest on-disk format DuckDB 2.0 writes that every DuckDB 1.x client (and 0.10.3) reads back
# with the same types, COMMENTs and values: v0.10.0..v1.1.0 all write storage number 64; the
# v1.0.0 label says who can read it. Formats v1.2.0+ shut out older clients, and a v1.3.0 file
# read by DuckDB 1.3.2 returned NULL for filled VARCHAR columns (checked).
DEFAULT_ANALYTICS_STORAGE_VERSION = "v1.0.0"
_STORAGE_VERSION = re.compile(r"v\d+\.\d+\.\d+|latest")


def analytics_storage_version() -> str:
    """DuckDB storage format of the published analyst database (DVC_ANALYTICS_STORAGE_VERSION,
    e.g. 'v1.0.0' or 'latest'); the working warehouse always uses the newest format."""
    value = os.environ.get("DVC_ANALYTICS_STORAGE_VERSION", "").strip() or DEFAULT_ANALYTICS_STORAGE_VERSION
    if not _STORAGE_VERSION.fullmatch(value):
        raise ValueError(
            f"DVC_ANALYTICS_STORAGE_VERSION must look like v1.0.0 (a DuckDB release) or latest, got {value!r}"
        )
    return value


def seeds_dir() -> Path:
    """Reference data folder (units, crosswalk, targets, procedures); DVC_SEEDS_DIR overrides."""
    return Path(os.environ.get("DVC_SEEDS_DIR", SEEDS_DIR))


def default_warehouse() -> Path:
    return Path(os.environ.get(ENV_WAREHOUSE, REPO_ROOT / "var" / "warehouse.duckdb"))


def default_inbox() -> Path:
    return Path(os.environ.get(ENV_INBOX, REPO_ROOT / "var" / "inbox"))


def reports_dir(warehouse: Path | str | None = None) -> Path:
    """Folder of the official report files (.xlsx, dashboard .html): DVC_REPORTS_DIR, else
    ``reports/`` next to the warehouse file."""
    configured = os.environ.get(ENV_REPORTS_DIR, "").strip()
    if configured:
        return Path(configured)
    return Path(warehouse or default_warehouse()).parent / "reports"


@dataclass(frozen=True)
class PortalSettings:
    """Export API settings (docs/portal_export.md §4). The token is kept out of repr and logs."""

    base_url: str
    token: str
    page_size: int = 1000
    timeout_s: float = 30.0
    max_retries: int = 6
    max_retry_time_s: float = 120.0

    def __repr__(self) -> str:  # never print the token
        return (
            f"PortalSettings(base_url={self.base_url!r}, token=***, page_size={self.page_size}, "
            f"timeout_s={self.timeout_s}, max_retries={self.max_retries})"
        )

    @classmethod
    def from_env(cls, base_url: str | None = None, token: str | None = None) -> PortalSettings:
        """DVC_PORTAL_* settings; ``base_url`` and ``token``, when given, win over the environment."""
        base_url = (base_url or os.environ.get("DVC_PORTAL_URL", "")).rstrip("/")
        token = token or os.environ.get("DVC_PORTAL_TOKEN", "")
        if not base_url:
            raise ValueError("DVC_PORTAL_URL is not set: the export API's base URL is required")
        if not token:
            raise ValueError("DVC_PORTAL_TOKEN is not set: the export API's bearer token is required")
        return cls(
            base_url=base_url,
            token=token,
            page_size=int(os.environ.get("DVC_PORTAL_PAGE_SIZE", "1000")),
            timeout_s=float(os.environ.get("DVC_PORTAL_TIMEOUT_S", "30")),
            max_retries=int(os.environ.get("DVC_PORTAL_MAX_RETRIES", "6")),
            max_retry_time_s=float(os.environ.get("DVC_PORTAL_MAX_RETRY_TIME_S", "120")),
        )
