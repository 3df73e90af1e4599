"""Subprocess for the refresh kill test: `run` that dies like kill -9 at a chosen moment.

argv: inbox warehouse moment — ``after_unit_mart`` dies when the unit mart has committed and
the roll-ups are about to start (no cleanup, no exception handlers: os._exit).
"""

import os
import sys

from app.cli import main
from pipeline import marts

inbox, warehouse, moment = sys.argv[1:4]
if moment == "after_unit_mart":
    marts.refresh_level_stats = lambda con, windows: os._exit(137)
sys.exit(main(["-q", "run", "--inbox", inbox, "--warehouse", warehouse]))
