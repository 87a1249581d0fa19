"""The Cassandra store (on the CQL test server, cql_server.py) keeps what
the SQLite store keeps for issue 9: a live capture's gaps (a socket silent
past --silent-timeout, and "not running" between two captures into one
keyspace) read back with `tickpipe query gaps`, and the settings that shape
its results (--bars, --lateness): a run with other ones is refused, exit 2.
`query` of a keyspace that does not exist is exit 1 "no such store" and
creates nothing.
"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cql_server import ServerProcess  # noqa: E402
from ws_testlib import BIN, Proc, check, wait_for  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def query(store, *args):
    p = subprocess.run([BIN, "query", "--store", store] + list(args), capture_output=True,
                       text=True, timeout=60)
    check(p.returncode == 0, "query %s: %s" % (" ".join(args), p.stderr))
    return p.stdout.splitlines()


def capture(work, store, name, want_gap):
    srv = Proc(["/usr/bin/python3", os.path.join(HERE, "silent_server.py"), "3"], work, name + "-srv")
    url = wait_for(lambda: srv.out().split("\n")[0].strip() if srv.out().endswith("\n") else None,
                   20, "the streamer to listen", [srv])
    run = Proc([BIN, "run", "--source", "yahoo:" + url, "--symbols", "AAA,BBB", "--silent-timeout",
                "1s", "--store", store, "--deadletter", os.path.join(work, name + ".dl"),
                "--log-level", "info"], work, name)
    try:
        wait_for(lambda: want_gap in run.err(), 30, "a %s gap in the log" % want_gap, [srv, run])
        wait_for(lambda: "data flows again" in run.err() or want_gap != "silent", 30,
                 "data after the re-subscribe", [srv, run])
    finally:
        rc = run.stop()
        srv.stop()
    check(rc == 0, "%s exit %d: %s" % (name, rc, run.err()[-2000:]))


def main():
    work = tempfile.mkdtemp(prefix="tp_cql_gaps.")
    with ServerProcess(work) as cql:
        store = "cassandra://127.0.0.1:%d/ks_gaps" % cql.port
        capture(work, store, "run1", "silent")
        capture(work, store, "run2", "silent")
        rows = query(store, "gaps")
        check(rows[0] == "symbol,start,stop,reason", "gaps header: %r" % rows[:1])
        reasons = {(r.split(",")[0], r.split(",")[3]) for r in rows[1:]}
        for sym in ("AAA", "BBB"):
            check((sym, "silent") in reasons and (sym, "not running") in reasons,
                  "gaps of %s: %r" % (sym, rows))
        only = query(store, "gaps", "--symbol", "BBB", "--format", "json")
        check(all('"AAA"' not in l for l in only) and any('"BBB"' in l for l in only),
              "query gaps --symbol BBB: %r" % only)
        p = subprocess.run([BIN, "run", "--source", "sim:count=10", "--store", store, "--bars", "1m,5m",
                            "--deadletter", os.path.join(work, "x.dl")],
                           capture_output=True, text=True, timeout=60)
        check(p.returncode == 2 and "built with --bars 1m --lateness 10s" in p.stderr,
              "a settings change on a Cassandra store: exit %d %s" % (p.returncode, p.stderr))
        typo = "cassandra://127.0.0.1:%d/ks_typo" % cql.port
        for attempt in (1, 2):   # the second proves the first created nothing
            p = subprocess.run([BIN, "query", "--store", typo, "latest"], capture_output=True,
                               text=True, timeout=60)
            check(p.returncode == 1 and "no such store" in p.stderr and not p.stdout,
                  "query of a missing keyspace (%d): exit %d %s" % (attempt, p.returncode, p.stderr))
    print("test_cql_gaps: ok")


main()
