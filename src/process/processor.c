/*
 * processor.c - duplicates, seq, cumulative average, bars, lateness and
 * latest per symbol (DESIGN.md "Semantics"), written to a store in batches.
 *
 * Thread: one thread owns a processor and its store.
 *
 * Batches: the first item after a commit opens a store transaction; applied
 * ticks go to the store as they come; tp_processor_commit() adds the bars
 * and latest rows that changed, the state of every symbol that changed and
 * every source position, then commits. So outputs, state and positions are
 * durable together, and a crash at any point resumes from a consistent
 * checkpoint.
 *
 * With opts.ticks_only_commits and only positioned inputs, the commits the
 * processor makes itself every batch_ticks items carry only ticks and
 * closed bars; the per-symbol rows and positions wait for the caller's
 * tp_processor_commit(). A replay of 20,000 symbols thus writes each
 * symbol's state once a second, not once per batch (issue 12). A crash
 * between the two leaves ticks beyond the checkpoint: the re-run reads those
 * frames again from the checkpoint, and since the results are a function of
 * the state and the frames, it writes the very same rows over them.
 *
 * Symbol state is loaded lazily from the store the first time a symbol is
 * seen, so several processes may share a store as long as each symbol is
 * handled by one of them at a time (Kafka partitions keyed by symbol).
 *
 * Bars: the closing rule of DESIGN.md, with one precision: a bar of a longer
 * interval whose end is not a multiple of the shortest interval (15s beside
 * 10s) closes when no non-late tick can reach it any more, that is when the
 * largest time reaches its end rounded up to the shortest interval plus the
 * lateness. When the shortest interval divides the others (every other
 * combination) this is exactly the DESIGN.md rule.
 *
 * Hot path (issue 12): a tick costs no division in the common case. Each
 * open bar knows when it closes (computed once, when it opens), each symbol
 * the earliest of those moments, so closing is one comparison per tick; a
 * tick inside its interval's newest bar is added without computing the
 * bar's start. Open bars of an interval sit in an array from head onwards:
 * closing the oldest moves head, and only an out-of-order tick that opens
 * an older bar moves others. The symbol table keeps each name's hash and
 * length, so a lookup compares hashes before bytes and never counts them.
 * At thousands of symbols a tick's symbol state is out of the cache: a
 * caller holding a batch names each tick's symbol a few ticks ahead
 * (tp_processor_hint) and the processor has the slot, the state and its
 * buffers fetched in steps meanwhile; a commit fetches the next dirty
 * symbol while it writes one.
 */
#include "tp_processor.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/tp_buf.h"
#include "../core/tp_civil.h"
#include "../core/tp_clock.h"
#include "../core/tp_deadletter.h"
#include "../core/tp_error.h"
#include "../core/tp_log.h"
#include "../codec/tp_decode.h"

#define STATE_VERSION 1

struct bar {
    int64_t start;
    int64_t close_at;       /* the largest time that closes it (close_at()) */
    double open, high, low, close;
    int64_t open_time, close_time;
    int64_t volume;
    double pv;              /* sum of price * volume increment */
    int64_t count;
    int dirty;
};

struct bars {               /* open bars of one interval: v[head..head+n), ascending start */
    struct bar *v;
    int head, n, cap;
};

struct sym {
    uint64_t hash;
    size_t name_len;
    int64_t next_close;     /* earliest close_at of the open bars; INT64_MAX: none */
    int64_t n;              /* applied ticks */
    double sum;             /* sum of applied prices */
    int64_t max_time;       /* largest applied time; valid when n > 0 */
    int64_t latest_time;
    double latest_price;
    int has_vol;
    int64_t vol_prev;
    uint8_t *last;          /* payload of the last applied frame */
    size_t last_len, last_cap;
    struct bars bars[TP_MAX_BARS];
    int64_t head_close[TP_MAX_BARS];  /* close_at of bars[i]'s oldest bar; INT64_MAX: none */
    int dirty;              /* state/latest changed since last commit */
    struct sym *next_dirty;
    char name[];            /* NUL-terminated */
};

#define SETTINGS_KEY "tp:settings"
#define LIVE_KEY "tp:live"      /* pos = wall ms of the last commit of a live capture */

struct position {
    char *key;
    int64_t pos, line;
    int64_t aux;            /* the source's fingerprint, kept with the checkpoint */
    int dirty;
    char *fence;            /* ownership key checked at commit, or NULL */
    int64_t epoch;
};

/* tp_processor_hint(): a hinted symbol's table slot is fetched at once,
 * its state HINT_STATE calls later, the buffers the state points to
 * HINT_BUFFERS calls later (each step reads only what the one before
 * fetched); HINT_RING holds the hashes that far back. */
#define HINT_RING 16
#define HINT_STATE 5
#define HINT_BUFFERS 9
/* Below this many symbols their state stays in the cache and a hint would
 * only cost time (a few hundred bytes a symbol against a core's L2). */
#define HINT_MIN_SYMBOLS 2048

struct tp_processor {
    struct tp_store *st;
    struct tp_processor_opts o;
    const char *bar_names[TP_MAX_BARS];
    size_t bar_name_len[TP_MAX_BARS];
    struct slot *tab;       /* open addressing, power-of-two size */
    size_t tab_size, tab_used;
    struct sym *dirty;      /* list of dirty symbols */
    struct sym **order;     /* symbols in first-seen order (for a stable output) */
    struct position *pos;
    int npos, cap_pos;
    FILE *dl;               /* dead-letter file, append */
    char *dl_key;           /* "deadletter:<abs path>" */
    int64_t dl_kept;        /* its size as of the last checkpoint (or the open) */
    int64_t dl_flushed;     /* its size in the checkpoint of the commit under way */
    int in_txn;
    int settings_pending;   /* the store has no settings yet: write ours */
    int live;               /* a live capture: commits record LIVE_KEY */
    int pending;            /* items since last commit */
    struct tp_processor_stats stats;
    struct tp_processor_stats committed;   /* stats as of the last commit */
    char err[512];
    char serr[256];         /* the store's sentence for its last failure */
    struct tp_buf blob;     /* scratch for state serialisation */
    uint64_t hints[HINT_RING];  /* hashes of the last hinted symbols (tp_processor_hint) */
    unsigned nhints;
};

