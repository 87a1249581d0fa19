"""/healthz reports a stuck pipeline: `run --source sim` writes SQLite while
another connection holds the database's write lock, so the processing
thread waits in its commit; past --health-stuck /healthz answers 503 naming
it, and once the lock is released the pipeline moves on and /healthz is 200
again. Meanwhile /metrics still answers (the HTTP thread never waits for
the pipeline)."""
import os
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from http_testlib import check, get, start_run, wait_for  # noqa: E402
from ws_testlib import tmpdir  # noqa: E402


def main():
    work = tmpdir("tp-http-stuck-")
    db = os.path.join(work, "t.db")
    run, port = start_run(work, ["--source", "sim:rate=200,symbols=4", "--store", "sqlite:" + db,
                                 "--deadletter", os.path.join(work, "dl.jsonl"), "--health-stuck", "1s"])
    lock = None
    try:
        wait_for(lambda: b'"symbol"' in get(port, "/api/latest")[1], 20, "ticks stored", [run])
        check(get(port, "/healthz")[0] == 200, "/healthz while the pipeline runs")
        lock = sqlite3.connect(db, timeout=10, isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")
        s = wait_for(lambda: (lambda r: r if r[0] == 503 else None)(get(port, "/healthz")), 20,
                     "/healthz to turn 503 while the store is locked", [run])
        check(b"stuck" in s[1], "the 503 should say the processing is stuck: %s" % (s,))
        check(get(port, "/metrics")[0] == 200, "/metrics answers while the pipeline waits")
        print("locked store: /healthz %d %s" % (s[0], s[1].decode().strip()))
        lock.execute("ROLLBACK")
        lock.close()
        lock = None
        wait_for(lambda: get(port, "/healthz")[0] == 200, 40, "/healthz 200 once the lock is gone", [run])
        check(run.stop() == 0, "run did not stop cleanly:\n" + run.err())
    finally:
        if lock:
            lock.close()
        run.kill()
    print("ok")


if __name__ == "__main__":
    main()
