/*
 * sim.c - the synthetic market: real PricingData frames (base64, optionally
 * in the version=2 JSON envelope) for a mix of equities, crypto and FX, so
 * the whole pipeline can run, be tested and be benchmarked without Yahoo.
 *
 * Spec: "sim" or "sim:key=val,...", keys count, rate, symbols, seed, start,
 * envelope; each overrides the matching field of struct tp_source_opts.
 * Symbols: "symbols=N" in the spec or opts->sim_symbols gives N synthetic
 * names; otherwise opts->symbols names them (type inferred: "-USD" crypto,
 * "=X" FX, else equity); otherwise 10 synthetic names.
 *
 * Clocks. Unpaced (rate 0): event times come from a synthetic clock starting
 * at `start`; every symbol ticks on its own period (300 ms to 3 s, jittered)
 * and frames come out in event-time order, as fast as the reader takes them.
 * Paced (rate > 0): frame k is due k/rate seconds after the first call;
 * next() sleeps at most its timeout for it (else TP_EAGAIN) and stamps the
 * wall clock (or start + elapsed, when start is given); symbols are drawn at
 * random.
 *
 * Everything but wall-clock stamps is a function of the seed: one xorshift
 * generator drives prices, volumes, periods and symbol choice. dayVolume
 * never decreases per symbol. Crypto frames repeat Yahoo's quirk
 * dayVolume == lastSize == vol_24hr. The source is live: no position key.
 *
 * Threads: one reader thread owns the source. No allocation per frame.
 */
#include "../core/tp_clock.h"
#include "source_int.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/tp_error.h"
#include "../codec/tp_decode.h"
#include "../codec/tp_encode.h"

#define SIM_NAME_MAX 32
#define SIM_SYMBOLS_MAX 100000
#define SIM_DEFAULT_SYMBOLS 10

enum sim_kind { SIM_EQUITY, SIM_CRYPTO, SIM_FX };

struct sim_symbol {
    char name[SIM_NAME_MAX];
    char from[SIM_NAME_MAX];   /* crypto: the part before "-USD" */
    enum sim_kind kind;
    double price, prev_close, open, high, low;
    int64_t day_volume;
    int64_t next_ms;           /* unpaced: next event time */
    int64_t period_ms;         /* unpaced: mean tick period */
    double supply;             /* crypto circulating supply */
};

struct sim {
    struct tp_source base;
    struct sim_symbol *sym;
    int *heap;                 /* unpaced: symbol indices by next_ms */
    int nsym;
    uint64_t rng;
    int64_t count, emitted;
    double rate;
    int64_t start_ms;          /* 0 = now (unpaced) / wall clock (paced) */
    int envelope;
    struct timespec t0;        /* paced: when the first frame was asked for */
    int t0_set;
    const volatile int *stop;
    char line[1024];
};

/* ---- randomness --------------------------------------------------------- */

static uint64_t rnd(struct sim *s) {
    uint64_t x = s->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    s->rng = x;
    return x * 0x2545f4914f6cdd1dull;
}

/* Uniform in [0, 1). */
static double rnd01(struct sim *s) {
    return (double)(rnd(s) >> 11) / 9007199254740992.0;
}

static int64_t rnd_range(struct sim *s, int64_t lo, int64_t hi) {
    return lo + (int64_t)(rnd(s) % (uint64_t)(hi - lo + 1));
}

/* ---- clocks ------------------------------------------------------------- */

static double mono_since(const struct timespec *t0) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)(ts.tv_sec - t0->tv_sec) + (double)(ts.tv_nsec - t0->tv_nsec) / 1e9;
}

/* ---- symbols ------------------------------------------------------------ */

static enum sim_kind kind_of(const char *name) {
    size_t n = strlen(name);
    if (n > 4 && strcmp(name + n - 4, "-USD") == 0)
        return SIM_CRYPTO;
    if (n > 2 && strcmp(name + n - 2, "=X") == 0)
        return SIM_FX;
    return SIM_EQUITY;
}

