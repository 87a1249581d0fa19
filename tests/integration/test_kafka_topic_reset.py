"""A store whose checkpoints lie beyond the end of the topic (the topic was
deleted and re-created, or --brokers points at another cluster) must not be
fed silently: process used to seek past the log end, be reset to the start by
librdkafka, and then ignore every message below its checkpoint as a 'stale
fetch', exiting 0 with frames=0 while new data went unread. It stops with
exit 1 naming the partition, both positions and what to do.
(1 broker, 2 partitions; two mock clusters stand for the topic before and
after it was re-created.)"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_harness as h  # noqa: E402


def main():
    wd = h.Workdir("tp-kafka-topic-reset-")
    old = new = None
    try:
        frames = h.real_plus_generated(wd, 4000, seed=21)
        few = wd("few.txt")
        with open(frames) as f, open(few, "w") as out:
            for i, line in enumerate(f):
                if i >= 400:
                    break
                out.write(line)
        db = wd("store.db")
        old = h.Mock(brokers=1, topics=(("ticks", 2),))
        h.ingest(old, frames)
        h.run(h.process_args(old, db, "--group", "g", "--exit-at-end"), timeout=120)
        before = h.count_ticks(db)
        old.stop()
        old = None
        new = h.Mock(brokers=1, topics=(("ticks", 2),))
        h.ingest(new, few)
        st, err = h.run(h.process_args(new, db, "--group", "g", "--exit-at-end"),
                        timeout=120, check=False)
        if st != 1:
            h.fail("a store ahead of the topic's end was fed: exit %d: %s" % (st, err[-2000:]))
        if not re.search(r"^tickpipe process: partition \d of ticks: the store \S+ has a "
                         r"checkpoint at offset \d+ but the topic ends at offset \d+", err, re.M):
            h.fail("the refusal does not name partition and positions: " + err[-2000:])
        if h.count_ticks(db) != before:
            h.fail("the refused member changed the store")
        print("ok: a store ahead of a re-created topic is refused")
    finally:
        for m in (old, new):
            if m:
                m.stop()
        wd.cleanup()


if __name__ == "__main__":
    main()
