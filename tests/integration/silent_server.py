"""A streamer that goes silent while answering pings (python3-websockets),
for test_ws_silent.py. Not a test itself.

Connection 1: on its first subscribe it sends BURST frames per answered
symbol, then nothing (pings are still answered: the socket looks healthy);
on a second subscribe it sends BURST more, then nothing again and ignores
any further subscribe. Connection 2 and later: BURST frames on the first
subscribe, then nothing. Symbols named GHOST* are never answered. Every
control message is logged to stdout as "conn<TAB>message"; prints
"ws://127.0.0.1:PORT/" when listening.

usage: silent_server.py BURST
"""
import asyncio
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ws_testlib import bare  # noqa: E402

import websockets  # noqa: E402


class Server:
    def __init__(self, burst):
        self.burst = burst
        self.nconn = 0
        self.price = 100.0

    async def send_burst(self, ws, syms):
        for _ in range(self.burst):
            for s in syms:
                if s.startswith("GHOST"):
                    continue
                self.price += 0.25
                await ws.send(bare(s, self.price, int(time.time() * 1000)))

    async def handler(self, ws, path=None):
        self.nconn += 1
        cid, nsub = self.nconn, 0
        async for msg in ws:
            print("%d\t%s" % (cid, msg), flush=True)
            nsub += 1
            syms = json.loads(msg).get("subscribe", [])
            if nsub == 1 or (cid == 1 and nsub == 2):
                await self.send_burst(ws, syms)

    async def main(self):
        async with websockets.serve(self.handler, "127.0.0.1", 0, ping_interval=None) as srv:
            print("ws://127.0.0.1:%d/" % srv.sockets[0].getsockname()[1], flush=True)
            await asyncio.Future()


if __name__ == "__main__":
    try:
        asyncio.run(Server(int(sys.argv[1])).main())
    except KeyboardInterrupt:
        pass