/* Synthetic name i: six equities, two crypto, two FX in every ten. */
static void synth_name(int i, char *out) {
    char tag[8];
    int v = i / 10;
    int k = 0;
    do {
        tag[k++] = (char)('A' + v % 26);
        v /= 26;
    } while (v && k < 6);
    tag[k] = '\0';
    int m = i % 10;
    if (m < 6)
        snprintf(out, SIM_NAME_MAX, "S%c%s", 'A' + m, tag);
    else if (m < 8)
        snprintf(out, SIM_NAME_MAX, "C%c%s-USD", 'A' + m, tag);
    else
        snprintf(out, SIM_NAME_MAX, "F%c%sUSD=X", 'A' + m, tag);
}

static void init_symbol(struct sim *s, struct sim_symbol *y) {
    y->kind = kind_of(y->name);
    if (y->kind == SIM_CRYPTO) {
        size_t n = strlen(y->name) - 4;
        memcpy(y->from, y->name, n);
        y->from[n] = '\0';
        y->price = strcmp(y->name, "BTC-USD") == 0   ? 60000.0
                   : strcmp(y->name, "ETH-USD") == 0 ? 3000.0
                                                     : 0.1 + rnd01(s) * 500;
        y->day_volume = rnd_range(s, 100000000, 50000000000);
        y->supply = (double)rnd_range(s, 1000000, 10000000000);
    } else if (y->kind == SIM_FX) {
        y->price = 0.5 + rnd01(s) * 150;
    } else {
        y->price = 5 + rnd01(s) * 800;
        y->day_volume = rnd_range(s, 0, 5000000);
    }
    y->prev_close = y->price * (0.97 + rnd01(s) * 0.06);
    y->open = y->prev_close * (0.99 + rnd01(s) * 0.02);
    y->high = fmax(y->open, y->price);
    y->low = fmin(y->open, y->price);
    y->period_ms = rnd_range(s, 300, 3000);
}

/* Copies names from a comma list into s->sym; returns the count or -1. */
static int parse_names(struct sim *s, const char *list, char *errbuf, size_t errsize) {
    int n = 0;
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        while (len && *p == ' ')
            p++, len--;
        while (len && p[len - 1] == ' ')
            len--;
        if (len >= SIM_NAME_MAX) {
            tp_errf(errbuf, errsize, TP_EINVAL, "--symbols: '%.*s' is too long", (int)len, p);
            return -1;
        }
        if (len) {
            memcpy(s->sym[n].name, p, len);
            s->sym[n++].name[len] = '\0';
        }
        p += len;
        while (*p == ' ')
            p++;
        if (*p == ',')
            p++;
    }
    if (n == 0)
        tp_errf(errbuf, errsize, TP_EINVAL, "--symbols: no symbol names in '%s'", list);
    return n ? n : -1;
}

/* ---- unpaced schedule: a binary min-heap on (next_ms, index) ------------ */

static int heap_less(const struct sim *s, int a, int b) {
    const struct sim_symbol *x = &s->sym[s->heap[a]], *y = &s->sym[s->heap[b]];
    return x->next_ms < y->next_ms || (x->next_ms == y->next_ms && s->heap[a] < s->heap[b]);
}

static void heap_swap(struct sim *s, int a, int b) {
    int t = s->heap[a];
    s->heap[a] = s->heap[b];
    s->heap[b] = t;
}

static void heap_down(struct sim *s, int i) {
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < s->nsym && heap_less(s, l, m))
            m = l;
        if (r < s->nsym && heap_less(s, r, m))
            m = r;
        if (m == i)
            return;
        heap_swap(s, i, m);
        i = m;
    }
}

static void heap_build(struct sim *s) {
    for (int i = 0; i < s->nsym; i++)
        s->heap[i] = i;
    for (int i = s->nsym / 2 - 1; i >= 0; i--)
        heap_down(s, i);
}

/* ---- one frame ---------------------------------------------------------- */

/* Appends a string to the frame's string area and returns its view. */
static tp_sv put_str(char *strs, size_t *used, const char *v) {
    size_t n = strlen(v);
    tp_sv sv = {(uint16_t)*used, (uint16_t)n};
    memcpy(strs + *used, v, n);
    *used += n;
    return sv;
}

