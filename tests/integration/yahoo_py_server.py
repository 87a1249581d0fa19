"""An independent streamer for tests, written with Debian python3-websockets.

Behaves like the reference says Yahoo does, and worse:
- at most LIMIT symbols per connection; symbols beyond that are silently ignored;
- re-sends the last frame of every symbol on (re)subscribe;
- drops connections mid-stream (TCP close without a close frame, or a close
  frame), after a random number of frames;
- sends garbage frames now and then;
- closes the socket on a malformed control message.
A generator produces ROUNDS rounds over the symbols given on the command
line; every frame written to a socket is logged as "conn<TAB>symbol<TAB>frame"
(symbol "-" for garbage). Prints "ws://127.0.0.1:PORT/" when listening and
"done" on stderr when the generator has finished and every connection has
been sent everything it is owed. On SIGINT/SIGTERM it stops accepting,
sends and logs what each connection has queued, closes it with 1001 and
exits: from then on the log holds exactly the frames the client was sent.

usage: yahoo_py_server.py SENT_LOG ROUNDS SYMBOL...
"""
import asyncio
import json
import os
import random
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ws_testlib import bare, envelope  # noqa: E402

import websockets  # noqa: E402

LIMIT = 100
GARBAGE = ["%%% not base64 %%%", '{"type":"pricing","message":"!!!!"}', "Zm9v"]


class Server:
    def __init__(self, log_path, rounds, syms):
        self.log = open(log_path, "w", buffering=1)
        self.rounds, self.syms = rounds, syms
        self.last = {}          # symbol -> last frame generated (bare)
        self.conns = {}
        self.next_id = 0
        self.generating = True
        self.rng = random.Random(7)

    def sent(self, cid, sym, frame):
        self.log.write("%d\t%s\t%s\n" % (cid, sym, frame))

    async def handler(self, ws, path):
        self.next_id += 1
        cid = self.next_id
        v2 = "version=2" in path
        st = {"subs": set(), "queue": asyncio.Queue(), "v2": v2,
              "budget": self.rng.randint(150, 500), "inflight": 0}
        self.conns[cid] = st
        sender = asyncio.ensure_future(self.send_loop(ws, cid, st))
        st["sender"] = sender
        try:
            async for msg in ws:
                try:
                    ctl = json.loads(msg)
                    (key, arr), = ctl.items()
                    assert key in ("subscribe", "unsubscribe") and isinstance(arr, list)
                    assert all(isinstance(s, str) for s in arr)
                except Exception:
                    await ws.close(1008, "bad request")
                    break
                for s in arr:
                    if key == "unsubscribe":
                        st["subs"].discard(s)
                    elif s in st["subs"] or len(st["subs"]) < LIMIT:
                        st["subs"].add(s)
                        if s in self.last:
                            st["queue"].put_nowait((s, self.last[s]))
        except websockets.ConnectionClosed:
            pass
        finally:
            sender.cancel()
            del self.conns[cid]

    async def send_loop(self, ws, cid, st):
        while True:
            item = await st["queue"].get()
            if item is None:                    # stopping: everything queued is out
                await ws.close(1001, "going away")
                return
            sym, frame = item
            st["inflight"] = 1
            if sym != "-" and st["v2"]:
                frame = envelope(frame)
            try:
                await ws.send(frame)
            except websockets.ConnectionClosed:
                return
            self.sent(cid, sym, frame)
            st["inflight"] = 0
            st["budget"] -= 1
            if st["budget"] <= 0:
                if cid % 2:
                    ws.transport.close()        # abrupt: no close frame
                else:
                    await ws.close(1001, "going away")
                return

    async def generate(self):
        t0 = 1736509141000
        for r in range(self.rounds):
            for i, s in enumerate(self.syms):
                frame = bare(s, 50.0 + i + r * 0.5, t0 + r * 1000 + i, 500 + r)
                self.last[s] = frame
                for st in self.conns.values():
                    if s in st["subs"]:
                        st["queue"].put_nowait((s, frame))
                if (r * len(self.syms) + i) % 997 == 13:
                    g = self.rng.choice(GARBAGE)
                    for st in self.conns.values():
                        if st["subs"]:
                            st["queue"].put_nowait(("-", g))
            await asyncio.sleep(0.02)
        self.generating = False
        while any(not st["queue"].empty() or st["inflight"] for st in self.conns.values()):
            await asyncio.sleep(0.05)
        self.log.flush()
        print("done", file=sys.stderr, flush=True)

    async def main(self):
        async with websockets.serve(self.handler, "127.0.0.1", 0, ping_interval=None) as srv:
            port = srv.sockets[0].getsockname()[1]
            print("ws://127.0.0.1:%d/" % port, flush=True)
            stop = asyncio.Event()
            for sig in (signal.SIGINT, signal.SIGTERM):
                asyncio.get_running_loop().add_signal_handler(sig, stop.set)
            while not self.conns and not stop.is_set():
                await asyncio.sleep(0.01)
            gen = asyncio.ensure_future(self.generate())
            while not stop.is_set():
                try:
                    await asyncio.wait_for(stop.wait(), 0.2)
                except asyncio.TimeoutError:
                    pass
                self.log.flush()
            gen.cancel()
            await self.stop(srv)

    async def stop(self, srv):
        """Stops accepting, lets every connection send what it has queued
        (and log it), then closes it with 1001; the log is then final."""
        srv.server.close()
        senders = []
        for st in self.conns.values():
            st["queue"].put_nowait(None)
            senders.append(st["sender"])
        if senders:
            await asyncio.wait(senders, timeout=10)
        self.log.flush()
        print("stopped", file=sys.stderr, flush=True)


if __name__ == "__main__":
    log_path, rounds = sys.argv[1], int(sys.argv[2])
    asyncio.run(Server(log_path, rounds, sys.argv[3:]).main())
