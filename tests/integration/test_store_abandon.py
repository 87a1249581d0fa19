"""A batch a `process` member gives up is never written, in either store.

When librdkafka reports a member's partitions lost (it was paused past its
session), the member rebuilds its processor from the store without
committing. Before the fix the store still held the abandoned batch's rows
and wrote them with the next commit: a stale tick, found by
test_kafka_zombie as one extra ticks row. The store_abandon tool does
exactly that sequence through the store contract (claim, apply OLD, free the
processor, apply NEW with a fresh one on the same handle, commit). Both
stores are then read back with their own readers (sqlite3; the DataStax
driver on the CQL test server): only NEW may be there."""
import os
import sqlite3
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cql_server import ServerProcess  # noqa: E402
from test_cql_store import driver_session  # noqa: E402

TOOL = os.path.join(os.environ["TP_BUILD"], "tests", "store_abandon")
TABLES = ("ticks", "latest", "bars", "tp_state")


def run(store):
    p = subprocess.run([TOOL, store], capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        sys.exit("FAIL: store_abandon %s: %s" % (store, p.stderr))


def check(symbols, where):
    for table in TABLES:
        if symbols[table] != {"NEW"}:
            sys.exit("FAIL: %s.%s holds symbols %s; want only NEW (OLD's batch was abandoned)"
                     % (where, table, sorted(symbols[table])))


def main():
    work = tempfile.mkdtemp(prefix="tp_store_abandon.")
    db = os.path.join(work, "s.db")
    run("sqlite:" + db)
    con = sqlite3.connect(db)
    check({t: {r[0] for r in con.execute("SELECT symbol FROM %s" % t)} for t in TABLES}, "SQLite")
    con.close()
    with ServerProcess(work) as cql:
        run("cassandra://127.0.0.1:%d/ks_abandon" % cql.port)
        cluster, s = driver_session(cql.port)
        try:
            got = {t: {r[0] for r in s.execute("SELECT symbol FROM ks_abandon.%s" % t)}
                   for t in TABLES}
        finally:
            cluster.shutdown()
        check(got, "Cassandra")
    print("ok: an abandoned batch left no row in SQLite or Cassandra")


if __name__ == "__main__":
    main()
