"""kill -9 `tickpipe process` at several points while it consumes, restart
it each time, and let the last run reach the end: the SQLite store must
equal `tickpipe run` on the same replay (exactly-once across crashes)."""
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_harness as h  # noqa: E402


def main():
    wd = h.Workdir("tp-kafka-crash-")
    mock, procs = None, []
    try:
        frames = h.real_plus_generated(wd, 60000, seed=2)
        ref = h.reference_run(wd, frames)
        total = h.count_ticks(ref)
        mock = h.Mock(brokers=1, topics=(("ticks", 6),))
        h.ingest(mock, frames)
        db = wd("kafka.db")
        args = h.process_args(mock, db, "--commit-interval", "20ms", "--batch", "500")
        for frac in (0.15, 0.45, 0.75):
            before = h.count_ticks(db)
            p = h.start(args)
            procs.append(p)
            h.wait_for(lambda: h.count_ticks(db) >= max(before + 1, int(total * frac)), 120,
                       "process to commit %d%% of the ticks" % (frac * 100))
            p.send_signal(signal.SIGKILL)
            p.wait()
            print("killed at %d/%d ticks" % (h.count_ticks(db), total))
        if h.count_ticks(db) >= total:
            h.fail("process finished before the last kill; nothing was tested")
        st, err = h.run(args + ["--exit-at-end"])
        h.assert_same_tables(ref, db)
        print("ok: 3 x kill -9 then restart equals one clean run (%d ticks)" % total)
    finally:
        h.tear_down(procs, mock, wd)


if __name__ == "__main__":
    main()
