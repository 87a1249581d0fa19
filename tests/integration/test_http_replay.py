"""run --http on a replay (stdin, so the test decides when it ends):

1. /metrics, read with the Prometheus client's own parser, agrees with the
   summary line: frames, applied, duplicates, rejected (summed over the
   reasons), skipped, late; rows by table and the latency histogram agree
   with the applied count.
2. /stream delivers every applied tick exactly once, equal to the stored
   rows, and bar updates for the configured intervals; a client asking for
   ?conflate=100 gets fewer events, ending with each symbol's newest tick.
3. /api/latest, /api/bars and /api/ticks print exactly (byte for byte) what
   `tickpipe query ... --format json` prints; bad parameters are 400 with a
   message naming the parameter; /healthz is 200 throughout.
"""
import os
import re
import sqlite3
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from http_testlib import BIN, StreamCollector, check, get, start_run, wait_for  # noqa: E402
from ws_testlib import bare, symbols, tmpdir, write_recording  # noqa: E402

from prometheus_client.parser import text_string_to_metric_families  # noqa: E402


def scrape(port):
    status, body = get(port, "/metrics")
    check(status == 200, "/metrics: status %d" % status)
    out = {}
    for fam in text_string_to_metric_families(body.decode()):
        for s in fam.samples:
            key = s.name + "".join("{%s=%s}" % kv for kv in sorted(s.labels.items()))
            out[key] = s.value
    return out


def make_input(path):
    syms = symbols(8)
    lines = write_recording(path, syms, 60, garbage=["%%% not base64 %%%", "Zm9v"])
    dup = lines[20].split("\t", 1)[1]           # the frame of lines[20] again, right after
    lines.insert(21, dup)
    lines.append('{"type":"heartbeat","message":"x"}')
    lines.append(bare("S000-X", 1.0, 1736509141000))   # 0 + late for its 1s bar
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return syms, len(lines)


def query(db, *args):
    r = subprocess.run([BIN, "query", "--store", "sqlite:" + db, "--format", "json"] + list(args),
                       capture_output=True, timeout=60)
    check(r.returncode == 0, "query %s: %s" % (args, r.stderr.decode()))
    return r.stdout


def check_api(port, db):
    cases = [("/api/latest", ["latest"]),
             ("/api/bars?symbol=S003-X&interval=1s", ["bars", "--symbol", "S003-X", "--interval", "1s"]),
             ("/api/bars?interval=1m&from=1736509150000&to=2025-01-10T11:40:00Z",
              ["bars", "--interval", "1m", "--from", "1736509150000", "--to", "2025-01-10T11:40:00Z"]),
             ("/api/ticks?symbol=S005-X&from=1736509160000&to=1736509180000&limit=7",
              ["ticks", "--symbol", "S005-X", "--from", "1736509160000", "--to", "1736509180000",
               "--limit", "7"])]
    for path, args in cases:
        status, body = get(port, path)
        check(status == 200, "%s: status %d %s" % (path, status, body[:200]))
        want = query(db, *args)
        check(body == want, "%s differs from query %s:\n%s\n---\n%s" % (path, args, body[:400], want[:400]))
        check(len(body) > 10, "%s: no rows" % path)
    for path, word in [("/api/bars?interval=7m", "interval 7m"), ("/api/ticks?from=yesterday", "from yesterday"),
                       ("/api/ticks?limit=-3", "limit")]:
        status, body = get(port, path)
        check(status == 400 and word.encode() in body, "%s: want 400 naming '%s', got %d %s"
              % (path, word, status, body))
    status, _ = get(port, "/api/nothing")
    check(status == 404, "/api/nothing: want 404, got %d" % status)
    print("api: 4 queries byte-equal to `tickpipe query`; bad parameters are 400")


