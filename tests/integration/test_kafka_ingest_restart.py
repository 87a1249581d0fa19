"""An ingest restarted on the same replay produces frames again: kill -9
`tickpipe ingest` part-way, start it again from the beginning, and also run
a complete second ingest of the same file. The topic then holds many frames
twice, yet `process` recognises them by the source position each message
carries and the SQLite store equals `tickpipe run` on the replay
(exactly-once results from an at-least-once topic). Its summary counts the
re-delivered frames as duplicates.

Topics written by earlier versions carry the position in a `tp-pos` header
instead of a protobuf field: the same file produced that way is recognised
too, whether it comes after the new format or before it (an ingest
upgraded part-way through a file)."""
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_harness as h  # noqa: E402
import test_kafka_pipeline as tp_pipe  # noqa: E402


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


def source_id(mock):
    """The source id ingest's messages carry (read from one message)."""
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": mock.bootstrap, "group.id": "tp-id",
                  "auto.offset.reset": "earliest"})
    try:
        c.assign([TopicPartition("ticks", p, 0) for p in range(4)])
        for _ in range(100):
            m = c.poll(0.5)
            if m is not None and not m.error():
                return tp_pipe.split_position(m.value())[1]
        h.fail("no message to read the source id from")
    finally:
        c.close()


def legacy_produce(mock, topic, frames, sid, upto=None):
    """Produces the file's frames (the first upto of them) the way earlier
    versions of ingest did: PricingData bytes with a tp-pos header."""
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": mock.bootstrap, "enable.idempotence": True})
    msgs = tp_pipe.expected_messages(frames, lines=True)[:upto]
    for sym, payload, line in msgs:
        p.produce(topic, key=sym, value=payload, headers=[("tp-pos", "%016x:%d" % (sid, line))])
        p.poll(0)
    if p.flush(30) != 0:
        h.fail("the legacy producer did not deliver everything")
    return len(msgs)


def upgraded_midway(mock, wd, frames, ref):
    """An old ingest wrote the first frames with headers, the new one then
    the whole file: every frame is applied once."""
    sid = source_id(mock)
    old = legacy_produce(mock, "old", frames, sid, 10000)
    s = h.ingest(mock, frames, "--topic", "old", "--deadletter", wd("i5.dead.jsonl"))
    db = wd("upgraded.db")
    st, err = h.run(h.process_args(mock, db, "--topic", "old", "--exit-at-end"))
    h.assert_same_tables(ref, db)
    got = h.summary(err)
    if (got["frames"] != old + s["produced"] or got["applied"] != h.count_ticks(ref)
            or got["duplicates"] < old):
        h.fail("upgraded midway: %s, expected %d frames, %d applied, at least %d duplicates"
               % (got, old + s["produced"], h.count_ticks(ref), old))
    return sid


def main():
    wd = h.Workdir("tp-kafka-ingest-restart-")
    mock, procs = None, []
    try:
        frames = h.real_plus_generated(wd, 40000, seed=4)
        ref = h.reference_run(wd, frames)
        mock = h.Mock(brokers=1, topics=(("ticks", 4), ("old", 4)))
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
        # the file once more through an earlier version's headers
        n = legacy_produce(mock, "ticks", frames, source_id(mock))
        st, err = h.run(h.process_args(mock, db, "--exit-at-end"))
        h.assert_same_tables(ref, db)
        got = h.summary(err)
        if got["applied"] != 0 or got["duplicates"] != n:
            h.fail("frames with tp-pos headers were not recognised: %s (%d produced)" % (got, n))
        upgraded_midway(mock, wd, frames, ref)
        print("ok: %d messages in the topic (%d killed-ingest, 3 full ingests), results equal run"
              % (in_topic + s["produced"], first))
    finally:
        h.tear_down(procs, mock, wd)


if __name__ == "__main__":
    main()
