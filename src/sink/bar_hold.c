/*
 * bar_hold.c - bars held between commits, grouped by (symbol, interval).
 *
 * Each pair has a bucket: its names (copied once into one buffer, kept for
 * the hold's life) and an array of compact bars, appended in put order. A
 * put whose start equals the bucket's last one replaces it; a smaller start
 * marks the bucket unsorted, and tp_bar_hold_order() sorts that bucket alone (stable,
 * then keeps the last put of each start). The buckets that hold bars in
 * this batch are listed in `active`, and only that list is sorted by key;
 * each bucket keeps its names' first bytes as integers, which decide most
 * comparisons of that sort (20,000 symbols make 20,000 buckets).
 *
 * Before, every held bar was copied with its names into an arena and every
 * bar's key sorted (qsort, then reads in key order, a cache miss each): with
 * all 12 intervals that was a third of what the bars cost outside SQLite.
 *
 * Buckets live as long as the hold: a store sees a bounded set of symbols
 * and intervals, so they are not given back between batches.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../core/tp_buf.h"
#include "../core/tp_civil.h"
#include "../core/tp_error.h"
#include "bar_hold.h"

enum { F_VWAP = 1, F_CLOSED = 2 };

/* A held bar without its names. */
struct cbar {
    int64_t start;
    double open, high, low, close;
    int64_t volume;
    double vwap;
    int64_t count;
    int flags;                          /* F_VWAP, F_CLOSED */
};

/* What a put reads comes first: its names to compare, then the array and
 * the last start (kept here: reading it from the array stalled on a cache
 * miss, the array's tail being written only every few hundred puts). */
struct bucket {
    size_t names;                       /* offset in h->names: symbol '\0' interval '\0' */
    uint32_t sym_len, ival_len;
    struct cbar *bars;
    size_t n, cap;
    int64_t last_start;                 /* bars[n - 1].start when n > 0 */
    int unsorted;                       /* a put's start was below the last one */
    uint32_t ival_key;                  /* the interval's first 4 bytes, big-endian, 0-padded */
    uint64_t sym_key;                   /* the symbol's first 8 bytes, the same way */
};

/* An open-addressing slot: bucket index + 1 (0: empty) and its hash. */
struct slot {
    uint32_t idx;
    uint32_t hash;
};

struct tp_bar_hold {
    struct bucket *b;
    size_t nb, cap_b;
    struct tp_buf names;                /* every bucket's names, back to back */
    struct slot *slots;
    size_t nslots;                      /* a power of two, at least twice nb */
    uint32_t *active;                   /* buckets with bars in this batch */
    size_t nactive, cap_active;
    size_t at_active, at_bar;           /* tp_bar_hold_next()'s place */
};

struct tp_bar_hold *tp_bar_hold_new(void) {
    return calloc(1, sizeof(struct tp_bar_hold));
}

void tp_bar_hold_free(struct tp_bar_hold *h) {
    if (!h)
        return;
    for (size_t i = 0; i < h->nb; i++)
        free(h->b[i].bars);
    free(h->b);
    free(h->names.p);
    free(h->slots);
    free(h->active);
    free(h);
}

static uint32_t pair_hash(const struct tp_bar_row *r) {
    uint64_t x = tp_fnv1a(TP_FNV1A_BASIS, r->symbol, r->symbol_len);
    x = tp_fnv1a(x ^ 0xff, r->interval, r->interval_len);
    return (uint32_t)(x ^ x >> 32);
}

/* b's symbol, NUL, interval, NUL. */
static const char *names_of(const struct tp_bar_hold *h, const struct bucket *b) {
    return (const char *)h->names.p + b->names;
}

static int same_pair(const struct tp_bar_hold *h, const struct bucket *b,
                     const struct tp_bar_row *r) {
    const char *names = names_of(h, b);
    return b->sym_len == r->symbol_len && b->ival_len == r->interval_len &&
           memcmp(names, r->symbol, r->symbol_len) == 0 &&
           memcmp(names + b->sym_len + 1, r->interval, r->interval_len) == 0;
}

