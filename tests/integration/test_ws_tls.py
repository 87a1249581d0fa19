"""wss:// against `tickpipe feed --tls-cert/--tls-key` with a self-signed
certificate made by openssl at test time: the client connects when given the
certificate with --tls-ca, and refuses (exit 1, a message naming the
certificate problem and --tls-ca) without it, for record and run alike."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ws_testlib import BIN, check, start_feed, symbols, tmpdir, write_recording  # noqa: E402


def main():
    work = tmpdir("tp-ws-tls-")
    cert, key = os.path.join(work, "cert.pem"), os.path.join(work, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    syms = symbols(3)
    rec = os.path.join(work, "rec.txt")
    write_recording(rec, syms, per_symbol=50, step_us=1000)
    feed, url = start_feed(work, rec, ["--speed", "0", "--tls-cert", cert, "--tls-key", key])
    try:
        check(url.startswith("wss://"), "feed with a certificate serves wss://, printed " + url)
        out = os.path.join(work, "got.txt")
        r = subprocess.run([BIN, "record", "--source", "yahoo:" + url, "--symbols", ",".join(syms),
                            "--tls-ca", cert, "--out", out, "--max-frames", "30"],
                           capture_output=True, text=True, timeout=60)
        check(r.returncode == 0, "record over wss with --tls-ca failed: " + r.stderr)
        check(sum(1 for _ in open(out)) == 30, "expected 30 frames recorded over wss")
        for cmd in (["record", "--out", os.path.join(work, "no.txt")],
                    ["run", "--store", "sqlite:" + os.path.join(work, "no.db"),
                     "--deadletter", os.path.join(work, "no.dl")]):
            r = subprocess.run([BIN] + cmd + ["--source", "yahoo:" + url, "--symbols", syms[0]],
                               capture_output=True, text=True, timeout=60)
            check(r.returncode == 1, "%s without --tls-ca must fail with 1, got %d: %s"
                  % (cmd[0], r.returncode, r.stderr))
            check("certificate" in r.stderr and "--tls-ca" in r.stderr,
                  "%s: the error should name the certificate and --tls-ca: %s" % (cmd[0], r.stderr))
        r = subprocess.run([BIN, "record", "--source", "yahoo:" + url, "--tls-ca", key,
                            "--out", os.path.join(work, "x.txt")], capture_output=True, text=True, timeout=30)
        check(r.returncode == 2 and "--tls-ca" in r.stderr, "a CA file without a certificate is a usage error")
    finally:
        feed.kill()
    print("ok")


if __name__ == "__main__":
    main()