/* Where store calls leave the sentence of a failure. */
#define SERR(p) (p)->serr, sizeof (p)->serr

/* ---------- symbol table ---------- */

struct slot {
    uint64_t hash;
    struct sym *s;          /* NULL: empty */
};

static uint64_t hash_bytes(const char *s, size_t len) {
    return tp_fnv1a(1469598103934665603ULL, s, len);   /* the basis only spreads the table */
}

/* Where a name of hash h is looked for first. */
static size_t slot_index(const struct tp_processor *p, uint64_t h) {
    return (size_t)(h ^ h >> 29) & (p->tab_size - 1);
}

static struct slot *slot_for(struct tp_processor *p, uint64_t h, const char *name, size_t len) {
    size_t mask = p->tab_size - 1, i = slot_index(p, h);
    for (;; i = (i + 1) & mask) {
        struct slot *sl = &p->tab[i];
        if (!sl->s || (sl->hash == h && sl->s->name_len == len && memcmp(sl->s->name, name, len) == 0))
            return sl;
    }
}

static int grow_table(struct tp_processor *p) {
    size_t old_size = p->tab_size;
    struct slot *old = p->tab;
    p->tab_size = old_size ? old_size * 2 : 256;
    p->tab = calloc(p->tab_size, sizeof *p->tab);
    if (!p->tab) {
        p->tab = old;
        p->tab_size = old_size;
        return TP_ENOMEM;
    }
    for (size_t i = 0; i < old_size; i++)
        if (old[i].s)
            *slot_for(p, old[i].hash, old[i].s->name, old[i].s->name_len) = old[i];
    free(old);
    return 0;
}

static void sym_free(struct sym *s) {
    if (!s)
        return;
    for (int i = 0; i < TP_MAX_BARS; i++)
        free(s->bars[i].v);
    free(s->last);
    free(s);
}

/* Starts loading the fields of s that applying a tick or writing the
 * symbol out reads (NULL: nothing). */
static void prefetch_sym(const struct tp_processor *p, const struct sym *s) {
    if (!s)
        return;
    size_t end = offsetof(struct sym, bars) + (size_t)p->o.nbars * sizeof s->bars[0];
    for (size_t o = 0; o < end; o += 64)
        __builtin_prefetch((const char *)s + o);
    __builtin_prefetch(&s->dirty);
    __builtin_prefetch(s->name);
}

/* ---------- state blobs ---------- */

/* Appends n bytes to w, which has room for them (tp_buf_reserve). */
static void put_reserved(struct tp_buf *w, const void *src, size_t n) {
    memcpy(w->p + w->len, src, n);
    w->len += n;
}
#define PUT(w, v) put_reserved((w), &(v), sizeof(v))

struct rbuf { const uint8_t *p; size_t len, off; int bad; };

static void get_bytes(struct rbuf *r, void *dst, size_t n) {
    if (r->bad || r->off + n > r->len) {
        r->bad = 1;
        memset(dst, 0, n);
        return;
    }
    memcpy(dst, r->p + r->off, n);
    r->off += n;
}
#define GET(r, v) get_bytes((r), &(v), sizeof(v))

static void serialize_sym(const struct tp_processor *p, const struct sym *s, struct tp_buf *w) {
    uint8_t ver = STATE_VERSION;
    uint32_t last_len = (uint32_t)s->last_len, nbars = (uint32_t)p->o.nbars;
    size_t open = 0;
    for (int i = 0; i < p->o.nbars; i++)
        open += (size_t)s->bars[i].n;
    /* One reservation for the whole blob, so each field below is a plain
     * copy (the bound is above the exact size: fields are at most 8 bytes). */
    if (tp_buf_reserve(w, 64 + s->last_len + (size_t)p->o.nbars * 12 + open * 10 * 8))
        return;
    PUT(w, ver);
    PUT(w, s->n);
    PUT(w, s->sum);
    PUT(w, s->max_time);
    PUT(w, s->latest_time);
    PUT(w, s->latest_price);
    int32_t has_vol = s->has_vol;
    PUT(w, has_vol);
    PUT(w, s->vol_prev);
    PUT(w, last_len);
    put_reserved(w, s->last, s->last_len);
    PUT(w, nbars);
    for (int i = 0; i < p->o.nbars; i++) {
        int64_t ms = p->o.bar_ms[i];
        const struct bars *bs = &s->bars[i];
        uint32_t nb = (uint32_t)bs->n;
        PUT(w, ms);
        PUT(w, nb);
        for (int j = bs->head; j < bs->head + bs->n; j++) {
            const struct bar *b = &bs->v[j];
            PUT(w, b->start);
            PUT(w, b->open);
            PUT(w, b->high);
            PUT(w, b->low);
            PUT(w, b->close);
            PUT(w, b->open_time);
            PUT(w, b->close_time);
            PUT(w, b->volume);
            PUT(w, b->pv);
            PUT(w, b->count);
        }
    }
}

