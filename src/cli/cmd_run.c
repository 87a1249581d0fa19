/*
 * cmd_run.c - `tickpipe run`: every stage in one process. This file parses
 * the options, opens the source, the store (one writer per SQLite file,
 * by a lock), --http and the processor, and drives the loop of
 * src/pipeline/run.c (reader thread, batches, bus, commits). It decides
 * the exit status (2 bad usage, 1 runtime error) and prints the progress
 * and summary lines.
 *
 * Threads: the main thread; the pipeline runs its reader thread and, with
 * --http, src/http/ serves metrics, health, the API and the dashboard from
 * a third one.
 */
#include <inttypes.h>
#include <fcntl.h>
#include <sys/file.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/tp_error.h"
#include "../pipeline/tp_run.h"
#include "../process/tp_processor.h"
#include "../sink/tp_store.h"
#include "../source/tp_source.h"
#include "tp_cmd.h"
#include "tp_opts.h"

static void print_summary(const char *word, const struct tp_processor_stats *s) {
    fprintf(stderr,
            "tickpipe: %s frames=%" PRId64 " applied=%" PRId64 " duplicates=%" PRId64
            " rejected=%" PRId64 " skipped=%" PRId64 " late=%" PRId64 "\n",
            word, s->frames, s->applied, s->duplicates, s->rejected, s->skipped, s->late);
}

static void print_progress(void *opaque, const struct tp_run_progress *pg) {
    (void)opaque;
    fprintf(stderr, "tickpipe: progress frames=%" PRId64 " applied=%" PRId64
            " rejected=%" PRId64 " (%.0f frames/s, bus %d/%d)\n",
            pg->frames, pg->applied, pg->rejected, pg->frames_per_s, pg->depth, pg->capacity);
}

struct run_cfg {
    const char *source, *symbols, *symbols_file, *store, *bars, *deadletter, *tls_ca, *log_level;
    const char *http, *web_root;
    int64_t lateness, symbols_per_socket, batch, silent_ms, health_silence, health_stuck;
    int progress, quiet;
};

/* What run holds while it runs. */
struct run {
    struct run_cfg c;
    struct tp_processor_opts po;
    char *symbols_buf;        /* --symbols-file, read */
    struct tp_source *src;
    struct tp_store *st;
    struct tp_processor *p;
    struct tp_cmd_http web;
    struct tp_run *run;
    int lock_fd;
    char errbuf[512];
};

/* Parses the options into x->c and x->po: 0 to go on, -1 after --help or
 * --print-config (exit 0), or 2 on bad usage (printed). */
