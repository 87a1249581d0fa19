"""An ingest restarted on the same replay produces frames again: kill -9
`tickpipe ingest` part-way, start it again from the beginning, and also run
a complete second ingest of the same file. The topic then holds many frames
twice, yet `process` recognises them by their source position header and
the SQLite store equals `tickpipe run` on the replay (exactly-once results
from an at-least-once topic). Its summary counts the re-delivered frames as
duplicates."""
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_harness as h  # noqa: E402


def topic_count(mock, timeout=30):
    """How many messages the topic holds (sum of high watermarks)."""
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": mock.bootstrap, "group.id": "tp-count"})
    try:
        md = c.list_topics("ticks", timeout=timeout)
        total = 0
        for p in md.topics["ticks"].partitions:
            lo, hi = c.get_watermark_offsets(TopicPartition("ticks", p), timeout=timeout)
            total += hi - lo
        return total
    finally:
        c.close()


def main():
    wd = h.Workdir("tp-kafka-ingest-restart-")
    mock, procs = None, []
    try:
        frames = h.real_plus_generated(wd, 40000, seed=4)
        ref = h.reference_run(wd, frames)
        mock = h.Mock(brokers=1, topics=(("ticks", 4),))
        # 1. an ingest killed part-way, then restarted from the beginning
        p = h.start(["ingest", "--source", "replay:" + frames, "--kafka", mock.bootstrap,
                     "--deadletter", wd("i1.dead.jsonl")])
        procs.append(p)
        h.wait_for(lambda: topic_count(mock) >= 5000, 60, "the first ingest to produce 5000 frames")
        p.send_signal(signal.SIGKILL)
        p.wait()
        first = topic_count(mock)
        s = h.ingest(mock, frames, "--deadletter", wd("i2.dead.jsonl"))
        # 2. and the whole file once more
        h.ingest(mock, frames, "--deadletter", wd("i3.dead.jsonl"))
        in_topic = topic_count(mock)
        if in_topic != first + 2 * s["produced"]:
            h.fail("topic holds %d messages, expected %d + 2 x %d" % (in_topic, first, s["produced"]))
        db = wd("kafka.db")
        st, err = h.run(h.process_args(mock, db, "--exit-at-end"))
        h.assert_same_tables(ref, db)
        got = h.summary(err)
        redelivered = in_topic - s["produced"]
        if got["frames"] != in_topic or got["duplicates"] < redelivered:
            h.fail("process summary %s: expected frames=%d and at least %d duplicates"
                   % (got, in_topic, redelivered))
        # a third ingest later, processed incrementally: still nothing new
        h.ingest(mock, frames, "--deadletter", wd("i4.dead.jsonl"))
        st, err = h.run(h.process_args(mock, db, "--exit-at-end"))
        h.assert_same_tables(ref, db)
        got = h.summary(err)
        if got["applied"] != 0:
            h.fail("re-ingested frames were applied again: %s" % got)
        print("ok: %d messages in the topic (%d killed-ingest, 3 full ingests), results equal run"
              % (in_topic + s["produced"], first))
    finally:
        h.kill_all(procs)
        if mock:
            mock.stop()
        wd.cleanup()


if __name__ == "__main__":
    main()
