"""Domain code by stage of the data's path: ingest, marts, quality, cycle, publish, reports,
on a ground floor of config, periods, metrics, tables, db and warehouse (README.md)."""
