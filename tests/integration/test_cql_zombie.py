#!/usr/bin/python3
"""A paused `process` member (SIGSTOP past its session timeout, then
SIGCONT) can never change a shared Cassandra keyspace (the CQL test server)
again: A consumes alone until it has written, is stopped mid-batch, B joins
the same group and keyspace, gets every partition once A's session expired
and runs to the end; A is resumed, its batch is refused (fenced epochs in
tp_owner) or discarded (lost assignment), it rejoins and finishes. The
keyspace equals one clean `run` into SQLite (3 brokers, 6 partitions)."""
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_harness as h  # noqa: E402
from cql_server import ServerProcess  # noqa: E402
import test_cql_store as t  # noqa: E402


def written(srv):
    return srv.control('stats')['rows_written']


def finish(p, what, timeout=180):
    try:
        _, err = p.communicate(timeout=timeout)
    except h.subprocess.TimeoutExpired:
        p.kill()
        _, err = p.communicate()
        h.fail("%s did not finish: %s" % (what, err[-2000:]))
    if p.returncode != 0:
        h.fail("%s exited %d: %s" % (what, p.returncode, err[-3000:]))
    return err


def main():
    wd = h.Workdir("tp-cql-zombie-")
    mock, procs = None, []
    try:
        frames = h.real_plus_generated(wd, 60000, seed=14)
        refdb = h.reference_run(wd, frames)
        ref = t.sqlite_tables(refdb)
        mock = h.Mock(brokers=3, topics=(("ticks", 6),))
        h.ingest(mock, frames)
        with ServerProcess(wd.path) as srv:
            store = 'cassandra://127.0.0.1:%d/ks_zombie' % srv.port
            args = (["process", "--kafka", mock.bootstrap, "--store", store, "--bars", "1m,5m",
                     "--log-level", "info", "--exit-at-end", "--commit-interval", "300ms",
                     "--batch", "1000000"] + h.TEST_CONF)
            base = written(srv)
            a = h.start(args)
            procs.append(a)
            h.wait_for(lambda: written(srv) > base + 50 or a.poll() is not None, 60,
                       "A's first writes")
            a.send_signal(signal.SIGSTOP)
            b = h.start(args)
            procs.append(b)
            berr = finish(b, "B (while A was stopped)")
            a.send_signal(signal.SIGCONT)
            aerr = finish(a, "A after SIGCONT")
            try:
                t.same_as_sqlite(ref, srv.port, 'ks_zombie', 'paused member resumed')
            except AssertionError:
                print("\n".join(l for l in aerr.splitlines() if "COMMITFAIL" not in l),
                      file=sys.stderr)
                raise
            # Each member's summary counts what it committed, not work it gave up.
            sa, sb = h.summary(aerr), h.summary(berr)
            if sa["applied"] + sb["applied"] != h.count_ticks(refdb):
                h.fail("A applied %d and B %d, but one run stores %d ticks"
                       % (sa["applied"], sb["applied"], h.count_ticks(refdb)))
            print("ok: paused member resumed (summary %s); keyspace equals one run" % sa)
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGCONT)
        h.tear_down(procs, mock, wd)


if __name__ == "__main__":
    main()