/* Makes room for one more bar at the end: first by moving the open bars
 * back to the array's start (once per cap / 2 closed bars at most), else by
 * growing it. */
static int bars_reserve(struct bars *bs) {
    if (bs->head + bs->n < bs->cap)
        return 0;
    if (bs->head > 0 && bs->n < bs->cap / 2 + 1) {
        memmove(bs->v, bs->v + bs->head, (size_t)bs->n * sizeof *bs->v);
        bs->head = 0;
        return 0;
    }
    int cap = bs->cap ? bs->cap * 2 : 4;
    struct bar *nv = realloc(bs->v, (size_t)cap * sizeof *nv);
    if (!nv)
        return TP_ENOMEM;
    bs->v = nv;
    bs->cap = cap;
    return 0;
}

/* Keeps s->head_close[i] in step with the oldest open bar of interval i:
 * close_bars() reads these side by side instead of visiting every list. */
static void note_head(struct sym *s, int i) {
    const struct bars *bs = &s->bars[i];
    s->head_close[i] = bs->n > 0 ? bs->v[bs->head].close_at : INT64_MAX;
}

static int bars_push(struct bars *bs, const struct bar *b) {
    if (bars_reserve(bs))
        return TP_ENOMEM;
    bs->v[bs->head + bs->n++] = *b;
    return 0;
}

static int64_t close_at(const struct tp_processor *p, int64_t start, int64_t ms);

static int interval_index(const struct tp_processor *p, int64_t ms) {
    for (int i = 0; i < p->o.nbars; i++)
        if (p->o.bar_ms[i] == ms)
            return i;
    return -1;
}

/* Restores a symbol from its blob. Bars of intervals no longer configured
 * are dropped; newly configured intervals start empty. */
static int deserialize_sym(const struct tp_processor *p, struct sym *s, const uint8_t *blob,
                           size_t len) {
    struct rbuf r = {blob, len, 0, 0};
    uint8_t ver;
    uint32_t last_len, nbars;
    int32_t has_vol;
    GET(&r, ver);
    if (ver != STATE_VERSION)
        return TP_EPARSE;
    GET(&r, s->n);
    GET(&r, s->sum);
    GET(&r, s->max_time);
    GET(&r, s->latest_time);
    GET(&r, s->latest_price);
    GET(&r, has_vol);
    s->has_vol = has_vol;
    GET(&r, s->vol_prev);
    GET(&r, last_len);
    if (r.bad || last_len > len - r.off)
        return TP_EPARSE;
    s->last = malloc(last_len ? last_len : 1);
    if (!s->last)
        return TP_ENOMEM;
    s->last_cap = last_len ? last_len : 1;
    get_bytes(&r, s->last, last_len);
    s->last_len = last_len;
    GET(&r, nbars);
    for (uint32_t i = 0; i < nbars && !r.bad; i++) {
        int64_t ms;
        uint32_t nb;
        GET(&r, ms);
        GET(&r, nb);
        int idx = interval_index(p, ms);
        for (uint32_t j = 0; j < nb && !r.bad; j++) {
            struct bar b = {0};
            GET(&r, b.start);
            GET(&r, b.open);
            GET(&r, b.high);
            GET(&r, b.low);
            GET(&r, b.close);
            GET(&r, b.open_time);
            GET(&r, b.close_time);
            GET(&r, b.volume);
            GET(&r, b.pv);
            GET(&r, b.count);
            if (idx < 0 || r.bad)
                continue;
            b.close_at = close_at(p, b.start, ms);
            if (b.close_at < s->next_close)
                s->next_close = b.close_at;
            if (bars_push(&s->bars[idx], &b))
                return TP_ENOMEM;
            note_head(s, idx);
        }
    }
    return r.bad ? TP_EPARSE : 0;
}

/* Finds or creates (loading saved state) the symbol named name[0..len). */
static int get_sym(struct tp_processor *p, const char *name, size_t len, struct sym **out) {
    uint64_t h = hash_bytes(name, len);
    struct slot *slot = slot_for(p, h, name, len);
    if (slot->s) {
        *out = slot->s;
        return 0;
    }
    if ((p->tab_used + 1) * 2 > p->tab_size) {
        if (grow_table(p))
            return TP_ENOMEM;
        slot = slot_for(p, h, name, len);
    }
    struct sym *s = calloc(1, sizeof *s + len + 1);
    if (!s)
        return TP_ENOMEM;
    memcpy(s->name, name, len);
    s->name_len = len;
    s->hash = h;
    s->next_close = INT64_MAX;
    for (int i = 0; i < TP_MAX_BARS; i++)
        s->head_close[i] = INT64_MAX;
    if (tp_store_has_state(p->st)) {
        void *blob = NULL;
        size_t blen = 0;
        int err = tp_store_get_state(p->st, s->name, &blob, &blen, SERR(p));
        if (err == 0) {
            err = deserialize_sym(p, s, blob, blen);
            free(blob);
            if (err) {
                snprintf(p->err, sizeof p->err, "saved state of symbol %s is corrupt", s->name);
                sym_free(s);
                return TP_ESTORE;
            }
        } else if (err != TP_ENOTFOUND) {
            snprintf(p->err, sizeof p->err, "loading state of %s: %s", s->name, p->serr);
            sym_free(s);
            return TP_ESTORE;
        }
    }
    if (p->tab_used % 64 == 0) {
        struct sym **no = realloc(p->order, (p->tab_used + 64) * sizeof *no);
        if (!no) {
            sym_free(s);
            return TP_ENOMEM;
        }
        p->order = no;
    }
    p->order[p->tab_used] = s;
    *slot = (struct slot){h, s};
    p->tab_used++;
    p->stats.symbols++;
    *out = s;
    return 0;
}

