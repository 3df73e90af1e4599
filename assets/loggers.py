"""The command line's Dagster logger: one readable line per message, through Python logging.

Dagster's console logger prints every message with the job name and run id and a traceback for
a failed step, and the command line would print the same landing line again from the domain's
own logger. Runs started by the command line (app/runner.py) select this logger instead: a
message an asset logs becomes one line of the ``pipeline.run`` logger at its own level; Dagster's
own events (step start, output handled, failures with their tracebacks) go out at DEBUG, shown
by ``--debug``; the runner states a failure's reason in one line. Runs started by ``dagster dev``
or the daemon keep Dagster's default console logger; the event log is the same for both.
"""

from __future__ import annotations

import logging
import re

import dagster as dg

RUN_LOGGER = "pipeline.run"
# Dagster's "Dependencies for step X failed / were not executed: [...]. Not executing." lines.
_SKIPPED_STEP = re.compile(r"^Dependencies for step \S+ (failed|were not executed)\b")


class _Forward(logging.Handler):
    """Re-emits a Dagster log record as a plain record of the ``pipeline.run`` logger; a line
    an operator has already read in this run (e.g. the workbook's and the dashboard's asset
    skipping the same quarter for the same reason) is not printed twice."""

    def __init__(self) -> None:
        super().__init__()
        self._said: set[tuple[int, str]] = set()

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        message = meta.get("orig_message") or record.getMessage()
        level = record.levelno
        if meta.get("dagster_event") is not None:
            level = logging.DEBUG  # framework events: only with --debug (with their detail)
            message = record.getMessage()
        elif _SKIPPED_STEP.match(message):
            level = logging.DEBUG  # follows a failure whose reason the runner states in one line
        target = logging.getLogger(RUN_LOGGER)
        if level > logging.DEBUG:
            if (level, message) in self._said:
                return
            self._said.add((level, message))
        if target.isEnabledFor(level):
            step = meta.get("step_key")
            target.log(level, f"{step}: {message}" if step and level <= logging.DEBUG else message)


@dg.logger(description="One plain line per message via Python logging (the command line's runs).")
def command_line_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    logger = logging.Logger("dagster.command_line", level=logging.DEBUG)
    logger.addHandler(_Forward())
    return logger


LOGGERS = {"console": dg.colored_console_logger, "command_line": command_line_logger}
