/*
 * cmd_run.c - `tickpipe run`: every stage in one process.
 *
 *   reader thread:  source -> decode -> batches of items -> bus (tp_queue)
 *   main thread:    bus -> processor -> store (commits batches)
 *
 * The reader hands a batch over when it is full (BATCH_ITEMS) or when the
 * source has no further frame at once, so batching adds no latency to a
 * live source. The bus is bounded: when the processor falls behind, the reader blocks
 * on push, so a replay pauses reading and a live source stops draining its
 * socket; nothing is dropped. A batch owns its memory; ownership moves from
 * the reader to the main thread with the queue.
 *
 * Positioned sources (replay of a file) are resumed from the checkpoint the
 * processor finds in the store, unless the file was replaced since (its
 * first line's fingerprint, kept with the checkpoint, differs). SIGINT/SIGTERM
 * stop the reader; the main thread drains the bus, commits and exits 0.
 *
 * A live Yahoo capture also stores gaps: the reader takes the intervals the
 * source closed (socket down, silent) and sends them down the bus as GAP
 * items, in order with the frames; at start, the time since the previous
 * live capture's last commit into the same store is a "not running" gap.
 *
 * With --http, a third thread serves metrics, health, the API and the
 * dashboard (src/http/). The pipeline only writes relaxed atomics for it
 * (tp_metrics) and, after each commit, events into a ring (the store is
 * wrapped by sink/tap.c); it never waits for that thread.
 */
#include <inttypes.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/file.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/tp_clock.h"
#include "bus/tp_queue.h"
#include "core/tp_error.h"
#include "core/tp_events.h"
#include "core/tp_log.h"
#include "core/tp_metrics.h"
#include "core/tp_opts.h"
#include "process/tp_processor.h"
#include "http/tp_http.h"
#include "sink/tp_store.h"
#include "sink/tp_tap.h"
#include "source/tp_decode.h"
#include "source/tp_source.h"
#include "tp_cmd.h"

#define BATCH_ITEMS 512
#define ARENA_BYTES (2u << 20)
#define BUS_BATCHES 8
#define STOP_DRAIN_MS 2000      /* on SIGINT, how long a live source may still hand over frames */
#define JSON_MAX (256u << 10)   /* room for one quote's JSON (at most 6 bytes per payload byte) */
#define COMMIT_GAP_US 1000      /* a live source's commits are at least this far apart */

struct item {
    enum tp_item_kind kind;
    const char *reason;
    uint32_t payload_off, payload_len;
    uint32_t json_off, json_len;  /* pre-rendered quote JSON; json_len 0 = none */
    uint32_t raw_off, raw_len;
    int64_t line, pos;
    int64_t gap_start, gap_stop;  /* GAP: symbol in raw_off/raw_len, reason in reason */
    struct tp_quote q;
};

struct batch {
    int n;
    uint32_t used;
    int64_t recv_us;          /* when its first frame was read (with --http) */
    struct item items[BATCH_ITEMS];
    uint8_t arena[ARENA_BYTES];
};

struct reader {
    struct tp_source *src;
    struct tp_queue *bus;
    struct tp_queue *spare;   /* emptied batches coming back from the processor */
    const volatile sig_atomic_t *stop;
    int render_json;          /* the store writes JSON: the reader may render it */
    int render_batch;         /* render in the batch being filled */
    int live;                 /* a live source that reports gaps */
    struct tp_metrics *m;     /* NULL without --http */
    int err;
    char errbuf[512];
};

/* Decodes one raw frame into the next item of b (and, for stores that
 * write JSON, renders the quote's fields here, on the reader's core). The
 * caller has made sure the arena has room for a payload, its JSON and a
 * copy of the raw line. */
