"""Subprocess for test_killed_publish: publish the analyst copy and die like kill -9 once the
temporary copy is written and still attached (no cleanup, no exception handlers: os._exit).

argv: warehouse.
"""

import os
import sys

from pipeline.publish import analyst_copy
from pipeline.warehouse import open_warehouse


def die(*args, **kwargs):
    os._exit(137)


analyst_copy._write_parquet_set = die
with open_warehouse(sys.argv[1]) as con:
    analyst_copy.publish(con, sys.argv[1], reuse=False)
