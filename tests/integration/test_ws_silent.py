"""A live socket that stays open and answers pings but goes silent
(silent_server.py): with --silent-timeout 1s the client sends its
subscription again on the same connection and the data resumes; still
silent after that, it reconnects. A symbol the server never answers is
named in the log. The intervals without data are stored as gaps, and a
second capture into the same store records the time between the two as
"not running" for each symbol; `tickpipe query gaps` shows them.
"""
import subprocess
import json
import os
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ws_testlib import BIN, Proc, check, tmpdir, wait_for  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
BURST = 5


def ticks(db):
    try:
        c = sqlite3.connect(db, timeout=5)
        n = c.execute("SELECT count(*) FROM ticks WHERE symbol='AAA'").fetchone()[0]
        c.close()
        return n
    except sqlite3.Error:
        return 0


def main():
    work = tmpdir("tp_ws_silent.")
    srv = Proc(["/usr/bin/python3", os.path.join(HERE, "silent_server.py"), str(BURST)], work, "server")
    url = wait_for(lambda: srv.out().split("\n")[0].strip() if srv.out().endswith("\n") else None,
                   20, "the server to listen", [srv])
    db = os.path.join(work, "s.db")
    run = Proc([BIN, "run", "--source", "yahoo:" + url, "--symbols", "AAA,BBB,GHOST1",
                "--silent-timeout", "1s", "--store", "sqlite:" + db,
                "--deadletter", os.path.join(work, "dl"), "--log-level", "info"],
               work, "run", {"TP_WS_PING_MS": "200", "TP_WS_PONG_MS": "2000"})
    try:
        # burst 1, silence, a new subscribe on connection 1, burst 2
        wait_for(lambda: ticks(db) >= 2 * BURST, 30, "data to resume after a new subscribe", [srv, run])
        subs = [l.split("\t") for l in srv.out().split("\n")[1:] if l]
        check([c for c, _ in subs[:2]] == ["1", "1"],
              "the second subscribe did not come on the same connection: %r" % subs)
        # silent again: connection 1 ignores the next subscribe, the client reconnects
        wait_for(lambda: any(l.startswith("2\t") for l in srv.out().split("\n")), 30,
                 "a reconnect after the socket stayed silent", [srv, run])
        wait_for(lambda: ticks(db) >= 3 * BURST, 30, "data on the new connection", [srv, run])
        check("GHOST1" in run.err(), "the never-answered symbol is not named in the log")
        check("subscribing again" in run.err(), "no re-subscribe warning in the log")
    finally:
        rc = run.stop()
        srv.stop()
    check(rc == 0, "run exit %d:\n%s" % (rc, run.err()[-2000:]))
    c = sqlite3.connect(db)
    gaps = c.execute("SELECT symbol, start, stop, reason FROM gaps ORDER BY start, symbol").fetchall()
    c.close()
    reasons = {g[3] for g in gaps if g[0] == "AAA"}
    check("silent" in reasons, "no 'silent' gap for AAA: %r" % gaps)
    check(all(g[2] - g[1] >= 1000 for g in gaps if g[3] == "silent"), "a silent gap under 1 s: %r" % gaps)
    check(not any(g[3] == "not running" for g in gaps), "a first capture has no 'not running' gap")

    # stopped, then restarted on the same store: the pause is a "not running" gap
    srv = Proc(["/usr/bin/python3", os.path.join(HERE, "silent_server.py"), str(BURST)], work, "server2")
    url = wait_for(lambda: srv.out().split("\n")[0].strip() if srv.out().endswith("\n") else None,
                   20, "the second server to listen", [srv])
    before = ticks(db)
    run = Proc([BIN, "run", "--source", "yahoo:" + url, "--symbols", "AAA,BBB,GHOST1",
                "--silent-timeout", "1s", "--store", "sqlite:" + db,
                "--deadletter", os.path.join(work, "dl")], work, "run2")
    try:
        wait_for(lambda: ticks(db) >= before + BURST, 30, "data in the second capture", [srv, run])
    finally:
        rc = run.stop()
        srv.stop()
    check(rc == 0, "second run exit %d:\n%s" % (rc, run.err()[-2000:]))
    q = subprocess.run([BIN, "query", "--store", "sqlite:" + db, "gaps", "--format", "json"],
                       capture_output=True, text=True, timeout=30)
    check(q.returncode == 0, "query gaps: %s" % q.stderr)
    rows = json.loads(q.stdout)
    down = [r for r in rows if r["reason"] == "not running"]
    check(sorted(r["symbol"] for r in down) == ["AAA", "BBB", "GHOST1"], "not-running gaps: %r" % rows)
    check(all(r["stop"] > r["start"] > 0 for r in down), "not-running gap bounds: %r" % down)
    q = subprocess.run([BIN, "query", "--store", "sqlite:" + db, "gaps", "--symbol", "BBB"],
                       capture_output=True, text=True, timeout=30)
    lines = q.stdout.splitlines()
    check(lines[0] == "symbol,start,stop,reason" and len(lines) >= 3 and
          all(l.startswith("BBB,") for l in lines[1:]), "query gaps --symbol BBB: %r" % q.stdout)
    print("test_ws_silent: ok")


main()