static void add_frame(struct batch *b, const struct tp_raw *raw, int render) {
    struct item *it = &b->items[b->n++];
    uint8_t *payload = b->arena + b->used;
    size_t plen = 0;
    const char *reason = NULL;
    int st = TP_DECODE_REJECT;
    if (raw->too_long)
        reason = "line too long";   /* raw holds only the line's first bytes */
    else
        st = tp_decode_frame(raw->line, raw->len, payload, &plen, &it->q, &reason);
    it->line = raw->lineno;
    it->pos = raw->end_pos;
    it->reason = reason;
    it->payload_off = b->used;
    it->payload_len = (uint32_t)plen;
    it->raw_len = 0;
    it->json_len = 0;
    if (st == TP_DECODE_OK) {
        it->kind = TP_ITEM_TICK;
        b->used += (uint32_t)plen;
        if (render) {
            int n = tp_quote_json_fields(&it->q, payload, (char *)b->arena + b->used, JSON_MAX);
            if (n > 0) {
                it->json_off = b->used;
                it->json_len = (uint32_t)n;
                b->used += (uint32_t)n;
            }
        }
    } else if (st == TP_DECODE_SKIP) {
        it->kind = TP_ITEM_SKIP;
    } else {
        it->kind = TP_ITEM_REJECT;
        it->raw_off = b->used;
        it->raw_len = (uint32_t)raw->len;
        memcpy(b->arena + b->used, raw->line, raw->len);
        b->used += (uint32_t)raw->len;
    }
}

/* Adds the gaps a live source has closed since the last look. The caller
 * has made sure b has room for one item; more go in while room lasts
 * (the rest wait in the source for the next call). */
static void add_gaps(struct batch *b, struct tp_source *src) {
    struct tp_gap g;
    while (b->n < BATCH_ITEMS && b->used + sizeof g.symbol <= ARENA_BYTES &&
           tp_source_gaps(src, &g, 1) == 1) {
        struct item *it = &b->items[b->n++];
        size_t len = strnlen(g.symbol, sizeof g.symbol);
        it->kind = TP_ITEM_GAP;
        it->reason = g.reason;
        it->raw_off = b->used;
        it->raw_len = (uint32_t)len;
        memcpy(b->arena + b->used, g.symbol, len);
        b->arena[b->used + len] = '\0';
        b->used += (uint32_t)len + 1;
        it->gap_start = g.start;
        it->gap_stop = g.stop;
        it->pos = -1;
        it->line = 0;
        it->payload_len = it->json_len = 0;
    }
}

static int room_for(const struct batch *b, size_t len) {
    return b->n < BATCH_ITEMS && (size_t)b->used + TP_PAYLOAD_MAX + JSON_MAX + len <= ARENA_BYTES;
}

/* Takes an emptied batch back from the processor, or allocates one: a
 * batch is large, and reusing it spares the page faults of a fresh one. */
static struct batch *batch_new_empty(struct tp_queue *spare) {
    void *ptr = NULL;
    struct batch *b = tp_queue_pop(spare, &ptr, 0) == 0 ? ptr : malloc(sizeof *b);
    if (b) {
        b->n = 0;
        b->used = 0;
    }
    return b;
}

static int push_batch(struct reader *r, struct batch **b) {
    if (!*b || (*b)->n == 0)
        return 0;
    if (tp_queue_push(r->bus, *b) != 0)
        return TP_ECLOSED;
    *b = NULL;
    return 0;
}

