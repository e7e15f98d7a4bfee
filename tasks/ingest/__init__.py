"""Platform exports in, daily metrics out: pure read, map and validate steps, then one transaction that writes.

Where things live (only write imports the database; none imports Prefect):
- cells: RawTable, an export as read, and what its cells say: text, numbers whatever their marks, dates
- read: read_export, bytes to a RawTable (CSV in any encoding and delimiter, XLSX, Parquet)
- map: the column map (map_columns, --map, saved mappings' roles), currencies, normalise to one row per file row
- validate: validate (loadable or quarantined, with a reason), daily_records, plan_writes, and parse_export,
  every pure step in order
- write: import_file and import_bytes (one transaction), ImportReport, accounts and saved mappings

A new platform's header names go in tasks/mappings.py, not here. Underscore names are shared between these
modules, not outside the package.
"""