/* ---------- batches ---------- */

static int store_fail(struct tp_processor *p, const char *what, int err) {
    snprintf(p->err, sizeof p->err, "store %s: %s", what,
             p->serr[0] ? p->serr : tp_strerror(err));
    return err == TP_EFENCED ? err : TP_ESTORE;   /* the caller must tell fencing apart */
}

static int ensure_txn(struct tp_processor *p) {
    if (p->in_txn)
        return 0;
    int err = tp_store_begin(p->st, SERR(p));
    if (err)
        return store_fail(p, "begin", err);
    p->in_txn = 1;
    return 0;
}

static void mark_dirty(struct tp_processor *p, struct sym *s) {
    if (s->dirty)
        return;
    s->dirty = 1;
    s->next_dirty = p->dirty;
    p->dirty = s;
}

static void fill_bar_row(const struct tp_processor *p, const struct sym *s, int i,
                         const struct bar *b, int closed, struct tp_bar_row *row) {
    row->symbol = s->name;
    row->symbol_len = s->name_len;
    row->interval = p->bar_names[i];
    row->interval_len = p->bar_name_len[i];
    row->start = b->start;
    row->open = b->open;
    row->high = b->high;
    row->low = b->low;
    row->close = b->close;
    row->volume = b->volume;
    row->vwap_valid = b->volume > 0;
    row->vwap = b->volume > 0 ? b->pv / (double)b->volume : 0;
    row->count = b->count;
    row->closed = closed;
}

/* Wire values are untrusted: volume sums and time
 * arithmetic saturate instead of overflowing. */
static int64_t sat_add(int64_t a, int64_t b) {
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return r;
}

/* Largest time at which bar [start, start+ms) can still receive a tick;
 * once max_time reaches this, the bar is closed. */
static int64_t floor_to(int64_t t, int64_t ms) {
    int64_t r = t % ms;
    return r < 0 ? t - r - ms : t - r;
}

static int64_t close_at(const struct tp_processor *p, int64_t start, int64_t ms) {
    int64_t i0 = p->o.bar_ms[0];
    int64_t end0 = -floor_to(-sat_add(start, ms), i0);   /* end rounded up to i0 */
    return sat_add(end0, p->o.lateness_ms);
}

/* Writes the bars of s that changed since the last commit (all of them at
 * the end of a finite source, marked closed for stores that only keep
 * closed bars). */
static int flush_bars(struct tp_processor *p, struct sym *s, int finish) {
    for (int i = 0; i < p->o.nbars; i++) {
        struct bars *bs = &s->bars[i];
        for (int j = bs->head; j < bs->head + bs->n; j++) {
            struct bar *b = &bs->v[j];
            if (!b->dirty && !finish)
                continue;
            struct tp_bar_row row;
            fill_bar_row(p, s, i, b, finish, &row);
            int err = tp_store_put_bar(p->st, &row, SERR(p));
            if (err)
                return store_fail(p, "write bar", err);
            b->dirty = 0;
        }
    }
    return 0;
}

/* Writes and forgets the bars of s that closed when its largest time
 * reached max_time (at least s->next_close). Bars are sorted by start, and
 * bars of one interval close in start order, so only the front of each
 * list is examined; s->next_close becomes the earliest close_at left. */
static int close_bars(struct tp_processor *p, struct sym *s) {
    int64_t next = INT64_MAX;
    for (int i = 0; i < p->o.nbars; i++) {
        if (s->max_time < s->head_close[i]) {   /* the common case: nothing closes */
            if (s->head_close[i] < next)
                next = s->head_close[i];
            continue;
        }
        struct bars *bs = &s->bars[i];
        while (bs->n > 0 && s->max_time >= bs->v[bs->head].close_at) {
            struct tp_bar_row row;
            fill_bar_row(p, s, i, &bs->v[bs->head], 1, &row);
            int err = tp_store_put_bar(p->st, &row, SERR(p));
            if (err)
                return store_fail(p, "write bar", err);
            bs->head++;
            bs->n--;
        }
        if (bs->n == 0)
            bs->head = 0;
        note_head(s, i);
        if (s->head_close[i] < next)
            next = s->head_close[i];
    }
    s->next_close = next;
    return 0;
}

static int flush_sym(struct tp_processor *p, struct sym *s, int finish) {
    int err = flush_bars(p, s, finish);
    if (err)
        return err;
    if (s->n > 0) {
        struct tp_latest_row l = {s->name, s->latest_time, s->latest_price, s->sum / (double)s->n, s->n};
        if ((err = tp_store_put_latest(p->st, &l, SERR(p))))
            return store_fail(p, "write latest", err);
    }
    if (tp_store_has_state(p->st)) {
        struct tp_buf *w = &p->blob;
        w->len = 0;
        w->oom = 0;   /* each blob gets its own chance, as a fresh buffer would */
        serialize_sym(p, s, w);
        if (w->oom)
            return TP_ENOMEM;
        if ((err = tp_store_put_state(p->st, s->name, w->p, w->len, SERR(p))))
            return store_fail(p, "write state", err);
    }
    return 0;
}

static int64_t file_size(FILE *f) {
    struct stat sb;
    return fstat(fileno(f), &sb) == 0 ? (int64_t)sb.st_size : -1;
}

/* Records the settings that shape the store's results, with the first
 * commit into a store that has none. */
static int flush_settings(struct tp_processor *p) {
    if (!p->settings_pending || !tp_store_has_state(p->st))
        return 0;
    struct tp_checkpoint c = {.key = SETTINGS_KEY, .pos = tp_bars_mask(p->o.bar_ms, p->o.nbars),
                              .line = p->o.lateness_ms, .aux = 1};
    int err = tp_store_put_checkpoint(p->st, &c, SERR(p));
    if (err)
        return store_fail(p, "write settings", err);
    p->settings_pending = 0;
    return 0;
}

