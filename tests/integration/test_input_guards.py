"""Rule 1 guards (DESIGN.md): poison values are rejected, not applied.

A clean recording and the same recording with poison frames mixed in (NaN,
+Inf and -Inf prices; times in 1980, in 2200 and two days ahead of the wall
clock) give identical ticks, bars and latest rows; every poison frame is in
the dead-letter file with its reason. int64 extremes in dayVolume saturate
instead of wrapping (UBSan reported the overflow before), and the query CSV
of such a store prints numbers only.
"""
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ws_testlib import BIN, bare, check, tmpdir  # noqa: E402

T0 = 1736500000000
I64_MAX = (1 << 63) - 1
I64_MIN = -(1 << 63)


def run(work, name, lines, bars="1s,1m"):
    path = os.path.join(work, name + ".txt")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    db, dl = os.path.join(work, name + ".db"), os.path.join(work, name + ".dl")
    p = subprocess.run([BIN, "run", "--source", "replay:" + path, "--store", "sqlite:" + db,
                        "--deadletter", dl, "--bars", bars], capture_output=True, text=True, timeout=60)
    check(p.returncode == 0, "%s: exit %d: %s" % (name, p.returncode, p.stderr))
    return db, dl, p.stderr


def tables(db):
    c = sqlite3.connect(db)
    out = [c.execute("SELECT symbol,time,seq,price,cum_avg_price FROM ticks ORDER BY 1,2,3").fetchall(),
           c.execute("SELECT * FROM bars ORDER BY 1,2,3").fetchall(),
           c.execute("SELECT * FROM latest ORDER BY 1").fetchall()]
    c.close()
    return out


def main():
    work = tmpdir("tp_guards.")
    clean = [bare("AAA", 100.0 + i, T0 + i * 700, 1000 + i * 10) for i in range(40)]
    now = int(time.time() * 1000)
    poison = [("price not finite", bare("AAA", float("nan"), T0 + 5000)),
              ("price not finite", bare("AAA", float("inf"), T0 + 6000)),
              ("price not finite", bare("AAA", float("-inf"), T0 + 7000)),
              ("time out of range", bare("AAA", 101.0, 315532800000)),     # 1980
              ("time out of range", bare("AAA", 101.0, 7258118400000)),    # 2200
              ("time out of range", bare("AAA", 101.0, now + 2 * 86400000))]
    mixed = list(clean)
    for k, (_, frame) in enumerate(poison):
        mixed.insert(3 + k * 6, frame)
    db_a, _, _ = run(work, "clean", clean)
    db_b, dl_b, err_b = run(work, "mixed", mixed)
    check("rejected=%d " % len(poison) in err_b, "summary: " + err_b)
    check(tables(db_a) == tables(db_b), "poison frames changed ticks, bars or latest")
    with open(dl_b) as f:
        reasons = sorted(json.loads(line)["reason"] for line in f)
    check(reasons == sorted(r for r, _ in poison), "dead-letter reasons: %r" % reasons)

    # dayVolume at the int64 extremes: increments and bar sums saturate.
    vols = [I64_MIN, 0, I64_MAX, I64_MAX]
    lines = [bare("VVV", 10.0 + i, T0 + i * 10, v) for i, v in enumerate(vols)]
    db_v, _, _ = run(work, "volume", lines, bars="1m")
    c = sqlite3.connect(db_v)
    vol = c.execute("SELECT volume FROM bars WHERE symbol='VVV'").fetchall()
    c.close()
    check(vol == [(I64_MAX,)], "bar volume %r, want saturated %d" % (vol, I64_MAX))
    q = subprocess.run([BIN, "query", "--store", "sqlite:" + db_b, "latest"], capture_output=True,
                       text=True, timeout=30)
    check(q.returncode == 0 and "null" not in q.stdout and ",," not in q.stdout,
          "query csv: %r" % q.stdout)
    shutil.rmtree(work)
    print("test_input_guards: ok")


main()
