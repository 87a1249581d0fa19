"""The live source against `tickpipe feed` on loopback.

150 symbols sharded over 3 sockets, feed dropping every connection after
400 frames (so the client reconnects and re-subscribes many times), a few
garbage frames in the recording; both the version=2 envelope and bare
base64. For every symbol, the ticks `run` stored must equal the frames feed
logged as sent, minus payload repeats (the snapshot re-sent on subscribe).
Then feed's own protocol: subscribe filters symbols, a snapshot comes on
subscribe, unsubscribe stops a symbol, a malformed control message closes
the socket with 1008.
"""
import asyncio
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ws_testlib import (BIN, Proc, check, compare, count_ticks, dedup_by_symbol, fail,  # noqa: E402
                        payload_b64, read_sent_log, start_feed, stored_payloads, symbol_of,
                        symbols, tmpdir, wait_for, write_recording)

import websockets  # noqa: E402

CLIENT_ENV = {"TP_WS_BACKOFF_MIN_MS": "100", "TP_WS_BACKOFF_MAX_MS": "400"}


def client_run(work, url, syms, tag):
    symfile = os.path.join(work, "symbols.txt")
    with open(symfile, "w") as f:
        f.write("\n".join(syms) + "\n")
    db = os.path.join(work, tag + ".db")
    dl = os.path.join(work, tag + ".deadletter.jsonl")
    run = Proc([BIN, "run", "--source", "yahoo:" + url, "--symbols-file", symfile,
                "--store", "sqlite:" + db, "--deadletter", dl, "--log-level", "info"],
               work, tag + "-run", CLIENT_ENV)
    return run, db, dl


def stream_round(work, rec, syms, query, tag):
    sent_path = os.path.join(work, tag + ".sent")
    feed, url = start_feed(work, rec, ["--speed", "2", "--drop-every", "400", "--log-sent", sent_path],
                           name=tag + "-feed")
    run, db, dl = client_run(work, url + query, syms, tag)
    try:
        wait_for(lambda: "replay done" in feed.err(), 90, "feed to finish the replay", [feed, run])
        # Stop feed before the client: a socket that reconnects after "replay
        # done" still gets its symbols' snapshots, and the client must not be
        # stopped while they are in flight. feed exits after closing every
        # socket with a close handshake (test_ws_feed_flush.py), so its log
        # is then final and the client has been sent all of it.
        check(feed.stop() == 0, "feed did not exit 0 on SIGINT:\n" + feed.err()[-2000:])
        sent = read_sent_log(sent_path)
        expected = dedup_by_symbol((s, payload_b64(fr)) for _, s, fr in sent if s != "-")
        total = sum(len(v) for v in expected.values())
        wait_for(lambda: count_ticks(db) >= total, 30, "%d ticks in the store" % total, [run])
        check(run.stop() == 0, "run did not exit 0 on SIGINT:\n" + run.err()[-2000:])
    finally:
        run.kill()
        feed.kill()
    compare(expected, stored_payloads(db), syms)
    conns = {c for c, _, _ in sent}
    check(len(conns) >= 6, "expected reconnects (drop every 400 frames), saw %d connections" % len(conns))
    garbage = sum(1 for _, s, _ in sent if s == "-")
    check(garbage >= 2, "feed should have sent the garbage lines, sent %d" % garbage)
    rejected = sum(1 for _ in open(dl)) if os.path.exists(dl) else 0
    check(rejected == garbage, "deadletter has %d lines, feed sent %d garbage frames" % (rejected, garbage))
    wrapped = all(fr.startswith("{") == (query != "") for _, s, fr in sent if s != "-")
    check(wrapped, "frames must be enveloped exactly when the URL has version=2")
    check("subscribing" in run.err(), "client log should show subscriptions")
    print("%s: %d symbols, %d frames sent over %d connections, %d ticks stored, %d garbage rejected"
          % (tag, len(syms), len(sent), len(conns), total, rejected))


async def protocol_checks(url, syms):
    async with websockets.connect(url + "?version=2") as ws:
        await ws.send(json.dumps({"subscribe": [syms[0], syms[1]]}))
        seen = set()
        for _ in range(10):
            msg = await asyncio.wait_for(ws.recv(), 10)
            check(msg.startswith('{"type":"pricing"'), "version=2 frames are enveloped: " + msg[:60])
            seen.add(symbol_of(msg))
        check(seen <= {syms[0], syms[1]}, "only subscribed symbols: got %s" % seen)
        await ws.send(json.dumps({"unsubscribe": [syms[0]]}))
        await ws.send(json.dumps({"subscribe": [syms[2]]}))
        got = []
        for _ in range(200):
            try:
                got.append(symbol_of(await asyncio.wait_for(ws.recv(), 3)))
            except asyncio.TimeoutError:
                break
        tail = got[-50:]
        check(syms[2] in got, "subscribing to %s later must deliver it (snapshot or stream)" % syms[2])
        check(syms[0] not in tail, "unsubscribed symbol %s still streaming" % syms[0])
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"subscribe": [syms[3]]}))
        msg = await asyncio.wait_for(ws.recv(), 10)
        check(not msg.startswith("{") and symbol_of(msg) == syms[3], "bare frames without version=2")
    for bad in ['{"subscribe":"AAPL"}', '{"subscribe":[null]}', '{"subscribe":["A"],"x":1}',
                '{"sub":["A"]}', "not json"]:
        async with websockets.connect(url) as ws:
            await ws.send(bad)
            try:
                while True:
                    await asyncio.wait_for(ws.recv(), 10)
            except websockets.ConnectionClosed as e:
                check(e.code == 1008, "malformed %r: expected close 1008, got %s" % (bad, e.code))
            except asyncio.TimeoutError:
                fail("feed did not close the socket after malformed %r" % bad)


def main():
    work = tmpdir("tp-ws-feed-")
    syms = symbols(150)
    rec = os.path.join(work, "rec.txt")
    write_recording(rec, syms, per_symbol=20, step_us=2000,
                    garbage=["this is not base64!", '{"type":"pricing","message":"@@@@"}'])
    stream_round(work, rec, syms, "?version=2", "v2")
    stream_round(work, rec, syms, "", "bare")
    slow = os.path.join(work, "slow.txt")
    write_recording(slow, syms[:4], per_symbol=400, step_us=20000)
    feed, url = start_feed(work, slow, ["--speed", "1"], name="proto-feed")
    try:
        asyncio.run(protocol_checks(url, syms[:4]))
        check(feed.stop() == 0, "feed did not exit 0 on SIGINT")
    finally:
        feed.kill()
    print("ok")


if __name__ == "__main__":
    main()