static void *reader_main(void *arg) {
    struct reader *r = arg;
    struct batch *b = NULL;
    struct tp_raw raw;
    int err = 0;
    int64_t drain_until = 0;
    for (;;) {
        /* A batch goes to the bus when it is full or when the source has
         * nothing more at once: a busy replay fills batches, a live source
         * at a moderate rate does not wait for 512 frames. */
        int wait_ms = b && b->n ? 0 : 100;
        if (*r->stop) {
            /* A replay resumes from its checkpoint: stop at once. A live
             * source has no position: store what has already arrived
             * (bounded in time), then stop. */
            if (tp_source_position_key(r->src))
                break;
            if (!drain_until)
                drain_until = tp_mono_ms() + STOP_DRAIN_MS;
            else if (tp_mono_ms() >= drain_until)
                break;
            wait_ms = 0;
        }
        err = tp_source_next(r->src, &raw, wait_ms, r->errbuf, sizeof r->errbuf);
        if (err == TP_EAGAIN) {
            if ((err = push_batch(r, &b)) || *r->stop)
                break;
            continue;
        }
        if (err)
            break;
        if (raw.len > ARENA_BYTES / 2) {
            raw.len = ARENA_BYTES / 2;   /* rejected as too large anyway */
        }
        if (b && !room_for(b, raw.len) && (err = push_batch(r, &b)))
            break;
        if (!b && !(b = batch_new_empty(r->spare))) {
            err = tp_errf(r->errbuf, sizeof r->errbuf, TP_ENOMEM, "reader: out of memory");
            break;
        }
        if (b->n == 0) {
            /* Once per batch: a busy source starts one every 512 frames, a
             * live one at each burst; both far finer than silence is judged. */
            tp_metrics_frame_seen(r->m);
            b->recv_us = r->m ? tp_metrics_now_us() : 0;
            /* Share the JSON rendering between the two threads: the reader
             * takes it on while the processor has a backlog, and leaves it
             * to the processor while the processor keeps up. */
            struct tp_queue_stats qs;
            tp_queue_stats(r->bus, &qs);
            r->render_batch = r->render_json && qs.depth >= 2;
        }
        add_frame(b, &raw, r->render_batch);
        if (r->live && room_for(b, 0))
            add_gaps(b, r->src);
    }
    if (err == TP_EEOF)
        err = 0;
    if (!err || err == TP_ECLOSED)
        push_batch(r, &b);
    free(b);
    r->err = err == TP_ECLOSED ? 0 : err;
    tp_queue_close(r->bus);
    return NULL;
}

static int apply_batch(struct tp_processor *p, struct batch *b, int slot, struct tp_metrics *m) {
    for (int i = 0; i < b->n; i++) {
        const struct item *it = &b->items[i];
        if (it->kind == TP_ITEM_GAP) {
            struct tp_gap_row g = {(const char *)b->arena + it->raw_off, it->gap_start,
                                   it->gap_stop, it->reason};
            int err = tp_processor_gap(p, &g);
            if (err)
                return err;
            continue;
        }
        if (m && it->kind == TP_ITEM_REJECT)
            tp_metrics_reject(m, it->reason, 1);
        struct tp_item ti = {
            .kind = it->kind, .q = &it->q, .payload = b->arena + it->payload_off,
            .payload_len = it->payload_len, .reason = it->reason,
            .raw = (const char *)b->arena + it->raw_off, .raw_len = it->raw_len,
            .pos_slot = it->pos >= 0 ? slot : -1, .pos = it->pos, .line = it->line,
            .fields_json = it->json_len ? (const char *)b->arena + it->json_off : NULL,
            .fields_json_len = it->json_len};
        int err = tp_processor_apply(p, &ti);
        if (err)
            return err;
    }
    return 0;
}

static void print_summary(const char *word, const struct tp_processor_stats *s) {
    fprintf(stderr,
            "tickpipe: %s frames=%" PRId64 " applied=%" PRId64 " duplicates=%" PRId64
            " rejected=%" PRId64 " skipped=%" PRId64 " late=%" PRId64 "\n",
            word, s->frames, s->applied, s->duplicates, s->rejected, s->skipped, s->late);
}

struct run_cfg {
    const char *source, *symbols, *symbols_file, *store, *bars, *deadletter, *tls_ca, *log_level;
    const char *http, *web_root;
    int64_t lateness, symbols_per_socket, batch, silent_ms, health_silence, health_stuck;
    int progress, quiet;
};

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

