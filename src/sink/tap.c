/*
 * tap.c - a pass-through store that measures (tp_tap.h).
 *
 * Between begin() and commit() the tap keeps, per tick, its receive time
 * and (only while /stream has listeners) a small event copy; a successful
 * commit turns them into latency observations and published events, so a
 * /stream client sees a tick only once it is durable, and exactly once.
 * A failed commit publishes nothing.
 *
 * Thread: the processing thread. The metrics and the event ring are
 * lock-free; the tap itself takes no lock.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/tp_error.h"
#include "store_int.h"
#include "tp_tap.h"

struct tap {
    struct tp_store base;
    struct tp_store_ops ops;    /* tap_ops less what the inner store lacks */
    struct tp_store *in;
    struct tp_metrics *m;
    struct tp_events *ev;
    int64_t recv_us;
    int64_t *recv;              /* receive time of each tick in the transaction */
    size_t nrecv, crecv;
    struct tp_event *evs;       /* events of the transaction (when listened to) */
    size_t nev, cev;
    int64_t rows_bars, rows_latest, rows_gaps;
};

/* The inner store's calls write their sentence straight into the tap's. */
#define ERRBUF(t) (t)->base.last_error, sizeof (t)->base.last_error

static int tap_fail(struct tap *t, int err) {
    tp_metrics_add(t->m, TP_M_STORE_ERRORS, 1);
    return err;
}

static int tap_begin(struct tp_store *b) {
    struct tap *t = (struct tap *)b;
    t->nrecv = t->nev = 0;
    t->rows_bars = t->rows_latest = t->rows_gaps = 0;
    int err = tp_store_begin(t->in, ERRBUF(t));
    return err ? tap_fail(t, err) : 0;
}

static struct tp_event *next_event(struct tap *t) {
    if (!t->ev || tp_events_listeners(t->ev) == 0)
        return NULL;
    if (t->nev == t->cev) {
        size_t c = t->cev ? 2 * t->cev : 1024;
        struct tp_event *n = realloc(t->evs, c * sizeof *n);
        if (!n)
            return NULL;   /* the stream misses events; the store does not */
        t->evs = n;
        t->cev = c;
    }
    struct tp_event *e = &t->evs[t->nev++];
    memset(e, 0, sizeof *e);
    return e;
}

static void copy_symbol(char *dst, size_t size, const char *s, size_t len) {
    if (len >= size)
        len = size - 1;
    memcpy(dst, s, len);
    dst[len] = '\0';
}

static int tap_put_tick(struct tp_store *b, const struct tp_tick_row *r) {
    struct tap *t = (struct tap *)b;
    int err = tp_store_put_tick(t->in, r, ERRBUF(t));
    if (err)
        return tap_fail(t, err);
    if (t->nrecv == t->crecv) {
        size_t c = t->crecv ? 2 * t->crecv : 4096;
        int64_t *n = realloc(t->recv, c * sizeof *n);
        if (n) {
            t->recv = n;
            t->crecv = c;
        }
    }
    if (t->nrecv < t->crecv)
        t->recv[t->nrecv++] = t->recv_us;
    struct tp_event *e = next_event(t);
    if (e) {
        e->kind = TP_EV_TICK;
        copy_symbol(e->symbol, sizeof e->symbol, r->symbol, r->symbol_len);
        e->time = r->time;
        e->seq = r->seq;
        e->price = r->q->v[TP_F_PRICE].f32;
        e->change = tp_quote_has(r->q, TP_F_CHANGE) ? r->q->v[TP_F_CHANGE].f32 : NAN;
        e->cum_avg = r->cum_avg_price;
    }
    return 0;
}

