#!/usr/bin/python3
"""test_cql_multiwriter.py - several writers sharing one Cassandra keyspace
(the CQL test server), fed from the librdkafka mock cluster.

Cases: two `tickpipe process` instances in one consumer group write one
keyspace and the tables (read through the DataStax driver) equal
`tickpipe run` into SQLite on the same replay; then in a fresh keyspace one
of two instances is killed with -9 mid-way, a replacement joins and takes
partitions, both are then killed too, and two finishing instances reach the
end: still equal.
Every instance has its own writer id, so each one's open must leave the
others' state and checkpoints alone.
"""
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_harness as h  # noqa: E402
from cql_server import ServerProcess  # noqa: E402
import test_cql_store as t  # noqa: E402


def process_args(mock, store, *extra):
    return (["process", "--kafka", mock.bootstrap, "--store", store, "--bars", "1m,5m",
             "--log-level", "info"] + h.TEST_CONF + list(extra))


def finish(procs, what):
    """Waits for instances started with --exit-at-end; their summaries."""
    sums = []
    for p in procs:
        try:
            _, err = p.communicate(timeout=180)
        except Exception:
            h.fail("%s: an instance did not finish in time" % what)
        if p.returncode != 0:
            h.fail("%s: process exited %d: %s" % (what, p.returncode, err[-2000:]))
        sums.append((h.summary(err), err))
    return sums


def start_logged(args, path):
    """An instance whose stderr goes to a file (nobody drains a pipe)."""
    with open(path, "w") as f:
        return h.subprocess.Popen([h.TP_BIN] + args, stdout=h.subprocess.DEVNULL, stderr=f)


def written(srv):
    return srv.control('stats')['rows_written']


def main():
    wd = h.Workdir("tp-cql-multi-")
    mock, procs = None, []
    try:
        frames = h.real_plus_generated(wd, 40000, seed=6)
        ref = t.sqlite_tables(h.reference_run(wd, frames))
        t.check(len(ref['ticks']) > 30000, 'reference run into SQLite')
        mock = h.Mock(brokers=1, topics=(("ticks", 8),))
        produced = h.ingest(mock, frames)["produced"]
        with ServerProcess(wd.path) as srv:
            # Two concurrent writers in one group, one keyspace.
            store = 'cassandra://127.0.0.1:%d/ks_group' % srv.port
            args = process_args(mock, store, "--group", "g-cql-1", "--exit-at-end",
                                "--commit-interval", "20ms")
            procs = [h.start(args), h.start(args)]
            sums = finish(procs, 'two instances')
            seen = sum(s["frames"] for s, _ in sums)
            t.check(seen == produced, 'two instances applied %d of %d messages'
                    % (seen, produced))
            t.check(min(s["frames"] for s, _ in sums) > 0 and
                    all('] assigned ticks' in e for _, e in sums),
                    'both instances did work (%d + %d messages)'
                    % (sums[0][0]["frames"], sums[1][0]["frames"]))
            ids = {ln.split('writer id ')[1].split()[0] for _, e in sums
                   for ln in e.splitlines() if 'writer id ' in ln}
            t.check(len(ids) == 2, 'two distinct writer ids: %s' % sorted(ids))
            t.same_as_sqlite(ref, srv.port, 'ks_group', 'two concurrent writers')

            # kill -9 one of two instances mid-way; a replacement joins.
            store = 'cassandra://127.0.0.1:%d/ks_kill' % srv.port
            args = process_args(mock, store, "--group", "g-cql-2", "--commit-interval", "20ms",
                                "--batch", "500")
            base, total = written(srv), len(ref['ticks'])
            logs = [wd("p%d.log" % i) for i in range(3)]
            procs = [start_logged(args, logs[0]), start_logged(args, logs[1])]
            h.wait_for(lambda: written(srv) - base >= total // 4, 120, 'a quarter written')
            procs[0].send_signal(signal.SIGKILL)
            procs[0].wait()
            procs.append(start_logged(args, logs[2]))
            h.wait_for(lambda: '] assigned ticks' in open(logs[2]).read(), 120,
                       'the replacement to get partitions')
            mark = written(srv)
            h.wait_for(lambda: written(srv) - mark >= total // 8 or
                       all(p.poll() is not None for p in procs[1:]), 120,
                       'progress after the replacement joined')
            for p in procs[1:]:
                p.send_signal(signal.SIGKILL)
                p.wait()
            t.check(written(srv) - base < total,
                    'killed one of two instances mid-way, then its replacement and the '
                    'other one (all -9) before the end')
            procs = [h.start(args + ["--exit-at-end"]), h.start(args + ["--exit-at-end"])]
            finish(procs, 'finishing instances')
            t.same_as_sqlite(ref, srv.port, 'ks_kill', 'kill -9 of one of two writers, '
                             'replacement, then two finishing instances')
    finally:
        h.tear_down(procs, mock, wd)
    print('all %d checks ok' % t.checks)


if __name__ == "__main__":
    main()
