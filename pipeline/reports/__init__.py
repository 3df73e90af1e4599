"""The reports people read: the Biểu II.06a workbook (xlsx), the HTML dashboard and the
command line summary, all built on the same report data (data.py) read from the marts."""
