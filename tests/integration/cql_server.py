#!/usr/bin/python3
"""cql_server.py - a CQL native protocol v4 test server for tickpipe's tests.

What it is: one asyncio process that listens on one or more "node" ports
sharing one in-memory table engine, good enough for tickpipe's schema
(CREATE KEYSPACE/TABLE IF NOT EXISTS, INSERT/UPDATE upserts, DELETE,
SELECT with WHERE on key columns, DISTINCT, LIMIT and paging, BATCH,
PREPARE/EXECUTE). Writes resolve per cell by write timestamp, last write
wins, as in Cassandra: the request's default timestamp (flag 0x20) when it
carries one, else the server's clock (USING TIMESTAMP is parsed, not
honoured). Every byte it puts on the wire is encoded with the DataStax
Python driver's own encoders (cassandra.protocol write_* helpers,
cassandra.marshal packers and cassandra.cqltypes serializers), and requests
are decoded with the driver's read_* helpers, so its framing is the driver's
framing. The real driver connects to it (tests/integration/test_cql_driver.py).

On demand: PasswordAuthenticator (--auth USER:PASS), TLS (--tls-cert/--tls-key),
and faults set through a line-based control port:
    fault KIND N     KIND in overloaded, unavailable, write_timeout,
                     read_timeout, syntax, drop, unprepared: the next N matching
                     requests (writes; read_timeout: SELECTs) fail that way.
                     drop closes the connection on receipt of a BATCH without
                     answering; unprepared forgets the id of the next N
                     EXECUTEd or batched statements (as a restarted node would).
    forget           forget all prepared ids (next EXECUTE gets Unprepared)
    reorder 0|1      answer the frames of each read in reverse order
    dump KS.TABLE    one JSON line: all rows (blobs as hex, uuids as text)
    stats            one JSON line of counters
Ports are written as JSON to --port-file: {"nodes": [...], "control": P}.

Threads: one event loop thread; the engine is used only from it.
"""
import argparse
import asyncio
import io
import json
import re
import ssl
import struct
import sys
import time
import uuid

from cassandra import cqltypes as ct
from cassandra import protocol as p
from cassandra.marshal import int32_pack, uint8_pack, int16_pack

V4_RESP = 0x84
OP = dict(ERROR=0x00, STARTUP=0x01, READY=0x02, AUTHENTICATE=0x03, OPTIONS=0x05,
          SUPPORTED=0x06, QUERY=0x07, RESULT=0x08, PREPARE=0x09, EXECUTE=0x0A,
          REGISTER=0x0B, EVENT=0x0C, BATCH=0x0D, AUTH_CHALLENGE=0x0E,
          AUTH_RESPONSE=0x0F, AUTH_SUCCESS=0x10)

TYPE_IDS = {'ascii': 0x01, 'bigint': 0x02, 'blob': 0x03, 'boolean': 0x04,
            'counter': 0x05, 'decimal': 0x06, 'double': 0x07, 'float': 0x08,
            'int': 0x09, 'timestamp': 0x0B, 'uuid': 0x0C, 'varchar': 0x0D,
            'text': 0x0D, 'varint': 0x0E, 'timeuuid': 0x0F, 'inet': 0x10,
            'date': 0x11, 'time': 0x12, 'smallint': 0x13, 'tinyint': 0x14}
INT_TYPES = {'bigint', 'int', 'smallint', 'tinyint', 'varint', 'counter', 'timestamp'}


class CqlError(Exception):
    """An ERROR response: code, message and the code-specific extra bytes."""

    def __init__(self, code, msg, extra=b''):
        super().__init__(msg)
        self.code, self.msg, self.extra = code, msg, extra


def syntax(msg):
    return CqlError(0x2000, msg)


def invalid(msg):
    return CqlError(0x2200, msg)


# ---------------------------------------------------------------- types
class ColType:
    """A column type: CQL name, cqltypes class, protocol [option] bytes."""

    def __init__(self, name):
        name = name.lower().replace(' ', '')
        self.name = name
        m = re.fullmatch(r'(set|list)<(\w+)>', name)
        if m:
            sub = ct._cqltypes[m.group(2)]
            self.cls = ct._cqltypes[m.group(1)].apply_parameters([sub])
            code = 0x22 if m.group(1) == 'set' else 0x20
            self.option = int16_pack(code) + int16_pack(TYPE_IDS[m.group(2)])
            return
        m = re.fullmatch(r'map<(\w+),(\w+)>', name)
        if m:
            subs = [ct._cqltypes[m.group(1)], ct._cqltypes[m.group(2)]]
            self.cls = ct._cqltypes['map'].apply_parameters(subs)
            self.option = (int16_pack(0x21) + int16_pack(TYPE_IDS[m.group(1)]) +
                           int16_pack(TYPE_IDS[m.group(2)]))
            return
        if name not in TYPE_IDS:
            raise invalid("Unknown type %s" % name)
        self.cls = ct._cqltypes[name]
        self.option = int16_pack(TYPE_IDS[name])

    def encode(self, v):
        return None if v is None else self.cls.serialize(v, 4)

    def decode(self, b):
        return None if b is None else self.cls.deserialize(b, 4)

    def from_literal(self, tok):
        """Converts a parsed literal (kind, text) into a Python value."""
        kind, text = tok
        if kind == 'null':
            return None
        n = self.name
        if n in INT_TYPES:
            if kind != 'num' or not re.fullmatch(r'-?\d+', text):
                raise invalid("Invalid literal %s for column type %s" % (text, n))
            return int(text)
        if n in ('double', 'float'):
            if kind == 'num' or (kind == 'id' and text.lower() in ('nan', 'infinity')):
                return float(text)
            raise invalid("Invalid literal %s for column type %s" % (text, n))
        if n in ('text', 'varchar', 'ascii'):
            if kind != 'str':
                raise invalid("Invalid literal %s for text column" % text)
            return text
        if n == 'blob':
            if kind != 'hex':
                raise invalid("Invalid literal %s for blob column" % text)
            return bytes.fromhex(text[2:])
        if n in ('uuid', 'timeuuid'):
            return uuid.UUID(text)
        if n == 'boolean':
            return text.lower() == 'true'
        if n == 'date':
            if kind == 'str':
                return ct.SimpleDateType.deserialize(
                    ct.SimpleDateType.serialize(text, 4), 4)
            return ct.SimpleDateType.deserialize(struct.pack('>I', int(text)), 4)
        raise invalid("Literals of type %s are not supported here" % n)


