"""Kafka mode end to end on loopback through the mock cluster:
ingest a replay (real frames + generated ones), read the topic back with
confluent_kafka (every produced frame exactly once, keyed by symbol, in
order per symbol), process it into SQLite and compare with `run` on the
same replay; re-running process changes nothing. Also the startup errors:
a rejected --kafka-conf property (exit 2) and unreachable brokers (exit 1).
"""
import base64
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_harness as h  # noqa: E402
from confluent_kafka import Consumer, TopicPartition  # noqa: E402


def expected_messages(frames, lines=False):
    """(symbol, payload) of every frame ingest must produce, in file order,
    decoded independently of tickpipe: pricing frames with id, time and
    price that are not heartbeats. lines=True adds each frame's line number
    (from 1) as a third element."""
    out = []
    with open(frames) as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            if "\t" in line and line.split("\t", 1)[0].isdigit():
                line = line.split("\t", 1)[1]
            if line.startswith("{"):
                try:
                    env = json.loads(line)
                except ValueError:
                    continue
                if env.get("type") != "pricing" or not isinstance(env.get("message"), str):
                    continue
                line = env["message"]
            try:
                payload = base64.b64decode(line, validate=True)
            except Exception:
                continue
            fields = scan_fields(payload)
            if fields is None or fields.get(6) == 7:
                continue
            if 1 in fields and 2 in fields and 3 in fields:
                out.append((fields[1], payload, lineno) if lines else (fields[1], payload))
    return out


def scan_fields(b):
    """Field number -> value (strings decoded, varints raw) of a protobuf
    message, or None when malformed."""
    i, out = 0, {}
    try:
        while i < len(b):
            key, i = varint(b, i)
            field, wire = key >> 3, key & 7
            if wire == 0:
                v, i = varint(b, i)
            elif wire == 1:
                v, i = b[i:i + 8], i + 8
            elif wire == 5:
                v, i = b[i:i + 4], i + 4
            elif wire == 2:
                n, i = varint(b, i)
                v, i = b[i:i + n], i + n
                if field == 1:
                    v = v.decode()
            else:
                return None
            out[field] = v
        return out if i == len(b) else None
    except (IndexError, UnicodeDecodeError):
        return None


def varint(b, i):
    v = shift = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        if not c & 0x80:
            return v, i
        shift += 7


def read_topic(bootstrap, topic, partitions):
    """Every message of the topic: {partition: [(key, value), ...]}."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "readback",
                  "enable.partition.eof": True, "auto.offset.reset": "earliest"})
    c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    got, eof = {p: [] for p in range(partitions)}, set()
    h.wait_for(lambda: poll_into(c, got, eof) or len(eof) == partitions, 60,
               "reading the topic back")
    c.close()
    return got


def poll_into(c, got, eof):
    for m in c.consume(1000, 0.2):
        if m.error():
            if m.error().code() == -191:  # _PARTITION_EOF
                eof.add(m.partition())
                continue
            h.fail("read back: %s" % m.error())
        eof.discard(m.partition())
        got[m.partition()].append((m.key().decode(), m.value()))
    return False


POS_FIELD = 15000  # ingest's position field (src/bus/tp_kafka.h)


def split_position(value):
    """(PricingData bytes, source id, line) of a message of a replayed file:
    its value must end with field POS_FIELD holding {fixed64 id = 1;
    fixed64 line = 2;}, which a protobuf reader skips as unknown."""
    tag = bytes([0xC2, 0xA9, 0x07])  # varint of POS_FIELD << 3 | 2
    body = value[-18:]
    if len(value) < 22 or value[-22:-19] != tag or value[-19] != 18 or body[0] != 0x09 \
            or body[9] != 0x11:
        h.fail("message does not end with the position field: %r" % value[-22:])
    fields = scan_fields(value)
    if fields is None or fields.get(POS_FIELD) != body:
        h.fail("the position is not a well-formed protobuf field %d" % POS_FIELD)
    return (value[:-22], int.from_bytes(body[1:9], "little"),
            int.from_bytes(body[10:18], "little"))


def check_topic(bootstrap, frames, partitions, topic="ticks"):
    """Every producible frame is in the topic once, keyed by its symbol, in
    file order per symbol, as its PricingData bytes followed by its
    position: one source id for the file and the frame's line."""
    want = expected_messages(frames, lines=True)
    got = read_topic(bootstrap, topic, partitions)
    total = sum(len(v) for v in got.values())
    if total != len(want):
        h.fail("topic holds %d messages, the replay has %d producible frames" % (total, len(want)))
    where, ids = {}, set()
    for p, msgs in got.items():
        for i, (key, value) in enumerate(msgs):
            payload, sid, line = split_position(value)
            ids.add(sid)
            msgs[i] = (key, payload, line)
            fields = scan_fields(payload)
            if fields is None or fields.get(1) != key:
                h.fail("message keyed %r does not carry that symbol" % key)
            if where.setdefault(key, p) != p:
                h.fail("symbol %s is in partitions %d and %d" % (key, where[key], p))
    if len(ids) != 1 or 0 in ids:
        h.fail("one file's frames carry source ids %s" % sorted(ids))
    for sym in set(w[0] for w in want):
        mine = [(v, n) for k, v, n in want if k == sym]
        theirs = [(v, n) for k, v, n in got[where[sym]] if k == sym]
        if mine != theirs:
            h.fail("symbol %s: topic order/content differs from the replay" % sym)
    used = sum(1 for v in got.values() if v)
    if used < 2:
        h.fail("keys landed in only %d partition(s)" % used)
    print("topic ok: %d messages in %d partitions, %d symbols" % (total, used, len(where)))