/* Doubles the slot table and places every bucket again. */
static int rehash(struct tp_bar_hold *h) {
    size_t n = h->nslots ? h->nslots * 2 : 256;
    struct slot *s = calloc(n, sizeof *s);
    if (!s)
        return TP_ENOMEM;
    for (size_t i = 0; i < h->nslots; i++) {
        struct slot o = h->slots[i];
        if (!o.idx)
            continue;
        size_t j = o.hash & (n - 1);
        while (s[j].idx)
            j = (j + 1) & (n - 1);
        s[j] = o;
    }
    free(h->slots);
    h->slots = s;
    h->nslots = n;
    return 0;
}

/* Adds the bucket of r's pair at slot j; NULL when out of memory. */
static struct bucket *add_bucket(struct tp_bar_hold *h, const struct tp_bar_row *r,
                                 uint32_t hash, size_t j) {
    size_t need = r->symbol_len + r->interval_len + 2;
    h->names.oom = 0;   /* a failure earlier need not fail this bucket */
    if (tp_array_grow(&h->b, &h->cap_b, h->nb, sizeof *h->b, 64) ||
        tp_buf_reserve(&h->names, need))
        return NULL;
    char *names = (char *)h->names.p + h->names.len;
    memcpy(names, r->symbol, r->symbol_len);
    names[r->symbol_len] = '\0';
    memcpy(names + r->symbol_len + 1, r->interval, r->interval_len);
    names[r->symbol_len + 1 + r->interval_len] = '\0';
    struct bucket *b = &h->b[h->nb];
    uint64_t ival_prefix = tp_bytes_prefix(r->interval, r->interval_len);
    *b = (struct bucket){.names = h->names.len, .sym_len = (uint32_t)r->symbol_len,
                         .ival_len = (uint32_t)r->interval_len,
                         .sym_key = tp_bytes_prefix(r->symbol, r->symbol_len),
                         .ival_key = (uint32_t)(ival_prefix >> 32)};
    h->names.len += need;
    h->slots[j] = (struct slot){(uint32_t)++h->nb, hash};
    return b;
}

/* The bucket of r's pair, made if new; NULL when out of memory. */
static struct bucket *find_bucket(struct tp_bar_hold *h, const struct tp_bar_row *r) {
    if ((h->nb + 1) * 2 > h->nslots && rehash(h))
        return NULL;
    uint32_t hash = pair_hash(r);
    size_t mask = h->nslots - 1;
    for (size_t j = hash & mask;; j = (j + 1) & mask) {
        struct slot s = h->slots[j];
        if (!s.idx)
            return add_bucket(h, r, hash, j);
        if (s.hash == hash && same_pair(h, &h->b[s.idx - 1], r))
            return &h->b[s.idx - 1];
    }
}

int tp_bar_hold_put(struct tp_bar_hold *h, const struct tp_bar_row *r) {
    struct bucket *b = find_bucket(h, r);
    if (!b || tp_array_grow(&b->bars, &b->cap, b->n, sizeof *b->bars, 4))
        return TP_ENOMEM;
    if (b->n == 0) {
        if (tp_array_grow(&h->active, &h->cap_active, h->nactive, sizeof *h->active, 256))
            return TP_ENOMEM;
        h->active[h->nactive++] = (uint32_t)(b - h->b);
    }
    struct cbar c = {r->start, r->open, r->high, r->low, r->close, r->volume, r->vwap, r->count,
                     (r->vwap_valid ? F_VWAP : 0) | (r->closed ? F_CLOSED : 0)};
    if (b->n && r->start <= b->last_start) {
        if (r->start == b->last_start) {
            b->bars[b->n - 1] = c;      /* the same bar again: the last put wins */
            return 0;
        }
        b->unsorted = 1;
    }
    b->bars[b->n++] = c;
    b->last_start = r->start;
    return 0;
}

/* An active bucket as qsort sees it (qsort_r is not C11): its keys, its
 * names and the bucket. */
struct order_key {
    uint64_t sym_key;
    uint32_t ival_key;
    const char *names;
    const struct bucket *b;
};

