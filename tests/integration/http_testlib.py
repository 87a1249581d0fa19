"""Helpers for the --http integration tests (test_http_*.py): start a
tickpipe with --http on an ephemeral port, GET a path, and collect /stream
messages on a thread (python3-websockets). Every wait has a deadline."""
import asyncio
import http.client
import json
import os
import re
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ws_testlib import BIN, Proc, check, fail, wait_for  # noqa: E402,F401

import websockets  # noqa: E402


class StdinProc(Proc):
    """A Proc whose stdin is a pipe the test writes to and closes."""

    def __init__(self, args, workdir, name, env=None):
        self.name = name
        self.out_path = os.path.join(workdir, name + ".out")
        self.err_path = os.path.join(workdir, name + ".err")
        e = dict(os.environ)
        e.update(env or {})
        self.p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=open(self.out_path, "w"),
                                  stderr=open(self.err_path, "w"), env=e)


def start_run(work, args, name="run", stdin=False, env=None):
    """Starts `tickpipe run ARGS --http 127.0.0.1:0`; returns (proc, port)."""
    cls = StdinProc if stdin else Proc
    p = cls([BIN, "run"] + list(args) + ["--http", "127.0.0.1:0"], work, name, env)
    m = wait_for(lambda: re.search(r"serving http on port (\d+)", p.err()), 20, "the http server", [p])
    return p, int(m.group(1))


def get(port, path, timeout=10):
    """(status, body bytes) of GET path."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def get_json(port, path):
    status, body = get(port, path)
    check(status == 200, "GET %s: status %d: %s" % (path, status, body[:300]))
    return json.loads(body)


class StreamCollector:
    """Connects to /stream and keeps every event until the server closes."""

    def __init__(self, port, query=""):
        self.url = "ws://127.0.0.1:%d/stream%s" % (port, query)
        self.events, self.messages = [], 0
        self.connected = threading.Event()
        self.closed = threading.Event()
        self.error = None
        self.t = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self.t.start()

    async def _run(self):
        try:
            async with websockets.connect(self.url, max_size=None) as ws:
                self.connected.set()
                async for msg in ws:
                    self.messages += 1
                    self.events.extend(json.loads(msg))
        except websockets.ConnectionClosed:
            pass
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.error = repr(e)
        finally:
            self.connected.set()
            self.closed.set()
