#!/usr/bin/python3
"""bench_cql_driver.py PORT SRC_KS DST_KS REPEAT - the peer in bench_cql.sh.

Reads every tick row that tickpipe wrote into SRC_KS.ticks and writes the same
rows into DST_KS.ticks with the DataStax Python driver's fastest documented
method: one prepared INSERT, execute_concurrent_with_args (concurrency 512).
Prints one JSON line per repeat: rows, seconds, rows_per_s."""
import json
import sys
import time

from cassandra.cluster import Cluster
from cassandra.concurrent import execute_concurrent_with_args
from cassandra.policies import WhiteListRoundRobinPolicy

COLS = ('symbol, day, time, seq, price, cum_avg_price, currency, exchange, quote_type, '
        'market_hours, change_percent, day_volume, day_high, day_low, change, open_price, '
        'previous_close, last_size, bid, bid_size, ask, ask_size, price_hint, payload')


def main():
    port, src, dst, repeat = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
    c = Cluster(['127.0.0.1'], port=port, protocol_version=4, schema_metadata_enabled=False,
                token_metadata_enabled=False,
                load_balancing_policy=WhiteListRoundRobinPolicy(['127.0.0.1']))
    s = c.connect()
    rows = [tuple(r) for r in s.execute('SELECT %s FROM %s.ticks' % (COLS, src))]
    for i in range(repeat):
        ks = '%s_%d' % (dst, i)
        s.execute("CREATE KEYSPACE IF NOT EXISTS %s WITH replication = "
                  "{'class': 'SimpleStrategy', 'replication_factor': 1}" % ks)
        s.execute('CREATE TABLE IF NOT EXISTS %s.ticks (symbol text, day date, time bigint, '
                  'seq bigint, price double, cum_avg_price double, currency text, '
                  'exchange text, quote_type bigint, market_hours bigint, change_percent double, '
                  'day_volume bigint, day_high double, day_low double, change double, '
                  'open_price double, previous_close double, last_size bigint, bid double, '
                  'bid_size bigint, ask double, ask_size bigint, price_hint bigint, '
                  'payload blob, PRIMARY KEY ((symbol, day), time, seq))' % ks)
        ins = s.prepare('INSERT INTO %s.ticks (%s) VALUES (%s)'
                        % (ks, COLS, ', '.join(['?'] * 24)))
        t0 = time.monotonic()
        res = execute_concurrent_with_args(s, ins, rows, concurrency=512,
                                           raise_on_first_error=True)
        dt = time.monotonic() - t0
        ok = sum(1 for r in res if r.success)
        print(json.dumps({'rows': ok, 'seconds': dt, 'rows_per_s': ok / dt}), flush=True)
    c.shutdown()


if __name__ == '__main__':
    main()