# ---------------------------------------------------------------- CQL lexer/parser
TOKEN_RE = re.compile(r"""
    (?P<ws>\s+|--[^\n]*|//[^\n]*)
  | (?P<str>'(?:[^']|'')*')
  | (?P<uuid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})
  | (?P<hex>0[xX][0-9a-fA-F]*)
  | (?P<num>-?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+))
  | (?P<id>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<qid>"(?:[^"]|"")*")
  | (?P<op><=|>=|!=|[(),;=<>?.*{}:\[\]+-])
""", re.X)


def lex(q):
    toks, pos = [], 0
    while pos < len(q):
        m = TOKEN_RE.match(q, pos)
        if not m:
            raise syntax("line 1:%d no viable alternative at character '%s'" % (pos, q[pos]))
        pos = m.end()
        kind = m.lastgroup
        text = m.group(kind)
        if kind == 'ws':
            continue
        if kind == 'str':
            text = text[1:-1].replace("''", "'")
        elif kind == 'qid':
            kind, text = 'id', text[1:-1].replace('""', '"')
        elif kind == 'uuid':
            kind = 'id'
        toks.append((kind, text))
    return toks


class Parser:
    """Recursive descent over the token list of one statement."""

    def __init__(self, q):
        self.q = q
        self.t = lex(q)
        self.i = 0
        self.nbind = 0

    def peek(self, k=0):
        return self.t[self.i + k] if self.i + k < len(self.t) else ('eof', '')

    def kw(self, *words):
        """Consumes the keywords if they come next; returns True then."""
        for k, w in enumerate(words):
            kind, text = self.peek(k)
            if kind != 'id' or text.lower() != w:
                return False
        self.i += len(words)
        return True

    def expect_kw(self, *words):
        if not self.kw(*words):
            kind, text = self.peek()
            raise syntax("line 1:%d mismatched input '%s' expecting %s" %
                         (self.i, text, ' '.join(words).upper()))

    def op(self, o):
        if self.peek() == ('op', o):
            self.i += 1
            return True
        return False

    def expect_op(self, o):
        if not self.op(o):
            raise syntax("line 1:%d mismatched input '%s' expecting '%s'" %
                         (self.i, self.peek()[1], o))

    def ident(self):
        kind, text = self.peek()
        if kind != 'id':
            raise syntax("line 1:%d no viable alternative at input '%s'" % (self.i, text))
        self.i += 1
        return text.lower() if not text.startswith('"') else text

    def qualified(self):
        a = self.ident()
        if self.op('.'):
            return a, self.ident()
        return None, a

    def term(self):
        """A literal or bind marker: ('bind', index) or (kind, text)."""
        kind, text = self.peek()
        if kind == 'op' and text == '?':
            self.i += 1
            self.nbind += 1
            return ('bind', self.nbind - 1)
        if kind == 'op' and text == '-' and self.peek(1)[0] == 'num':
            self.i += 2
            return ('num', '-' + self.peek(-1)[1])
        if kind in ('str', 'num', 'hex'):
            self.i += 1
            return (kind, text)
        if kind == 'id':
            self.i += 1
            low = text.lower()
            if low == 'null':
                return ('null', text)
            return ('id', text)
        if kind == 'op' and text in '{[':
            return ('coll', self.skip_collection())
        raise syntax("line 1:%d no viable alternative at input '%s'" % (self.i, text))

    def skip_collection(self):
        """Skips a {..} or [..] literal; returns a Python value (maps of strings)."""
        close = '}' if self.peek()[1] == '{' else ']'
        self.i += 1
        out = {}
        while not self.op(close):
            k = self.term()
            if self.op(':'):
                out[k[1]] = self.term()[1]
            self.op(',')
        return out

    def done(self):
        self.op(';')
        if self.peek()[0] != 'eof':
            raise syntax("line 1:%d extraneous input '%s'" % (self.i, self.peek()[1]))


# ---------------------------------------------------------------- engine
WRITE_TS = '\0write_ts'   # hidden per-row map: column -> write timestamp (us)


class Table:
    def __init__(self, ks, name, cols, pk, ck, options):
        self.ks, self.name = ks, name
        self.cols = cols              # ordered dict name -> ColType
        self.pk, self.ck = pk, ck     # partition key / clustering column names
        self.options = options
        self.parts = {}               # pk tuple -> {ck tuple -> row dict}

    def key_index(self):
        order = list(self.cols)
        return [order.index(c) for c in self.pk]


class Engine:
    def __init__(self):
        self.keyspaces = {'system': {}}
        self.prepared = {}            # id -> (query, Statement)
        self.stats = dict(requests=0, writes=0, batches=0, rows_written=0,
                          reordered=0, faults=0, prepares=0, unprepared=0,
                          max_in_flight=0, connections=0, auth_failures=0)

    def table(self, ks, name):
        if ks not in self.keyspaces:
            raise invalid("Keyspace %s does not exist" % ks)
        t = self.keyspaces[ks].get(name)
        if t is None:
            raise invalid("unconfigured table %s" % name)
        return t


