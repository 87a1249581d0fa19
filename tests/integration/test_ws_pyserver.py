"""The live source against an independent server (yahoo_py_server.py, built
on python3-websockets) that limits connections to 100 symbols, drops
connections mid-stream, re-sends snapshots on resubscribe and sends garbage.

150 symbols with the default sharding (50 per socket): for every symbol the
stored ticks equal the frames the server sent while a socket was up, with
no duplicates and none missing. Then the same 150 symbols on one socket: the
server silently ignores 50 of them, which is why the client shards.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ws_testlib import (BIN, Proc, check, compare, count_ticks, dedup_by_symbol,  # noqa: E402
                        payload_b64, read_sent_log, stored_payloads, symbols, tmpdir, wait_for)

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT_ENV = {"TP_WS_BACKOFF_MIN_MS": "100", "TP_WS_BACKOFF_MAX_MS": "400"}


def round_trip(work, syms, rounds, per_socket, tag, query):
    sent_path = os.path.join(work, tag + ".sent")
    srv = Proc(["/usr/bin/python3", os.path.join(HERE, "yahoo_py_server.py"), sent_path, str(rounds)] + syms,
               work, tag + "-server")
    url = wait_for(lambda: srv.out().strip(), 20, "the python server to listen", [srv])
    db = os.path.join(work, tag + ".db")
    symfile = os.path.join(work, tag + ".symbols")
    with open(symfile, "w") as f:
        f.write("\n".join(syms) + "\n")
    run = Proc([BIN, "run", "--source", "yahoo:" + url + query, "--symbols-file", symfile,
                "--symbols-per-socket", str(per_socket), "--store", "sqlite:" + db,
                "--deadletter", os.path.join(work, tag + ".dl"), "--log-level", "info"],
               work, tag + "-run", CLIENT_ENV)
    try:
        wait_for(lambda: "done" in srv.err(), 120, "the server to finish", [srv, run])
        # Stop the server before the client: a socket reconnecting now still
        # gets snapshots, and frames still in flight when the client stops
        # were not "sent while a socket was up". Once the server has exited
        # its log is final and the client has been sent all of it.
        check(srv.stop() == 0, "the python server did not exit 0 on SIGINT:\n" + srv.err()[-2000:])
        sent = read_sent_log(sent_path)
        expected = dedup_by_symbol((s, payload_b64(fr)) for _, s, fr in sent if s != "-")
        total = sum(len(v) for v in expected.values())
        wait_for(lambda: count_ticks(db) >= total, 30, "%d ticks stored" % total, [run])
        check(run.stop() == 0, "run did not exit 0 on SIGINT:\n" + run.err()[-2000:])
    finally:
        run.kill()
        srv.kill()
    return sent, expected, stored_payloads(db), run


def main():
    work = tmpdir("tp-ws-py-")
    syms = symbols(150)
    sent, expected, stored, run = round_trip(work, syms, 40, 50, "sharded", "?version=2")
    compare(expected, stored, syms)
    conns = {c for c, _, _ in sent}
    garbage = sum(1 for _, s, _ in sent if s == "-")
    check(len(conns) >= 6, "the server should have dropped connections; saw %d" % len(conns))
    check(garbage > 0, "the server should have sent garbage")
    check("reconnecting" in run.err(), "client should log its reconnects")
    # every forced drop the client recovered from is a "disconnected" gap
    # for each symbol of the dropped socket's shard
    import sqlite3
    c = sqlite3.connect(os.path.join(work, "sharded.db"))
    gaps = c.execute("SELECT symbol, start, stop FROM gaps WHERE reason = 'disconnected'").fetchall()
    c.close()
    check(len({g[0] for g in gaps}) >= 50, "disconnected gaps cover %d symbols, want a whole shard or more"
          % len({g[0] for g in gaps}))
    check(all(0 < g[1] <= g[2] for g in gaps), "gap bounds: %r" % gaps[:5])
    print("sharded: %d frames over %d connections, %d garbage, %d ticks stored"
          % (len(sent), len(conns), garbage, sum(len(v) for v in stored.values())))

    sent, expected, stored, run = round_trip(work, syms, 5, 150, "one-socket", "")
    check(len(stored) == 100, "one socket with 150 symbols: the server honours 100, stored %d" % len(stored))
    compare(expected, stored, sorted(stored))
    print("one socket: %d of 150 symbols served, as the limit says" % len(stored))
    print("ok")


if __name__ == "__main__":
    main()
