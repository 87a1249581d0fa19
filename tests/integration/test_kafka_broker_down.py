"""A broker taken down while `tickpipe ingest` produces and brought back
later: nothing is lost or duplicated. ingest reads the replay from stdin so
the test controls when frames arrive; the broker goes down after the first
third (once ingest has sent them), more frames are written while it is
down (until ingest reports the broken connection), then it comes back.
The topic is then processed and must equal `run` on the same frames."""
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_harness as h  # noqa: E402


def main():
    wd = h.Workdir("tp-kafka-down-")
    mock, procs = None, []
    try:
        frames = h.real_plus_generated(wd, 30000, seed=4)
        ref = h.reference_run(wd, frames)
        lines = open(frames).readlines()
        mock = h.Mock(brokers=3, topics=(("ticks", 6),))
        p = subprocess.Popen([h.TP_BIN, "ingest", "--source", "replay:-", "--kafka",
                              mock.bootstrap, "--log-level", "info"],
                             stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(p)
        err = []
        reader = threading.Thread(target=lambda: err.extend(p.stderr), daemon=True)
        reader.start()
        third = len(lines) // 3
        p.stdin.writelines(lines[:third])
        p.stdin.flush()
        mock.cmd("broker-down 1")
        p.stdin.writelines(lines[third:2 * third])
        p.stdin.flush()
        # Keep the broker down until ingest reports the broken connection, for
        # at most 20 s: librdkafka reports it only once it tries that broker
        # again, which a slow (sanitizer) run may not do in time. The
        # assertions below (nothing lost, nothing duplicated) hold either way.
        deadline = time.monotonic() + 20
        noticed = False
        while time.monotonic() < deadline and not noticed:
            noticed = any("/1: " in e or "brokers are down" in e for e in err)
            time.sleep(0.05)
        print("ingest %s broker 1 going down" % ("reported" if noticed else "did not report"))
        mock.cmd("broker-up 1")
        p.stdin.writelines(lines[2 * third:])
        p.stdin.close()
        try:
            p.wait(timeout=120)
        except subprocess.TimeoutExpired:
            h.fail("ingest did not finish after the broker came back")
        reader.join(10)
        s = h.summary("".join(err))
        if p.returncode != 0 or s["undelivered"] != 0 or s["delivered"] != s["produced"]:
            h.fail("ingest exited %d with %s" % (p.returncode, s))
        db = wd("kafka.db")
        st, perr = h.run(h.process_args(mock, db, "--exit-at-end"))
        if h.summary(perr)["frames"] != s["produced"]:
            h.fail("process saw %s, ingest produced %d" % (h.summary(perr), s["produced"]))
        h.assert_same_tables(ref, db)
        print("ok: broker down and up during ingest, nothing lost (%d messages)" % s["produced"])
    finally:
        h.tear_down(procs, mock, wd)


if __name__ == "__main__":
    main()