/* Registers a positioned source with the processor and seeks it to its
 * checkpoint, unless the file at that path was replaced since (another
 * first line, or shorter than the checkpoint): then it is read from its
 * start. Returns the position slot, or -1 after printing why. */
static int resume_source(struct tp_source *src, struct tp_processor *p) {
    const char *key = tp_source_position_key(src);
    int64_t pos, line;
    int slot = tp_processor_position(p, key, &pos, &line);
    if (slot < 0) {
        fprintf(stderr, "tickpipe run: %s\n", tp_processor_last_error(p));
        return -1;
    }
    int64_t fp = tp_source_fingerprint(src), was = tp_processor_position_aux(p, slot);
    if (pos > 0 && was && fp != was) {
        tp_warn("run", "%s has another first line than when it was checkpointed: it was "
                "replaced; reading it from the start", key);
        pos = line = 0;
    }
    tp_processor_set_position_aux(p, slot, fp);
    if (pos > 0) {
        if (tp_source_seek(src, pos, line)) {
            fprintf(stderr, "tickpipe run: cannot resume %s at byte %" PRId64 "\n", key, pos);
            return -1;
        }
        tp_info("run", "resuming %s after line %" PRId64 " (byte %" PRId64 ")", key, line, pos);
    }
    return slot;
}

/* A live capture into a store that an earlier live capture wrote: the time
 * between that one's last commit and now is a "not running" gap for every
 * symbol of this run. Returns 0 or a fatal code. */
static int record_not_running(struct tp_processor *p, const char *symbols) {
    int64_t last = tp_processor_live(p), now = tp_wall_ms();
    if (last <= 0 || last >= now)
        return 0;
    char *list = strdup(symbols), *save = NULL;
    if (!list)
        return TP_ENOMEM;
    int err = 0;
    for (char *s = strtok_r(list, ", \t", &save); s && !err; s = strtok_r(NULL, ", \t", &save)) {
        struct tp_gap_row g = {s, last, now, "not running"};
        err = tp_processor_gap(p, &g);
    }
    free(list);
    return err ? err : tp_processor_commit(p);
}

/* What --http watches; both NULL without it. */
struct watch {
    struct tp_metrics *m;
    struct tp_store *tap;
};

/* Copies the processor's and the bus's counters for /metrics (the
 * processor itself stays single-threaded). */
static void publish_stats(struct tp_metrics *m, const struct tp_processor *p,
                          const struct tp_queue_stats *qs) {
    if (!m)
        return;
    struct tp_processor_stats s;
    tp_processor_stats(p, &s);
    tp_metrics_set(m, TP_M_FRAMES, s.frames);
    tp_metrics_set(m, TP_M_APPLIED, s.applied);
    tp_metrics_set(m, TP_M_DUPLICATES, s.duplicates);
    tp_metrics_set(m, TP_M_SKIPPED, s.skipped);
    tp_metrics_set(m, TP_M_LATE, s.late);
    tp_metrics_set(m, TP_M_QUEUE_DEPTH, qs->depth);
    tp_metrics_set(m, TP_M_QUEUE_CAPACITY, qs->capacity);
    tp_metrics_set(m, TP_M_QUEUE_PAUSES, qs->pauses);
}

/* The processing loop of the main thread. Returns 0, or 1 on a fatal error.
 *
 * Commit policy: with a backlog (batches waiting on the bus) the processor
 * commits every --batch frames or every second, whichever comes first, so
 * a replay writes large transactions. Once the bus is empty (a live source
 * keeping up) what has arrived is committed at once, except that two
 * commits are at least COMMIT_GAP_US apart: frames arriving closer than
 * that share one commit, which bounds the WAL written per second at any
 * frame rate while adding at most that gap to a frame's way to disk. */
