"""Two `tickpipe process` instances in one consumer group split the
partitions and together produce exactly what one instance (and `run`)
would: identical tables, every message applied once across both."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_harness as h  # noqa: E402


def main():
    wd = h.Workdir("tp-kafka-group-")
    mock, procs = None, []
    try:
        frames = h.real_plus_generated(wd, 60000, seed=3)
        ref = h.reference_run(wd, frames)
        mock = h.Mock(brokers=2, topics=(("ticks", 8),))
        s = h.ingest(mock, frames)
        db = wd("kafka.db")
        args = h.process_args(mock, db, "--exit-at-end", "--log-level", "info",
                              "--commit-interval", "20ms")
        procs = [h.start(args), h.start(args)]
        errs = []
        for p in procs:
            try:
                _, err = p.communicate(timeout=180)
            except Exception:
                h.fail("a process instance did not finish in time")
            if p.returncode != 0:
                h.fail("process exited %d: %s" % (p.returncode, err[-2000:]))
            errs.append(err)
        sums = [h.summary(e) for e in errs]
        frames_seen = sum(x["frames"] for x in sums)
        if frames_seen != s["produced"]:
            h.fail("instances applied %d messages in total, %d were produced: %s"
                   % (frames_seen, s["produced"], sums))
        assigned = [e.count("] assigned ticks") for e in errs]
        if min(x["frames"] for x in sums) == 0 or min(assigned) == 0:
            h.fail("one instance did no work (%s, assignments %s)" % (sums, assigned))
        h.assert_same_tables(ref, db)
        print("ok: two instances (%d + %d messages) equal one run"
              % (sums[0]["frames"], sums[1]["frames"]))
    finally:
        h.tear_down(procs, mock, wd)


if __name__ == "__main__":
    main()