static void set_f32(struct tp_quote *q, int f, double v) {
    q->present |= 1ull << (f - 1);
    q->v[f].f32 = (float)v;
}

static void set_i64(struct tp_quote *q, int f, int64_t v) {
    q->present |= 1ull << (f - 1);
    q->v[f].i64 = v;
}

static void set_str(struct tp_quote *q, int f, char *strs, size_t *used, const char *v) {
    q->present |= 1ull << (f - 1);
    q->v[f].sv = put_str(strs, used, v);
}

/* Moves the symbol's market one step. Returns the trade size. */
static int64_t step_market(struct sim *s, struct sim_symbol *y) {
    double decimals = y->kind == SIM_FX ? 1e4 : 1e2;
    double p = y->price * (1 + (rnd01(s) - 0.5) * 0.002);
    p = round(p * decimals) / decimals;
    y->price = p > 1.0 / decimals ? p : 1.0 / decimals;
    y->high = fmax(y->high, y->price);
    y->low = fmin(y->low, y->price);
    int64_t size = 0;
    if (y->kind == SIM_EQUITY)
        size = rnd_range(s, 1, 20) * (rnd(s) % 4 ? 1 : 100);
    else if (y->kind == SIM_CRYPTO)
        size = rnd_range(s, 1000, 50000000);
    y->day_volume += size;
    return size;
}

static void fill_quote(struct sim *s, struct sim_symbol *y, int64_t t,
                       struct tp_quote *q, char *strs) {
    size_t used = 0;
    int64_t size = step_market(s, y);
    memset(q, 0, sizeof *q);
    set_str(q, TP_F_ID, strs, &used, y->name);
    set_f32(q, TP_F_PRICE, y->price);
    set_i64(q, TP_F_TIME, t);
    static const char *exch[] = {"NMS", "CCC", "CCY"};
    static const int qtype[] = {8, 41, 14};
    if (y->kind != SIM_FX)
        set_str(q, TP_F_CURRENCY, strs, &used, "USD");
    set_str(q, TP_F_EXCHANGE, strs, &used, exch[y->kind]);
    set_i64(q, TP_F_QUOTE_TYPE, qtype[y->kind]);
    set_i64(q, TP_F_MARKET_HOURS, 1);
    double change = y->price - y->prev_close;
    set_f32(q, TP_F_CHANGE_PERCENT, change / y->prev_close * 100);
    if (y->kind != SIM_FX)
        set_i64(q, TP_F_DAY_VOLUME, y->day_volume);
    set_f32(q, TP_F_DAY_HIGH, y->high);
    set_f32(q, TP_F_DAY_LOW, y->low);
    set_f32(q, TP_F_CHANGE, change);
    set_f32(q, TP_F_OPEN_PRICE, y->open);
    set_f32(q, TP_F_PREVIOUS_CLOSE, y->prev_close);
    if (y->kind == SIM_EQUITY)
        set_i64(q, TP_F_LAST_SIZE, size);
    if (y->kind == SIM_FX) {
        double spread = y->price * 0.0001;
        set_f32(q, TP_F_BID, y->price - spread);
        set_f32(q, TP_F_ASK, y->price + spread);
    }
    set_i64(q, TP_F_PRICE_HINT, y->kind == SIM_FX ? 4 : 2);
    if (y->kind == SIM_CRYPTO) {
        set_i64(q, TP_F_LAST_SIZE, y->day_volume);
        set_i64(q, TP_F_VOL_24HR, y->day_volume);
        set_i64(q, TP_F_VOL_ALL_CURRENCIES, y->day_volume);
        set_str(q, TP_F_FROMCURRENCY, strs, &used, y->from);
        set_str(q, TP_F_LAST_MARKET, strs, &used, "CoinMarketCap");
        q->present |= 3ull << (TP_F_CIRCULATING_SUPPLY - 1);
        q->v[TP_F_CIRCULATING_SUPPLY].f64 = y->supply;
        q->v[TP_F_MARKETCAP].f64 = round(y->supply * (double)(float)y->price);
    }
}

