"""/healthz follows a live source: 200 while a WebSocket streamer (python3-
websockets, in this process) sends quotes, 503 naming the silence once it
has sent nothing for longer than --health-silence (the socket stays open,
so only the silence tells), and 200 again when quotes resume. /metrics
counts the WebSocket connect, the subscription sent again to the silent
socket (--silent-timeout) and the gap it leaves, which /api/gaps shows."""
import asyncio
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from http_testlib import check, get, start_run, wait_for  # noqa: E402
from ws_testlib import bare, tmpdir  # noqa: E402

import websockets  # noqa: E402


class PausableStreamer:
    """Sends a quote every 20 ms to each subscriber while `sending` is set."""

    def __init__(self):
        self.sending = threading.Event()
        self.sending.set()
        self.port = None
        self.ready = threading.Event()
        self.stop = None
        threading.Thread(target=lambda: asyncio.run(self.main()), daemon=True).start()

    async def handler(self, ws, path):
        n = 0
        try:
            await ws.recv()                 # the subscribe message
            while True:
                if self.sending.is_set():
                    n += 1
                    await ws.send(bare("HLTH-X", 100.0 + n * 0.01, int(time.time() * 1000)))
                await asyncio.sleep(0.02)
        except websockets.ConnectionClosed:
            pass                            # tickpipe stopped

    async def main(self):
        self.stop = asyncio.get_running_loop().create_future()
        async with websockets.serve(self.handler, "127.0.0.1", 0) as srv:
            self.port = srv.sockets[0].getsockname()[1]
            self.ready.set()
            await self.stop


def health(port):
    status, body = get(port, "/healthz")
    return status, body.decode().strip()


def main():
    work = tmpdir("tp-http-health-")
    srv = PausableStreamer()
    check(srv.ready.wait(10), "the streamer did not start")
    run, port = start_run(work, ["--source", "yahoo:ws://127.0.0.1:%d/" % srv.port, "--symbols", "HLTH-X",
                                 "--store", "sqlite:" + os.path.join(work, "t.db"),
                                 "--deadletter", os.path.join(work, "dl.jsonl"),
                                 "--health-silence", "1s", "--silent-timeout", "1s"])
    try:
        db_ticks = lambda: b"HLTH-X" in get(port, "/api/latest")[1]  # noqa: E731
        wait_for(db_ticks, 20, "the first quotes stored", [run])
        s = health(port)
        check(s[0] == 200, "/healthz while quotes flow: %s" % (s,))
        srv.sending.clear()
        s = wait_for(lambda: (lambda h: h if h[0] == 503 else None)(health(port)), 20,
                     "/healthz to turn 503 once the source is silent", [run])
        check("silent" in s[1], "the 503 should say the source is silent: %s" % (s,))
        print("silent source: /healthz %d %s" % s)
        metric = lambda name: sum(float(line.split()[-1]) for line in get(port, "/metrics")[1]  # noqa: E731
                                  .decode().splitlines() if line.startswith(name + " "))
        wait_for(lambda: metric("tickpipe_ws_resubscribes_total") >= 1, 20,
                 "a new subscription on the silent socket", [run])
        srv.sending.set()
        wait_for(lambda: health(port)[0] == 200, 20, "/healthz back to 200 when quotes resume", [run])
        metrics = get(port, "/metrics")[1].decode()
        check("tickpipe_ws_connects_total 1" in metrics, "one WebSocket connect counted:\n" +
              "\n".join(line for line in metrics.splitlines() if "ws_" in line))
        check("tickpipe_ws_silent_sockets_total 1" in metrics, "one silent socket counted")
        wait_for(lambda: metric("tickpipe_gaps_total") >= 1, 20, "the silence counted as a gap", [run])
        gaps = get(port, "/api/gaps")[1].decode()
        check("HLTH-X" in gaps and "silent" in gaps, "/api/gaps shows the silence: " + gaps)
        check(run.stop() == 0, "run did not stop cleanly:\n" + run.err())
    finally:
        run.kill()
    print("ok")


if __name__ == "__main__":
    main()