class Statement:
    """A parsed statement; run(values, conn) executes it with bound values."""

    def __init__(self, engine, q, ks):
        self.engine, self.q = engine, q
        self.ps = Parser(q)
        self.kind = None
        self.default_ks = ks
        self.parse()

    # -- parsing
    def parse(self):
        ps = self.ps
        if ps.kw('create', 'keyspace'):
            self.kind = 'create_ks'
            self.if_not = ps.kw('if', 'not', 'exists')
            self.ks = ps.ident()
            ps.expect_kw('with')
            while ps.peek()[0] != 'eof' and ps.peek() != ('op', ';'):
                ps.term() if ps.peek()[0] != 'op' or ps.peek()[1] in '{[' else ps.op(ps.peek()[1])
        elif ps.kw('create', 'table'):
            self.parse_create_table()
        elif ps.kw('insert', 'into'):
            self.parse_insert()
        elif ps.kw('update'):
            self.parse_update()
        elif ps.kw('delete'):
            self.parse_delete()
        elif ps.kw('select'):
            self.parse_select()
        elif ps.kw('use'):
            self.kind = 'use'
            self.ks = ps.ident()
        else:
            raise syntax("line 1:0 no viable alternative at input '%s'" % ps.peek()[1])
        if self.kind != 'create_ks':
            ps.done()

    def parse_create_table(self):
        ps = self.ps
        self.kind = 'create_table'
        self.if_not = ps.kw('if', 'not', 'exists')
        self.ks, self.name = ps.qualified()
        ps.expect_op('(')
        self.cols, self.pk, self.ck = {}, [], []
        while True:
            if ps.kw('primary', 'key'):
                ps.expect_op('(')
                if ps.op('('):
                    while not ps.op(')'):
                        self.pk.append(ps.ident())
                        ps.op(',')
                else:
                    self.pk.append(ps.ident())
                while ps.op(','):
                    self.ck.append(ps.ident())
                ps.expect_op(')')
            else:
                name = ps.ident()
                typ = ps.ident()
                if ps.op('<'):
                    parts = [ps.ident()]
                    while ps.op(','):
                        parts.append(ps.ident())
                    ps.expect_op('>')
                    typ = '%s<%s>' % (typ, ','.join(parts))
                self.cols[name] = ColType(typ)
                if ps.kw('primary', 'key'):
                    self.pk.append(name)
            if ps.op(')'):
                break
            ps.expect_op(',')
        self.options = ''
        if ps.kw('with'):
            start = ps.i
            while ps.peek()[0] != 'eof' and ps.peek() != ('op', ';'):
                ps.i += 1
            self.options = ' '.join(t[1] for t in ps.t[start:ps.i])
        if not self.pk:
            raise invalid("No PRIMARY KEY specifed for table '%s' (exactly one required)" % self.name)

    def parse_using(self):
        ps = self.ps
        if ps.kw('using'):
            while True:
                if ps.kw('ttl') or ps.kw('timestamp'):
                    ps.term()
                if not ps.kw('and'):
                    break

    def parse_insert(self):
        ps = self.ps
        self.kind = 'upsert'
        self.ks, self.name = ps.qualified()
        ps.expect_op('(')
        names = [ps.ident()]
        while ps.op(','):
            names.append(ps.ident())
        ps.expect_op(')')
        ps.expect_kw('values')
        ps.expect_op('(')
        terms = [ps.term()]
        while ps.op(','):
            terms.append(ps.term())
        ps.expect_op(')')
        if len(names) != len(terms):
            raise invalid("Unmatched column names/values")
        self.assign = list(zip(names, terms))
        self.where = []
        ps.kw('if', 'not', 'exists')
        self.parse_using()

    def parse_update(self):
        ps = self.ps
        self.kind = 'upsert'
        self.ks, self.name = ps.qualified()
        self.parse_using()
        ps.expect_kw('set')
        self.assign = []
        while True:
            n = ps.ident()
            ps.expect_op('=')
            self.assign.append((n, ps.term()))
            if not ps.op(','):
                break
        self.where = self.parse_where()

    def parse_delete(self):
        ps = self.ps
        self.kind = 'delete'
        ps.expect_kw('from')
        self.ks, self.name = ps.qualified()
        self.where = self.parse_where()

    def parse_where(self):
        ps = self.ps
        conds = []
        if not ps.kw('where'):
            return conds
        while True:
            n = ps.ident()
            kind, o = ps.peek()
            if kind == 'op' and o in ('=', '<', '>', '<=', '>='):
                ps.i += 1
                conds.append((n, o, ps.term()))
            elif ps.kw('in'):
                ps.expect_op('(')
                terms = [ps.term()]
                while ps.op(','):
                    terms.append(ps.term())
                ps.expect_op(')')
                conds.append((n, 'in', terms))
            else:
                raise syntax("line 1:%d mismatched input '%s'" % (ps.i, o))
            if not ps.kw('and'):
                return conds

    def parse_select(self):
        ps = self.ps
        self.kind = 'select'
        self.distinct = ps.kw('distinct')
        self.sel = None
        if not ps.op('*'):
            self.sel = [ps.ident()]
            while ps.op(','):
                self.sel.append(ps.ident())
        ps.expect_kw('from')
        self.ks, self.name = ps.qualified()
        self.where = self.parse_where()
        self.desc = False
        if ps.kw('order', 'by'):
            ps.ident()
            self.desc = ps.kw('desc')
            ps.kw('asc')
        self.limit = None
        if ps.kw('limit'):
            self.limit = ps.term()
        ps.kw('allow', 'filtering')

    # -- metadata
    def keyspace(self, conn):
        ks = self.ks or conn.keyspace or self.default_ks
        if ks is None:
            raise invalid("No keyspace has been specified. USE a keyspace, or explicitly "
                          "specify keyspace.tablename")
        return ks

    def bind_specs(self, conn):
        """[(name, ColType)] for each bind marker, in order."""
        if self.kind not in ('upsert', 'delete', 'select'):
            return []
        t = self.resolve(conn)
        specs = []
        terms = [(n, tm) for n, tm in getattr(self, 'assign', [])]
        for n, o, tm in self.where:
            terms += [(n, x) for x in tm] if o == 'in' else [(n, tm)]
        if self.kind == 'select' and self.limit is not None:
            terms.append(('[limit]', self.limit))
        for n, tm in terms:
            if tm[0] == 'bind':
                specs.append((n, ColType('int') if n == '[limit]' else t.cols[n]))
        return specs

    def resolve(self, conn):
        if self.ks == 'system' or (self.ks is None and conn.keyspace == 'system'):
            return conn.node.system_table(self.name)
        return self.engine.table(self.keyspace(conn), self.name)

    def result_cols(self, conn):
        t = self.resolve(conn)
        names = self.sel or list(t.cols)
        for n in names:
            if n not in t.cols:
                raise invalid("Undefined column name %s" % n)
        return t, [(n, t.cols[n]) for n in names]

    # -- execution
    def value(self, t, col, term, values):
        typ = ColType('int') if col == '[limit]' else t.cols.get(col)
        if typ is None:
            raise invalid("Undefined column name %s" % col)
        if term[0] == 'bind':
            if term[1] >= len(values):
                raise invalid("There were %d markers(?) in CQL but %d bound variables" %
                              (self.ps.nbind, len(values)))
            b = values[term[1]]
            try:
                return typ.decode(b)
            except Exception as e:
                raise invalid("Invalid value for column %s: %s" % (col, e))
        return typ.from_literal(term)

    def run(self, conn, values):
        fn = getattr(self, 'run_' + self.kind)
        return fn(conn, values)

    def run_use(self, conn, values):
        if self.ks not in self.engine.keyspaces:
            raise invalid("Keyspace '%s' does not exist" % self.ks)
        conn.keyspace = self.ks
        return ('set_keyspace', self.ks)

    def run_create_ks(self, conn, values):
        if self.ks in self.engine.keyspaces:
            if self.if_not:
                return ('void',)
            raise CqlError(0x2400, "Keyspace %s already exists" % self.ks,
                           p_string(self.ks) + p_string(''))
        self.engine.keyspaces[self.ks] = {}
        return ('schema', 'CREATED', 'KEYSPACE', [self.ks])

    def run_create_table(self, conn, values):
        ks = self.keyspace(conn)
        if ks not in self.engine.keyspaces:
            raise invalid("Keyspace %s doesn't exist" % ks)
        tables = self.engine.keyspaces[ks]
        if self.name in tables:
            if self.if_not:
                return ('void',)
            raise CqlError(0x2400, "Table %s.%s already exists" % (ks, self.name),
                           p_string(ks) + p_string(self.name))
        for c in self.pk + self.ck:
            if c not in self.cols:
                raise invalid("Unknown definition %s referenced in PRIMARY KEY" % c)
        tables[self.name] = Table(ks, self.name, self.cols, self.pk, self.ck, self.options)
        return ('schema', 'CREATED', 'TABLE', [ks, self.name])

    def key_of(self, t, fixed, names):
        out = []
        for c in names:
            if c not in fixed or fixed[c] is None:
                raise invalid("Some partition key parts are missing: %s" % c)
            out.append(fixed[c])
        return tuple(out)

    def run_upsert(self, conn, values):
        t = self.resolve(conn)
        row = {}
        for n, tm in self.assign:
            row[n] = self.value(t, n, tm, values)
        for n, o, tm in self.where:
            if o != '=':
                raise invalid("Only EQ relations are supported on key column %s" % n)
            row[n] = self.value(t, n, tm, values)
        pk = self.key_of(t, row, t.pk)
        ck = self.key_of(t, row, t.ck)
        part = t.parts.setdefault(pk, {})
        old = part.get(ck)
        # Last write wins per cell, by write timestamp (the client's default
        # timestamp when the request carries one, else the server's clock),
        # in whatever order the writes arrive, as in Cassandra.
        ts = getattr(conn, 'write_ts', None) or time.time_ns() // 1000
        if old is None:
            part[ck] = row
            row[WRITE_TS] = {n: ts for n in row}
        else:
            stamps = old.setdefault(WRITE_TS, {})
            for n, v in row.items():
                if n in t.pk or n in t.ck or ts >= stamps.get(n, 0):
                    old[n] = v
                    stamps[n] = max(ts, stamps.get(n, 0))
        self.engine.stats['rows_written'] += 1
        return ('void',)

    def conditions(self, t, values):
        """{col: [(op, value)]} from the WHERE clause."""
        conds = {}
        for n, o, tm in self.where:
            if n not in t.cols:
                raise invalid("Undefined column name %s" % n)
            if o == 'in':
                v = [self.value(t, n, x, values) for x in tm]
            else:
                v = self.value(t, n, tm, values)
            conds.setdefault(n, []).append((o, v))
        return conds

    @staticmethod
    def matches(row, conds):
        for n, lst in conds.items():
            v = row.get(n)
            for o, w in lst:
                if o == 'in':
                    ok = v in w
                elif v is None or w is None:
                    ok = False
                else:
                    ok = {'=': v == w, '<': v < w, '>': v > w, '<=': v <= w,
                          '>=': v >= w}[o]
                if not ok:
                    return False
        return True

    def partitions(self, t, conds):
        """Partitions selected by the WHERE clause, in key order."""
        if all(c in conds and conds[c][0][0] in ('=', 'in') for c in t.pk):
            keys = [()]
            for c in t.pk:
                o, v = conds[c][0]
                keys = [k + (x,) for k in keys for x in (v if o == 'in' else [v])]
            return [(k, t.parts[k]) for k in keys if k in t.parts]
        return sorted(t.parts.items(), key=lambda kv: sort_key(kv[0]))

    def run_delete(self, conn, values):
        t = self.resolve(conn)
        conds = self.conditions(t, values)
        for pk, part in self.partitions(t, conds):
            for ck in [ck for ck, row in part.items() if self.matches(row, conds)]:
                del part[ck]
        return ('void',)

    def run_select(self, conn, values):
        t, cols = self.result_cols(conn)
        conds = self.conditions(t, values)
        rows = []
        for pk, part in self.partitions(t, conds):
            if self.distinct:
                if any(self.matches(r, conds) for r in part.values()):
                    rows.append(next(iter(part.values())))
                continue
            cks = sorted(part, key=sort_key, reverse=self.desc)
            rows += [part[ck] for ck in cks if self.matches(part[ck], conds)]
        if self.limit is not None:
            rows = rows[:self.value(t, '[limit]', self.limit, values)]
        return ('rows', t, cols, [[r.get(n) for n, _ in cols] for r in rows])