/* Builds the frame text for symbol y at event time t into s->line. */
static size_t make_line(struct sim *s, struct sim_symbol *y, int64_t t) {
    struct tp_quote q;
    char strs[256];
    uint8_t pb[512];
    fill_quote(s, y, t, &q, strs);
    long n = tp_encode_pricing(&q, (const uint8_t *)strs, pb, sizeof pb);
    if (n < 0)
        return 0; /* cannot happen: names are bounded */
    if (!s->envelope)
        return tp_base64_encode(pb, (size_t)n, s->line);
    static const char head[] = "{\"type\":\"pricing\",\"message\":\"";
    memcpy(s->line, head, sizeof head - 1);
    size_t len = sizeof head - 1;
    len += tp_base64_encode(pb, (size_t)n, s->line + len);
    memcpy(s->line + len, "\"}", 3);
    return len + 2;
}

/* ---- the source --------------------------------------------------------- */

/* Paced mode: returns 0 when frame s->emitted is due, TP_EAGAIN otherwise. */
static int wait_due(struct sim *s, int timeout_ms) {
    if (!s->t0_set) {
        clock_gettime(CLOCK_MONOTONIC, &s->t0);
        s->t0_set = 1;
    }
    double due = (double)s->emitted / s->rate;
    double wait = due - mono_since(&s->t0);
    if (wait <= 0)
        return 0;
    if (timeout_ms <= 0)
        return TP_EAGAIN;
    double nap = fmin(wait, timeout_ms / 1000.0);
    struct timespec ts = {(time_t)nap, (long)((nap - floor(nap)) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
    return mono_since(&s->t0) >= due ? 0 : TP_EAGAIN;
}

static int sim_next(struct tp_source *src, struct tp_raw *r, int timeout_ms,
                    char *errbuf, size_t errsize) {
    (void)errbuf;
    (void)errsize;
    struct sim *s = (struct sim *)src;
    if ((s->stop && *s->stop) || (s->count && s->emitted >= s->count))
        return TP_EEOF;
    struct sim_symbol *y;
    int64_t t;
    if (s->rate > 0) {
        int rc = wait_due(s, timeout_ms);
        if (rc)
            return rc;
        y = &s->sym[rnd(s) % (uint64_t)s->nsym];
        t = s->start_ms ? s->start_ms + (int64_t)(mono_since(&s->t0) * 1000) : tp_wall_ms();
    } else {
        y = &s->sym[s->heap[0]];
        t = y->next_ms;
        y->next_ms += y->period_ms / 2 + rnd_range(s, 0, y->period_ms);
        heap_down(s, 0);
    }
    r->len = make_line(s, y, t);
    r->line = s->line;
    r->recv_ms = tp_wall_ms();
    r->lineno = 0;
    r->end_pos = -1;
    s->emitted++;
    return 0;
}

static void sim_free(struct tp_source *src) {
    struct sim *s = (struct sim *)src;
    free(s->sym);
    free(s->heap);
    free(s);
}

static const struct tp_source_ops sim_ops = {sim_next, NULL, sim_free, NULL, NULL, NULL};

/* Parses "key=val,..." into the settings. Returns 0 or TP_EINVAL. */
static int parse_args(const char *args, struct tp_source_opts *o, int *nsym_spec,
                      int *envelope, char *errbuf, size_t errsize) {
    char buf[512];
    if (strlen(args) >= sizeof buf)
        return tp_errf(errbuf, errsize, TP_EINVAL, "--source sim:%s: too long", args);
    strcpy(buf, args);
    char *save = NULL;
    for (char *kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        char *end = NULL;
        if (!eq || !eq[1])
            return tp_errf(errbuf, errsize, TP_EINVAL, "--source sim: '%s' is not key=value", kv);
        *eq = '\0';
        const char *v = eq + 1;
        errno = 0;
        if (strcmp(kv, "rate") == 0) {
            o->sim_rate = strtod(v, &end);
            if (*end || errno || !(o->sim_rate >= 0 && o->sim_rate <= 1e9))
                goto bad;
            continue;
        }
        long long n = strtoll(v, &end, 10);
        if (*end || errno || n < 0)
            goto bad;
        if (strcmp(kv, "count") == 0)
            o->sim_count = n;
        else if (strcmp(kv, "seed") == 0)
            o->sim_seed = (uint64_t)n;
        else if (strcmp(kv, "start") == 0)
            o->sim_start_ms = n;
        else if (strcmp(kv, "symbols") == 0 && n >= 1 && n <= SIM_SYMBOLS_MAX)
            *nsym_spec = (int)n;
        else if (strcmp(kv, "envelope") == 0 && n <= 1)
            *envelope = (int)n;
        else if (strcmp(kv, "symbols") == 0 || strcmp(kv, "envelope") == 0)
            goto bad;
        else
            return tp_errf(errbuf, errsize, TP_EINVAL,
                           "--source sim: unknown key '%s' (expected count, rate, symbols, "
                           "seed, start or envelope)", kv);
        continue;
    bad:
        return tp_errf(errbuf, errsize, TP_EINVAL, "--source sim: bad value '%s' for %s", v, kv);
    }
    return 0;
}

/* Creates the symbol table from the settings. Returns 0 or a TP_E* code. */
static int setup_symbols(struct sim *s, const struct tp_source_opts *o, int nsym_spec,
                         char *errbuf, size_t errsize) {
    int n = nsym_spec ? nsym_spec : o->sim_symbols;
    if (n < 0 || n > SIM_SYMBOLS_MAX)
        return tp_errf(errbuf, errsize, TP_EINVAL, "--source sim: symbols must be 1..%d",
                       SIM_SYMBOLS_MAX);
    int named = n == 0 && o->symbols && *o->symbols;
    if (n == 0 && named) {
        n = 1;
        for (const char *c = o->symbols; *c; c++)
            n += *c == ',';
    } else if (n == 0) {
        n = SIM_DEFAULT_SYMBOLS;
    }
    s->sym = calloc((size_t)n, sizeof *s->sym);
    if (!s->sym)
        return tp_errf(errbuf, errsize, TP_ENOMEM, "sim: out of memory for %d symbols", n);
    if (named && (n = parse_names(s, o->symbols, errbuf, errsize)) < 0)
        return TP_EINVAL;
    s->nsym = n;
    s->heap = calloc((size_t)n, sizeof *s->heap);
    if (!s->heap)
        return tp_errf(errbuf, errsize, TP_ENOMEM, "sim: out of memory for %d symbols", n);
    int64_t start = s->start_ms ? s->start_ms : tp_wall_ms();
    for (int i = 0; i < n; i++) {
        if (!named)
            synth_name(i, s->sym[i].name);
        init_symbol(s, &s->sym[i]);
        s->sym[i].next_ms = start + rnd_range(s, 0, 999);
    }
    heap_build(s);
    return 0;
}

int tp_source_sim_open(struct tp_source **out, const char *args,
                       const struct tp_source_opts *opts, char *errbuf, size_t errsize) {
    struct tp_source_opts o = *opts;
    int nsym_spec = 0, envelope = 0, rc;
    *out = NULL;
    if ((rc = parse_args(args ? args : "", &o, &nsym_spec, &envelope, errbuf, errsize)))
        return rc;
    if (o.sim_count < 0 || !(o.sim_rate >= 0))
        return tp_errf(errbuf, errsize, TP_EINVAL, "--source sim: count and rate must be >= 0");
    struct sim *s = calloc(1, sizeof *s);
    if (!s)
        return tp_errf(errbuf, errsize, TP_ENOMEM, "sim: out of memory");
    s->base.ops = &sim_ops;
    s->count = o.sim_count;
    s->rate = o.sim_rate;
    s->start_ms = o.sim_start_ms;
    s->envelope = envelope;
    s->stop = o.stop;
    s->rng = o.sim_seed * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull;
    if (!s->rng)
        s->rng = 1;
    if ((rc = setup_symbols(s, &o, nsym_spec, errbuf, errsize))) {
        sim_free(&s->base);
        return rc;
    }
    *out = &s->base;
    return 0;
}
