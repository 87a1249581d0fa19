"""bench_ws_latency.py - latency from a frame leaving `tickpipe feed` to its
tick row being committed by `tickpipe run` into SQLite, next to the latency
from the same frame leaving feed to a Python websockets client receiving it.

Method. feed serves a recording at a steady RATE frames/s (--speed 1) and
logs each frame with the wall-clock time lws_write() took it (--log-sent,
microseconds). Every frame has a distinct payload, so each becomes one tick.
  tickpipe: `run --source yahoo:... --store sqlite:DB` with default options;
    a poller in this script reads the ticks table in a loop (per symbol,
    seq above the last one seen, through the primary key) and notes the
    wall-clock time at the start of the first poll that sees each row. WAL
    readers see the snapshot taken when the poll starts, so the commit
    happened between the previous poll's start and this one's: latencies
    are upper bounds, coarse by at most one poll interval (reported).
  python: a websockets client (compression off, unbounded queue) notes the
    wall-clock time recv() returns each frame.
Latency = that time - feed's send time of the same frame on the same
connection. The first WARMUP_S seconds (connect, subscribe) are left out.
Median of RUNS runs of p50 and p99 for each client.

usage: TP_BIN=build/tickpipe /usr/bin/python3 bench/bench_ws_latency.py [RATE] [SECONDS] [RUNS]
"""
import asyncio
import base64
import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
from ws_testlib import payload_b64, read_sent_log, symbols, write_recording  # noqa: E402

import websockets  # noqa: E402

BIN = os.environ.get("TP_BIN", "build/tickpipe")
NSYM = 10
WARMUP_S = 1.0


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def start_feed(work, rec, log):
    out = open(os.path.join(work, "feed.out"), "w")
    p = subprocess.Popen([BIN, "feed", "--replay", rec, "--listen", "127.0.0.1:0", "--speed", "1",
                          "--log-sent", log], stdout=out, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        m = re.search(r"(ws://[0-9.]+:\d+/)", open(out.name).read())
        if m:
            return p, m.group(1) + "?version=2"
        time.sleep(0.02)
    p.kill()
    sys.exit("feed did not start")


def stop(p):
    if p.poll() is None:
        p.send_signal(2)
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def sent_times(log):
    """{(symbol, payload b64): send time in s} and the first send time."""
    rows = read_sent_log(log, with_time=True)
    t = {(s, payload_b64(fr)): us / 1e6 for _, s, fr, us in rows if s != "-"}
    return t, min(t.values())


def poll_store(db, syms, total, deadline):
    """{(symbol, payload b64): wall time of the first poll that saw it} and
    the mean poll interval."""
    while not os.path.exists(db) and time.time() < deadline:
        time.sleep(0.001)
    con = None
    seen, last_seq, polls, t_first = {}, {s: 0 for s in syms}, 0, time.time()
    while len(seen) < total and time.time() < deadline:
        t = time.time()
        try:
            if con is None:
                con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=1)
            con.execute("BEGIN")
            for s in syms:
                for seq, payload in con.execute("SELECT seq, payload FROM ticks WHERE symbol = ? AND "
                                                "seq > ? ORDER BY seq", (s, last_seq[s])):
                    seen.setdefault((s, base64.b64encode(payload).decode()), t)
                    last_seq[s] = seq
            con.execute("COMMIT")
        except sqlite3.Error:
            con = None          # the store is still being created
        polls += 1
    return seen, (time.time() - t_first) / max(polls, 1)


def run_tickpipe(work, rec, syms, nframes, secs, i):
    log = os.path.join(work, "tp%d.sent" % i)
    db = os.path.join(work, "tp%d.db" % i)
    feed, url = start_feed(work, rec, log)
    run = subprocess.Popen([BIN, "run", "--source", "yahoo:" + url, "--symbols", ",".join(syms),
                            "--store", "sqlite:" + db], stderr=open(os.path.join(work, "run.err"), "w"))
    try:
        seen, interval = poll_store(db, syms, nframes, time.time() + secs + 30)
    finally:
        stop(run)
        stop(feed)
    sent, t0 = sent_times(log)
    lat = [(seen[k] - ts) * 1000 for k, ts in sent.items() if k in seen and ts >= t0 + WARMUP_S]
    return lat, interval, len(seen), len(sent)


async def py_receive(url, syms, nframes, secs):
    got = {}
    async with websockets.connect(url, compression=None, max_queue=None) as ws:
        await ws.send(json.dumps({"subscribe": syms}))
        end = time.time() + secs + 30
        while len(got) < nframes and time.time() < end:
            try:
                msg = await asyncio.wait_for(ws.recv(), 5)
            except asyncio.TimeoutError:
                break
            t = time.time()
            m = re.search(r'"message":"([^"]*)"', msg)
            raw = base64.b64decode(m.group(1))
            got.setdefault((raw[2:2 + raw[1]].decode(), m.group(1)), t)
    return got


def run_python(work, rec, syms, nframes, secs, i):
    log = os.path.join(work, "py%d.sent" % i)
    feed, url = start_feed(work, rec, log)
    try:
        got = asyncio.run(py_receive(url, syms, nframes, secs))
    finally:
        stop(feed)
    sent, t0 = sent_times(log)
    lat = [(got[k] - ts) * 1000 for k, ts in sent.items() if k in got and ts >= t0 + WARMUP_S]
    return lat, len(got), len(sent)


def main():
    rate = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    secs = int(sys.argv[2]) if len(sys.argv) > 2 else 15
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    work = tempfile.mkdtemp(prefix="tp-bench-wslat-")
    try:
        syms = symbols(NSYM)
        rec = os.path.join(work, "rec.txt")
        per_symbol = rate * secs // NSYM
        write_recording(rec, syms, per_symbol=per_symbol, step_us=1000000 // rate)
        nframes = per_symbol * NSYM
        tp, py, intervals = [], [], []
        for i in range(runs):
            lat, interval, n_seen, n_sent = run_tickpipe(work, rec, syms, nframes, secs, i)
            tp.append((pct(lat, 50), pct(lat, 99)))
            intervals.append(interval)
            print("run %d tickpipe: %d/%d rows seen, p50 %.2f ms, p99 %.2f ms, poll every %.2f ms"
                  % (i + 1, n_seen, n_sent, tp[-1][0], tp[-1][1], interval * 1000), file=sys.stderr)
            lat, n_got, n_sent = run_python(work, rec, syms, nframes, secs, i)
            py.append((pct(lat, 50), pct(lat, 99)))
            print("run %d python:   %d/%d frames received, p50 %.2f ms, p99 %.2f ms"
                  % (i + 1, n_got, n_sent, py[-1][0], py[-1][1]), file=sys.stderr)
        med = lambda xs, j: statistics.median(x[j] for x in xs)  # noqa: E731
        print("bench_ws_latency: %d frames/s for %d s over one connection (%d symbols, version=2), "
              "median of %d runs" % (rate, secs, NSYM, runs))
        print("  feed send -> tickpipe run row committed in SQLite: p50 %6.2f ms  p99 %6.2f ms"
              "  (store polled every %.2f ms: upper bounds, +-1 poll)"
              % (med(tp, 0), med(tp, 1), statistics.median(intervals) * 1000))
        print("  feed send -> python websockets %s recv():        p50 %6.2f ms  p99 %6.2f ms"
              % (websockets.__version__, med(py, 0), med(py, 1)))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
