#!/usr/bin/python3
"""test_cql_driver.py - the DataStax Python driver (python3-cassandra) as a client
of tests/integration/cql_server.py: it connects, creates a keyspace and table,
writes with simple, prepared and batch statements, reads back with paging,
and sees Unprepared handled, auth enforced and a syntax error reported."""
import os
import sys
import tempfile
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cql_server import ServerProcess  # noqa: E402

from cassandra.cluster import Cluster, NoHostAvailable  # noqa: E402
from cassandra.policies import WhiteListRoundRobinPolicy  # noqa: E402
from cassandra.query import SimpleStatement, BatchStatement, BatchType  # noqa: E402
from cassandra.auth import PlainTextAuthProvider  # noqa: E402
from cassandra import InvalidRequest  # noqa: E402
from cassandra.protocol import SyntaxException  # noqa: E402


def cluster(port, **kw):
    return Cluster(['127.0.0.1'], port=port, protocol_version=4,
                   schema_metadata_enabled=False, token_metadata_enabled=False,
                   load_balancing_policy=WhiteListRoundRobinPolicy(['127.0.0.1']),
                   connect_timeout=5, control_connection_timeout=5, **kw)


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print('ok -', what)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        with ServerProcess(tmp) as srv:
            c = cluster(srv.port)
            s = c.connect()
            s.execute("CREATE KEYSPACE IF NOT EXISTS k1 WITH replication = "
                      "{'class': 'SimpleStrategy', 'replication_factor': 1}")
            s.execute("CREATE KEYSPACE IF NOT EXISTS k1 WITH replication = "
                      "{'class': 'SimpleStrategy', 'replication_factor': 1}")
            s.set_keyspace('k1')
            s.execute("CREATE TABLE IF NOT EXISTS t (sym text, day date, time bigint, "
                      "seq bigint, price double, tag blob, id uuid, "
                      "PRIMARY KEY ((sym, day), time, seq)) WITH CLUSTERING ORDER BY "
                      "(time ASC, seq ASC) AND default_time_to_live = 60")
            s.execute("INSERT INTO t (sym, day, time, seq, price, tag, id) VALUES "
                      "(%s, %s, %s, %s, %s, %s, %s)",
                      ('A', '2025-01-02', 1000, 1, 1.5, b'\x01\x02', uuid.UUID(int=5)))
            ins = s.prepare("INSERT INTO t (sym, day, time, seq, price) VALUES (?, ?, ?, ?, ?)")
            b = BatchStatement(batch_type=BatchType.UNLOGGED)
            for i in range(2, 12):
                b.add(ins, ('A', '2025-01-02', 1000 + i, i, float(i)))
            s.execute(b)
            srv.control('forget')
            s.execute(ins, ('A', '2025-01-02', 5000, 99, 99.0))
            check(srv.control('stats')['unprepared'] >= 1, 'driver re-prepared after Unprepared')
            st = SimpleStatement("SELECT * FROM t WHERE sym = 'A' AND day = '2025-01-02' "
                                 "AND time >= 1000", fetch_size=4)
            rows = list(s.execute(st))
            check(len(rows) == 12, 'paged SELECT returns all 12 rows (got %d)' % len(rows))
            check([r.seq for r in rows] == list(range(1, 12)) + [99], 'rows in clustering order')
            check(rows[0].tag == b'\x01\x02' and rows[0].id == uuid.UUID(int=5),
                  'blob and uuid literals round-trip')
            sel = s.prepare("SELECT price FROM t WHERE sym = ? AND day = ? AND time > ? AND time < ?")
            r = list(s.execute(sel, ('A', '2025-01-02', 1002, 1005)))
            check([x.price for x in r] == [3.0, 4.0], 'prepared range SELECT')
            try:
                s.execute("SELEC nonsense")
                check(False, 'syntax error raised')
            except SyntaxException as e:
                check('no viable alternative' in str(e), 'syntax error carries message')
            try:
                s.execute("SELECT * FROM nosuch")
                check(False, 'invalid raised')
            except InvalidRequest:
                check(True, 'unknown table is InvalidRequest')
            # Last write wins by the client's timestamp (the driver sends one with
            # every request), not by arrival: a late write with an older timestamp
            # changes nothing, as in Cassandra.
            stamp = {'us': 2000000}
            c.timestamp_generator = lambda: stamp['us']
            upd = "INSERT INTO t (sym, day, time, seq, price) VALUES ('W', '2025-01-02', 1, 1, %s)"
            sel_w = "SELECT price FROM t WHERE sym = 'W' AND day = '2025-01-02'"
            s.execute(upd % 2.0)
            stamp['us'] = 1000000
            s.execute(upd % 1.0)
            check([r.price for r in s.execute(sel_w)] == [2.0],
                  'a write with an older client timestamp loses, whatever the arrival order')
            stamp['us'] = 3000000
            s.execute(upd % 3.0)
            check([r.price for r in s.execute(sel_w)] == [3.0], 'a newer timestamp wins')
            c.shutdown()
        with ServerProcess(tmp, '--auth', 'alice:secret') as srv:
            c = cluster(srv.port, auth_provider=PlainTextAuthProvider('alice', 'secret'))
            s = c.connect()
            check(s.execute("SELECT release_version FROM system.local").one() is not None,
                  'authenticated driver queries system.local')
            c.shutdown()
            c = cluster(srv.port, auth_provider=PlainTextAuthProvider('alice', 'wrong'))
            try:
                c.connect()
                check(False, 'bad password rejected')
            except NoHostAvailable as e:
                check('incorrect' in str(e), 'bad password rejected with message')
            c.shutdown()
    print('all ok')


if __name__ == '__main__':
    main()