def sort_key(tup):
    return tuple((0, '') if v is None else (1, v) for v in tup)


def p_string(s):
    b = io.BytesIO()
    p.write_string(b, s)
    return b.getvalue()


# ---------------------------------------------------------------- system tables
LOCAL_COLS = [('key', 'text'), ('bootstrapped', 'text'), ('broadcast_address', 'inet'),
              ('cluster_name', 'text'), ('cql_version', 'text'), ('data_center', 'text'),
              ('host_id', 'uuid'), ('listen_address', 'inet'), ('native_protocol_version', 'text'),
              ('partitioner', 'text'), ('rack', 'text'), ('release_version', 'text'),
              ('rpc_address', 'inet'), ('schema_version', 'uuid'), ('tokens', 'set<text>')]
PEER_COLS = [('peer', 'inet'), ('data_center', 'text'), ('host_id', 'uuid'),
             ('preferred_ip', 'inet'), ('rack', 'text'), ('release_version', 'text'),
             ('rpc_address', 'inet'), ('schema_version', 'uuid'), ('tokens', 'set<text>')]
PEER_V2_COLS = [('peer', 'inet'), ('peer_port', 'int'), ('data_center', 'text'),
                ('host_id', 'uuid'), ('native_address', 'inet'), ('native_port', 'int'),
                ('preferred_ip', 'inet'), ('preferred_port', 'int'), ('rack', 'text'),
                ('release_version', 'text'), ('schema_version', 'uuid'),
                ('tokens', 'set<text>')]