static int process_loop(struct tp_processor *p, struct tp_queue *bus, struct tp_queue *spare,
                        int slot, int progress, const struct watch *w) {
    int64_t last_commit = tp_mono_ms(), last_progress = last_commit;
    int64_t last_commit_us = tp_metrics_now_us(), last_frames = 0;
    int wait_ms = 200, pending = 0;
    for (;;) {
        void *ptr;
        int err = tp_queue_pop(bus, &ptr, wait_ms);
        if (err == TP_ECLOSED)
            return 0;
        int got = err == 0;
        if (got) {
            struct batch *b = ptr;
            if (w->tap)
                tp_store_tap_received(w->tap, b->recv_us);
            err = apply_batch(p, b, slot, w->m);
            pending = 1;
            if (tp_queue_push_nowait(spare, b) != 0)
                free(b);
            if (err)
                goto fatal;
        }
        struct tp_queue_stats qs;
        tp_queue_stats(bus, &qs);
        int64_t now = tp_mono_ms(), now_us = tp_metrics_now_us();
        wait_ms = 200;
        if (qs.depth == 0 && pending && now_us - last_commit_us < COMMIT_GAP_US) {
            wait_ms = 1;   /* too soon after the last commit: gather what comes meanwhile */
        } else if (qs.depth == 0 || now - last_commit >= 1000) {
            if ((err = tp_processor_commit(p)))
                goto fatal;
            last_commit = now;
            last_commit_us = tp_metrics_now_us();
            pending = 0;
        }
        if (w->m) {
            publish_stats(w->m, p, &qs);
            if (got || qs.depth == 0)   /* moved on, or idle by design */
                tp_metrics_progress(w->m);
        }
        if (progress && now - last_progress >= 5000) {
            struct tp_processor_stats s;
            tp_processor_stats(p, &s);
            fprintf(stderr, "tickpipe: progress frames=%" PRId64 " applied=%" PRId64
                    " rejected=%" PRId64 " (%.0f frames/s, bus %d/%d)\n",
                    s.frames, s.applied, s.rejected,
                    (double)(s.frames - last_frames) * 1000.0 / (double)(now - last_progress),
                    qs.depth, qs.capacity);
            last_frames = s.frames;
            last_progress = now;
        }
    }
fatal:
    fprintf(stderr, "tickpipe run: %s\n", tp_processor_last_error(p));
    return 1;
}