static int flush_positions(struct tp_processor *p) {
    if (!tp_store_has_state(p->st))
        return 0;
    for (int i = 0; i < p->npos; i++) {
        if (!p->pos[i].dirty)
            continue;
        struct tp_checkpoint c = {.key = p->pos[i].key, .pos = p->pos[i].pos,
                                  .line = p->pos[i].line, .aux = p->pos[i].aux,
                                  .fence = p->pos[i].fence, .epoch = p->pos[i].epoch};
        int err = tp_store_put_checkpoint(p->st, &c, SERR(p));
        if (err)
            return store_fail(p, "write checkpoint", err);
        p->pos[i].dirty = 0;
    }
    if (p->live) {
        struct tp_checkpoint c = {.key = LIVE_KEY, .pos = tp_wall_ms()};
        int err = tp_store_put_checkpoint(p->st, &c, SERR(p));
        if (err)
            return store_fail(p, "write live mark", err);
    }
    if (p->dl) {
        if (fflush(p->dl) != 0) {
            snprintf(p->err, sizeof p->err, "dead-letter file: write failed: %s", strerror(errno));
            return TP_EIO;
        }
        struct tp_checkpoint c = {.key = p->dl_key, .pos = file_size(p->dl)};
        p->dl_flushed = c.pos;
        int err = tp_store_put_checkpoint(p->st, &c, SERR(p));
        if (err)
            return store_fail(p, "write checkpoint", err);
    }
    return 0;
}

/* Whether the processor's own batch commits are ticks-only now (see
 * opts.ticks_only_commits): only while every input can be read again. */
static int ticks_only(const struct tp_processor *p) {
    return p->o.ticks_only_commits && p->npos > 0 && !p->live;
}

/* Symbol rows or positions that a ticks-only commit left for the next
 * checkpoint (which may come with no batch open). */
static int checkpoint_due(const struct tp_processor *p) {
    if (p->dirty)
        return 1;
    for (int i = 0; i < p->npos; i++)
        if (p->pos[i].dirty)
            return 1;
    return 0;
}

/* Commits the open batch. With checkpoint, also the rows that follow the
 * symbols that changed (open bars, latest, state) and the positions; without
 * (ticks_only_commits: a positioned source's own batch commits), only what
 * the batch appended: ticks, closed bars, gaps. */
static int commit_batch(struct tp_processor *p, int finish, int checkpoint) {
    if (!p->in_txn && !finish && !(checkpoint && ticks_only(p) && checkpoint_due(p)))
        return 0;
    int err = ensure_txn(p);
    if (err || (err = flush_settings(p)))
        return err;
    if (!checkpoint)
        goto commit;
    if (finish) {   /* every symbol, in first-seen order */
        for (struct sym *s = p->dirty; s; s = s->next_dirty)
            s->dirty = 0;
        p->dirty = NULL;
        for (size_t i = p->tab_used; i-- > 0;)
            mark_dirty(p, p->order[i]);
    }
    for (struct sym *s = p->dirty, *next; s; s = next) {
        next = s->next_dirty;
        prefetch_sym(p, next);   /* while s is written: at many symbols it is not cached */
        if ((err = flush_sym(p, s, finish)))
            return err;
        s->dirty = 0;
        s->next_dirty = NULL;
    }
    p->dirty = NULL;
    if ((err = flush_positions(p)))
        return err;
commit:
    if (p->dl && !tp_store_has_state(p->st) && fflush(p->dl) != 0) {
        snprintf(p->err, sizeof p->err, "dead-letter file: write failed: %s", strerror(errno));
        return TP_EIO;
    }
    if ((err = tp_store_commit(p->st, SERR(p))))
        return store_fail(p, "commit", err);
    p->in_txn = 0;
    p->pending = 0;
    p->stats.commits++;
    p->committed = p->stats;
    if (checkpoint && p->dl)
        p->dl_kept = p->dl_flushed;
    return 0;
}

int tp_processor_advance(struct tp_processor *p, int slot, int64_t pos, int64_t line) {
    if (slot < 0 || slot >= p->npos)
        return TP_EINVAL;
    struct position *ps = &p->pos[slot];
    ps->pos = pos;
    ps->line = line;
    ps->dirty = 1;
    return 0;
}

int tp_processor_fence(struct tp_processor *p, int slot, const char *fence, int64_t epoch) {
    if (slot < 0 || slot >= p->npos)
        return TP_EINVAL;
    struct position *ps = &p->pos[slot];
    char *f = fence ? strdup(fence) : NULL;
    if (fence && !f)
        return TP_ENOMEM;
    free(ps->fence);
    ps->fence = f;
    ps->epoch = epoch;
    ps->dirty = 1;   /* the next commit checks the fence even without progress */
    return 0;
}

int tp_processor_commit(struct tp_processor *p) {
    return commit_batch(p, 0, 1);
}

int tp_processor_finish(struct tp_processor *p) {
    return commit_batch(p, 1, 1);
}

/* ---------- applying ticks ---------- */

static void bar_add(struct bar *b, double price, int64_t t, int64_t inc) {
    if (price > b->high)
        b->high = price;
    if (price < b->low)
        b->low = price;
    if (t < b->open_time) {
        b->open_time = t;
        b->open = price;
    }
    if (t >= b->close_time) {
        b->close_time = t;
        b->close = price;
    }
    b->volume = sat_add(b->volume, inc);
    b->pv += price * (double)inc;
    b->count++;
    b->dirty = 1;
}