SCHEMA_VERSION = uuid.UUID('5a3c1f6e-1d2b-4c3a-9e8f-0123456789ab')


class Node:
    """One listening port: answers system.local/peers as a distinct node."""

    def __init__(self, server, index):
        self.server, self.index = server, index
        self.host_id = uuid.UUID(int=0x7000 + index)
        self.port = None

    def system_table(self, name):
        if name == 'local':
            t = Table('system', 'local', {c: ColType(ty) for c, ty in LOCAL_COLS},
                      ['key'], [], '')
            t.parts[('local',)] = {(): dict(
                key='local', bootstrapped='COMPLETED', broadcast_address='127.0.0.1',
                cluster_name='tickpipe-test', cql_version='3.4.5', data_center='dc1',
                host_id=self.host_id, listen_address='127.0.0.1',
                native_protocol_version='4',
                partitioner='org.apache.cassandra.dht.Murmur3Partitioner', rack='r1',
                release_version='4.0.0', rpc_address='127.0.0.1',
                schema_version=SCHEMA_VERSION, tokens={str(self.index * 1000)})}
            return t
        if name in ('peers', 'peers_v2'):
            v2 = name == 'peers_v2'
            if not v2 and self.server.peers_v2_only:
                raise invalid("unconfigured table peers")
            cols = PEER_V2_COLS if v2 else PEER_COLS
            t = Table('system', name, {c: ColType(ty) for c, ty in cols},
                      ['peer', 'peer_port'] if v2 else ['peer'], [], '')
            for other in self.server.nodes:
                if other is self:
                    continue
                row = dict(peer='127.0.0.%d' % (other.index + 2), data_center='dc1',
                           host_id=other.host_id, rack='r1', release_version='4.0.0',
                           schema_version=SCHEMA_VERSION, tokens={str(other.index * 1000)})
                if v2:
                    row.update(peer_port=7000, native_address='127.0.0.1',
                               native_port=other.port)
                else:
                    row.update(rpc_address='127.0.0.1')
                t.parts[(row['peer'], 7000) if v2 else (row['peer'],)] = {(): row}
            return t
        raise invalid("unconfigured table %s" % name)


# ---------------------------------------------------------------- result encoding
def enc_rows(cols, rows, ks, table, paging_state=None, no_meta=False):
    b = io.BytesIO()
    p.write_int(b, 2)
    flags = (0x0001 if not no_meta else 0x0004) | (0x0002 if paging_state else 0)
    p.write_int(b, flags)
    p.write_int(b, len(cols))
    if paging_state:
        p.write_value(b, paging_state)
    if not no_meta:
        p.write_string(b, ks)
        p.write_string(b, table)
        for n, typ in cols:
            p.write_string(b, n)
            b.write(typ.option)
    p.write_int(b, len(rows))
    for r in rows:
        for (n, typ), v in zip(cols, r):
            p.write_value(b, typ.encode(v))
    return b.getvalue()


