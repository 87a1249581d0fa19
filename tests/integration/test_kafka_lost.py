"""A `process` member whose assignment is lost with a whole batch applied
and uncommitted gives that batch up, rejoins, applies the partitions again
from the store's checkpoints, and counts each tick once.

The mock cluster answers one heartbeat with UNKNOWN_MEMBER_ID (as a
coordinator does for a member whose session expired), so librdkafka reports
the assignment lost while every message has been applied and, with a long
--commit-interval, nothing committed. The member rebuilds its processor
without committing, is assigned the partitions again and applies them from
offset 0. After SIGTERM the store must equal one `run`, and the summary must
count only what was committed: before the fix it counted the given-up batch
too (applied twice the ticks stored). The /metrics counters, though, count
all work and must never go down across the loss (Prometheus counters)."""
import os
import re
import signal
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_harness as h  # noqa: E402
from http_testlib import get  # noqa: E402

PARTITIONS = 4
HEARTBEAT, UNKNOWN_MEMBER_ID = 12, 25   # Kafka API key and error code


def caught_up(lines, since):
    """A consumer-lag line logged after line `since` with every partition at 0."""
    return any(l.rstrip().endswith(" ".join("[%d]=0" % i for i in range(PARTITIONS)))
               for l in lines[since:] if "consumer lag of ticks:" in l)


def applied_total(port):
    status, body = get(port, "/metrics")
    if status != 200:
        h.fail("/metrics: status %d" % status)
    return int(float(re.search(rb"^tickpipe_applied_total (\S+)$", body, re.M).group(1)))


def main():
    wd = h.Workdir("tp-kafka-lost-")
    mock, procs = None, []
    try:
        frames = h.real_plus_generated(wd, 20000, seed=21)
        ref = h.reference_run(wd, frames)
        mock = h.Mock(brokers=1, topics=(("ticks", PARTITIONS),))
        h.ingest(mock, frames)
        db = wd("lost.db")
        p = h.start(h.process_args(mock, db, "--commit-interval", "10m", "--batch", "1000000",
                                   "--lag-interval", "200ms", "--log-level", "info",
                                   "--http", "127.0.0.1:0"))
        procs.append(p)
        err = []
        reader = threading.Thread(target=lambda: err.extend(p.stderr), daemon=True)
        reader.start()
        h.wait_for(lambda: caught_up(err, 0) or p.poll() is not None, 120,
                   "the member to apply every message")
        if h.count_ticks(db) != 0:
            h.fail("the member committed before the loss; the test needs an uncommitted batch")
        port = int(re.search(r"serving http on port (\d+)", "".join(err)).group(1))
        before = applied_total(port)
        mark = len(err)
        mock.cmd("error %d %d 1" % (HEARTBEAT, UNKNOWN_MEMBER_ID))
        h.wait_for(lambda: any("lost %d partition(s)" % PARTITIONS in l for l in err[mark:])
                   or p.poll() is not None, 60, "the assignment to be reported lost")
        lost_at = len(err)
        # While the member rejoins (a few seconds on the mock), its counters
        # must still include the given-up batch.
        h.wait_for(lambda: any("assigned ticks [" in l for l in err[lost_at:])
                   or p.poll() is not None, 60, "the member to be assigned again")
        after = applied_total(port)
        if after < before:
            h.fail("tickpipe_applied_total went down across the loss: %d -> %d" % (before, after))
        h.wait_for(lambda: sum("assigned ticks [" in l for l in err[lost_at:]) == PARTITIONS
                   and caught_up(err, lost_at) or p.poll() is not None, 120,
                   "the member to be assigned again and catch up")
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=60)
        except h.subprocess.TimeoutExpired:
            h.fail("process did not stop on SIGTERM")
        reader.join(10)
        log = "".join(err)
        if p.returncode != 0:
            h.fail("process exited %d: %s" % (p.returncode, log[-3000:]))
        h.assert_same_tables(ref, db)
        s = h.summary(log)
        if s["applied"] != h.count_ticks(ref):
            h.fail("the summary counts %d applied ticks; the store holds %d: %s"
                   % (s["applied"], h.count_ticks(ref), log[-3000:]))
        print("ok: assignment lost with a batch applied; store equals one run; summary %s" % s)
    finally:
        h.tear_down(procs, mock, wd)


if __name__ == "__main__":
    main()
