"""Helpers for the WebSocket integration tests (test_ws_*.py).

Frame building and symbol extraction here are a deliberately tiny
PricingData subset, independent of the product's decoder, so tests check
the product against a second implementation. Every wait has a deadline.
"""
import base64
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pb_testlib as pb  # noqa: E402

BIN = os.environ.get("TP_BIN", "build/tickpipe")


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def pricing(symbol, price, time_ms, day_volume=None):
    """Protobuf bytes of a PricingData with id, price, time, quoteType 8."""
    out = pb.string(1, symbol) + pb.float32(2, price) + pb.sint(3, time_ms) + pb.enum(6, 8)
    if day_volume is not None:
        out += pb.sint(9, day_volume)
    return out


def bare(symbol, price, time_ms, day_volume=None):
    return base64.b64encode(pricing(symbol, price, time_ms, day_volume)).decode()


def envelope(b64):
    return '{"type":"pricing","message":"%s"}' % b64


def payload_b64(frame):
    """The base64 payload of a bare or version=2 frame, or None."""
    frame = frame.strip()
    if frame.startswith("{"):
        m = re.search(r'"message"\s*:\s*"([^"]*)"', frame)
        return m.group(1) if m else None
    return frame


def symbol_of(frame):
    """Symbol of a frame (field 1 must come first, as we build them), or None."""
    b64 = payload_b64(frame)
    try:
        raw = base64.b64decode(b64, validate=True)
    except Exception:
        return None
    if len(raw) < 2 or raw[0] != 0x0A or raw[1] > 127:
        return None
    return raw[2:2 + raw[1]].decode(errors="replace")


def symbols(n):
    return ["S%03d-X" % i for i in range(n)]


def write_recording(path, syms, per_symbol, t0=1736509141000, step_us=1000, garbage=()):
    """Writes a frame file: per_symbol rounds over syms, receive times step_us
    apart; garbage lines are inserted after the first round."""
    lines, t = [], 0
    for r in range(per_symbol):
        for i, s in enumerate(syms):
            frame = bare(s, 100.0 + i + r * 0.25, t0 + r * 1000 + i, 1000 + r)
            lines.append("%d\t%s" % (t0 + t // 1000, frame))
            t += step_us
        if r == 0:
            lines.extend("%d\t%s" % (t0 + t // 1000, g) for g in garbage)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return lines


class Proc:
    """A child process with stdout/stderr in files; killed on close."""

    def __init__(self, args, workdir, name, env=None):
        self.name = name
        self.out_path = os.path.join(workdir, name + ".out")
        self.err_path = os.path.join(workdir, name + ".err")
        e = dict(os.environ)
        e.update(env or {})
        self.p = subprocess.Popen(args, stdout=open(self.out_path, "w"),
                                  stderr=open(self.err_path, "w"), env=e)

    def out(self):
        return open(self.out_path).read()

    def err(self):
        return open(self.err_path).read()

    def stop(self, timeout=20):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGINT)
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            fail("%s did not stop within %ss after SIGINT" % (self.name, timeout))

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def wait_for(cond, timeout, what, procs=()):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        for p in procs:
            if p.p.poll() is not None:
                fail("%s exited (%s) while waiting for %s:\n%s" % (p.name, p.p.returncode, what, p.err()[-3000:]))
        time.sleep(0.05)
    fail("timed out after %ss waiting for %s" % (timeout, what))


def start_feed(workdir, replay, extra=(), name="feed"):
    f = Proc([BIN, "feed", "--replay", replay, "--listen", "127.0.0.1:0"] + list(extra), workdir, name)
    m = wait_for(lambda: re.search(r"(wss?://[0-9.]+:\d+/)", f.out()), 20, "feed to listen", [f])
    return f, m.group(1)


def read_sent_log(path, with_time=False):
    """[(conn, symbol, frame)] in send order, or [(conn, symbol, frame,
    send_us)] with with_time. feed writes conn, symbol, send time (Unix
    microseconds), frame; yahoo_py_server.py writes no time (None)."""
    rows = []
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t", 3)
            if len(parts) == 3:
                parts.insert(2, None)
            conn, sym, us, frame = parts
            rows.append((conn, sym, frame, int(us) if us else None) if with_time else (conn, sym, frame))
    return rows


def dedup_by_symbol(pairs):
    """{symbol: [payload...]} keeping frames whose payload differs from the
    last kept one of that symbol (DESIGN.md duplicate rule)."""
    out = {}
    for sym, b64 in pairs:
        lst = out.setdefault(sym, [])
        if not lst or lst[-1] != b64:
            lst.append(b64)
    return out


def stored_payloads(db):
    con = sqlite3.connect(db)
    rows = con.execute("SELECT symbol, payload FROM ticks ORDER BY symbol, seq").fetchall()
    con.close()
    out = {}
    for sym, payload in rows:
        out.setdefault(sym, []).append(base64.b64encode(payload).decode())
    return out


def count_ticks(db):
    if not os.path.exists(db):
        return 0
    try:
        con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=1)
        n = con.execute("SELECT count(*) FROM ticks").fetchone()[0]
        con.close()
        return n
    except sqlite3.Error:
        return 0


def compare(expected, stored, syms):
    """Fails with a readable diff unless stored == expected for every symbol."""
    missing = [s for s in syms if not stored.get(s)]
    check(not missing, "%d symbols have no stored ticks: %s" % (len(missing), missing[:10]))
    for s in syms:
        e, g = expected.get(s, []), stored.get(s, [])
        if e != g:
            dup = len(g) - len(set(g))
            lost = [x for x in e if x not in set(g)]
            extra = [x for x in g if x not in set(e)]
            fail("symbol %s: expected %d ticks, stored %d (duplicates %d, missing %d, unexpected %d)"
                 % (s, len(e), len(g), dup, len(lost), len(extra)))


def tmpdir(prefix):
    return tempfile.mkdtemp(prefix=prefix)