static int run_parse(struct run *x, int argc, char **argv, struct tp_opts_mem **om) {
    struct run_cfg *c = &x->c;
    const struct tp_opt table[] = {
        {"source", TP_OPT_STR, &c->source, "yahoo", "SRC", "yahoo, yahoo:URL, replay:PATH, replay:- or sim[:count=N,rate=R,symbols=N,seed=S]", 0, 0},
        {"symbols", TP_OPT_STR, &c->symbols, "BTC-USD,ETH-USD", "LIST", "comma-separated symbols to subscribe to", 0, 0},
        {"symbols-file", TP_OPT_STR, &c->symbols_file, NULL, "FILE", "read symbols from FILE (one per line or comma separated)", 0, 0},
        {"store", TP_OPT_STR, &c->store, "sqlite:tickpipe.db", "STORE", "sqlite:PATH, jsonl:PATH, jsonl:- or cassandra://HOST[:PORT]/KEYSPACE", 0, 0},
        {"bars", TP_OPT_STR, &c->bars, "1m", "LIST", "bar intervals from 1s 5s 10s 15s 30s 1m 5m 15m 30m 1h 4h 1d", 0, 0},
        {"lateness", TP_OPT_DUR, &c->lateness, "10s", "DUR", "how long a bar waits for late ticks", 0, 86400000},
        {"deadletter", TP_OPT_STR, &c->deadletter, "deadletter.jsonl", "PATH", "where rejected frames go, one JSON line each", 0, 0},
        {"tls-ca", TP_OPT_STR, &c->tls_ca, NULL, "FILE", "extra CA certificate for wss:// sources", 0, 0},
        {"symbols-per-socket", TP_OPT_INT, &c->symbols_per_socket, "50", "N", "shard subscriptions: at most N symbols per WebSocket", 1, 1000},
        {"silent-timeout", TP_OPT_DUR, &c->silent_ms, "30s", "DUR", "a live socket silent this long subscribes again; twice this long, it reconnects", 100, 86400000},
        {"batch", TP_OPT_INT, &c->batch, "65536", "N", "commit ticks to the store at least every N frames", 1, 10000000},
        {"progress", TP_OPT_FLAG, &c->progress, NULL, NULL, "print progress every 5 s (on by default when stderr is a terminal)", 0, 0},
        {"log-level", TP_OPT_CHOICE, &c->log_level, "warn", "error|warn|info|debug", "how much to log", 0, 0},
        {"http", TP_OPT_STR, &c->http, NULL, "ADDR", "serve /metrics, /healthz, /api/, /stream and the dashboard on ADDR (PORT = 127.0.0.1:PORT)", 0, 0},
        {"web-root", TP_OPT_STR, &c->web_root, NULL, "DIR", "dashboard files (default: the installed ones, else the build tree's)", 0, 0},
        {"health-silence", TP_OPT_DUR, &c->health_silence, "60s", "DUR", "/healthz fails when a live source sends nothing for DUR", 1, 86400000},
        {"health-stuck", TP_OPT_DUR, &c->health_stuck, "30s", "DUR", "/healthz fails when queued batches wait DUR without progress", 1, 86400000},
        {NULL, 0, NULL, NULL, NULL, NULL, 0, 0}};
    int rc = tp_opts_parse("run", "[options]",
                           "Runs every stage in one process: reads frames from the source, decodes "
                           "them,\naggregates them and stores ticks, bars and latest quotes.",
                           table, argc, argv, NULL, 0, NULL, om);
    if ((rc = tp_cmd_opts_end(rc, "run", c->log_level)))
        return rc;
    x->po = (struct tp_processor_opts){.lateness_ms = c->lateness,
                                       .deadletter_path = c->deadletter,
                                       .batch_ticks = (int)c->batch,
                                       .ticks_only_commits = 1};
    int nb = tp_parse_bars(c->bars, x->po.bar_ms, TP_MAX_BARS, x->errbuf, sizeof x->errbuf);
    if (nb < 0) {
        fprintf(stderr, "tickpipe run: %s\n", x->errbuf);
        return 2;
    }
    x->po.nbars = nb;
    const struct tp_cmd_path paths[] = {{"--source", tp_cmd_spec_path(c->source), 0},
                                        {"--store", tp_cmd_spec_path(c->store), 1},
                                        {"--deadletter", c->deadletter, 1}};
    if (tp_cmd_check_paths("run", paths, 3))
        return 2;
    tp_cmd_warn_ignored_symbols("run", c->source, argc, argv);
    if (c->symbols_file && !(x->symbols_buf = tp_cmd_read_symbols_file(
                                 c->symbols_file, x->errbuf, sizeof x->errbuf))) {
        fprintf(stderr, "tickpipe run: %s\n", x->errbuf);
        return 2;
    }
    return 0;
}

/* One `run` per SQLite file: a second writer would keep its own copy of the
 * per-symbol state and corrupt the results. Returns the lock's descriptor
 * (kept open for the life of the process), -1 when another run holds it,
 * or -2 when not applicable. */