int tp_cmd_run(int argc, char **argv) {
    struct run_cfg c = {0};
    TP_OPTS_MEM(om);
    const struct tp_opt table[] = {
        {"source", TP_OPT_STR, &c.source, "yahoo", "SRC", "yahoo, yahoo:URL, replay:PATH, replay:- or sim[:count=N,rate=R,symbols=N,seed=S]", 0, 0},
        {"symbols", TP_OPT_STR, &c.symbols, "BTC-USD,ETH-USD", "LIST", "comma-separated symbols to subscribe to", 0, 0},
        {"symbols-file", TP_OPT_STR, &c.symbols_file, NULL, "FILE", "read symbols from FILE (one per line or comma separated)", 0, 0},
        {"store", TP_OPT_STR, &c.store, "sqlite:tickpipe.db", "STORE", "sqlite:PATH, jsonl:PATH, jsonl:- or cassandra://HOST[:PORT]/KEYSPACE", 0, 0},
        {"bars", TP_OPT_STR, &c.bars, "1m", "LIST", "bar intervals from 1s 5s 10s 15s 30s 1m 5m 15m 30m 1h 4h 1d", 0, 0},
        {"lateness", TP_OPT_DUR, &c.lateness, "10s", "DUR", "how long a bar waits for late ticks", 0, 86400000},
        {"deadletter", TP_OPT_STR, &c.deadletter, "deadletter.jsonl", "PATH", "where rejected frames go, one JSON line each", 0, 0},
        {"tls-ca", TP_OPT_STR, &c.tls_ca, NULL, "FILE", "extra CA certificate for wss:// sources", 0, 0},
        {"symbols-per-socket", TP_OPT_INT, &c.symbols_per_socket, "50", "N", "shard subscriptions: at most N symbols per WebSocket", 1, 1000},
        {"silent-timeout", TP_OPT_DUR, &c.silent_ms, "30s", "DUR", "a live socket silent this long subscribes again; twice this long, it reconnects", 100, 86400000},
        {"batch", TP_OPT_INT, &c.batch, "65536", "N", "commit to the store at least every N frames", 1, 10000000},
        {"progress", TP_OPT_FLAG, &c.progress, NULL, NULL, "print progress every 5 s (on by default when stderr is a terminal)", 0, 0},
        {"log-level", TP_OPT_CHOICE, &c.log_level, "warn", "error|warn|info|debug", "how much to log", 0, 0},
        {"http", TP_OPT_STR, &c.http, NULL, "ADDR", "serve /metrics, /healthz, /api/, /stream and the dashboard on ADDR (PORT = 127.0.0.1:PORT)", 0, 0},
        {"web-root", TP_OPT_STR, &c.web_root, NULL, "DIR", "dashboard files (default: the installed ones, else the build tree's)", 0, 0},
        {"health-silence", TP_OPT_DUR, &c.health_silence, "60s", "DUR", "/healthz fails when a live source sends nothing for DUR", 1, 86400000},
        {"health-stuck", TP_OPT_DUR, &c.health_stuck, "30s", "DUR", "/healthz fails when queued batches wait DUR without progress", 1, 86400000},
        {NULL, 0, NULL, NULL, NULL, NULL, 0, 0}};
    int rc = tp_opts_parse("run", "[options]",
                           "Runs every stage in one process: reads frames from the source, decodes "
                           "them,\naggregates them and stores ticks, bars and latest quotes.",
                           table, argc, argv, NULL, 0, NULL, &om);
    if (rc)
        return rc == 1 ? 0 : 2;
    if (tp_cmd_set_log_level("run", c.log_level))
        return 2;
    char errbuf[512] = "";
    struct tp_processor_opts po = {.lateness_ms = c.lateness, .deadletter_path = c.deadletter,
                                   .batch_ticks = (int)c.batch};
    int nb = tp_parse_bars(c.bars, po.bar_ms, TP_MAX_BARS, errbuf, sizeof errbuf);
    if (nb < 0) {
        fprintf(stderr, "tickpipe run: %s\n", errbuf);
        return 2;
    }
    po.nbars = nb;
    const struct tp_cmd_path paths[] = {{"--source", tp_cmd_spec_path(c.source), 0},
                                        {"--store", tp_cmd_spec_path(c.store), 1},
                                        {"--deadletter", c.deadletter, 1}};
    if (tp_cmd_check_paths("run", paths, 3))
        return 2;
    tp_cmd_warn_ignored_symbols("run", c.source, argc, argv);
    char *symbols_buf = NULL;
    if (c.symbols_file && !(symbols_buf = tp_cmd_read_symbols_file(c.symbols_file, errbuf, sizeof errbuf))) {
        fprintf(stderr, "tickpipe run: %s\n", errbuf);
        return 2;
    }
    struct tp_source_opts so = {.symbols = symbols_buf ? symbols_buf : c.symbols,
                                .tls_ca = c.tls_ca,
                                .symbols_per_socket = (int)c.symbols_per_socket,
                                .silent_timeout_ms = c.silent_ms,
                                .stop = tp_stop_flag()};
    struct tp_source *src = NULL;
    struct tp_store *st = NULL;
    struct tp_processor *p = NULL;
    struct tp_queue *bus = NULL, *spare = NULL;
    struct tp_cmd_http web = {0};
    so.metrics = tp_cmd_http_metrics(&web, c.http);
    int status = 2, err, lock_fd = -2;
    if ((err = tp_source_open(&src, c.source, &so, errbuf, sizeof errbuf))) {
        fprintf(stderr, "tickpipe run: %s\n", errbuf);
        status = err == TP_EINVAL ? 2 : 1;
        goto out;
    }
    lock_fd = lock_sqlite_store(c.store);
    if (lock_fd == -1) {
        fprintf(stderr, "tickpipe run: another tickpipe run is writing to --store %s; stop it first "
                        "(two writers would corrupt the per-symbol state)\n", c.store);
        status = 1;
        goto out;
    }
    if ((err = tp_store_open(&st, c.store, errbuf, sizeof errbuf))) {
        fprintf(stderr, "tickpipe run: %s\n", errbuf);
        status = err == TP_EINVAL ? 2 : 1;
        goto out;
    }
    struct tp_cmd_http_opts ho = {.addr = c.http, .web_root = c.web_root, .store = c.store,
                                  .live = strncmp(c.source, "yahoo", 5) == 0,
                                  .silent_ms = c.health_silence, .stuck_ms = c.health_stuck};
    if ((status = tp_cmd_http_start(&web, "run", &ho, &st)))
        goto out;
    status = 2;
    if ((err = tp_processor_new(&p, st, &po, errbuf, sizeof errbuf))) {
        fprintf(stderr, "tickpipe run: %s\n", errbuf);
        status = err == TP_EINVAL ? 2 : 1;
        goto out;
    }
    status = 1;
    int slot = -1;
    if (tp_source_position_key(src) && st->has_state && (slot = resume_source(src, p)) < 0)
        goto out;
    if (tp_queue_new(&bus, BUS_BATCHES) || tp_queue_new(&spare, BUS_BATCHES + 2))
        goto out;
    int live = strncmp(c.source, "yahoo", 5) == 0;
    if (live && st->has_state && record_not_running(p, so.symbols)) {
        fprintf(stderr, "tickpipe run: %s\n", tp_processor_last_error(p));
        goto out;
    }
    struct reader r = {.src = src, .bus = bus, .spare = spare, .stop = tp_stop_flag(),
                       .render_json = st->wants_json, .live = live, .m = web.m};
    pthread_t th;
    if (pthread_create(&th, NULL, reader_main, &r) != 0) {
        fprintf(stderr, "tickpipe run: cannot start the reader thread\n");
        goto out;
    }
    int progress = c.progress || isatty(STDERR_FILENO);
    struct watch w = {web.m, web.tap};
    status = process_loop(p, bus, spare, slot, progress, &w);
    if (status) {
        tp_queue_close(bus);
        void *ptr;
        while (tp_queue_pop(bus, &ptr, 0) == 0)
            free(ptr);
    }
    pthread_join(th, NULL);
    if (r.err) {
        fprintf(stderr, "tickpipe run: source: %s\n", r.errbuf[0] ? r.errbuf : tp_strerror(r.err));
        status = 1;
    }
    if (status == 0) {
        int finite = !*tp_stop_flag() && !r.err;
        err = finite ? tp_processor_finish(p) : tp_processor_commit(p);
        if (err) {
            fprintf(stderr, "tickpipe run: %s\n", tp_processor_last_error(p));
            status = 1;
        } else {
            struct tp_processor_stats s;
            tp_processor_stats(p, &s);
            print_summary(finite ? "done" : "stopped", &s);
            struct tp_queue_stats qs;
            tp_queue_stats(bus, &qs);
            publish_stats(web.m, p, &qs);
        }
    }
out:
    tp_cmd_http_stop(&web);
    tp_processor_free(p);
    tp_store_free(st);
    tp_source_free(src);
    tp_queue_free(bus);
    if (spare) {
        void *ptr;
        while (tp_queue_pop(spare, &ptr, 0) == 0)
            free(ptr);
    }
    tp_queue_free(spare);
    free(symbols_buf);
    if (lock_fd >= 0)
        close(lock_fd);
    tp_cmd_http_free(&web);
    return status;
}
