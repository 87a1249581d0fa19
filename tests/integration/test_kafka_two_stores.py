"""Two stores in one consumer group never duplicate: a member whose store is
behind the group's committed offsets (another store, or a reset one) stops
with exit 1 and says which partition, both positions and what to do, instead
of re-processing the partitions into the wrong store. --rebuild rebuilds
such a store from the start of the topic, equal to one `run`.
(3 brokers, 6 partitions.)"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_harness as h  # noqa: E402


def main():
    wd = h.Workdir("tp-kafka-two-stores-")
    mock = None
    try:
        frames = h.real_plus_generated(wd, 30000, seed=12)
        ref = h.reference_run(wd, frames)
        mock = h.Mock(brokers=3, topics=(("ticks", 6),))
        h.ingest(mock, frames)
        first, second = wd("first.db"), wd("second.db")
        h.run(h.process_args(mock, first, "--group", "g", "--exit-at-end"), timeout=180)
        h.assert_same_tables(ref, first)
        st, err = h.run(h.process_args(mock, second, "--group", "g", "--exit-at-end"),
                        timeout=120, check=False)
        if st != 1:
            h.fail("a store behind the group was used: exit %d: %s" % (st, err[-2000:]))
        # The refusal is the command's own error line, printed once, not a log
        # line followed by a generic "could not resume" message.
        m = re.search(r"^tickpipe process: partition (\d) of ticks: the group g has committed "
                      r"offset (\d+) but the store \S+ has no checkpoint for it.*--rebuild", err,
                      re.M)
        if not m:
            h.fail("the refusal does not name partition, positions and --rebuild: " + err[-2000:])
        if h.count_ticks(second) != 0:
            h.fail("the refused member wrote %d ticks" % h.count_ticks(second))
        h.run(h.process_args(mock, second, "--group", "g", "--exit-at-end", "--rebuild"),
              timeout=180)
        h.assert_same_tables(ref, second)
        h.assert_same_tables(ref, first)
        print("ok: refused (%s) then rebuilt with --rebuild" % m.group(0)[:80])
    finally:
        if mock:
            mock.stop()
        wd.cleanup()


if __name__ == "__main__":
    main()