static int tap_put_bar(struct tp_store *b, const struct tp_bar_row *r) {
    struct tap *t = (struct tap *)b;
    int err = tp_store_put_bar(t->in, r, ERRBUF(t));
    if (err)
        return tap_fail(t, err);
    t->rows_bars++;
    struct tp_event *e = next_event(t);
    if (e) {
        e->kind = TP_EV_BAR;
        e->closed = (uint8_t)r->closed;
        copy_symbol(e->symbol, sizeof e->symbol, r->symbol, r->symbol_len);
        copy_symbol(e->interval, sizeof e->interval, r->interval, r->interval_len);
        e->time = r->start;
        e->seq = r->count;
        e->volume = r->volume;
        e->open = r->open;
        e->high = r->high;
        e->low = r->low;
        e->price = r->close;
        e->cum_avg = r->vwap_valid ? r->vwap : NAN;
    }
    return 0;
}

static int tap_put_latest(struct tp_store *b, const struct tp_latest_row *l) {
    struct tap *t = (struct tap *)b;
    int err = tp_store_put_latest(t->in, l, ERRBUF(t));
    if (err)
        return tap_fail(t, err);
    t->rows_latest++;
    return 0;
}

static int tap_put_state(struct tp_store *b, const char *symbol, const void *blob, size_t len) {
    struct tap *t = (struct tap *)b;
    int err = tp_store_put_state(t->in, symbol, blob, len, ERRBUF(t));
    return err ? tap_fail(t, err) : 0;
}

/* Left out of the tap's ops when the inner store keeps no gaps (see tap_new). */
static int tap_put_gap(struct tp_store *b, const struct tp_gap_row *g) {
    struct tap *t = (struct tap *)b;
    int err = tp_store_put_gap(t->in, g, ERRBUF(t));
    if (err)
        return tap_fail(t, err);
    t->rows_gaps++;
    return 0;
}

/* Fencing and losses go straight through (each in its own short
 * transaction of the inner store); NULL-safe wrappers in store.c. */
static int tap_claim(struct tp_store *b, const char *key, const char *owner, int64_t *epoch) {
    struct tap *t = (struct tap *)b;
    int err = tp_store_claim(t->in, key, owner, epoch, ERRBUF(t));
    return err ? tap_fail(t, err) : 0;
}

static int tap_get_epoch(struct tp_store *b, const char *key, int64_t *epoch) {
    struct tap *t = (struct tap *)b;
    int err = tp_store_get_epoch(t->in, key, epoch, ERRBUF(t));
    return err ? tap_fail(t, err) : 0;
}

static int tap_put_loss(struct tp_store *b, const char *key, int64_t from, int64_t to,
                        const char *reason) {
    struct tap *t = (struct tap *)b;
    int err = tp_store_record_loss(t->in, key, from, to, reason, ERRBUF(t));
    return err ? tap_fail(t, err) : 0;
}

static int tap_put_checkpoint(struct tp_store *b, const struct tp_checkpoint *c) {
    struct tap *t = (struct tap *)b;
    int err = tp_store_put_checkpoint(t->in, c, ERRBUF(t));
    return err ? tap_fail(t, err) : 0;
}

/* Latency of every tick of the transaction, counted per bucket here and
 * added to the shared histogram once. */
static void observe_latency(struct tap *t, int64_t now_us) {
    int64_t counts[TP_HIST_BUCKETS + 1] = {0};
    double sum = 0;
    for (size_t i = 0; i < t->nrecv; i++) {
        double s = (double)(now_us - t->recv[i]) / 1e6;
        counts[tp_metrics_bucket(s)]++;
        sum += s;
    }
    tp_metrics_observe_buckets(t->m, TP_H_TICK_LATENCY_SECONDS, counts, sum);
}

/* Forgets the batch's counts, latencies and events (stored, or given up). */
static void forget_batch(struct tap *t) {
    t->nrecv = t->nev = 0;
    t->rows_bars = t->rows_latest = t->rows_gaps = 0;
}

