"""Both stores keep a lost Kafka offset range (issue 8: data that can no
longer be read is logged, counted and recorded per partition): the SQLite
store and the Cassandra store (on the CQL test server, read back with the
DataStax driver) hold the same tp_loss row after the store_loss tool records
one through the store contract, as `process` does."""
import os
import sqlite3
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cql_server import ServerProcess  # noqa: E402
from test_cql_store import driver_session  # noqa: E402

TOOL = os.path.join(os.environ["TP_BUILD"], "tests", "store_loss")
KEY, FROM, TO, REASON = "kafka:ticks:3", 120, 480, "the log start moved past the checkpoint"


def record(store):
    p = subprocess.run([TOOL, store, KEY, str(FROM), str(TO), REASON], capture_output=True,
                       text=True, timeout=60)
    if p.returncode != 0:
        sys.exit("FAIL: store_loss %s: %s" % (store, p.stderr))


def check(rows, where):
    if len(rows) != 1 or tuple(rows[0][:3]) != (KEY, FROM, TO) or rows[0][4] != REASON \
            or not rows[0][3] > 1.7e12:
        sys.exit("FAIL: tp_loss in %s: %r" % (where, rows))


def main():
    work = tempfile.mkdtemp(prefix="tp_store_loss.")
    db = os.path.join(work, "s.db")
    record("sqlite:" + db)
    con = sqlite3.connect(db)
    check(con.execute("SELECT key, from_pos, to_pos, detected, reason FROM tp_loss").fetchall(),
          "SQLite")
    con.close()
    with ServerProcess(work) as cql:
        record("cassandra://127.0.0.1:%d/ks_loss" % cql.port)
        cluster, s = driver_session(cql.port)
        try:
            rows = [tuple(r) for r in s.execute(
                "SELECT key, from_pos, to_pos, detected, reason FROM ks_loss.tp_loss")]
        finally:
            cluster.shutdown()
        check(rows, "Cassandra")
    print("ok: tp_loss holds the lost range in SQLite and in Cassandra")


if __name__ == "__main__":
    main()