static int lock_sqlite_store(const char *spec) {
    if (strncmp(spec, "sqlite:", 7) != 0)
        return -2;
    int fd = open(spec + 7, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return -2;   /* the store itself will report why it cannot open */
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Prints the error of a failed step; its exit status (2 for a bad value). */
static int failed(struct run *x, int err) {
    fprintf(stderr, "tickpipe run: %s\n", x->errbuf);
    return err == TP_EINVAL ? 2 : 1;
}

/* Opens the source, the store, --http and the processor. 0 or the exit
 * status after printing why. */
static int run_open(struct run *x) {
    const struct run_cfg *c = &x->c;
    struct tp_source_opts so = {.symbols = x->symbols_buf ? x->symbols_buf : c->symbols,
                                .tls_ca = c->tls_ca,
                                .symbols_per_socket = (int)c->symbols_per_socket,
                                .silent_timeout_ms = c->silent_ms,
                                .stop = tp_stop_flag()};
    so.metrics = tp_cmd_http_metrics(&x->web, c->http);
    int err, status;
    if ((err = tp_source_open(&x->src, c->source, &so, x->errbuf, sizeof x->errbuf)))
        return failed(x, err);
    x->lock_fd = lock_sqlite_store(c->store);
    if (x->lock_fd == -1) {
        fprintf(stderr, "tickpipe run: another tickpipe run is writing to --store %s; stop it first "
                        "(two writers would corrupt the per-symbol state)\n", c->store);
        return 1;
    }
    if ((err = tp_store_open(&x->st, c->store, x->errbuf, sizeof x->errbuf)))
        return failed(x, err);
    struct tp_cmd_http_opts ho = {.addr = c->http, .web_root = c->web_root, .store = c->store,
                                  .live = strncmp(c->source, "yahoo", 5) == 0,
                                  .silent_ms = c->health_silence, .stuck_ms = c->health_stuck};
    if ((status = tp_cmd_http_start(&x->web, "run", &ho, &x->st)))
        return status;
    if ((err = tp_processor_new(&x->p, x->st, &x->po, x->errbuf, sizeof x->errbuf)))
        return failed(x, err);
    return 0;
}

/* Runs the pipeline to its end and prints the summary line; the exit
 * status. */
static int run_pipeline(struct run *x) {
    struct tp_run_opts o = {.live = strncmp(x->c.source, "yahoo", 5) == 0,
                            .symbols = x->symbols_buf ? x->symbols_buf : x->c.symbols,
                            .m = x->web.m, .tap = x->web.tap, .stop = tp_stop_flag(),
                            .progress = x->c.progress || isatty(STDERR_FILENO)
                                            ? print_progress : NULL};
    if (tp_run_new(&x->run, x->src, x->st, x->p, &o, x->errbuf, sizeof x->errbuf)) {
        if (x->errbuf[0])
            fprintf(stderr, "tickpipe run: %s\n", x->errbuf);
        return 1;
    }
    if (tp_run_start(x->run, x->errbuf, sizeof x->errbuf))
        return failed(x, TP_EFATAL);
    int status = 0, finite = 0;
    if (tp_run_process(x->run, x->errbuf, sizeof x->errbuf))
        status = failed(x, TP_EFATAL);
    if (tp_run_join(x->run, x->errbuf, sizeof x->errbuf)) {
        fprintf(stderr, "tickpipe run: source: %s\n", x->errbuf);
        status = 1;
    }
    if (status)
        return status;
    if (tp_run_finish(x->run, &finite, x->errbuf, sizeof x->errbuf))
        return failed(x, TP_EFATAL);
    struct tp_processor_stats s;
    tp_processor_stats(x->p, &s);
    print_summary(finite ? "done" : "stopped", &s);
    return 0;
}

int tp_cmd_run(int argc, char **argv) {
    struct run *x = calloc(1, sizeof *x);
    if (!x)
        return 1;
    x->lock_fd = -2;
    TP_OPTS_MEM(om);   /* --config strings the options point into */
    int status = run_parse(x, argc, argv, &om);
    if (status == 0)
        status = run_open(x);
    if (status == 0)
        status = run_pipeline(x);
    tp_cmd_http_stop(&x->web);
    tp_run_free(x->run);
    tp_processor_free(x->p);
    tp_store_free(x->st);
    tp_source_free(x->src);
    free(x->symbols_buf);
    if (x->lock_fd >= 0)
        close(x->lock_fd);
    tp_cmd_http_free(&x->web);
    free(x);
    return status < 0 ? 0 : status;
}
