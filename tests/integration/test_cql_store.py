#!/usr/bin/python3
"""test_cql_store.py - `tickpipe run` into the Cassandra store, against the CQL
v4 test server (tests/integration/cql_server.py), read back through the real
DataStax Python driver and compared with the same run into SQLite.

Cases: clean run equals SQLite (tables and `tickpipe query` output); re-run
changes nothing; peers discovered (3 nodes); auth success and failure; TLS
with a self-signed certificate (and failure without its CA); Overloaded,
Unavailable, Write_timeout, Unprepared retried/re-prepared; a syntax error
is fatal with the server's message; responses reordered across stream ids;
connections dropped mid-batch; kill -9 then re-run equals one clean run;
the yahoofinance seed table without duplicates.
"""
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cql_server import ServerProcess  # noqa: E402

from cassandra.cluster import Cluster  # noqa: E402
from cassandra.policies import WhiteListRoundRobinPolicy  # noqa: E402
from cassandra.auth import PlainTextAuthProvider  # noqa: E402

TP_BIN = os.environ['TP_BIN']
TP_BUILD = os.environ['TP_BUILD']
BARS = '5s,1m'
TICK_COLS = ('symbol, time, seq, price, cum_avg_price, currency, exchange, quote_type, '
             'market_hours, change_percent, day_volume, day_high, day_low, change, open_price, '
             'previous_close, last_size, bid, bid_size, ask, ask_size, price_hint, payload')
BAR_COLS = 'symbol, interval, start, open, high, low, close, volume, vwap, count'
LATEST_COLS = 'symbol, time, price, cum_avg_price, count'
checks = 0


def check(cond, what):
    global checks
    if not cond:
        raise AssertionError(what)
    checks += 1
    print('ok -', what, flush=True)


def run(work, store, frames, timeout=240, check_rc=True):
    p = subprocess.run([TP_BIN, 'run', '--source', 'replay:' + frames, '--store', store,
                        '--bars', BARS, '--deadletter', os.path.join(work, 'dl.jsonl'),
                        '--batch', '2000', '--log-level', 'info'],
                       capture_output=True, text=True, timeout=timeout)
    if check_rc and p.returncode != 0:
        raise AssertionError('tickpipe run failed (%d): %s' % (p.returncode, p.stderr[-2000:]))
    return p


def sqlite_tables(path):
    db = sqlite3.connect(path)
    out = {
        'ticks': [tuple(r) for r in db.execute(
            'SELECT %s FROM ticks ORDER BY symbol, time, seq' % TICK_COLS)],
        'bars': [tuple(r) for r in db.execute(
            'SELECT %s FROM bars ORDER BY symbol, interval, start' % BAR_COLS)],
        'latest': [tuple(r) for r in db.execute(
            'SELECT %s FROM latest ORDER BY symbol' % LATEST_COLS)]}
    db.close()
    return out


def driver_session(port, **kw):
    c = Cluster(['127.0.0.1'], port=port, protocol_version=4, schema_metadata_enabled=False,
                token_metadata_enabled=False, connect_timeout=10,
                load_balancing_policy=WhiteListRoundRobinPolicy(['127.0.0.1']), **kw)
    return c, c.connect()


def cassandra_tables(port, ks, **kw):
    """All rows of ticks/bars/latest, read through the DataStax driver."""
    c, s = driver_session(port, **kw)
    out = {}
    for name, cols, key in (('ticks', TICK_COLS, lambda r: (r[0], r[1], r[2])),
                            ('bars', BAR_COLS, lambda r: (r[0], r[1], r[2])),
                            ('latest', LATEST_COLS, lambda r: r[0])):
        rows = [tuple(r) for r in s.execute('SELECT %s FROM %s.%s' % (cols, ks, name))]
        out[name] = sorted(rows, key=key)
    seed = None
    try:
        seed = [tuple(r) for r in s.execute('SELECT id, price, timestamp FROM %s.yahoofinance'
                                            % ks)]
    except Exception:
        pass
    c.shutdown()
    return out, seed


