"""SIGTERM (and SIGINT) stop `tickpipe process` cleanly while it has a
backlog of fetched, unprocessed messages: exit 0, the summary line, and a
store whose checkpoints are consistent (a later run finishes it equal to one
`run`). Twenty times, on a 3-broker, 6-partition mock cluster.

Each round uses its own consumer group and store, so every round starts
with the whole topic as backlog and the signal lands mid-stream. Rounds run
PARALLEL at a time: they share nothing but the mock cluster, and most of a
round is the mock's fixed 3 s wait before a new group's first assignment, so
overlapping those waits cuts the test's wall time about fourfold."""
import os
import signal
import sys
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_harness as h  # noqa: E402

ROUNDS = int(os.environ.get("TP_SIGTERM_ROUNDS", "20"))
PARALLEL = 4


def one_round(mock, wd, i):
    db = wd("round%d.db" % i)
    args = h.process_args(mock, db, "--group", "sigterm%d" % i, "--commit-interval", "50ms")
    p = h.start(args)
    try:
        # A first commit proves partitions are assigned and messages are
        # flowing; the topic is far from consumed then.
        h.wait_for(lambda: h.count_ticks(db) > 0 or p.poll() is not None, 60,
                   "round %d: a first commit" % i)
        p.send_signal(signal.SIGINT if i % 2 else signal.SIGTERM)
        try:
            _, err = p.communicate(timeout=30)
        except Exception:
            h.fail("round %d: process did not exit within 30 s of the signal" % i)
    finally:
        h.kill_all([p])
    if p.returncode != 0:
        h.fail("round %d: exit %d after the signal: %s" % (i, p.returncode, err[-2000:]))
    s = h.summary(err)
    return db, s


def rebalance_and_idle(mock, wd, ref):
    """SIGTERM while B's joining makes the group rebalance (B then finishes
    the topic alone), then SIGTERM of an idle member at the end of the
    topic."""
    db = wd("rebalance.db")
    args = h.process_args(mock, db, "--group", "sigterm-rebalance", "--commit-interval", "50ms")
    alog = wd("a.log")
    with open(alog, "w") as f:
        a = h.subprocess.Popen([h.TP_BIN] + args + ["--log-level", "info"],
                               stdout=h.subprocess.DEVNULL, stderr=f, text=True)
    procs = [a]
    try:
        h.wait_for(lambda: h.count_ticks(db) > 0, 60, "A's first commit")
        b = h.start(args + ["--exit-at-end"])
        procs.append(b)
        # B's join makes the group rebalance: A gives its partitions up and
        # waits for the new assignment. Signal it right then.
        h.wait_for(lambda: "revoked" in open(alog).read(), 60, "A's revocation")
        a.send_signal(signal.SIGTERM)
        a.wait(timeout=30)
        text = open(alog).read()
        if a.returncode != 0:
            h.fail("SIGTERM during a rebalance: exit %d: %s" % (a.returncode, text[-2000:]))
        h.summary(text)
        _, berr = b.communicate(timeout=180)
        if b.returncode != 0:
            h.fail("the other member exited %d: %s" % (b.returncode, berr[-2000:]))
        h.assert_same_tables(ref, db)
        log = wd("idle.log")
        with open(log, "w") as f:
            c = h.subprocess.Popen([h.TP_BIN] + args + ["--log-level", "info"],
                                   stdout=h.subprocess.DEVNULL, stderr=f, text=True)
        procs.append(c)
        h.wait_for(lambda: "] assigned ticks" in open(log).read(), 60, "the idle member's "
                   "assignment")
        c.send_signal(signal.SIGTERM)
        c.wait(timeout=30)
        text = open(log).read()
        if c.returncode != 0 or h.summary(text)["frames"] != 0:
            h.fail("SIGTERM of an idle member: exit %s: %s" % (c.returncode, text[-2000:]))
        h.assert_same_tables(ref, db)
    finally:
        h.kill_all(procs)


def main():
    wd = h.Workdir("tp-kafka-sigterm-")
    mock = None
    try:
        frames = h.real_plus_generated(wd, 150000, seed=8)
        ref = h.reference_run(wd, frames)
        mock = h.Mock(brokers=3, topics=(("ticks", 6),))
        produced = h.ingest(mock, frames)["produced"]
        # h.fail() in a round raises SystemExit there; map() raises it here.
        with ThreadPoolExecutor(PARALLEL) as ex:
            results = list(ex.map(lambda i: one_round(mock, wd, i), range(ROUNDS)))
        partial = []
        for i, (db, s) in enumerate(results):
            partial.append(s["frames"])
            if s["frames"] >= produced:
                h.fail("round %d: the signal came after the backlog was consumed" % i)
        last = results[-1][0]
        rebalance_and_idle(mock, wd, ref)
        # The last round's store, finished by a new instance, equals one run.
        h.run(h.process_args(mock, last, "--group", "sigterm-finish", "--exit-at-end"),
              timeout=180)
        h.assert_same_tables(ref, last)
        print("ok: %d signals with a backlog, exit 0 + summary each time (frames before the "
              "signal: %s of %d)" % (ROUNDS, partial, produced))
    finally:
        if mock:
            mock.stop()
        wd.cleanup()


if __name__ == "__main__":
    main()
