/*
 * run.c - the loop of `tickpipe run` (tp_run.h): every stage in one
 * process.
 *
 *   reader thread:  source -> decode -> batches of items -> bus (tp_queue)
 *   caller thread:  bus -> processor -> store (commits batches)
 *
 * The reader hands a batch over when it is full (BATCH_ITEMS) or when the
 * source has no further frame at once, so batching adds no latency to a
 * live source. The bus is bounded: when the processor falls behind, the
 * reader blocks on push, so a replay pauses reading and a live source stops
 * draining its socket; nothing is dropped. A batch owns its memory (an
 * arena); ownership moves from the reader to the caller's thread with the
 * queue, and emptied batches come back on a second queue for reuse.
 *
 * Render policy: for a store that writes JSON, the reader renders a tick's
 * fields while the processor has a backlog (two batches or more waiting)
 * and leaves it to the processor while it keeps up.
 *
 * Commit policy: the caller's thread commits whenever it has caught up
 * with the source (the bus is empty and the reader is waiting on the
 * source, not merely still decoding the next batch), and under a steady
 * backlog once a second, or less often when those commits are slow
 * (BACKLOG_COMMIT_MS), besides the processor's own commit every
 * batch_ticks items. A replay of a file thus commits every batch_ticks
 * items or every second, not each time the processor overtakes the reader.
 * For a replay of a file the processor's own batch commits carry only
 * ticks and closed bars (ticks_only_commits); this thread's commits (once
 * a second, when caught up, at the end) also write each changed symbol's
 * open bars, latest and state rows and the position: at 20,000 symbols
 * those rows cost as much as the ticks when written every batch.
 *
 * Positioned sources (replay of a file) are resumed from the checkpoint the
 * processor finds in the store, unless the file was replaced since (its
 * first line's fingerprint, kept with the checkpoint, differs). The stop
 * flag stops the reader: a replay at once, a live source after handing
 * over what already arrived (at most STOP_DRAIN_MS); the caller's thread
 * drains the bus and commits.
 *
 * A live Yahoo capture also stores gaps: the reader takes the intervals the
 * source closed (socket down, silent) and sends them down the bus as GAP
 * items, in order with the frames; at start, the time since the previous
 * live capture's last commit into the same store is a "not running" gap.
 *
 * With metrics (--http), the pipeline only writes relaxed atomics
 * (tp_metrics) and, through the store's tap, events after each commit; it
 * never waits for the HTTP thread.
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../bus/tp_queue.h"
#include "../codec/tp_decode.h"
#include "../core/tp_clock.h"
#include "../core/tp_error.h"
#include "../core/tp_log.h"
#include "../sink/tp_tap.h"
#include "tp_run.h"

#define BATCH_ITEMS 512
#define ARENA_BYTES (2u << 20)
#define BUS_BATCHES 8
#define STOP_DRAIN_MS 2000      /* on SIGINT, how long a live source may still hand over frames */
#define JSON_MAX (256u << 10)   /* room for one quote's JSON (at most 6 bytes per payload byte) */
/* Under a backlog the caller commits (with every changed symbol's rows and
 * the position: a checkpoint) this often, or, when the last one took more
 * than a tenth of that (thousands of symbols), ten times as long as it took:
 * checkpoints then cost at most about a tenth of a replay's time. */
#define BACKLOG_COMMIT_MS 1000

#ifndef COMMIT_GAP_US
#define COMMIT_GAP_US 500       /* a live source's commits are at least this far apart */
#endif

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
    const struct tp_store *prep;  /* a store that prepares ticks ahead (jsonl), or NULL */
    int render_batch;         /* render in the batch being filled */
    int live;                 /* a live source that reports gaps */
    struct tp_metrics *m;     /* NULL without --http */
    atomic_int waiting;       /* the source had no frame at once: what came is on the bus */
    int err;
    char errbuf[512];
};

/* Decodes one raw frame into the next item of b (and, for a store that
 * prepares ticks ahead, prep, has it do so here, on the reader's core:
 * jsonl renders the quote's JSON members). The caller has made sure the
 * arena has room for a payload, its JSON and a copy of the raw line. */