def enc_result(res, page_size=None, offset=0, skip_meta=False):
    b = io.BytesIO()
    kind = res[0]
    if kind == 'void':
        p.write_int(b, 1)
    elif kind == 'set_keyspace':
        p.write_int(b, 3)
        p.write_string(b, res[1])
    elif kind == 'schema':
        p.write_int(b, 5)
        p.write_string(b, res[1])
        p.write_string(b, res[2])
        for s in res[3]:
            p.write_string(b, s)
    elif kind == 'rows':
        _, t, cols, rows = res
        if not cols:
            raise invalid("SELECT needs at least one column")
        state = None
        if page_size and page_size > 0 and len(rows) - offset > page_size:
            state = json.dumps({'o': offset + page_size}).encode()
        chunk = rows[offset:offset + page_size] if page_size and page_size > 0 else rows[offset:]
        return enc_rows(cols, chunk, t.ks, t.name, state, skip_meta)
    return b.getvalue()


def enc_prepared(pid, stmt, conn):
    specs = stmt.bind_specs(conn)
    b = io.BytesIO()
    p.write_int(b, 4)
    p.write_string(b, pid)
    t = stmt.resolve(conn) if stmt.kind in ('upsert', 'delete', 'select') else None
    ks, tn = (t.ks, t.name) if t else ('', '')
    p.write_int(b, 0x0001)
    p.write_int(b, len(specs))
    pk_idx = []
    if t is not None:
        names = [n for n, _ in specs]
        if all(c in names for c in t.pk):
            pk_idx = [names.index(c) for c in t.pk]
    p.write_int(b, len(pk_idx))
    for i in pk_idx:
        p.write_short(b, i)
    p.write_string(b, ks)
    p.write_string(b, tn)
    for n, typ in specs:
        p.write_string(b, n)
        b.write(typ.option)
    if stmt.kind == 'select':
        _, cols = stmt.result_cols(conn)
        p.write_int(b, 0x0001)
        p.write_int(b, len(cols))
        p.write_string(b, ks)
        p.write_string(b, tn)
        for n, typ in cols:
            p.write_string(b, n)
            b.write(typ.option)
    else:
        p.write_int(b, 0x0004)
        p.write_int(b, 0)
    return b.getvalue()


def enc_error(e):
    b = io.BytesIO()
    p.write_int(b, e.code)
    p.write_string(b, e.msg)
    b.write(e.extra)
    return b.getvalue()