/* Opens the bar of interval i that starts at start, in start order. Only
 * an out-of-order tick opening a bar older than the newest moves bars. */
static int open_bar(struct tp_processor *p, struct sym *s, int i, int64_t start, double price,
                    int64_t t, int64_t inc) {
    struct bars *bs = &s->bars[i];
    struct bar b = {start, close_at(p, start, p->o.bar_ms[i]), price, price, price, price, t, t,
                    inc, price * (double)inc, 1, 1};
    if (bars_reserve(bs))
        return TP_ENOMEM;
    int j = bs->head + bs->n - 1;   /* the newest bar that stays before b */
    while (j >= bs->head && bs->v[j].start > start)
        j--;
    if (j + 1 < bs->head + bs->n)
        memmove(&bs->v[j + 2], &bs->v[j + 1], (size_t)(bs->head + bs->n - (j + 1)) * sizeof b);
    bs->v[j + 1] = b;
    bs->n++;
    note_head(s, i);
    if (b.close_at < s->next_close)
        s->next_close = b.close_at;
    return 0;
}

static int update_bars(struct tp_processor *p, struct sym *s, double price, int64_t t, int64_t inc) {
    for (int i = 0; i < p->o.nbars; i++) {
        struct bars *bs = &s->bars[i];
        int64_t ms = p->o.bar_ms[i];
        if (bs->n > 0) {   /* the common case: t falls into the newest bar */
            struct bar *last = &bs->v[bs->head + bs->n - 1];
            if (t >= last->start && (uint64_t)t - (uint64_t)last->start < (uint64_t)ms) {
                bar_add(last, price, t, inc);
                continue;
            }
        }
        int64_t start = floor_to(t, ms);
        int j = bs->head + bs->n - 1;
        while (j >= bs->head && bs->v[j].start > start)
            j--;
        if (j >= bs->head && bs->v[j].start == start) {
            bar_add(&bs->v[j], price, t, inc);
            continue;
        }
        int err = open_bar(p, s, i, start, price, t, inc);
        if (err)
            return err;
    }
    return 0;
}

static int remember_payload(struct sym *s, const uint8_t *payload, size_t len) {
    if (len > s->last_cap) {
        uint8_t *np = realloc(s->last, len);
        if (!np)
            return TP_ENOMEM;
        s->last = np;
        s->last_cap = len;
    }
    memcpy(s->last, payload, len);
    s->last_len = len;
    return 0;
}

static int apply_tick(struct tp_processor *p, const struct tp_item *it) {
    const struct tp_quote *q = it->q;
    const tp_sv id = q->v[TP_F_ID].sv;
    struct sym *s;
    int err = get_sym(p, (const char *)it->payload + id.off, id.len, &s);
    if (err)
        return err;
    if (s->n > 0 && s->last_len == it->payload_len &&
        memcmp(s->last, it->payload, it->payload_len) == 0) {
        p->stats.duplicates++;
        return 0;
    }
    double price = q->v[TP_F_PRICE].f32;
    int64_t t = q->v[TP_F_TIME].i64;
    int64_t i0 = p->o.bar_ms[0];
    /* The end of t's shortest bar is after t, so a tick no older than
     * max_time - lateness cannot be late: no division for it. */
    int late = s->n > 0 && (sat_add(t, p->o.lateness_ms) < s->max_time || s->max_time == INT64_MAX) &&
               s->max_time >= sat_add(sat_add(floor_to(t, i0), i0), p->o.lateness_ms);
    if ((err = remember_payload(s, it->payload, it->payload_len)))
        return err;
    s->n++;
    s->sum += price;
    int advanced = s->n == 1 || t > s->max_time;
    if (advanced)
        s->max_time = t;
    if (s->n == 1 || t >= s->latest_time) {
        s->latest_time = t;
        s->latest_price = price;
    }
    if (late) {
        p->stats.late++;
    } else {
        int64_t inc = 0;
        if (tp_quote_has(q, TP_F_DAY_VOLUME)) {
            int64_t v = q->v[TP_F_DAY_VOLUME].i64;
            if (s->has_vol && s->vol_prev <= v && __builtin_sub_overflow(v, s->vol_prev, &inc))
                inc = INT64_MAX;   /* a jump larger than int64: saturate */
            s->has_vol = 1;
            s->vol_prev = v;
        }
        if ((err = update_bars(p, s, price, t, inc)))
            return err;
    }
    mark_dirty(p, s);
    p->stats.applied++;
    struct tp_tick_row row = {s->name, s->name_len, q, it->payload, it->payload_len, t,
                              s->n, s->sum / (double)s->n, it->prepared, it->prepared_len};
    if ((err = tp_store_put_tick(p->st, &row, SERR(p))))
        return store_fail(p, "write tick", err);
    return advanced && s->max_time >= s->next_close ? close_bars(p, s) : 0;
}

/* Appends one JSON line to the dead-letter file. */
static void dead_letter(struct tp_processor *p, const struct tp_item *it) {
    if (!p->dl)
        return;
    const char *key = it->pos_slot >= 0 && it->pos_slot < p->npos ? p->pos[it->pos_slot].key : "-";
    tp_deadletter_write(p->dl, it->reason ? it->reason : "rejected", key, it->line, it->raw,
                        it->raw_len);
}

int64_t tp_processor_live(struct tp_processor *p) {
    if (!tp_store_has_state(p->st))
        return 0;
    p->live = 1;
    struct tp_checkpoint c = {.key = LIVE_KEY};
    return tp_store_get_checkpoint(p->st, &c, SERR(p)) == 0 ? c.pos : 0;
}

