/*
 * cmd_kafka.c - the Kafka roles: `tickpipe ingest` (source -> topic) and
 * `tickpipe process` (topic -> processor -> store).
 *
 * ingest opens the producer, the dead-letter file and the source, checks
 * that the topics exist, and drives the loop of src/pipeline/kafka_ingest.c
 * (validate, produce keyed by symbol, dead-letter); at the end it flushes
 * and prints the summary line with the number left undelivered.
 *
 * process parses its options, opens the store (and --http) and drives the
 * consumer-group loop of src/pipeline/kafka_process.c: rebalances, zombie
 * fencing, the re-delivery protocol and loss accounting live there. This
 * file decides the exit status (2 bad usage, 1 runtime error) and prints
 * the summary line.
 *
 * Threads: both commands run on the main thread only; librdkafka's
 * callbacks reach us on this thread. SIGINT/SIGTERM (main.c's stop flag)
 * end the loop cleanly: flush, commit, leave the group. With --http,
 * process also serves metrics, health, the API and the dashboard from the
 * HTTP thread (src/http/), fed by relaxed atomics the pipeline publishes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../bus/tp_kafka.h"
#include "../core/tp_error.h"
#include "../core/tp_quote.h"
#include "../core/tp_deadletter.h"
#include "../core/tp_log.h"
#include "../core/tp_strlist.h"
#include "../process/tp_processor.h"
#include "../sink/tp_store.h"
#include "../codec/tp_decode.h"
#include "../source/tp_source.h"
#include "../pipeline/tp_kafka_ingest.h"
#include "../pipeline/tp_kafka_process.h"
#include "tp_cmd.h"
#include "tp_opts.h"

/* ---- ingest ------------------------------------------------------------ */

struct ingest {
    const char *source, *brokers, *topic, *dlq_topic, *deadletter, *symbols, *log_level;
    const char *symbols_file, *tls_ca;
    char *symbols_buf;        /* --symbols-file, read */
    struct tp_strlist conf;
    int64_t timeout_ms, flush_ms, symbols_per_socket, silent_ms;
    struct tp_kafka_producer *p;
    struct tp_source *src;
    FILE *dead;
    struct tp_kafka_ingest *ki;
    char errbuf[512];
};

static int ingest_open(struct ingest *in) {
    int rc = tp_kafka_producer_new(&in->p, in->brokers, in->conf.v, in->conf.n, in->errbuf,
                                   sizeof in->errbuf);
    if (rc < 0)
        return rc == TP_EINVAL ? 2 : 1;
    if (in->deadletter && !(in->dead = fopen(in->deadletter, "a"))) {
        snprintf(in->errbuf, sizeof in->errbuf, "--deadletter %s: %s", in->deadletter,
                 strerror(errno));
        return 1;
    }
    rc = tp_kafka_producer_check(in->p, in->topic, (int)in->timeout_ms, in->errbuf,
                                 sizeof in->errbuf);
    if (rc == 0 && in->dlq_topic)
        rc = tp_kafka_producer_check(in->p, in->dlq_topic, (int)in->timeout_ms, in->errbuf,
                                     sizeof in->errbuf);
    if (rc < 0)
        return 1;
    if (in->symbols_file &&
        !(in->symbols_buf = tp_cmd_read_symbols_file(in->symbols_file, in->errbuf, sizeof in->errbuf)))
        return 2;
    struct tp_source_opts so = {.symbols = in->symbols_buf ? in->symbols_buf : in->symbols,
                                .tls_ca = in->tls_ca,
                                .symbols_per_socket = (int)in->symbols_per_socket,
                                .silent_timeout_ms = in->silent_ms,
                                .stop = tp_stop_flag()};
    rc = tp_source_open(&in->src, in->source, &so, in->errbuf, sizeof in->errbuf);
    if (rc < 0)
        return rc == TP_EINVAL ? 2 : 1;
    struct tp_kafka_ingest_opts ko = {.topic = in->topic, .dlq_topic = in->dlq_topic,
                                      .source_name = in->source, .dead = in->dead,
                                      .stop = tp_stop_flag()};
    rc = tp_kafka_ingest_new(&in->ki, in->p, in->src, &ko, in->errbuf, sizeof in->errbuf);
    return rc < 0 ? 1 : 0;
}