# ---------------------------------------------------------------- connection
class Conn:
    def __init__(self, server, node, reader, writer):
        self.server, self.node = server, node
        self.engine = server.engine
        self.reader, self.writer = reader, writer
        self.keyspace = None
        self.ready = False
        self.authed = server.auth is None

    async def serve(self):
        self.engine.stats['connections'] += 1
        buf = b''
        try:
            while True:
                data = await self.reader.read(1 << 16)
                if not data:
                    return
                buf += data
                out = []
                while len(buf) >= 9:
                    length = struct.unpack('>i', buf[5:9])[0]
                    if len(buf) < 9 + length:
                        break
                    frame, buf = buf[:9 + length], buf[9 + length:]
                    resp = self.handle(frame)
                    if resp == 'drop':
                        self.writer.close()
                        return
                    out.append(resp)
                st = self.engine.stats
                st['max_in_flight'] = max(st['max_in_flight'], len(out))
                if self.server.reorder and len(out) > 1:
                    out.reverse()
                    st['reordered'] += len(out)
                self.writer.write(b''.join(out))
                await self.writer.drain()
        except (ConnectionError, OSError):
            return
        finally:
            self.writer.close()

    def frame(self, stream, opcode, body):
        return struct.pack('>BBhBi', V4_RESP, 0, stream, opcode, len(body)) + body

    def handle(self, frame):
        version, flags, stream, opcode, length = struct.unpack('>BBhBi', frame[:9])
        body = io.BytesIO(frame[9:])
        if version & 0x7F != 4:
            err = enc_error(CqlError(0x000A, "Invalid or unsupported protocol version (%d); "
                                     "supported versions are (4/v4)" % (version & 0x7F)))
            return struct.pack('>BBhBi', V4_RESP, 0, stream, OP['ERROR'], len(err)) + err
        self.engine.stats['requests'] += 1
        try:
            resp = self.dispatch(opcode, body)
            if resp == 'drop':
                return resp
            op, payload = resp
        except CqlError as e:
            op, payload = OP['ERROR'], enc_error(e)
        except Exception as e:  # a server bug must not look like success
            op, payload = OP['ERROR'], enc_error(CqlError(0x0000, "server error: %r" % e))
        return self.frame(stream, op, payload)

    def dispatch(self, opcode, f):
        if opcode == OP['OPTIONS']:
            b = io.BytesIO()
            p.write_stringmultimap(b, {'CQL_VERSION': ['3.4.5'], 'COMPRESSION': [],
                                       'PROTOCOL_VERSIONS': ['4/v4']})
            return OP['SUPPORTED'], b.getvalue()
        if opcode == OP['STARTUP']:
            p.read_stringmap(f)
            self.ready = True
            if self.server.auth is not None:
                b = io.BytesIO()
                p.write_string(b, 'org.apache.cassandra.auth.PasswordAuthenticator')
                return OP['AUTHENTICATE'], b.getvalue()
            return OP['READY'], b''
        if opcode == OP['AUTH_RESPONSE']:
            token = p.read_binary_longstring(f)
            parts = token.split(b'\0')
            if len(parts) == 3 and (parts[1].decode(), parts[2].decode()) == self.server.auth:
                self.authed = True
                b = io.BytesIO()
                p.write_value(b, None)
                return OP['AUTH_SUCCESS'], b.getvalue()
            self.engine.stats['auth_failures'] += 1
            raise CqlError(0x0100, "Provided username %s and/or password are incorrect" %
                           (parts[1].decode(errors='replace') if len(parts) > 1 else '?'))
        if opcode == OP['REGISTER']:
            return OP['READY'], b''
        if not self.ready:
            raise CqlError(0x000A, "Unexpected message, expecting STARTUP or OPTIONS")
        if not self.authed:
            raise CqlError(0x0100, "Not authenticated: send AUTH_RESPONSE first")
        if opcode == OP['QUERY']:
            q = p.read_longstring(f)
            params = read_params(f)
            stmt = Statement(self.engine, q, self.keyspace)
            return self.execute(stmt, params)
        if opcode == OP['PREPARE']:
            q = p.read_longstring(f)
            stmt = Statement(self.engine, q, self.keyspace)
            pid = uuid.uuid5(uuid.NAMESPACE_OID, (self.keyspace or '') + '|' + q).bytes
            self.engine.prepared[pid] = stmt
            self.engine.stats['prepares'] += 1
            return OP['RESULT'], enc_prepared(pid, stmt, self)
        if opcode == OP['EXECUTE']:
            pid = p.read_binary_string(f)
            stmt = self.lookup(pid)
            return self.execute(stmt, read_params(f))
        if opcode == OP['BATCH']:
            return self.batch(f)
        raise CqlError(0x000A, "Unknown opcode %d" % opcode)

    def lookup(self, pid):
        if self.server.faults.get('unprepared', 0) > 0 and pid in self.engine.prepared:
            self.server.faults['unprepared'] -= 1
            self.engine.stats['faults'] += 1
            del self.engine.prepared[pid]     # as if this node had restarted
        stmt = self.engine.prepared.get(pid)
        if stmt is None:
            self.engine.stats['unprepared'] += 1
            raise CqlError(0x2500, "Prepared query with ID %s not found (either the query "
                           "was not prepared on this host (maybe the host has been restarted?) "
                           "or you have prepared too many queries and it has been evicted "
                           "from the internal cache)" % pid.hex(), p_short_bytes(pid))
        return stmt

    def execute(self, stmt, params):
        values, page_size, state, cl, skip_meta, ts = params
        write = stmt.kind in ('upsert', 'delete')
        self.fault(write, stmt.kind == 'select', 'SIMPLE', cl)
        if write:
            self.engine.stats['writes'] += 1
        self.write_ts = ts
        res = stmt.run(self, values)
        offset = json.loads(state)['o'] if state else 0
        return OP['RESULT'], enc_result(res, page_size, offset, skip_meta)

    def batch(self, f):
        btype = p.read_byte(f)
        n = p.read_short(f)
        items = []
        for _ in range(n):
            kind = p.read_byte(f)
            if kind == 0:
                stmt = Statement(self.engine, p.read_longstring(f), self.keyspace)
            else:
                stmt = self.lookup(p.read_binary_string(f))
            nv = p.read_short(f)
            items.append((stmt, [p.read_value(f) for _ in range(nv)]))
        cl = p.read_short(f)
        flags = p.read_byte(f)
        if flags & 0x40:
            raise CqlError(0x000A, "BATCH flag 0x40 (named values) is not allowed")
        ts = read_serial_ts(f, flags)
        if self.server.faults.get('drop', 0) > 0:
            self.server.faults['drop'] -= 1
            self.engine.stats['faults'] += 1
            return 'drop'
        self.fault(True, False, 'UNLOGGED_BATCH' if btype == 1 else 'BATCH', cl)
        for stmt, _ in items:
            if stmt.kind not in ('upsert', 'delete'):
                raise invalid("Invalid statement in batch: only UPDATE, INSERT and DELETE "
                              "statements are allowed.")
        if btype == 1:
            parts = set()
            for stmt, vals in items:
                t = stmt.resolve(self)
                parts.add((t.ks, t.name, tuple(repr(v) for v in key_values(stmt, t, vals))))
            self.server.multi_partition_batches += len(parts) > 1
        self.engine.stats['batches'] += 1
        self.engine.stats['writes'] += len(items)
        self.write_ts = ts
        for stmt, vals in items:
            stmt.run(self, vals)
        return OP['RESULT'], enc_result(('void',))

    def fault(self, write, read, write_type, cl):
        faults = self.server.faults
        kinds = ['overloaded', 'unavailable', 'write_timeout', 'syntax'] if write else []
        if read:
            kinds.append('read_timeout')
        for k in kinds:
            if faults.get(k, 0) > 0:
                faults[k] -= 1
                self.engine.stats['faults'] += 1
                raise fault_error(k, write_type, cl)


def key_values(stmt, t, vals):
    row = {}
    for n, tm in stmt.assign + [(n, tm) for n, _, tm in stmt.where]:
        if n in t.pk:
            row[n] = stmt.value(t, n, tm, vals)
    return [row.get(c) for c in t.pk]


def fault_error(kind, write_type, cl):
    if kind == 'overloaded':
        return CqlError(0x1001, "Injected: server is overloaded")
    if kind == 'unavailable':
        return CqlError(0x1000, "Injected: cannot achieve consistency level",
                        int16_pack(cl) + int32_pack(2) + int32_pack(1))
    if kind == 'write_timeout':
        return CqlError(0x1100, "Injected: operation timed out - received only 0 responses.",
                        int16_pack(cl) + int32_pack(0) + int32_pack(1) +
                        p_string(write_type))
    if kind == 'read_timeout':
        return CqlError(0x1200, "Injected: operation timed out - received only 0 responses.",
                        int16_pack(cl) + int32_pack(0) + int32_pack(1) + uint8_pack(0))
    return CqlError(0x2000, "line 1:0 injected syntax error: no viable alternative at input 'X'")