def check_startup_errors(bootstrap, wd):
    st, err = h.run(["ingest", "--source", "replay:" + wd("none.txt"), "--kafka", bootstrap,
                     "--kafka-conf", "no.such.property=1"], check=False)
    if st != 2 or "no.such.property" not in err:
        h.fail("rejected --kafka-conf: want exit 2 naming it, got %d: %s" % (st, err))
    st, err = h.run(["process", "--kafka", bootstrap, "--store", "sqlite:" + wd("x.db"),
                     "--kafka-conf", "session.timeout.ms=abc"], check=False)
    if st != 2 or "session.timeout.ms" not in err:
        h.fail("process rejected --kafka-conf: want exit 2, got %d: %s" % (st, err))
    st, err = h.run(["ingest", "--source", "replay:" + wd("frames.txt"), "--kafka",
                     "127.0.0.1:1", "--timeout", "1s"], check=False, timeout=30)
    if st != 1 or "--kafka" not in err:
        h.fail("unreachable broker: want exit 1 saying what to fix, got %d: %s" % (st, err))


def main():
    wd = h.Workdir("tp-kafka-pipe-")
    mock = None
    try:
        frames = h.real_plus_generated(wd, 20000)
        # A frame with its receive time, and one with two (a malformed line:
        # `run` rejects it, and so must ingest, which once took off a second
        # prefix after the replay source had taken off the first).
        with open(frames) as f:
            frame = f.readline().strip()
        with open(frames, "a") as f:
            f.write("1736509140017\t%s\n1736509140017\t1736509140018\t%s\n" % (frame, frame))
        ref = h.reference_run(wd, frames)
        mock = h.Mock(brokers=3, topics=(("ticks", 4), ("ticks-dlq", 1), ("small", 4)))
        check_startup_errors(mock.bootstrap, wd)
        st, err = h.run(["ingest", "--source", "replay:" + frames, "--kafka", mock.bootstrap,
                         "--dlq-topic", "ticks-dlq", "--deadletter", wd("ingest.dead.jsonl")])
        s = h.summary(err)
        if s["undelivered"] != 0 or s["delivered"] != s["produced"] + s["rejected"]:
            h.fail("ingest summary: %s" % s)
        dead = open(wd("ingest.dead.jsonl")).read().splitlines()
        if len(dead) != s["rejected"] or s["rejected"] == 0:
            h.fail("dead-letter file has %d lines, %d rejected" % (len(dead), s["rejected"]))
        run_dead = open(wd("run.dead.jsonl")).read().splitlines()
        if len(run_dead) != len(dead):
            h.fail("ingest rejected %d lines, run %d" % (len(dead), len(run_dead)))
        check_topic(mock.bootstrap, frames, 4)
        # A queue smaller than two of ingest's batches: librdkafka takes part
        # of a batch, ingest waits for deliveries and hands over the rest.
        st, err = h.run(["ingest", "--source", "replay:" + frames, "--kafka", mock.bootstrap,
                         "--topic", "small", "--kafka-conf", "queue.buffering.max.messages=100",
                         "--log-level", "info", "--deadletter", wd("small.dead.jsonl")])
        if "queue was full" not in err:
            h.fail("a 100-message queue never filled up: %s" % err[-500:])
        check_topic(mock.bootstrap, frames, 4, "small")

        db = wd("kafka.db")
        args = h.process_args(mock, db, "--exit-at-end")
        st, err = h.run(args)
        ps = h.summary(err)
        if ps["frames"] != s["produced"] or ps["rejected"] != 0:
            h.fail("process summary %s after ingest %s" % (ps, s))
        h.assert_same_tables(ref, db)
        st, err = h.run(args)
        if h.summary(err)["frames"] != 0:
            h.fail("a second process run re-applied messages: " + err)
        h.assert_same_tables(ref, db)
        print("ok: Kafka pipeline equals run (%d ticks)" % h.count_ticks(db))
    finally:
        if mock:
            mock.stop()
        wd.cleanup()


if __name__ == "__main__":
    main()
