"""Several `tickpipe process` instances started at the same moment on a new
SQLite file all create the schema without "database is locked", and
together produce exactly what one `run` does. Three rounds of four
instances, each round on a new file and in its own group (3 brokers, 6
partitions)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_harness as h  # noqa: E402

ROUNDS, INSTANCES = 3, 4


def one_round(mock, wd, ref, i):
    db = wd("first%d.db" % i)
    args = h.process_args(mock, db, "--group", "first%d" % i, "--exit-at-end",
                          "--commit-interval", "20ms")
    procs = [h.start(args) for _ in range(INSTANCES)]
    try:
        for p in procs:
            try:
                _, err = p.communicate(timeout=120)
            except Exception:
                h.fail("round %d: an instance did not finish in time" % i)
            if p.returncode != 0:
                h.fail("round %d: an instance exited %d: %s" % (i, p.returncode, err[-2000:]))
    finally:
        h.kill_all(procs)
    h.assert_same_tables(ref, db)


def main():
    wd = h.Workdir("tp-kafka-first-")
    mock = None
    try:
        frames = h.real_plus_generated(wd, 20000, seed=11)
        ref = h.reference_run(wd, frames)
        mock = h.Mock(brokers=3, topics=(("ticks", 6),))
        h.ingest(mock, frames)
        for i in range(ROUNDS):
            one_round(mock, wd, ref, i)
        print("ok: %d rounds of %d instances started at once on a new store" % (ROUNDS, INSTANCES))
    finally:
        if mock:
            mock.stop()
        wd.cleanup()


if __name__ == "__main__":
    main()