static void add_frame(struct batch *b, const struct tp_raw *raw, const struct tp_store *prep) {
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
        if (prep) {
            int n = tp_store_prepare_tick(prep, &it->q, payload, (char *)b->arena + b->used,
                                          JSON_MAX);
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

/* Once per batch: a busy source starts one every 512 frames, a live one
 * at each burst; both far finer than silence is judged. */
static void batch_begin(struct reader *r, struct batch *b) {
    tp_metrics_frame_seen(r->m);
    b->recv_us = r->m ? tp_metrics_now_us() : 0;
    /* Share the JSON rendering between the two threads: the reader takes
     * it on while the processor has a backlog, and leaves it to the
     * processor while the processor keeps up. */
    struct tp_queue_stats qs;
    tp_queue_stats(r->bus, &qs);
    r->render_batch = r->prep && qs.depth >= 2;
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
            /* said before the push, so the processor that takes this batch
             * off an empty bus knows it has caught up and commits at once */
            atomic_store_explicit(&r->waiting, 1, memory_order_relaxed);
            if ((err = push_batch(r, &b)) || *r->stop)
                break;
            continue;
        }
        atomic_store_explicit(&r->waiting, 0, memory_order_relaxed);
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
        if (b->n == 0)
            batch_begin(r, b);
        add_frame(b, &raw, r->render_batch ? r->prep : NULL);
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

/* Tells the processor which symbol item i of b (if a tick) will be. */
static void hint_item(struct tp_processor *p, const struct batch *b, int i) {
    const struct item *it = &b->items[i];
    if (it->kind == TP_ITEM_TICK) {
        tp_sv id = it->q.v[TP_F_ID].sv;
        tp_processor_hint(p, (const char *)b->arena + it->payload_off + id.off, id.len);
    }
}

static int apply_batch(struct tp_processor *p, struct batch *b, int slot, struct tp_metrics *m) {
    for (int i = 0; i < b->n && i < TP_PROCESSOR_LOOKAHEAD; i++)
        hint_item(p, b, i);
    for (int i = 0; i < b->n; i++) {
        if (i + TP_PROCESSOR_LOOKAHEAD < b->n)
            hint_item(p, b, i + TP_PROCESSOR_LOOKAHEAD);
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
            .prepared = it->json_len ? (const char *)b->arena + it->json_off : NULL,
            .prepared_len = it->json_len};
        int err = tp_processor_apply(p, &ti);
        if (err)
            return err;
    }
    return 0;
}

/* Registers a positioned source with the processor and seeks it to its
 * checkpoint, unless the file at that path was replaced since (another
 * first line, or shorter than the checkpoint): then it is read from its
 * start. Returns the position slot, or a code with errbuf set. */
static int resume_source(struct tp_source *src, struct tp_processor *p, char *errbuf,
                         size_t errsize) {
    const char *key = tp_source_position_key(src);
    int64_t pos, line;
    int slot = tp_processor_position(p, key, &pos, &line);
    if (slot < 0)
        return tp_errf(errbuf, errsize, slot, "%s", tp_processor_last_error(p));
    int64_t fp = tp_source_fingerprint(src), was = tp_processor_position_aux(p, slot);
    if (pos > 0 && was && fp != was) {
        tp_warn("run", "%s has another first line than when it was checkpointed: it was "
                "replaced; reading it from the start", key);
        pos = line = 0;
    }
    tp_processor_set_position_aux(p, slot, fp);
    if (pos > 0) {
        if (tp_source_seek(src, pos, line))
            return tp_errf(errbuf, errsize, TP_EIO, "cannot resume %s at byte %" PRId64, key,
                           pos);
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

struct tp_run {
    struct tp_run_opts o;
    struct tp_source *src;
    struct tp_store *st;
    struct tp_processor *p;
    struct tp_queue *bus;
    struct tp_queue *spare;   /* emptied batches on their way back to the reader */
    int slot;                 /* the source's position slot; -1 = none */
    int started;              /* the reader thread runs (until joined) */
    pthread_t th;
    struct reader r;
};

/* Reports progress through the hook every 5 s. */
static void report_progress(struct tp_run *run, int64_t now, int64_t *last, int64_t *frames,
                            const struct tp_queue_stats *qs) {
    if (!run->o.progress || now - *last < 5000)
        return;
    struct tp_processor_stats s;
    tp_processor_stats(run->p, &s);
    struct tp_run_progress pg = {
        .frames = s.frames, .applied = s.applied, .rejected = s.rejected,
        .frames_per_s = (double)(s.frames - *frames) * 1000.0 / (double)(now - *last),
        .depth = qs->depth, .capacity = qs->capacity};
    run->o.progress(run->o.opaque, &pg);
    *frames = s.frames;
    *last = now;
}

/* The processing loop of the caller's thread. 0 when the reader closed
 * the bus, or the processor's fatal code.
 *
 * Commit policy: with a backlog (batches waiting on the bus) the processor
 * commits every --batch frames, and this loop every BACKLOG_COMMIT_MS (or
 * ten times as long as its last commit took), so a replay writes large
 * transactions. Once the bus is empty (a live source
 * keeping up) what has arrived is committed at once, except that two
 * commits are at least COMMIT_GAP_US apart: frames arriving closer than
 * that share one commit, which bounds the WAL written per second at any
 * frame rate while adding at most that gap to a frame's way to disk. */
static int process_loop(struct tp_run *run) {
    int64_t last_commit = tp_mono_ms(), last_progress = last_commit;
    int64_t last_commit_us = tp_metrics_now_us(), last_frames = 0;
    int64_t every_ms = BACKLOG_COMMIT_MS;
    int wait_ms = 200, pending = 0;
    for (;;) {
        void *ptr;
        int err = tp_queue_pop(run->bus, &ptr, wait_ms);
        if (err == TP_ECLOSED)
            return 0;
        int got = err == 0;
        if (got) {
            struct batch *b = ptr;
            if (run->o.tap)
                tp_store_tap_received(run->o.tap, b->recv_us);
            err = apply_batch(run->p, b, run->slot, run->o.m);
            pending = 1;
            if (tp_queue_push_nowait(run->spare, b) != 0)
                free(b);
            if (err)
                return err;
        }
        struct tp_queue_stats qs;
        tp_queue_stats(run->bus, &qs);
        int64_t now = tp_mono_ms(), now_us = tp_metrics_now_us();
        int caught_up = qs.depth == 0 && atomic_load_explicit(&run->r.waiting,
                                                                memory_order_relaxed);
        wait_ms = 200;
        if (caught_up && pending && now_us - last_commit_us < COMMIT_GAP_US) {
            wait_ms = 1;   /* too soon after the last commit: gather what comes meanwhile */
        } else if (caught_up || now - last_commit >= every_ms) {
            if ((err = tp_processor_commit(run->p)))
                return err;
            last_commit = tp_mono_ms();
            last_commit_us = tp_metrics_now_us();
            pending = 0;
            int64_t took = last_commit - now;
            every_ms = took * 10 > BACKLOG_COMMIT_MS ? took * 10 : BACKLOG_COMMIT_MS;
        }
        if (run->o.m) {
            publish_stats(run->o.m, run->p, &qs);
            if (got || qs.depth == 0)   /* moved on, or idle by design */
                tp_metrics_progress(run->o.m);
        }
        report_progress(run, now, &last_progress, &last_frames, &qs);
    }
}

int tp_run_new(struct tp_run **out, struct tp_source *src, struct tp_store *st,
               struct tp_processor *p, const struct tp_run_opts *o, char *errbuf,
               size_t errsize) {
    struct tp_run *run = calloc(1, sizeof *run);
    int err = 0;
    *out = NULL;
    if (errsize)
        errbuf[0] = '\0';
    if (!run)
        return TP_ENOMEM;
    *run = (struct tp_run){.o = *o, .src = src, .st = st, .p = p, .slot = -1};
    if (tp_source_position_key(src) && tp_store_has_state(st) &&
        (run->slot = resume_source(src, p, errbuf, errsize)) < 0) {
        err = run->slot;
        goto fail;
    }
    if ((err = tp_queue_new(&run->bus, BUS_BATCHES)) ||
        (err = tp_queue_new(&run->spare, BUS_BATCHES + 2)))
        goto fail;
    if (o->live && tp_store_has_state(st) && (err = record_not_running(p, o->symbols))) {
        tp_errf(errbuf, errsize, err, "%s", tp_processor_last_error(p));
        goto fail;
    }
    *out = run;
    return 0;
fail:
    tp_run_free(run);
    return err;
}

int tp_run_start(struct tp_run *run, char *errbuf, size_t errsize) {
    run->r = (struct reader){.src = run->src, .bus = run->bus, .spare = run->spare,
                             .stop = run->o.stop, .prep = tp_store_prepares_ticks(run->st) ? run->st : NULL,
                             .live = run->o.live, .m = run->o.m};
    if (pthread_create(&run->th, NULL, reader_main, &run->r) != 0)
        return tp_errf(errbuf, errsize, TP_EFATAL, "cannot start the reader thread");
    run->started = 1;
    return 0;
}

int tp_run_process(struct tp_run *run, char *errbuf, size_t errsize) {
    int err = process_loop(run);
    if (!err)
        return 0;
    tp_errf(errbuf, errsize, err, "%s", tp_processor_last_error(run->p));
    tp_queue_close(run->bus);   /* the reader stops at its next push */
    void *ptr;
    while (tp_queue_pop(run->bus, &ptr, 0) == 0)
        free(ptr);
    return err;
}

int tp_run_join(struct tp_run *run, char *errbuf, size_t errsize) {
    if (!run->started)
        return 0;
    pthread_join(run->th, NULL);
    run->started = 0;
    if (!run->r.err)
        return 0;
    return tp_errf(errbuf, errsize, run->r.err, "%s",
                   run->r.errbuf[0] ? run->r.errbuf : tp_strerror(run->r.err));
}

int tp_run_finish(struct tp_run *run, int *finite, char *errbuf, size_t errsize) {
    *finite = !*run->o.stop && !run->r.err;
    int err = *finite ? tp_processor_finish(run->p) : tp_processor_commit(run->p);
    if (err)
        return tp_errf(errbuf, errsize, err, "%s", tp_processor_last_error(run->p));
    struct tp_queue_stats qs;
    tp_queue_stats(run->bus, &qs);
    publish_stats(run->o.m, run->p, &qs);
    return 0;
}

void tp_run_free(struct tp_run *run) {
    if (!run)
        return;
    tp_queue_free(run->bus);
    if (run->spare) {
        void *ptr;
        while (tp_queue_pop(run->spare, &ptr, 0) == 0)
            free(ptr);
    }
    tp_queue_free(run->spare);
    free(run);
}