static int tap_commit(struct tp_store *b) {
    struct tap *t = (struct tap *)b;
    int64_t t0 = tp_metrics_now_us();
    int err = tp_store_commit(t->in, ERRBUF(t));
    if (err)
        return tap_fail(t, err);
    int64_t t1 = tp_metrics_now_us();
    tp_metrics_observe(t->m, TP_H_COMMIT_SECONDS, (double)(t1 - t0) / 1e6, 1);
    tp_metrics_add(t->m, TP_M_STORE_COMMITS, 1);
    tp_metrics_add(t->m, TP_M_ROWS_TICKS, (int64_t)t->nrecv);
    tp_metrics_add(t->m, TP_M_ROWS_BARS, t->rows_bars);
    tp_metrics_add(t->m, TP_M_ROWS_LATEST, t->rows_latest);
    tp_metrics_add(t->m, TP_M_GAPS, t->rows_gaps);
    if (t->m)
        observe_latency(t, t1);
    if (t->nev)
        tp_events_publish(t->ev, t->evs, (int)t->nev);
    forget_batch(t);
    return 0;
}

/* An abandoned batch: its rows, latencies and events were never stored. */
static void tap_abort(struct tp_store *b) {
    struct tap *t = (struct tap *)b;
    tp_store_abort(t->in);
    forget_batch(t);
}

static int tap_get_state(struct tp_store *b, const char *symbol, void **blob, size_t *len) {
    struct tap *t = (struct tap *)b;
    return tp_store_get_state(t->in, symbol, blob, len, ERRBUF(t));
}

static int tap_get_checkpoint(struct tp_store *b, struct tp_checkpoint *c) {
    struct tap *t = (struct tap *)b;
    return tp_store_get_checkpoint(t->in, c, ERRBUF(t));
}

static int tap_query(struct tp_store *b, const struct tp_query *qr, tp_query_cb cb, void *opaque,
                     char *errbuf, size_t errsize) {
    struct tap *t = (struct tap *)b;
    return tp_store_query(t->in, qr, cb, opaque, errbuf, errsize);
}

static void tap_free(struct tp_store *b) {
    struct tap *t = (struct tap *)b;
    tp_store_free(t->in);
    free(t->recv);
    free(t->evs);
    free(t);
}

/* The preparation hook goes straight through: the inner store renders. */
static int tap_prepare_tick(const struct tp_store *b, const struct tp_quote *q,
                            const uint8_t *payload, char *out, size_t cap) {
    return tp_store_prepare_tick(((const struct tap *)b)->in, q, payload, out, cap);
}

/* Designated: an operation added to tp_store_ops must be forwarded here too.
 * Each tap copies this table and drops the optional operations its inner
 * store lacks, so the tap answers tp_store_keeps_gaps() and
 * tp_store_prepares_ticks() as the inner store would. */
static const struct tp_store_ops tap_ops = {
    .name = "tap", .begin = tap_begin, .put_tick = tap_put_tick, .put_bar = tap_put_bar,
    .put_latest = tap_put_latest, .put_state = tap_put_state,
    .put_checkpoint = tap_put_checkpoint, .commit = tap_commit, .abort = tap_abort,
    .get_state = tap_get_state, .get_checkpoint = tap_get_checkpoint, .query = tap_query,
    .free = tap_free, .put_gap = tap_put_gap, .claim = tap_claim, .get_epoch = tap_get_epoch,
    .put_loss = tap_put_loss, .prepare_tick = tap_prepare_tick};

int tp_store_tap_new(struct tp_store **out, struct tp_store *inner, struct tp_metrics *m,
                     struct tp_events *ev) {
    *out = NULL;
    struct tap *t = calloc(1, sizeof *t);
    if (!t) {
        tp_store_free(inner);
        return TP_ENOMEM;
    }
    t->ops = tap_ops;
    if (!inner->ops->put_gap)
        t->ops.put_gap = NULL;
    if (!inner->ops->prepare_tick)
        t->ops.prepare_tick = NULL;
    t->base.ops = &t->ops;
    t->base.has_state = inner->has_state;
    t->in = inner;
    t->m = m;
    t->ev = ev;
    t->recv_us = tp_metrics_now_us();
    *out = &t->base;
    return 0;
}

void tp_store_tap_received(struct tp_store *tap, int64_t recv_us) {
    ((struct tap *)tap)->recv_us = recv_us;
}