static int ingest_finish(struct ingest *in, int status) {
    char ferr[512] = "";
    int rc = tp_kafka_ingest_flush(in->ki, (int)in->flush_ms, ferr, sizeof ferr);
    struct tp_kafka_ingest_stats s;
    tp_kafka_ingest_stats(in->ki, &s);
    fprintf(stderr,
            "tickpipe: done frames=%lld produced=%lld rejected=%lld skipped=%lld "
            "delivered=%lld undelivered=%lld\n",
            (long long)s.frames, (long long)s.produced, (long long)s.rejected,
            (long long)s.skipped, (long long)s.delivered, (long long)s.undelivered);
    if (s.queue_full_waits > 0)
        tp_info("ingest", "librdkafka's queue was full %lld times; each time ingest waited for "
                "deliveries (queue.buffering.max.messages/kbytes set its size)",
                (long long)s.queue_full_waits);
    if (rc < 0) {
        fprintf(stderr, "tickpipe ingest: %s\n", ferr);
        status = 1;
    }
    return status;
}

/* Parses the options into in: 0 to go on, -1 after --help or
 * --print-config (exit 0), or 2 on bad usage (printed). */
static int ingest_parse(struct ingest *in, int argc, char **argv, struct tp_opts_mem **om) {
    const struct tp_opt table[] = {
        {"source", TP_OPT_STR, &in->source, NULL, "SRC", "where frames come from (yahoo, yahoo:URL, replay:PATH, sim)", 0, 0},
        {"kafka", TP_OPT_STR, &in->brokers, NULL, "BROKERS", "bootstrap brokers host:port[,host:port]", 0, 0},
        {"topic", TP_OPT_STR, &in->topic, "ticks", "T", "topic to produce to", 0, 0},
        {"kafka-conf", TP_OPT_LIST, &in->conf, NULL, "K=V", "librdkafka property (SASL, SSL, timeouts...)", 0, 0},
        {"dlq-topic", TP_OPT_STR, &in->dlq_topic, NULL, "T", "also produce rejected frames to this topic", 0, 0},
        {"deadletter", TP_OPT_STR, &in->deadletter, "deadletter.jsonl", "PATH", "append rejected frames as JSON lines", 0, 0},
        {"symbols", TP_OPT_STR, &in->symbols, "BTC-USD,ETH-USD", "LIST", "symbols to subscribe to (live sources)", 0, 0},
        {"symbols-file", TP_OPT_STR, &in->symbols_file, NULL, "FILE", "read symbols from FILE (one per line or comma separated)", 0, 0},
        {"tls-ca", TP_OPT_STR, &in->tls_ca, NULL, "FILE", "extra CA certificate for wss:// sources", 0, 0},
        {"symbols-per-socket", TP_OPT_INT, &in->symbols_per_socket, "50", "N", "shard subscriptions: at most N symbols per WebSocket", 1, 1000},
        {"silent-timeout", TP_OPT_DUR, &in->silent_ms, "30s", "DUR", "a live socket silent this long subscribes again; twice this long, it reconnects", 100, 86400000},
        {"timeout", TP_OPT_DUR, &in->timeout_ms, "10s", NULL, "how long to wait for the brokers at startup", 1, 3600000},
        {"flush-timeout", TP_OPT_DUR, &in->flush_ms, "30s", NULL, "how long to wait for deliveries at shutdown", 1, 3600000},
        {"log-level", TP_OPT_CHOICE, &in->log_level, "warn", "error|warn|info|debug", "how much to log", 0, 0},
        {NULL, 0, NULL, NULL, NULL, NULL, 0, 0}};
    int rc = tp_opts_parse("ingest", "--source SRC --kafka BROKERS [options]",
                           "Reads frames, validates them and produces the PricingData bytes "
                           "to a Kafka topic,\nkeyed by symbol. A replayed file's frames end "
                           "with one more protobuf field\n(15000: the file's id and the line), "
                           "which decoders skip and `process` uses to\nrecognise frames that "
                           "a restarted ingest produces again.",
                           table, argc, argv, NULL, 0, NULL, om);
    if ((rc = tp_cmd_opts_end(rc, "ingest", in->log_level)))
        return rc;
    if (!in->source || !in->brokers) {
        fprintf(stderr, "tickpipe ingest: %s is required (see tickpipe ingest --help)\n",
                in->source ? "--kafka" : "--source");
        return 2;
    }
    const struct tp_cmd_path paths[] = {{"--source", tp_cmd_spec_path(in->source), 0},
                                        {"--deadletter", in->deadletter, 1}};
    tp_cmd_warn_ignored_symbols("ingest", in->source, argc, argv);
    return tp_cmd_check_paths("ingest", paths, 2) ? 2 : 0;
}

