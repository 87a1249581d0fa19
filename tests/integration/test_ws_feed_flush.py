"""feed's --log-sent is the truth other tests compare against: a frame is
logged only if the peer gets it, even when feed closes the socket.

A Python websockets client that reads slowly (small read buffers, pauses
while feed streams at --speed 0, so feed's socket buffers are full and
lws holds partial writes) must receive exactly the frames feed logged for
its connection, in order, and then a close frame with code 1001:
  1. when feed drops the connection itself (--drop-every);
  2. when feed is stopped with SIGINT mid-stream.
"""
import asyncio
import json
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ws_testlib import (check, fail, read_sent_log, start_feed, symbols, tmpdir,  # noqa: E402
                        write_recording)

import websockets  # noqa: E402


async def slow_reader(url, syms, on_stalled=None):
    """Subscribes, reads a little, stops reading for a while (feed's sends
    back up), calls on_stalled, then reads everything until the close.
    Returns (frames received, close code)."""
    got = []
    async with websockets.connect(url, compression=None, max_queue=1, read_limit=1024,
                                  close_timeout=10) as ws:
        await ws.send(json.dumps({"subscribe": syms}))
        try:
            for _ in range(50):
                got.append(await asyncio.wait_for(ws.recv(), 10))
            await asyncio.sleep(0.5)
            if on_stalled:
                await asyncio.get_running_loop().run_in_executor(None, on_stalled)
            while True:
                got.append(await asyncio.wait_for(ws.recv(), 20))
        except websockets.ConnectionClosed as e:
            return got, e.code
        except asyncio.TimeoutError:
            fail("feed neither sent nor closed for 20 s")


def logged_frames(path, conn="1"):
    return [fr for c, _, fr in read_sent_log(path) if c == conn]


def same(got, logged, what):
    if got == logged:
        return
    n = next((i for i, (a, b) in enumerate(zip(got, logged)) if a != b), min(len(got), len(logged)))
    fail("%s: received %d frames, feed logged %d as sent; first difference at #%d"
         % (what, len(got), len(logged), n))


def main():
    work = tmpdir("tp-ws-flush-")
    syms = symbols(4)
    rec = os.path.join(work, "rec.txt")
    write_recording(rec, syms, per_symbol=200, step_us=1000)
    url_q = "?version=2"

    # 1. feed drops the connection after N frames
    log1 = os.path.join(work, "drop.sent")
    feed, url = start_feed(work, rec, ["--speed", "0", "--loop", "--drop-every", "20000",
                                       "--log-sent", log1], name="drop-feed")
    try:
        got, code = asyncio.run(slow_reader(url + url_q, syms))
        check(feed.stop() == 0, "feed did not exit 0 on SIGINT")
    finally:
        feed.kill()
    logged = logged_frames(log1)
    check(len(logged) == 20000, "feed should log exactly --drop-every frames, logged %d" % len(logged))
    same(got, logged, "--drop-every")
    check(code == 1001, "--drop-every: expected close code 1001, got %s" % code)
    print("drop: %d frames received and logged, close %d" % (len(got), code))

    # 2. feed stopped with SIGINT while its socket buffers are full
    log2 = os.path.join(work, "stop.sent")
    feed, url = start_feed(work, rec, ["--speed", "0", "--loop", "--log-sent", log2],
                           name="stop-feed")
    try:
        got, code = asyncio.run(slow_reader(url + url_q, syms,
                                            lambda: feed.p.send_signal(signal.SIGINT)))
        rc = feed.stop()
    finally:
        feed.kill()
    check(rc == 0, "feed did not exit 0 on SIGINT: %s\n%s" % (rc, feed.err()[-2000:]))
    logged = logged_frames(log2)
    check(len(logged) > 1000, "feed should have streamed before the stop, logged %d" % len(logged))
    same(got, logged, "SIGINT")
    check(code == 1001, "SIGINT: expected close code 1001 (going away), got %s" % code)
    print("stop: %d frames received and logged, close %d" % (len(got), code))
    print("ok")


if __name__ == "__main__":
    main()