def query_out(store, kind, *args):
    p = subprocess.run([TP_BIN, 'query', '--store', store, kind, '--format', 'csv'] + list(args),
                       capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise AssertionError('query failed: ' + p.stderr)
    return p.stdout


def same_as_sqlite(ref, port, ks, what, **kw):
    got, _ = cassandra_tables(port, ks, **kw)
    for t in ('ticks', 'bars', 'latest'):
        if got[t] != ref[t]:
            diff = next((i for i, (a, b) in enumerate(zip(got[t], ref[t])) if a != b), None)
            raise AssertionError('%s: table %s differs (%d vs %d rows, first diff %s: %r vs %r)'
                                 % (what, t, len(got[t]), len(ref[t]), diff,
                                    got[t][diff] if diff is not None else None,
                                    ref[t][diff] if diff is not None else None))
    check(True, '%s: ticks/bars/latest equal SQLite (%d ticks, %d bars, %d latest)'
          % (what, len(ref['ticks']), len(ref['bars']), len(ref['latest'])))


def wait_for(cond, what, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.02)
    raise AssertionError('timed out waiting for ' + what)


def main():
    work = tempfile.mkdtemp(prefix='tp_cql_store.')
    frames = os.path.join(work, 'frames.txt')
    subprocess.run([os.path.join(TP_BUILD, 'bench', 'gen_frames'), '--count', '12000',
                    '--symbols', '12', '--seed', '11', '--out', frames], check=True,
                   capture_output=True, timeout=60)
    sq = os.path.join(work, 'ref.db')
    run(work, 'sqlite:' + sq, frames)
    ref = sqlite_tables(sq)
    check(len(ref['ticks']) > 10000, 'reference run into SQLite')

    with ServerProcess(work, '--nodes', '3') as srv:
        store = 'cassandra://127.0.0.1:%d/ks_clean?consistency=quorum&ttl=30d' % srv.port
        p = run(work, store, frames)
        check('nodes=3' in p.stderr, 'peers discovered from system.peers_v2 (3 nodes)')
        same_as_sqlite(ref, srv.port, 'ks_clean', 'clean run')
        for kind, args in (('ticks', []), ('bars', []), ('latest', []),
                           ('ticks', ['--symbol', ref['ticks'][5][0]]),
                           ('bars', ['--symbol', ref['bars'][0][0], '--interval', '5s',
                                     '--from', str(ref['bars'][0][2]),
                                     '--to', str(ref['bars'][0][2] + 60000)])):
            check(query_out(store, kind, *args) == query_out('sqlite:' + sq, kind, *args),
                  'tickpipe query %s %s: same output as SQLite' % (kind, ' '.join(args)))
        opts = srv.control('dump ks_clean.ticks')['options']
        check('TimeWindowCompactionStrategy' in opts and 'default_time_to_live = 2592000' in opts,
              'ticks table created with TWCS and the TTL option')
        before = srv.control('stats')['rows_written']
        p = run(work, store, frames)
        check('applied=0' in p.stderr and srv.control('stats')['rows_written'] - before <= 3,
              're-run resumes after the checkpoint and writes nothing new')
        check(srv.control('stats')['multi_partition_batches'] == 0,
              'no unlogged batch spans partitions')

        # Faults: each retried (or re-prepared) and the result still exact.
        for i, (kind, n) in enumerate((('overloaded', 5), ('unavailable', 3),
                                       ('write_timeout', 3), ('unprepared', 4), ('drop', 3))):
            ks = 'ks_fault%d' % i
            st0 = srv.control('stats')
            srv.control('fault %s %d' % (kind, n))
            p = run(work, 'cassandra://127.0.0.1:%d/%s' % (srv.port, ks), frames)
            st = srv.control('stats')
            check(st['faults'] - st0['faults'] == n and not st['faults_pending'],
                  '%s injected %d times' % (kind, n))
            if kind == 'unprepared':
                check('reprepares=%d' % n in p.stderr, 'client re-prepared %d times' % n)
            elif kind == 'drop':
                check('reconnects=' in p.stderr and 'reconnects=0 ' not in p.stderr,
                      'client reconnected after dropped connections')
            else:
                check('retries=0 ' not in p.stderr, 'client retried after %s' % kind)
            same_as_sqlite(ref, srv.port, ks, 'after %s x%d' % (kind, n))

        srv.control('fault syntax 1')
        p = run(work, 'cassandra://127.0.0.1:%d/ks_syntax' % srv.port, frames, check_rc=False)
        check(p.returncode == 1 and 'injected syntax error' in p.stderr,
              'syntax error is fatal (exit 1) with the server message: %s'
              % [ln for ln in p.stderr.splitlines() if 'syntax' in ln][0][:200])

        srv.control('reorder 1')
        st0 = srv.control('stats')['reordered']
        run(work, 'cassandra://127.0.0.1:%d/ks_reorder' % srv.port, frames)
        check(srv.control('stats')['reordered'] - st0 > 100,
              'responses were sent out of order across stream ids')
        same_as_sqlite(ref, srv.port, 'ks_reorder', 'reordered responses')
        srv.control('reorder 0')

        # kill -9 at several moments, then a re-run: identical tables.
        ks = 'ks_kill'
        store = 'cassandra://127.0.0.1:%d/%s?seed_table=1' % (srv.port, ks)
        killed = 0
        for at in (3000, 9000, 16000):
            base = srv.control('stats')['rows_written']
            proc = subprocess.Popen([TP_BIN, 'run', '--source', 'replay:' + frames, '--store',
                                     store, '--bars', BARS, '--batch', '700',
                                     '--deadletter', os.path.join(work, 'dl.jsonl')],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                wait_for(lambda: srv.control('stats')['rows_written'] - base >= at or
                         proc.poll() is not None, 'rows written')
            finally:
                killed += proc.poll() is None
                proc.kill()
                proc.wait()
        check(killed >= 2, 'tickpipe was killed mid-run %d times' % killed)
        run(work, store, frames)
        same_as_sqlite(ref, srv.port, ks, 'kill -9 x3 then re-run')
        _, seed = cassandra_tables(srv.port, ks)
        check(len(seed) == len(ref['ticks']) and len({r[0] for r in seed}) == len(seed),
              'yahoofinance seed table: one row per tick, deterministic ids, no duplicates')

    # Authentication.
    with ServerProcess(work, '--auth', 'trader:s3cr%t') as srv:
        p = run(work, 'cassandra://trader:s3cr%%25t@127.0.0.1:%d/ks_auth' % srv.port, frames)
        same_as_sqlite(ref, srv.port, 'ks_auth', 'authenticated run',
                       auth_provider=PlainTextAuthProvider('trader', 's3cr%t'))
        p = run(work, 'cassandra://trader:wrong@127.0.0.1:%d/ks_auth' % srv.port, frames,
                check_rc=False)
        check(p.returncode == 1 and 'incorrect' in p.stderr,
              'wrong password: exit 1 with the server message')
        p = run(work, 'cassandra://127.0.0.1:%d/ks_auth' % srv.port, frames, check_rc=False)
        check(p.returncode == 1 and 'requires authentication' in p.stderr,
              'no credentials: exit 1 saying authentication is required')

    # TLS with a self-signed certificate made now.
    cert, key = os.path.join(work, 'cert.pem'), os.path.join(work, 'key.pem')
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1',
                    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
                    '-keyout', key, '-out', cert], check=True, capture_output=True, timeout=60)
    with ServerProcess(work, '--tls-cert', cert, '--tls-key', key) as srv:
        p = run(work, 'cassandra://127.0.0.1:%d/ks_tls?tls=1&tls-ca=%s' % (srv.port, cert),
                frames)
        check(srv.control('stats')['rows_written'] >= len(ref['ticks']), 'run over TLS')
        p = run(work, 'cassandra://127.0.0.1:%d/ks_tls?tls=1' % srv.port, frames,
                check_rc=False)
        check(p.returncode == 1 and 'certificate' in p.stderr,
              'TLS without the CA: exit 1, certificate not trusted: %s'
              % p.stderr.strip().splitlines()[-1][:160])
    subprocess.run(['rm', '-rf', work])
    print('all %d checks ok' % checks)


if __name__ == '__main__':
    main()
