"""Data Docs that work offline: one plain HTML page per validation and an index, ours.

Great Expectations' own Data Docs templates load Bootstrap, jQuery and Vega from public CDNs and
a logo from a cloud bucket (on an intranet the index renders empty and every view calls out), and
name a page "Data asset: None". These pages are built here from the validation results instead:
no script, no external resource (a Content-Security-Policy forbids any), every text escaped,
each page named after its suite, table and the windows it checked. The GX results stay stored
as JSON under ``<quality>/gx/validations`` (the source of the index).
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from pipeline.output_modes import make_folders, restrict

CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
STYLE = """body{font-family:"Noto Sans","DejaVu Sans",Arial,sans-serif;margin:1.5rem;color:#1c2833;max-width:72rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}th,td{border:1px solid #ccd;padding:.3rem .5rem;text-align:left;vertical-align:top;font-size:.9rem}
th{background:#eef2f6}.ok{color:#1b5e20;font-weight:600}.bad{color:#b71c1c;font-weight:600}.warn{color:#8a5a00;font-weight:600}
code{font-size:.85rem;white-space:pre-wrap;word-break:break-word}.muted{color:#5d6d7e}"""
SUMMARY_SUFFIX = ".summary.json"


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\">"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">"
        f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{_e(title)}</title>"
        f"<style>{STYLE}</style></head><body>{body}</body></html>\n"
    )


def _verdict(success: bool, severity: str) -> str:
    if success:
        return '<span class="ok">passed</span>'
    return f'<span class="{"bad" if severity == "error" else "warn"}">FAILED ({_e(severity)})</span>'


def write_validation_page(
    path: Path,
    *,
    suite: str,
    table: str,
    bound: str,
    run_name: str | None,
    result: Any,  # quality.SuiteResult (duck-typed: no import cycle)
    notes: str = "",
) -> Path:
    """One validation: what was read, the verdict, every expectation with what failed."""
    when = datetime.now().isoformat(timespec="seconds")
    rows = []
    for o in result.outcomes:
        detail = "" if o.success else json.dumps(o.summary(), ensure_ascii=False, default=str, indent=1)
        rows.append(
            f"<tr><td>{_verdict(o.success, o.severity)}</td><td><code>{_e(o.name)}</code></td>"
            f"<td>{_e(o.notes)}</td><td><code>{_e(detail)}</code></td></tr>"
        )
    title = f"{suite} — {table} — {bound}"
    body = (
        f"<p><a href=\"{_e(_relative_index(path))}\">← all validations</a></p>"
        f"<h1>{_e(suite)}</h1><p>{_e(notes)}</p>"
        "<table><tr><th>table</th><th>rows checked</th><th>run</th><th>checked at</th><th>result</th></tr>"
        f"<tr><td>{_e(table)}</td><td>{_e(result.rows)} ({_e(bound)})</td><td>{_e(run_name or '')}</td>"
        f"<td>{_e(when)}</td><td>{_verdict(result.success, result.severity)} — "
        f"{len(result.failed)} of {len(result.outcomes)} expectations failed</td></tr></table>"
        "<h2>Expectations</h2><table><tr><th>result</th><th>expectation</th><th>meaning</th>"
        f"<th>what failed</th></tr>{''.join(rows)}</table>"
    )
    make_folders(path.parent)
    restrict(_write(path, _page(title, body)))
    summary = {
        "suite": suite, "table": table, "bound": bound, "run": run_name, "checked_at": when,
        "success": result.success, "severity": result.severity, "rows": result.rows,
        "failed": len(result.failed), "expectations": len(result.outcomes),
    }
    restrict(_write(path.with_name(path.name + SUMMARY_SUFFIX), json.dumps(summary, ensure_ascii=False)))
    return path


def _relative_index(page: Path) -> str:
    for parent in page.parents:
        if parent.name == "data_docs":
            return "../" * (len(page.relative_to(parent).parts) - 1) + "index.html"
    return "index.html"


def _summaries(docs: Path) -> Iterable[tuple[Path, dict[str, Any]]]:
    for summary in (docs / "validations").rglob(f"*{SUMMARY_SUFFIX}"):
        page = summary.with_name(summary.name.removesuffix(SUMMARY_SUFFIX))
        if page.is_file():
            yield page, json.loads(summary.read_text(encoding="utf-8"))


def write_index(docs: Path) -> Path:
    """Every stored validation, newest first, grouped by nothing: one row each, a link each."""
    entries = sorted(_summaries(docs), key=lambda item: item[1].get("checked_at", ""), reverse=True)
    rows = "".join(
        f"<tr><td><a href=\"{_e(page.relative_to(docs).as_posix())}\">{_e(s['suite'])}</a></td>"
        f"<td>{_e(s['table'])}</td><td>{_e(s['bound'])}</td><td>{_e(s['checked_at'])}</td>"
        f"<td>{_verdict(s['success'], s['severity'])}</td><td>{_e(s['failed'])} / {_e(s['expectations'])}</td>"
        f"<td class=\"muted\">{_e(s['run'] or '')}</td></tr>"
        for page, s in entries
    )
    body = (
        "<h1>Data quality — validations</h1>"
        "<p class=\"muted\">Great Expectations suites run by the pipeline's checks (newest first). "
        "Works offline: no script, nothing loaded from the network.</p>"
        "<table><tr><th>suite</th><th>table</th><th>rows checked</th><th>checked at</th><th>result</th>"
        f"<th>failed / expectations</th><th>run</th></tr>{rows}</table>"
    )
    index = docs / "index.html"
    make_folders(index.parent)
    restrict(_write(index, _page("Data quality — validations", body)))
    return index


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