/* Orders buckets by (symbol, interval); the keys decide unless equal. */
static int cmp_bucket(const void *x, const void *y) {
    const struct order_key *a = x, *b = y;
    if (a->sym_key != b->sym_key)
        return a->sym_key < b->sym_key ? -1 : 1;
    int c = tp_bytes_cmp(a->names, a->b->sym_len, b->names, b->b->sym_len);
    if (c)
        return c;
    if (a->ival_key != b->ival_key)
        return a->ival_key < b->ival_key ? -1 : 1;
    return tp_bytes_cmp(a->names + a->b->sym_len + 1, a->b->ival_len,
                     b->names + b->b->sym_len + 1, b->b->ival_len);
}

struct start_at {
    int64_t start;
    size_t i;
};

static int cmp_start(const void *x, const void *y) {
    const struct start_at *a = x, *b = y;
    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    return (a->i > b->i) - (a->i < b->i);
}

/* Sorts one bucket's bars by start, keeping the last put of each start. */
static int sort_bucket(struct bucket *b) {
    struct start_at *k = malloc(b->n * sizeof *k);
    struct cbar *out = malloc(b->n * sizeof *out);
    if (!k || !out) {
        free(k);
        free(out);
        return TP_ENOMEM;
    }
    for (size_t i = 0; i < b->n; i++)
        k[i] = (struct start_at){b->bars[i].start, i};
    qsort(k, b->n, sizeof *k, cmp_start);
    size_t n = 0;
    for (size_t i = 0; i < b->n; i++)
        if (i + 1 == b->n || k[i + 1].start != k[i].start)
            out[n++] = b->bars[k[i].i];
    free(k);
    free(b->bars);
    b->bars = out;
    b->cap = b->n;
    b->n = n;
    b->last_start = out[n - 1].start;   /* n > 0: the bucket held a bar */
    b->unsorted = 0;
    return 0;
}

int tp_bar_hold_order(struct tp_bar_hold *h) {
    h->at_active = h->at_bar = 0;
    if (h->nactive == 0)
        return 0;
    struct order_key *k = malloc(h->nactive * sizeof *k);
    if (!k)
        return TP_ENOMEM;
    int err = 0;
    for (size_t i = 0; i < h->nactive; i++) {
        struct bucket *b = &h->b[h->active[i]];
        if (b->unsorted && !err)
            err = sort_bucket(b);
        k[i] = (struct order_key){b->sym_key, b->ival_key, names_of(h, b), b};
    }
    qsort(k, h->nactive, sizeof *k, cmp_bucket);
    for (size_t i = 0; i < h->nactive; i++)
        h->active[i] = (uint32_t)(k[i].b - h->b);
    free(k);
    return err;
}

size_t tp_bar_hold_next(struct tp_bar_hold *h, struct tp_bar_row *out, size_t max) {
    size_t k = 0;
    while (k < max && h->at_active < h->nactive) {
        const struct bucket *b = &h->b[h->active[h->at_active]];
        if (h->at_bar == b->n) {
            h->at_active++;
            h->at_bar = 0;
            continue;
        }
        const struct cbar *c = &b->bars[h->at_bar++];
        const char *names = names_of(h, b);
        out[k++] = (struct tp_bar_row){
            .symbol = names, .interval = names + b->sym_len + 1, .start = c->start,
            .open = c->open, .high = c->high, .low = c->low, .close = c->close,
            .volume = c->volume, .vwap = c->vwap, .vwap_valid = !!(c->flags & F_VWAP),
            .count = c->count, .closed = !!(c->flags & F_CLOSED), .symbol_len = b->sym_len,
            .interval_len = b->ival_len};
    }
    return k;
}

void tp_bar_hold_clear(struct tp_bar_hold *h) {
    if (!h)
        return;
    for (size_t i = 0; i < h->nactive; i++) {
        struct bucket *b = &h->b[h->active[i]];
        b->n = 0;
        b->unsorted = 0;
    }
    h->nactive = h->at_active = h->at_bar = 0;
}
