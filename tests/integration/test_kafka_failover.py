"""Fast failover with default settings: after kill -9 of the only `process`
member, a replacement started at once writes to the store again within 20 s
(the session of the killed member must expire first: session.timeout.ms,
6 s by default). Then the same with static membership (--instance): the
replacement uses the killed member's id. Debian's librdkafka 2.0.2 mock
cluster ignores group.instance.id, so there the wait is the same; on a real
cluster the returning static member gets its partitions back at once.
Both stores end equal to one `run`. Prints the measured times.
(3 brokers, 6 partitions; no test-only Kafka settings.)"""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_harness as h  # noqa: E402

LIMIT_S = 20


def args(mock, db, *extra):
    return ["process", "--kafka", mock.bootstrap, "--store", "sqlite:" + db, "--bars", "1m,5m",
            "--group", os.path.basename(db)] + list(extra)


def failover(mock, wd, ref, name, *extra):
    db = wd(name + ".db")
    a = h.start(args(mock, db, *extra))
    procs = [a]
    try:
        h.wait_for(lambda: h.count_ticks(db) > 0 or a.poll() is not None, 60, "a first commit")
        a.send_signal(signal.SIGKILL)
        a.wait()
        before = h.count_ticks(db)
        t0 = time.monotonic()
        b = h.start(args(mock, db, "--exit-at-end", *extra))
        procs.append(b)
        h.wait_for(lambda: h.count_ticks(db) > before or b.poll() is not None, LIMIT_S + 40,
                   "the replacement's first write")
        took = time.monotonic() - t0
        try:
            _, err = b.communicate(timeout=180)
        except Exception:
            h.fail("%s: the replacement did not finish" % name)
        if b.returncode != 0:
            h.fail("%s: the replacement exited %d: %s" % (name, b.returncode, err[-2000:]))
        h.assert_same_tables(ref, db)
        return took
    finally:
        h.kill_all(procs)


def main():
    wd = h.Workdir("tp-kafka-failover-")
    mock = None
    try:
        frames = h.real_plus_generated(wd, 150000, seed=13)
        ref = h.reference_run(wd, frames)
        mock = h.Mock(brokers=3, topics=(("ticks", 6),))
        h.ingest(mock, frames)
        dyn = failover(mock, wd, ref, "dynamic")
        static = failover(mock, wd, ref, "static", "--instance", "proc-1")
        print("failover after kill -9 with default settings: replacement writes after %.1f s "
              "(dynamic member), %.1f s (--instance, mock ignores it)" % (dyn, static))
        if dyn > LIMIT_S or static > LIMIT_S:
            h.fail("failover took %.1f s / %.1f s, more than %d s" % (dyn, static, LIMIT_S))
        print("ok")
    finally:
        if mock:
            mock.stop()
        wd.cleanup()


if __name__ == "__main__":
    main()
