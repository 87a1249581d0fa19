"""process --http: ingest a replay into the mock Kafka cluster, consume it
with `process --http 127.0.0.1:0`, and read /metrics with the Prometheus
client's parser while process runs: the counters equal process's summary
line after SIGINT, every partition shows its consumer lag (0 at the end),
/healthz is 200 when idle at the end of the topic, and /api/latest equals
`tickpipe query latest --format json`."""
import os
import re
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_harness as h  # noqa: E402
from http_testlib import get  # noqa: E402

from prometheus_client.parser import text_string_to_metric_families  # noqa: E402


def scrape(port):
    status, body = get(port, "/metrics")
    if status != 200:
        h.fail("/metrics: status %d" % status)
    out = {}
    for fam in text_string_to_metric_families(body.decode()):
        for s in fam.samples:
            out[s.name + "".join("{%s=%s}" % kv for kv in sorted(s.labels.items()))] = s.value
    return out


def main():
    wd = h.Workdir("tp-http-process-")
    mock = h.Mock(brokers=1, topics=(("ticks", 4),))
    proc = None
    try:
        frames = h.real_plus_generated(wd, 3000)
        h.ingest(mock, frames)
        db = wd("p.db")
        err_path = wd("process.err")
        with open(err_path, "w") as err:
            proc = subprocess.Popen([h.TP_BIN] + h.process_args(mock, db, "--deadletter", wd("dl.jsonl"),
                                                                 "--http", "127.0.0.1:0"),
                                    stdout=subprocess.DEVNULL, stderr=err)
        port = []
        h.wait_for(lambda: port.extend(re.findall(r"serving http on port (\d+)", open(err_path).read()))
                   or port, 20, "the http server")
        port = int(port[0])
        m = {}

        def settled():
            m.clear()
            m.update(scrape(port))
            lags = [v for k, v in m.items() if k.startswith("tickpipe_kafka_consumer_lag{")]
            return (len(lags) == 4 and all(v == 0 for v in lags) and m["tickpipe_frames_total"] > 0
                    and m["tickpipe_store_rows_total{table=ticks}"] == m["tickpipe_applied_total"])
        h.wait_for(settled, 60, "every partition consumed (lag 0 on 4 partitions) and committed")
        h.wait_for(lambda: get(port, "/healthz")[0] == 200, 20, "/healthz 200 at the end of the topic")
        status, body = get(port, "/api/latest")
        want = subprocess.run([h.TP_BIN, "query", "--store", "sqlite:" + db, "latest", "--format", "json"],
                              capture_output=True, timeout=60).stdout
        if status != 200 or body != want or len(body) < 10:
            h.fail("/api/latest (%d) differs from query latest:\n%s\n---\n%s" % (status, body[:300], want[:300]))
        m = scrape(port)
        proc.send_signal(signal.SIGINT)
        if proc.wait(60) != 0:
            h.fail("process failed: " + open(err_path).read()[-2000:])
        s = h.summary(open(err_path).read())
        rejected = sum(v for k, v in m.items() if k.startswith("tickpipe_rejected_total{"))
        got = {"frames": m["tickpipe_frames_total"], "applied": m["tickpipe_applied_total"],
               "duplicates": m["tickpipe_duplicates_total"], "rejected": rejected,
               "skipped": m["tickpipe_skipped_total"], "late": m["tickpipe_late_total"],
               "lost": m["tickpipe_kafka_lost_messages_total"],
               "fenced": m["tickpipe_kafka_fenced_commits_total"]}
        if got != s:
            h.fail("metrics %s != summary %s" % (got, s))
        if m["tickpipe_store_rows_total{table=ticks}"] != s["applied"] or \
                m["tickpipe_tick_latency_seconds_count"] != s["applied"]:
            h.fail("rows/latency counts != applied %d: %s" % (s["applied"], m))
        print("process: metrics %s equal the summary; lag 0 on 4 partitions" % s)
    finally:
        if proc and proc.poll() is None:
            proc.kill()
            proc.wait()
        mock.stop()
        wd.cleanup()
    print("ok")


if __name__ == "__main__":
    main()