int tp_cmd_ingest(int argc, char **argv) {
    struct ingest *in = calloc(1, sizeof *in);
    if (!in)
        return 1;
    in->topic = "ticks";
    TP_OPTS_MEM(om);   /* --config strings the options point into */
    int status = ingest_parse(in, argc, argv, &om);
    if (status) {
        free(in);
        return status < 0 ? 0 : status;
    }
    status = ingest_open(in);
    if (status) {
        fprintf(stderr, "tickpipe ingest: %s\n", in->errbuf);
    } else {
        int rc = tp_kafka_ingest_run(in->ki, in->errbuf, sizeof in->errbuf);
        if (rc < 0)
            fprintf(stderr, "tickpipe ingest: %s\n", in->errbuf);
        status = ingest_finish(in, rc < 0 ? 1 : 0);
    }
    tp_kafka_ingest_free(in->ki);
    tp_source_free(in->src);
    free(in->symbols_buf);
    tp_kafka_producer_free(in->p);
    if (in->dead)
        fclose(in->dead);
    free(in);
    return status;
}

/* ---- process ----------------------------------------------------------- */

struct proc_cfg {
    const char *brokers, *topic, *group, *store_spec, *bars, *deadletter, *log_level;
    const char *instance, *http, *web_root;
    struct tp_strlist conf;
    int64_t lateness_ms, commit_ms, batch, lag_ms, grace_ms, health_stuck;
    int exit_at_end, rebuild;
};

/* Parses the options into c: 0 to go on, -1 after --help or
 * --print-config (exit 0), or 2 on bad usage (printed). */
static int proc_parse(struct proc_cfg *c, int argc, char **argv, struct tp_opts_mem **om) {
    const struct tp_opt table[] = {
        {"kafka", TP_OPT_STR, &c->brokers, NULL, "BROKERS", "bootstrap brokers host:port[,host:port]", 0, 0},
        {"topic", TP_OPT_STR, &c->topic, "ticks", "T", "topic to consume", 0, 0},
        {"group", TP_OPT_STR, &c->group, "tickpipe", "G", "consumer group; instances in one group split the partitions", 0, 0},
        {"store", TP_OPT_STR, &c->store_spec, NULL, "STORE", "sqlite:PATH, cassandra://..., jsonl:PATH", 0, 0},
        {"bars", TP_OPT_STR, &c->bars, "1m", "LIST", "bar intervals, e.g. 1m,5m", 0, 0},
        {"lateness", TP_OPT_DUR, &c->lateness_ms, "10s", NULL, "how long a bar waits for late ticks", 0, 86400000},
        {"deadletter", TP_OPT_STR, &c->deadletter, NULL, "PATH", "append rejected messages as JSON lines", 0, 0},
        {"kafka-conf", TP_OPT_LIST, &c->conf, NULL, "K=V", "librdkafka property (SASL, SSL, timeouts...)", 0, 0},
        {"commit-interval", TP_OPT_DUR, &c->commit_ms, "200ms", NULL, "commit to the store at least this often", 1, 600000},
        {"batch", TP_OPT_INT, &c->batch, "8192", NULL, "commit after this many messages", 1, 1000000},
        {"lag-interval", TP_OPT_DUR, &c->lag_ms, "10s", NULL, "log consumer lag this often", 100, 86400000},
        {"exit-at-end", TP_OPT_FLAG, &c->exit_at_end, NULL, NULL, "exit once every assigned partition is at its end (tests)", 0, 0},
        {"end-grace", TP_OPT_DUR, &c->grace_ms, "1s", NULL, "with --exit-at-end: how long the end must stay idle", 0, 600000},
        {"instance", TP_OPT_STR, &c->instance, NULL, "ID", "static group membership (group.instance.id): a restart within the session keeps its partitions without a rebalance; unique per instance", 0, 0},
        {"rebuild", TP_OPT_FLAG, &c->rebuild, NULL, NULL, "rebuild this store from its own checkpoint (the start of the topic when empty) even though the group has committed further", 0, 0},
        {"log-level", TP_OPT_CHOICE, &c->log_level, "warn", "error|warn|info|debug", "how much to log", 0, 0},
        {"http", TP_OPT_STR, &c->http, NULL, "ADDR", "serve /metrics, /healthz, /api/, /stream and the dashboard on ADDR (PORT = 127.0.0.1:PORT)", 0, 0},
        {"web-root", TP_OPT_STR, &c->web_root, NULL, "DIR", "dashboard files (default: the installed ones, else the build tree's)", 0, 0},
        {"health-stuck", TP_OPT_DUR, &c->health_stuck, "30s", "DUR", "/healthz fails when the processing makes no progress for DUR", 1, 86400000},
        {NULL, 0, NULL, NULL, NULL, NULL, 0, 0}};
    int rc = tp_opts_parse("process", "--kafka BROKERS --store STORE [options]",
                           "Consumes ticks from Kafka as a consumer-group member and stores "
                           "ticks, bars and latest with exactly-once results.",
                           table, argc, argv, NULL, 0, NULL, om);
    if ((rc = tp_cmd_opts_end(rc, "process", c->log_level)))
        return rc;
    if (!c->brokers || !c->store_spec) {
        fprintf(stderr, "tickpipe process: %s is required (see tickpipe process --help)\n",
                c->brokers ? "--store" : "--kafka");
        return 2;
    }
    const struct tp_cmd_path paths[] = {{"--store", tp_cmd_spec_path(c->store_spec), 1},
                                        {"--deadletter", c->deadletter, 1}};
    return tp_cmd_check_paths("process", paths, 2) ? 2 : 0;
}