def p_short_bytes(b):
    return int16_pack(len(b)) + b


def read_params(f):
    """Reads the <query_parameters> of QUERY/EXECUTE."""
    cl = p.read_short(f)
    flags = p.read_byte(f) & 0xFF
    values, page_size, state = [], None, None
    if flags & 0x01:
        n = p.read_short(f)
        for _ in range(n):
            if flags & 0x40:
                p.read_string(f)
            values.append(p.read_value(f))
    if flags & 0x04:
        page_size = p.read_int(f)
    if flags & 0x08:
        state = p.read_value(f)
    return values, page_size, state, cl, bool(flags & 0x02), read_serial_ts(f, flags)


def read_serial_ts(f, flags):
    """Reads [<serial_consistency>][<timestamp>] after the flags' other
    fields; returns the client timestamp (microseconds) or None."""
    if flags & 0x10:
        p.read_short(f)
    if flags & 0x20:
        return struct.unpack('>q', f.read(8))[0]
    return None


# ---------------------------------------------------------------- server and control
class Server:
    def __init__(self, args):
        self.engine = Engine()
        self.auth = tuple(args.auth.split(':', 1)) if args.auth else None
        self.faults = {}
        self.reorder = args.reorder
        self.peers_v2_only = False
        self.multi_partition_batches = 0
        self.nodes = [Node(self, i) for i in range(args.nodes)]
        self.ssl = None
        if args.tls_cert:
            self.ssl = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ssl.load_cert_chain(args.tls_cert, args.tls_key)

    async def start(self, port_file, base_port):
        for node in self.nodes:
            srv = await asyncio.start_server(
                lambda r, w, n=node: Conn(self, n, r, w).serve(), '127.0.0.1',
                base_port + node.index if base_port else 0, ssl=self.ssl)
            node.port = srv.sockets[0].getsockname()[1]
        ctl = await asyncio.start_server(self.control, '127.0.0.1', 0)
        info = {'nodes': [n.port for n in self.nodes], 'control': ctl.sockets[0].getsockname()[1]}
        with open(port_file + '.tmp', 'w') as fp:
            json.dump(info, fp)
        import os
        os.rename(port_file + '.tmp', port_file)

    async def control(self, reader, writer):
        while True:
            line = await reader.readline()
            if not line:
                break
            try:
                reply = self.command(line.decode().split())
            except Exception as e:
                reply = {'error': repr(e)}
            writer.write((json.dumps(reply) + '\n').encode())
            await writer.drain()
        writer.close()

    def command(self, words):
        cmd = words[0]
        if cmd == 'fault':
            self.faults[words[1]] = int(words[2])
            return {'ok': True}
        if cmd == 'forget':
            self.engine.prepared.clear()
            return {'ok': True}
        if cmd == 'reorder':
            self.reorder = words[1] == '1'
            return {'ok': True}
        if cmd == 'stats':
            st = dict(self.engine.stats)
            st['faults_pending'] = {k: v for k, v in self.faults.items() if v}
            st['multi_partition_batches'] = self.multi_partition_batches
            return st
        if cmd == 'dump':
            ks, name = words[1].split('.')
            t = self.engine.table(ks, name)
            rows = []
            for pk in sorted(t.parts, key=sort_key):
                part = t.parts[pk]
                for ck in sorted(part, key=sort_key):
                    rows.append({k: jsonable(v) for k, v in part[ck].items()})
            return {'columns': list(t.cols), 'options': t.options, 'rows': rows}
        if cmd == 'tables':
            return {ks: sorted(ts) for ks, ts in self.engine.keyspaces.items()}
        return {'error': 'unknown command %s' % cmd}


def jsonable(v):
    if isinstance(v, (bytes, bytearray)):
        return v.hex()
    if isinstance(v, (int, float, str)) or v is None:
        return v
    return str(v)


# ---------------------------------------------------------------- test helper
class ServerProcess:
    """Starts this server as a child process for a test; use as a context manager.

    ports: the node ports; control(cmd) sends one control line and returns
    the decoded JSON reply.
    """

    def __init__(self, workdir, *extra, timeout=20):
        import os
        import subprocess
        import time
        self.port_file = os.path.join(workdir, 'cql-ports-%d.json' % id(self))
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__),
                                      '--port-file', self.port_file] + list(extra))
        deadline = time.monotonic() + timeout
        while not os.path.exists(self.port_file):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError('cql_server did not start')
            time.sleep(0.02)
        with open(self.port_file) as fp:
            info = json.load(fp)
        self.ports, self.control_port = info['nodes'], info['control']
        self.port = self.ports[0]
        self._ctl = None

    def control(self, cmd):
        import socket
        if self._ctl is None:
            self._ctl = socket.create_connection(('127.0.0.1', self.control_port), timeout=10)
            self._ctl_file = self._ctl.makefile('rb')
        self._ctl.sendall((cmd + '\n').encode())
        return json.loads(self._ctl_file.readline())

    def stop(self):
        if self._ctl is not None if hasattr(self, '_ctl') else False:
            self._ctl.close()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--port-file', required=True)
    ap.add_argument('--nodes', type=int, default=1)
    ap.add_argument('--base-port', type=int, default=0)
    ap.add_argument('--auth', help='USER:PASS enables PasswordAuthenticator')
    ap.add_argument('--tls-cert')
    ap.add_argument('--tls-key')
    ap.add_argument('--reorder', action='store_true')
    args = ap.parse_args()
    server = Server(args)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(server.start(args.port_file, args.base_port))
    loop.run_forever()


if __name__ == '__main__':
    sys.exit(main())