int tp_processor_gap(struct tp_processor *p, const struct tp_gap_row *g) {
    if (!tp_store_keeps_gaps(p->st))
        return 0;
    int err = ensure_txn(p);
    if (!err && (err = tp_store_put_gap(p->st, g, SERR(p))))
        return store_fail(p, "write gap", err);
    return err;
}

/* The symbol in p's table whose hash is h, if it sits in its first slot
 * (a hint gives up rather than probe on), else NULL. */
static const struct sym *hinted_sym(const struct tp_processor *p, uint64_t h) {
    const struct slot *sl = &p->tab[slot_index(p, h)];
    return sl->s && sl->hash == h ? sl->s : NULL;
}

void tp_processor_hint(struct tp_processor *p, const char *symbol, size_t len) {
    if (p->tab_used < HINT_MIN_SYMBOLS)
        return;
    uint64_t h = hash_bytes(symbol, len);
    __builtin_prefetch(&p->tab[slot_index(p, h)]);
    unsigned k = p->nhints++;
    p->hints[k % HINT_RING] = h;
    if (k >= HINT_STATE)
        prefetch_sym(p, hinted_sym(p, p->hints[(k - HINT_STATE) % HINT_RING]));
    if (k >= HINT_BUFFERS) {
        const struct sym *s = hinted_sym(p, p->hints[(k - HINT_BUFFERS) % HINT_RING]);
        if (!s)
            return;
        for (size_t o = 0; o < s->last_len; o += 64)
            __builtin_prefetch(s->last + o);
        for (int i = 0; i < p->o.nbars; i++)
            if (s->bars[i].n)   /* the newest open bar, where a tick usually lands */
                __builtin_prefetch(&s->bars[i].v[s->bars[i].head + s->bars[i].n - 1]);
    }
}

int tp_processor_apply(struct tp_processor *p, const struct tp_item *it) {
    if (it->kind == TP_ITEM_GAP)
        return tp_processor_gap(p, it->gap);
    int err = ensure_txn(p);
    if (err)
        return err;
    p->stats.frames++;
    switch (it->kind) {
    case TP_ITEM_TICK:
        err = apply_tick(p, it);
        break;
    case TP_ITEM_SKIP:
        p->stats.skipped++;
        break;
    case TP_ITEM_REJECT:
        p->stats.rejected++;
        dead_letter(p, it);
        break;
    case TP_ITEM_REDELIVERED:
        p->stats.duplicates++;
        break;
    case TP_ITEM_GAP:
        break;
    }
    if (err)
        return err;
    if (it->pos_slot >= 0)
        tp_processor_advance(p, it->pos_slot, it->pos, it->line);
    if (++p->pending >= p->o.batch_ticks)   /* see ticks_only_commits */
        return commit_batch(p, 0, !ticks_only(p));
    return 0;
}

/* ---------- lifecycle ---------- */

int tp_processor_position(struct tp_processor *p, const char *key, int64_t *pos, int64_t *line) {
    *pos = *line = 0;
    for (int i = 0; i < p->npos; i++)
        if (strcmp(p->pos[i].key, key) == 0) {
            *pos = p->pos[i].pos;
            *line = p->pos[i].line;
            return i;
        }
    if (p->npos == p->cap_pos) {
        int cap = p->cap_pos ? p->cap_pos * 2 : 8;
        struct position *np = realloc(p->pos, (size_t)cap * sizeof *np);
        if (!np)
            return TP_ENOMEM;
        p->pos = np;
        p->cap_pos = cap;
    }
    struct position ps = {.key = strdup(key)};
    if (!ps.key)
        return TP_ENOMEM;
    if (tp_store_has_state(p->st)) {
        struct tp_checkpoint c = {.key = key};
        int err = tp_store_get_checkpoint(p->st, &c, SERR(p));
        if (err == 0) {
            ps.pos = c.pos;
            ps.line = c.line;
            ps.aux = c.aux;
        } else if (err != TP_ENOTFOUND) {
            free(ps.key);
            return store_fail(p, "read checkpoint", err);
        }
    }
    *pos = ps.pos;
    *line = ps.line;
    p->pos[p->npos] = ps;
    return p->npos++;
}

int64_t tp_processor_position_aux(const struct tp_processor *p, int slot) {
    return slot >= 0 && slot < p->npos ? p->pos[slot].aux : 0;
}

void tp_processor_set_position_aux(struct tp_processor *p, int slot, int64_t aux) {
    if (slot >= 0 && slot < p->npos)
        p->pos[slot].aux = aux;
}

/* Opens the dead-letter file. Rejections appended after the last commit of
 * a killed run are cut off, so a re-run writes them exactly once. */
static int open_dead_letter(struct tp_processor *p, const char *path, char *errbuf, size_t errsize) {
    p->dl = fopen(path, "a");
    if (!p->dl)
        return tp_errf(errbuf, errsize, TP_EIO, "--deadletter %s: cannot open: %s", path,
                       strerror(errno));
    char *abs = realpath(path, NULL);
    size_t n = strlen(abs ? abs : path) + 16;
    p->dl_key = malloc(n);
    if (!p->dl_key) {
        free(abs);
        return TP_ENOMEM;
    }
    snprintf(p->dl_key, n, "deadletter:%s", abs ? abs : path);
    free(abs);
    if (!tp_store_has_state(p->st))
        return 0;
    struct tp_checkpoint c = {.key = p->dl_key};
    int err = tp_store_get_checkpoint(p->st, &c, SERR(p));
    if (err == 0 && file_size(p->dl) > c.pos) {
        if (ftruncate(fileno(p->dl), (off_t)c.pos) != 0)
            return tp_errf(errbuf, errsize, TP_EIO, "--deadletter %s: cannot truncate: %s", path,
                           strerror(errno));
        tp_warn("process", "dead-letter file %s: removed entries written after the last checkpoint",
                path);
    } else if (err && err != TP_ENOTFOUND) {
        return tp_errf(errbuf, errsize, TP_ESTORE, "reading dead-letter checkpoint: %s",
                       p->serr);
    }
    p->dl_kept = file_size(p->dl);
    return 0;
}