/* What process holds while it runs. */
struct proc {
    struct proc_cfg c;
    struct tp_store *st;
    struct tp_cmd_http web;
    struct tp_kafka_process *kp;
    char errbuf[1024];
};

/* Opens the store, the --http server and the pipeline. Returns 0 or the
 * exit status, with pr->errbuf set when not printed yet. */
static int proc_open(struct proc *pr) {
    struct tp_kafka_process_opts o = {
        .brokers = pr->c.brokers, .topic = pr->c.topic, .group = pr->c.group,
        .store_spec = pr->c.store_spec, .instance = pr->c.instance,
        .conf = pr->c.conf.v, .nconf = pr->c.conf.n,
        .rebuild = pr->c.rebuild, .exit_at_end = pr->c.exit_at_end,
        .commit_ms = pr->c.commit_ms, .lag_ms = pr->c.lag_ms, .grace_ms = pr->c.grace_ms,
        .po = {.lateness_ms = pr->c.lateness_ms, .deadletter_path = pr->c.deadletter,
               .batch_ticks = (int)pr->c.batch},
        .stop = tp_stop_flag()};
    int rc = tp_parse_bars(pr->c.bars, o.po.bar_ms, TP_MAX_BARS, pr->errbuf, sizeof pr->errbuf);
    if (rc < 0)
        return 2;
    o.po.nbars = rc;
    rc = tp_store_open(&pr->st, pr->c.store_spec, pr->errbuf, sizeof pr->errbuf);
    if (rc < 0)
        return rc == TP_EINVAL ? 2 : 1;
    struct tp_cmd_http_opts ho = {.addr = pr->c.http, .web_root = pr->c.web_root,
                                  .store = pr->c.store_spec, .stuck_ms = pr->c.health_stuck};
    if ((rc = tp_cmd_http_start(&pr->web, "process", &ho, &pr->st))) {
        pr->errbuf[0] = '\0';   /* already reported */
        return rc;
    }
    o.m = pr->web.m;
    o.tap = pr->web.tap;
    rc = tp_kafka_process_new(&pr->kp, pr->st, &o, pr->errbuf, sizeof pr->errbuf);
    if (rc < 0)   /* other settings on the store or a bad property: usage */
        return rc == TP_EINVAL ? 2 : 1;
    return 0;
}

/* Runs the loop, ends it and prints the summary line; the exit status. */
static int proc_run(struct proc *pr) {
    int status = 0;
    if (tp_kafka_process_run(pr->kp, pr->errbuf, sizeof pr->errbuf) < 0) {
        fprintf(stderr, "tickpipe process: %s\n", pr->errbuf);
        status = 1;
    }
    if (tp_kafka_process_close(pr->kp, status, pr->errbuf, sizeof pr->errbuf) < 0) {
        fprintf(stderr, "tickpipe process: %s\n", pr->errbuf);
        status = 1;
    }
    struct tp_kafka_process_stats s;
    tp_kafka_process_stats(pr->kp, &s);
    fprintf(stderr, "tickpipe: done frames=%lld applied=%lld duplicates=%lld rejected=%lld "
            "skipped=%lld late=%lld lost=%lld fenced=%lld\n", (long long)s.p.frames,
            (long long)s.p.applied, (long long)s.p.duplicates, (long long)s.p.rejected,
            (long long)s.p.skipped, (long long)s.p.late, (long long)s.lost,
            (long long)s.fenced);
    return status;
}

int tp_cmd_process(int argc, char **argv) {
    struct proc *pr = calloc(1, sizeof *pr);
    if (!pr)
        return 1;
    TP_OPTS_MEM(om);   /* --config strings the options point into */
    int status = proc_parse(&pr->c, argc, argv, &om);
    if (status) {
        free(pr);
        return status < 0 ? 0 : status;
    }
    status = proc_open(pr);
    if (status) {
        if (pr->errbuf[0])
            fprintf(stderr, "tickpipe process: %s\n", pr->errbuf);
    } else {
        status = proc_run(pr);
    }
    tp_cmd_http_stop(&pr->web);
    tp_kafka_process_free(pr->kp);
    tp_store_free(pr->st);
    tp_cmd_http_free(&pr->web);
    free(pr);
    return status;
}