def check_metrics(m, summary):
    want = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", summary)}
    rejected = sum(v for k, v in m.items() if k.startswith("tickpipe_rejected_total{reason="))
    got = {"frames": m["tickpipe_frames_total"], "applied": m["tickpipe_applied_total"],
           "duplicates": m["tickpipe_duplicates_total"], "rejected": rejected,
           "skipped": m["tickpipe_skipped_total"], "late": m["tickpipe_late_total"]}
    check(got == want, "metrics %s != summary %s" % (got, want))
    check(want["rejected"] == 2 and want["duplicates"] == 1 and want["skipped"] == 1 and want["late"] >= 1,
          "the input should have 2 rejected, 1 duplicate, 1 skipped, >= 1 late: %s" % want)
    check(m["tickpipe_store_rows_total{table=ticks}"] == want["applied"], "ticks rows != applied")
    check(m["tickpipe_tick_latency_seconds_count"] == want["applied"], "latency count != applied")
    check(m["tickpipe_store_commits_total"] >= 1 and m["tickpipe_store_rows_total{table=bars}"] > 0,
          "commits and bar rows")
    check(m["tickpipe_store_commit_duration_seconds_count"] == m["tickpipe_store_commits_total"],
          "one commit duration per commit")
    check(m["process_resident_memory_bytes"] > 1e6 and m["process_start_time_seconds"] > 1.7e9, "process metrics")
    print("metrics: %s equal the summary line" % want)


def check_stream(st, db, applied):
    ticks = [e for e in st.events if e["type"] == "tick"]
    keys = [(e["symbol"], e["seq"]) for e in ticks]
    check(len(keys) == len(set(keys)), "a tick came twice on /stream")
    con = sqlite3.connect(db)
    rows = con.execute("SELECT symbol, seq, time, price, cum_avg_price FROM ticks").fetchall()
    con.close()
    stored = {(s, q): (t, p, c) for s, q, t, p, c in rows}
    check(len(ticks) == applied == len(stored), "stream %d ticks, applied %d, stored %d"
          % (len(ticks), applied, len(stored)))
    for e in ticks:
        t, p, c = stored[(e["symbol"], e["seq"])]
        check((e["time"], e["price"], e["cumAvgPrice"]) == (t, p, c), "stream tick %s != stored row" % e)
    bars = [e for e in st.events if e["type"] == "bar"]
    check({b["interval"] for b in bars} == {"1s", "1m"}, "bar updates for 1s and 1m")
    print("stream: %d ticks exactly once in %d messages, %d bar updates" % (len(ticks), st.messages, len(bars)))


def check_conflated(cf, db):
    con = sqlite3.connect(db)
    newest = dict(con.execute("SELECT symbol, max(seq) FROM ticks GROUP BY symbol").fetchall())
    con.close()
    last = {}
    for e in cf.events:
        if e["type"] == "tick":
            check(e["seq"] > last.get(e["symbol"], 0), "conflated ticks go forward: %s" % e)
            last[e["symbol"]] = e["seq"]
    check(last == newest, "conflated stream ends with each symbol's newest tick: %s vs %s" % (last, newest))
    print("conflated stream: %d events in %d messages" % (len(cf.events), cf.messages))


def main():
    work = tmpdir("tp-http-replay-")
    rec = os.path.join(work, "rec.txt")
    make_input(rec)
    db = os.path.join(work, "t.db")
    run, port = start_run(work, ["--source", "replay:-", "--bars", "1s,1m", "--store", "sqlite:" + db,
                                 "--deadletter", os.path.join(work, "dl.jsonl")], stdin=True)
    try:
        st, cf = StreamCollector(port), StreamCollector(port, "?conflate=100")
        for c in (st, cf):
            check(c.connected.wait(20) and not c.error, "/stream did not connect: %s" % c.error)
        check(get(port, "/healthz")[0] == 200, "/healthz while idle")
        with open(rec, "rb") as f:
            run.p.stdin.write(f.read())
        run.p.stdin.flush()
        nlines = sum(1 for _ in open(rec))
        wait_for(lambda: scrape(port).get("tickpipe_frames_total") == nlines, 60, "all frames processed", [run])
        wait_for(lambda: scrape(port)["tickpipe_queue_depth"] == 0, 30, "an empty bus", [run])
        check(get(port, "/healthz")[0] == 200, "/healthz after the replay")
        check_api(port, db)
        m = scrape(port)
        run.p.stdin.close()
        check(run.p.wait(60) == 0, "run failed:\n" + run.err())
        summary = re.search(r"tickpipe: done (.*)", run.err()).group(1)
        check_metrics(m, summary)
        check(st.closed.wait(20), "/stream was not closed when run ended")
        check_stream(st, db, int(re.search(r"applied=(\d+)", summary).group(1)))
        check(cf.closed.wait(20), "/stream?conflate was not closed when run ended")
        check_conflated(cf, db)
    finally:
        run.kill()
    print("ok")


if __name__ == "__main__":
    main()
