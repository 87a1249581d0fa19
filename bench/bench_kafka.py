"""bench_kafka.py - Kafka-mode benchmarks against librdkafka's mock cluster
on loopback (run through bench/bench_kafka.sh on a release build):

1. ingest throughput (frames/s) and CPU time: `tickpipe ingest` on a
   generated replay (and on the same frames from stdin, without positions),
   next to kcat producing the very same keyed payloads with the same
   producer settings (idempotence, acks=all, lz4, linger 5 ms), taking
   turns in the same run, each against a fresh mock; medians of RUNS runs
   and the ratios.
2. process throughput (messages/s) into SQLite, measured from the first
   partition assignment to the end of the topic (group join excluded).
3. end-to-end latency: frames written to `ingest --source replay:-` at a
   steady RATE with time = now; a poller reads committed rows from SQLite;
   latency = row visible - frame written; p50/p99 for two commit intervals.

Not a test: prints figures, asserts only that every run delivered all.
BENCH_PARTS (default "ingest,process,latency") picks which of the three run.
"""
import base64
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
import kafka_harness as h  # noqa: E402
import test_kafka_pipeline as tp_pipe  # noqa: E402

N = int(os.environ.get("BENCH_FRAMES", "200000"))
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
RATE = int(os.environ.get("BENCH_RATE", "2000"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
PARTS = os.environ.get("BENCH_PARTS", "ingest,process,latency").split(",")
DELIM = b"|~tp~sep~|"


def kcat_input(frames, out):
    """The payloads ingest would produce, as kcat input: key TAB value DELIM."""
    msgs = tp_pipe.expected_messages(frames)
    with open(out, "wb") as o:
        for sym, payload in msgs:
            if DELIM in payload:
                h.fail("a payload contains the kcat delimiter")
            o.write(sym.encode() + b"\t" + payload + DELIM)
    return len(msgs)


def timed(args, stdin_path=None):
    """Runs args to the end: (wall seconds, CPU seconds of the process and
    its threads, stderr)."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.monotonic()
    with open(stdin_path or os.devnull, "rb") as f:
        cp = subprocess.run(args, stdin=f, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    dt = time.monotonic() - t
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if cp.returncode != 0:
        h.fail("%s exited %d: %s" % (args[0], cp.returncode, cp.stderr[-500:]))
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return dt, cpu, cp.stderr.decode()


def bench_ingest(wd, frames):
    """Medians of wall and CPU time for: ingest of the file (each message
    carries its position, which lets `process` drop frames a restarted
    ingest produces again), ingest of the same frames from stdin (no
    position: the same messages kcat sends), and kcat. Each run gets a
    fresh mock cluster (a mock holding earlier runs' messages is slower),
    and the three take turns going first."""
    kin = wd("kcat.in")
    nk = kcat_input(frames, kin)

    def ours(bs):
        return [h.TP_BIN, "ingest", "--source", "replay:" + frames, "--kafka", bs], None

    def bare(bs):
        return [h.TP_BIN, "ingest", "--source", "replay:-", "--kafka", bs], frames

    def kcat(bs):
        return (["kcat", "-P", "-b", bs, "-t", "ticks", "-K", "\t", "-D", DELIM.decode(),
                 "-X", "enable.idempotence=true", "-X", "acks=all", "-X", "linger.ms=5",
                 "-X", "compression.type=lz4", "-X", "batch.num.messages=10000"], kin)
    jobs = [("ours", ours), ("bare", bare), ("kcat", kcat)]
    res = {name: [] for name, _ in jobs}
    produced = 0
    for i in range(RUNS):
        for name, make in jobs[i % 3:] + jobs[:i % 3]:
            mock = h.Mock(brokers=1, topics=(("ticks", 4),))
            try:
                args, stdin_path = make(mock.bootstrap)
                dt, cpu, err = timed(args, stdin_path)
            finally:
                mock.stop()
            if name != "kcat":
                s = h.summary(err)
                if s["delivered"] != s["produced"] or s["produced"] != nk:
                    h.fail("%s lost messages: %s (want %d)" % (name, s, nk))
                produced = s["produced"]
            res[name].append((dt, cpu))
    return {name: (statistics.median(nk / r[0] for r in v), statistics.median(r[1] for r in v))
            for name, v in res.items()}, produced, nk


def bench_process(wd, frames):
    rates = []
    for i in range(max(3, RUNS // 2)):
        mock = h.Mock(brokers=1, topics=(("ticks", 4),))
        try:
            s = h.ingest(mock, frames)
            db = wd("p%d.db" % i)
            p = subprocess.Popen([h.TP_BIN] + h.process_args(mock, db, "--exit-at-end",
                                 "--end-grace", "0ms", "--log-level", "info"),
                                 stderr=subprocess.PIPE, text=True)
            t0 = None
            for line in p.stderr:
                if t0 is None and "] assigned ticks" in line:
                    t0 = time.monotonic()
            p.wait()
            rates.append(s["produced"] / (time.monotonic() - t0))
        finally:
            mock.stop()
    return statistics.median(rates)


def bench_latency(wd, commit):
    mock = h.Mock(brokers=1, topics=(("ticks", 4),))
    db = wd("lat-%s.db" % commit)
    ing = proc = None
    try:
        proc = subprocess.Popen([h.TP_BIN] + h.process_args(mock, db, "--commit-interval",
                                                            commit),
                                stderr=subprocess.DEVNULL)
        ing = subprocess.Popen([h.TP_BIN, "ingest", "--source", "replay:-", "--kafka",
                                mock.bootstrap, "--kafka-conf", "linger.ms=1"],
                               stdin=subprocess.PIPE, stderr=subprocess.DEVNULL)
        # Warm up until the consumer has joined and a first row is visible.
        warm = base64.b64encode(h.pricing("WARM", 1.0, int(time.time() * 1000))).decode()
        ing.stdin.write((warm + "\n").encode())
        ing.stdin.flush()
        h.wait_for(lambda: h.count_ticks(db) > 0, 60, "the first row")
        sent, seen = {}, {}
        stop = threading.Event()
        poller = threading.Thread(target=poll_rows, args=(db, seen, stop), daemon=True)
        poller.start()
        n, t0 = 0, time.monotonic()
        base_ms = int(time.time() * 1000)
        while time.monotonic() - t0 < SECONDS:
            due = t0 + n / RATE
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            # unique and increasing; RATE/s of them run ahead of the clock by
            # at most SECONDS x RATE ms, well inside the decoder's one-day guard
            ms = base_ms + n
            sym = "L%02d" % (n % 16)
            sent[(sym, ms)] = time.monotonic()
            line = base64.b64encode(h.pricing(sym, 100.0, ms)).decode() + "\n"
            ing.stdin.write(line.encode())
            ing.stdin.flush()
            n += 1
        h.wait_for(lambda: len(seen) >= len(sent), 60, "all rows to be committed")
        stop.set()
        poller.join()
        lat = sorted((seen[k] - sent[k]) * 1000 for k in sent)
        return lat[len(lat) // 2], lat[int(len(lat) * 0.99)], n
    finally:
        # ingest ends at stdin EOF (flushing); process on SIGTERM.
        if ing:
            ing.stdin.close()
        for p in (ing, proc):
            if p and p.poll() is None:
                if p is proc:
                    p.terminate()
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        mock.stop()


def poll_rows(db, seen, stop):
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=5)
    cut = 0
    while not stop.is_set():
        now = time.monotonic()
        for sym, t in con.execute("SELECT symbol, time FROM ticks WHERE time > ?", (cut,)):
            if sym.startswith("L"):
                seen.setdefault((sym, t), now)
                cut = max(cut, t - 5000000)
        time.sleep(0.002)
    con.close()


def main():
    wd = h.Workdir("tp-bench-kafka-")
    try:
        frames = wd("frames.txt")
        h.gen_frames(frames, N, symbols=50, seed=7)
        if "ingest" in PARTS:
            r, produced, nk = bench_ingest(wd, frames)
            kr, kc = r["kcat"]
            for name, what in (("ours", "ingest of the file"),
                               ("bare", "ingest from stdin (no positions)"), ("kcat", "kcat")):
                rate, cpu = r[name]
                print("ingest  : %-33s %9.0f msgs/s  %.3f CPU-s   wall ratio %.2f  CPU ratio %.2f"
                      % (what, rate, cpu, rate / kr, kc / cpu))
            print("          (%d frames, %d produced, the same %d messages by kcat; medians of "
                  "%d runs, a fresh mock each; ratio > 1: faster / cheaper than kcat)"
                  % (N, produced, nk, RUNS))
        if "process" in PARTS:
            proc = bench_process(wd, frames)
            print("process : %9.0f messages/s into SQLite (from assignment to end of topic)"
                  % proc)
        for commit in ("200ms", "20ms") if "latency" in PARTS else ():
            p50, p99, n = bench_latency(wd, commit)
            print("latency : commit-interval %-5s  p50 %6.1f ms  p99 %6.1f ms  (%d frames at "
                  "%d/s, ingest -> committed SQLite row)" % (commit, p50, p99, n, RATE))
    finally:
        wd.cleanup()


if __name__ == "__main__":
    main()
