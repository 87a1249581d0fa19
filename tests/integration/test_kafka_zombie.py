"""A paused `process` member (SIGSTOP past its session timeout, then
SIGCONT) can never change a shared SQLite store again, and does not stall
the member that took over.

A consumes alone until its first commit, then is stopped (mid-batch: its
fetched messages are not yet committed). B joins the same group and store,
gets every partition once A's session has expired, and runs to the end of
the topic. A is resumed: whatever it had applied is refused or discarded
(fenced epochs, lost assignment), it rejoins and finishes. The store equals
one clean `run` (3 brokers, 6 partitions)."""
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_harness as h  # noqa: E402


def checkpoints(db):
    con = h.sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=5)
    try:
        return dict(con.execute("SELECT key, pos FROM tp_checkpoint WHERE key LIKE 'kafka:%' "
                                "AND key NOT LIKE '%@%'").fetchall())
    finally:
        con.close()


def stop_after_commit(p, db):
    """Stops p within a few ms of its first commit."""
    deadline = h.time.monotonic() + 60
    while not os.path.exists(db) and h.time.monotonic() < deadline:
        h.time.sleep(0.01)
    con = h.sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=5)
    try:
        while h.time.monotonic() < deadline and p.poll() is None:
            try:
                if con.execute("SELECT count(*) FROM ticks").fetchone()[0] > 0:
                    p.send_signal(signal.SIGSTOP)
                    return
            except h.sqlite3.OperationalError:
                pass   # the schema is not there yet
            h.time.sleep(0.002)
    finally:
        con.close()
    h.fail("A made no commit")


def show_logs(berr, aerr):
    """What B and A logged: the first thing to read when the store does not
    equal one run."""
    for who, err in (("B", berr), ("A", aerr)):
        lines = err.splitlines()
        print("---- %s (%d lines) ----\n%s" % (who, len(lines), "\n".join(lines[-150:])),
              file=sys.stderr)


def main():
    wd = h.Workdir("tp-kafka-zombie-")
    mock, procs = None, []
    try:
        frames = h.real_plus_generated(wd, 120000, seed=9)
        ref = h.reference_run(wd, frames)
        mock = h.Mock(brokers=3, topics=(("ticks", 6),))
        h.ingest(mock, frames)
        db = wd("shared.db")
        # Commits only by time (a batch never fills), so right after a
        # commit A spends 300 ms applying, holding no lock: stop it there.
        # (A member stopped inside its commit holds SQLite's write lock until
        # it runs again or dies: no SQLite setting can avoid that.)
        args = h.process_args(mock, db, "--exit-at-end", "--commit-interval", "300ms",
                              "--batch", "1000000", "--log-level", "info")
        a = h.start(args)
        procs.append(a)
        stop_after_commit(a, db)
        stopped_at = checkpoints(db)
        b = h.start(args)
        procs.append(b)
        try:
            _, berr = b.communicate(timeout=120)
        except h.subprocess.TimeoutExpired:
            b.kill()
            _, berr = b.communicate()
            h.fail("B did not finish while A was stopped: %s" % berr[-2000:])
        if b.returncode != 0:
            h.fail("B exited %d while A was stopped: %s" % (b.returncode, berr[-2000:]))
        done_by_b = checkpoints(db)
        a.send_signal(signal.SIGCONT)
        try:
            _, aerr = a.communicate(timeout=180)
        except Exception:
            h.fail("A did not finish after SIGCONT")
        if a.returncode != 0:
            h.fail("A exited %d after SIGCONT: %s" % (a.returncode, "\n".join(l for l in aerr.splitlines() if "COMMITFAIL" not in l)[-3000:]))
        final = checkpoints(db)
        for k, pos in done_by_b.items():
            if final.get(k, -1) < pos:
                show_logs(berr, aerr)
                h.fail("checkpoint %s went back from %d to %s" % (k, pos, final.get(k)))
        try:
            h.assert_same_tables(ref, db)
        except SystemExit:
            print("A stopped at %s, B finished %s, final %s" % (stopped_at, done_by_b, final),
                  file=sys.stderr)
            show_logs(berr, aerr)
            raise
        sa, sb = h.summary(aerr), h.summary(berr)
        # Each member's summary counts what it committed, not work it gave up.
        ticks = h.count_ticks(ref)
        if sa["applied"] + sb["applied"] != ticks:
            show_logs(berr, aerr)
            h.fail("A applied %d and B %d, but one run stores %d ticks"
                   % (sa["applied"], sb["applied"], ticks))
        print("ok: A stopped at %s, B finished %s, A resumed (summary %s); store equals one run"
              % (stopped_at, done_by_b, sa))
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGCONT)
        h.tear_down(procs, mock, wd)


if __name__ == "__main__":
    main()
