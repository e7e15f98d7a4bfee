"""Reads one query from a SQLite file through ADBC and writes the result to stdout as an Arrow IPC stream.

Run as a child process by tasks.metrics: ADBC's driver carries its own copy of SQLite, and two copies in
one process break each other's POSIX locks, so the Arrow-native read lives in a process of its own.
"""

from __future__ import annotations

import json
import sys


def main() -> None:
    import adbc_driver_sqlite.dbapi
    import pyarrow as pa

    request = json.loads(sys.stdin.buffer.read())
    # Read-only: this connection never checkpoints nor removes the WAL that other connections share.
    conn = adbc_driver_sqlite.dbapi.connect(f"file:{request['path']}?mode=ro")
    try:
        with conn.cursor() as cur:
            cur.execute(request["query"], tuple(request["params"]))
            table = cur.fetch_arrow_table()
    finally:
        conn.close()
    with pa.ipc.new_stream(sys.stdout.buffer, table.schema) as writer:
        writer.write_table(table)


if __name__ == "__main__":
    main()
