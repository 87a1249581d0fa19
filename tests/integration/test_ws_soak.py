"""Soak: a synthetic market replayed by `tickpipe feed --loop` at a high rate
to the live client (`tickpipe record`), with feed dropping each connection
every 15000 frames. Resident memory of the client must stay flat and every
frame feed sent must be recorded. Duration: TP_WS_SOAK_SECS (default 60)."""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ws_testlib import BIN, Proc, check, start_feed, symbols, tmpdir, wait_for, write_recording  # noqa: E402


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            m = re.search(r"VmRSS:\s+(\d+)", f.read())
            return int(m.group(1)) if m else 0
    except OSError:
        return 0


def lines(path):
    if not os.path.exists(path):
        return 0
    with open(path, "rb") as f:
        return sum(1 for _ in f)


def main():
    secs = int(os.environ.get("TP_WS_SOAK_SECS", "60"))
    work = tmpdir("tp-ws-soak-")
    syms = symbols(200)
    rec = os.path.join(work, "rec.txt")
    # 200 symbols x 50 rounds, 0.1 ms apart: one lap is about one second of 10k frames
    write_recording(rec, syms, per_symbol=50, step_us=100)
    symfile = os.path.join(work, "symbols.txt")
    with open(symfile, "w") as f:
        f.write("\n".join(syms) + "\n")
    feed, url = start_feed(work, rec, ["--speed", "1", "--loop", "--laps", str(secs),
                                       "--drop-every", "15000"])
    out = os.path.join(work, "got.txt")
    client = Proc([BIN, "record", "--source", "yahoo:" + url + "?version=2", "--symbols-file", symfile,
                   "--out", out], work, "record", {"TP_WS_BACKOFF_MIN_MS": "100", "TP_WS_BACKOFF_MAX_MS": "400",
                    # under ASan, a small quarantine keeps freed memory from looking like a leak
                    "ASAN_OPTIONS": "quarantine_size_mb=1:" + os.environ.get("ASAN_OPTIONS", "")})
    samples = []
    try:
        deadline = time.monotonic() + secs * 3 + 60
        while "replay done" not in feed.err():
            check(time.monotonic() < deadline, "feed did not finish its laps in time")
            check(client.p.poll() is None, "record exited early:\n" + client.err()[-2000:])
            samples.append(rss_kb(client.p.pid))
            time.sleep(0.5)
        # feed first: a socket reconnecting after "replay done" still gets
        # snapshots; once feed has closed every socket its count is final
        check(feed.stop() == 0, "feed did not exit 0 on SIGINT")
        sent = int(re.search(r"stopped connections=\d+ sent=(\d+)", feed.err()).group(1))
        wait_for(lambda: lines(out) >= sent, 60, "%d frames recorded" % sent, [client])
        check(client.stop() == 0, "record did not exit 0 on SIGINT")
    finally:
        client.kill()
        feed.kill()
    got = lines(out)
    conns = int(re.search(r"connections=(\d+)", feed.err()).group(1))
    check(got == sent, "feed sent %d frames, the client recorded %d" % (sent, got))
    check(conns > 8, "expected forced reconnects, feed saw %d connections" % conns)
    q = len(samples) // 4
    early, late = max(samples[q:2 * q] or [0]), max(samples[2 * q:] or [0])
    check(early > 0 and late - early < 8 * 1024,
          "client RSS grew from %d kB to %d kB during the soak" % (early, late))
    print("soak %ds: %d frames (%.0f/s) over %d connections, none lost; client RSS %d kB -> %d kB"
          % (secs, sent, sent / max(secs, 1), conns, early, late))
    print("ok")


if __name__ == "__main__":
    main()