/* Takes the rejections of an abandoned batch back out of the dead-letter
 * file (a re-run would cut them at the checkpoint anyway; a rebuilt Kafka
 * processor may find no checkpoint to cut at). */
static void forget_dead_letters(struct tp_processor *p) {
    if (fflush(p->dl) != 0 || file_size(p->dl) <= p->dl_kept)
        return;
    if (ftruncate(fileno(p->dl), (off_t)p->dl_kept) != 0)
        tp_warn("process", "dead-letter file: cannot remove the entries of an abandoned batch: %s",
                strerror(errno));
}

/* "10s" or "1500ms", for messages. */
static void format_dur(int64_t ms, char *out, size_t cap) {
    if (ms % 1000 == 0)
        snprintf(out, cap, "%llds", (long long)(ms / 1000));
    else
        snprintf(out, cap, "%lldms", (long long)ms);
}

/* A store remembers the settings that shape its results (bar intervals,
 * lateness), as a checkpoint row under SETTINGS_KEY (pos = bar bit set,
 * line = lateness in ms), so no store needs another table. Other settings
 * on a store that has results would give incomplete bars: bad usage. */
static int check_settings(struct tp_processor *p, char *errbuf, size_t errsize) {
    if (!tp_store_has_state(p->st))
        return 0;
    struct tp_checkpoint c = {.key = SETTINGS_KEY};
    int err = tp_store_get_checkpoint(p->st, &c, SERR(p));
    if (err == TP_ENOTFOUND) {
        p->settings_pending = 1;
        return 0;
    }
    if (err)
        return tp_errf(errbuf, errsize, TP_ESTORE, "reading the store's settings: %s",
                       p->serr);
    int64_t mask = tp_bars_mask(p->o.bar_ms, p->o.nbars);
    if (c.pos == mask && c.line == p->o.lateness_ms)
        return 0;
    char had_bars[128], want_bars[128], had_late[32], want_late[32];
    tp_bars_format(c.pos, had_bars, sizeof had_bars);
    tp_bars_format(mask, want_bars, sizeof want_bars);
    format_dur(c.line, had_late, sizeof had_late);
    format_dur(p->o.lateness_ms, want_late, sizeof want_late);
    return tp_errf(errbuf, errsize, TP_EINVAL,
                   "--bars %s --lateness %s: this store was built with --bars %s --lateness %s; "
                   "other settings would give incomplete bars. Run with --bars %s --lateness %s, "
                   "or use a new --store for the new settings",
                   want_bars, want_late, had_bars, had_late, had_bars, had_late);
}

int tp_processor_new(struct tp_processor **out, struct tp_store *st,
                     const struct tp_processor_opts *o, char *errbuf, size_t errsize) {
    *out = NULL;
    struct tp_processor *p = calloc(1, sizeof *p);
    if (!p)
        return TP_ENOMEM;
    p->st = st;
    p->o = *o;
    if (p->o.nbars <= 0) {
        p->o.nbars = 1;
        p->o.bar_ms[0] = 60000;
    }
    if (p->o.lateness_ms < 0)
        p->o.lateness_ms = 10000;
    if (p->o.batch_ticks <= 0)
        p->o.batch_ticks = 8192;
    int err = 0;
    for (int i = 0; i < p->o.nbars; i++) {
        p->bar_names[i] = tp_interval_name(p->o.bar_ms[i]);
        if (!p->bar_names[i] || (i > 0 && p->o.bar_ms[i] <= p->o.bar_ms[i - 1])) {
            err = tp_errf(errbuf, errsize, TP_EINVAL, "--bars: intervals must be distinct, ascending and from the allowed list");
            goto fail;
        }
        p->bar_name_len[i] = strlen(p->bar_names[i]);
    }
    if ((err = grow_table(p)) || (err = check_settings(p, errbuf, errsize)))
        goto fail;
    if (o->deadletter_path && (err = open_dead_letter(p, o->deadletter_path, errbuf, errsize)))
        goto fail;
    *out = p;
    return 0;
fail:
    tp_processor_free(p);
    return err;
}

void tp_processor_stats(const struct tp_processor *p, struct tp_processor_stats *s) {
    *s = p->stats;
}

void tp_processor_committed_stats(const struct tp_processor *p, struct tp_processor_stats *s) {
    *s = p->committed;
}

const char *tp_processor_last_error(const struct tp_processor *p) {
    return p->err;
}

void tp_processor_free(struct tp_processor *p) {
    if (!p)
        return;
    if (p->in_txn) {   /* what was applied since the last commit is given up */
        tp_store_abort(p->st);
        if (p->dl && tp_store_has_state(p->st))
            forget_dead_letters(p);
    }
    for (size_t i = 0; i < p->tab_size; i++)
        sym_free(p->tab[i].s);
    free(p->tab);
    free(p->order);
    for (int i = 0; i < p->npos; i++) {
        free(p->pos[i].key);
        free(p->pos[i].fence);
    }
    free(p->pos);
    if (p->dl)
        fclose(p->dl);
    free(p->dl_key);
    free(p->blob.p);
    free(p);
}
