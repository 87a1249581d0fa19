/*
 * test_sim.c - the synthetic market: determinism per seed, every frame a
 * valid PricingData quote, rising dayVolume per symbol, counts, symbol
 * types, pacing, stop, and spec errors.
 */
#include <string.h>
#include <time.h>

#include "core/tp_error.h"
#include "codec/tp_decode.h"
#include "source/tp_source.h"
#include "tp_test.h"

#define MAXSYM 64

static struct tp_source *open_sim(const char *spec, const struct tp_source_opts *o) {
    struct tp_source_opts def = {0};
    struct tp_source *s = NULL;
    char err[256] = "";
    int rc = tp_source_open(&s, spec, o ? o : &def, err, sizeof err);
    CHECKF(rc == 0, "%s: %s", spec, err);
    REQUIRE(s != NULL);
    return s;
}

/* Reads all frames of a finite unpaced sim into one string (lines joined). */
static char *all_lines(const char *spec, int *nframes) {
    struct tp_source *s = open_sim(spec, NULL);
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap);
    struct tp_raw r;
    char err[256];
    int rc, n = 0;
    while ((rc = tp_source_next(s, &r, 1000, err, sizeof err)) == 0) {
        if (len + r.len + 2 > cap)
            buf = realloc(buf, cap *= 2);
        memcpy(buf + len, r.line, r.len);
        len += r.len;
        buf[len++] = '\n';
        n++;
    }
    CHECK(rc == TP_EEOF);
    buf[len] = '\0';
    tp_source_free(s);
    *nframes = n;
    return buf;
}

static void test_determinism(void) {
    int na, nb, nc;
    char *a = all_lines("sim:count=2000,symbols=30,seed=7,start=1736509140000", &na);
    char *b = all_lines("sim:count=2000,symbols=30,seed=7,start=1736509140000", &nb);
    char *c = all_lines("sim:count=2000,symbols=30,seed=8,start=1736509140000", &nc);
    CHECK(na == 2000 && nb == 2000 && nc == 2000);
    CHECK(strcmp(a, b) == 0);
    CHECK(strcmp(a, c) != 0);
    free(a);
    free(b);
    free(c);
}

struct symstat {
    char id[32];
    int64_t last_vol, last_time;
    int frames;
    int qtype;
};

static struct symstat *find_sym(struct symstat *t, int *n, const char *id, size_t len) {
    for (int i = 0; i < *n; i++)
        if (strlen(t[i].id) == len && memcmp(t[i].id, id, len) == 0)
            return &t[i];
    REQUIRE(*n < MAXSYM && len < sizeof t[0].id);
    memcpy(t[*n].id, id, len);
    t[*n].id[len] = '\0';
    t[*n].last_vol = -1;
    t[*n].last_time = -1;
    t[*n].frames = 0;
    return &t[(*n)++];
}

/* Checks the type-specific shape of a quote. */
static void check_shape(const struct tp_quote *q, const uint8_t *pl, const char *id) {
    size_t n = strlen(id);
    int64_t qt = q->v[TP_F_QUOTE_TYPE].i64;
    const tp_sv ex = q->v[TP_F_EXCHANGE].sv;
    CHECK(tp_quote_has(q, TP_F_QUOTE_TYPE) && tp_quote_has(q, TP_F_EXCHANGE));
    CHECK(tp_quote_has(q, TP_F_MARKET_HOURS) && q->v[TP_F_MARKET_HOURS].i64 == 1);
    if (n > 4 && strcmp(id + n - 4, "-USD") == 0) {
        CHECKF(qt == 41, "%s", id);
        CHECK(ex.len == 3 && memcmp(pl + ex.off, "CCC", 3) == 0);
        CHECK(tp_quote_has(q, TP_F_DAY_VOLUME) && tp_quote_has(q, TP_F_LAST_SIZE) &&
              tp_quote_has(q, TP_F_VOL_24HR));
        CHECK(q->v[TP_F_DAY_VOLUME].i64 == q->v[TP_F_LAST_SIZE].i64 &&
              q->v[TP_F_DAY_VOLUME].i64 == q->v[TP_F_VOL_24HR].i64);
        tp_sv fc = q->v[TP_F_FROMCURRENCY].sv;
        CHECK(tp_quote_has(q, TP_F_FROMCURRENCY) && fc.len == n - 4 &&
              memcmp(pl + fc.off, id, n - 4) == 0);
    } else if (n > 2 && strcmp(id + n - 2, "=X") == 0) {
        CHECKF(qt == 14, "%s", id);
        CHECK(ex.len == 3 && memcmp(pl + ex.off, "CCY", 3) == 0);
        CHECK(!tp_quote_has(q, TP_F_DAY_VOLUME) && !tp_quote_has(q, TP_F_LAST_SIZE));
        CHECK(q->v[TP_F_PRICE_HINT].i64 == 4);
        CHECK(q->v[TP_F_BID].f32 < q->v[TP_F_ASK].f32);
    } else {
        CHECKF(qt == 8, "%s", id);
        CHECK(ex.len == 3 && memcmp(pl + ex.off, "NMS", 3) == 0);
        tp_sv cur = q->v[TP_F_CURRENCY].sv;
        CHECK(tp_quote_has(q, TP_F_CURRENCY) && cur.len == 3 && memcmp(pl + cur.off, "USD", 3) == 0);
        CHECK(tp_quote_has(q, TP_F_DAY_VOLUME) && q->v[TP_F_PRICE_HINT].i64 == 2);
    }
    CHECK(q->v[TP_F_PRICE].f32 > 0);
}

/* Runs spec to its end, checking every frame; returns the distinct symbols. */
static int check_stream(const char *spec, const struct tp_source_opts *o, int64_t start,
                        int want_frames, struct symstat *t) {
    struct tp_source *s = open_sim(spec, o);
    CHECK(tp_source_position_key(s) == NULL);
    struct tp_raw r;
    char err[256];
    uint8_t pl[TP_PAYLOAD_MAX];
    int nsym = 0, frames = 0, rc;
    int64_t last_t = start;
    while ((rc = tp_source_next(s, &r, 1000, err, sizeof err)) == 0) {
        struct tp_quote q;
        size_t plen;
        const char *why = NULL;
        frames++;
        CHECK(r.lineno == 0 && r.end_pos == -1 && r.recv_ms > 1600000000000);
        rc = tp_decode_frame(r.line, r.len, pl, &plen, &q, &why);
        CHECKF(rc == TP_DECODE_OK, "%.*s: %s", (int)r.len, r.line, why ? why : "");
        if (rc != TP_DECODE_OK)
            continue;
        tp_sv id = q.v[TP_F_ID].sv;
        struct symstat *y = find_sym(t, &nsym, (const char *)pl + id.off, id.len);
        int64_t tm = q.v[TP_F_TIME].i64;
        CHECK(tm >= last_t); /* unpaced: event-time order */
        last_t = tm;
        if (y->last_time >= 0)
            CHECKF(tm - y->last_time >= 150 && tm - y->last_time <= 4500, "gap %lld",
                   (long long)(tm - y->last_time));
        y->last_time = tm;
        if (tp_quote_has(&q, TP_F_DAY_VOLUME)) {
            CHECK(q.v[TP_F_DAY_VOLUME].i64 >= y->last_vol);
            y->last_vol = q.v[TP_F_DAY_VOLUME].i64;
        }
        y->frames++;
        check_shape(&q, pl, y->id);
    }
    CHECK(rc == TP_EEOF);
    CHECK(frames == want_frames);
    tp_source_free(s);
    return nsym;
}

static void test_synthetic_mix(void) {
    struct symstat t[MAXSYM];
    int n = check_stream("sim:count=5000,symbols=40,seed=3,start=1736509140000", NULL,
                         1736509140000, 5000, t);
    CHECK(n == 40);
    int kinds[3] = {0};
    for (int i = 0; i < n; i++) {
        size_t len = strlen(t[i].id);
        kinds[strstr(t[i].id, "-USD") ? 1 : (len > 2 && strcmp(t[i].id + len - 2, "=X") == 0) ? 2 : 0]++;
        CHECK(t[i].frames > 5);
    }
    CHECK(kinds[0] == 24 && kinds[1] == 8 && kinds[2] == 8);
    /* The envelope form decodes the same way. */
    n = check_stream("sim:count=300,symbols=10,envelope=1,start=1736509140000", NULL,
                     1736509140000, 300, t);
    CHECK(n == 10);
}

static void test_named_symbols(void) {
    struct symstat t[MAXSYM];
    struct tp_source_opts o = {0};
    o.symbols = "AAPL, BTC-USD,EURUSD=X,,ETH-USD";
    o.sim_count = 400;
    o.sim_start_ms = 1700000000000;
    int n = check_stream("sim", &o, 1700000000000, 400, t);
    CHECK(n == 4);
    for (int i = 0; i < n; i++)
        CHECK(strcmp(t[i].id, "AAPL") == 0 || strcmp(t[i].id, "BTC-USD") == 0 ||
              strcmp(t[i].id, "EURUSD=X") == 0 || strcmp(t[i].id, "ETH-USD") == 0);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_paced_and_stop(void) {
    struct tp_source *s = open_sim("sim:rate=1,seed=1", NULL);
    struct tp_raw r;
    char err[256];
    CHECK(tp_source_next(s, &r, 1000, err, sizeof err) == 0); /* frame 0 is due at once */
    double t0 = now_s();
    CHECK(tp_source_next(s, &r, 20, err, sizeof err) == TP_EAGAIN);
    CHECK(tp_source_next(s, &r, 0, err, sizeof err) == TP_EAGAIN);
    CHECK(now_s() - t0 < 0.9);
    tp_source_free(s);

    /* 100 frames at 1000/s take about 0.1 s and carry wall-clock times. */
    s = open_sim("sim:rate=1000,count=100", NULL);
    t0 = now_s();
    int n = 0, rc;
    uint8_t pl[TP_PAYLOAD_MAX];
    while ((rc = tp_source_next(s, &r, 50, err, sizeof err)) != TP_EEOF && now_s() - t0 < 10) {
        if (rc == TP_EAGAIN)
            continue;
        struct tp_quote q;
        size_t plen;
        const char *why;
        CHECK(tp_decode_frame(r.line, r.len, pl, &plen, &q, &why) == TP_DECODE_OK);
        CHECK(q.v[TP_F_TIME].i64 > r.recv_ms - 5000 && q.v[TP_F_TIME].i64 <= r.recv_ms);
        n++;
    }
    double took = now_s() - t0;
    CHECK(n == 100);
    CHECKF(took > 0.08 && took < 5, "took %.3f s", took);
    tp_source_free(s);

    /* Unbounded until stop. */
    volatile int stop = 0;
    struct tp_source_opts o = {0};
    o.stop = &stop;
    s = open_sim("sim", &o);
    for (n = 0; n < 10000; n++)
        REQUIRE(tp_source_next(s, &r, 0, err, sizeof err) == 0);
    stop = 1;
    CHECK(tp_source_next(s, &r, 0, err, sizeof err) == TP_EEOF);
    tp_source_free(s);
}

static void test_bad_specs(void) {
    static const char *bad[][2] = {
        {"sim:bogus=1", "bogus"}, {"sim:count=-1", "count"}, {"sim:rate=x", "rate"},
        {"sim:symbols=0", "symbols"}, {"sim:envelope=2", "envelope"}, {"sim:count", "count"},
        {"sim:seed=12abc", "seed"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct tp_source_opts o = {0};
        struct tp_source *s = (struct tp_source *)&o;
        char err[256] = "";
        CHECK(tp_source_open(&s, bad[i][0], &o, err, sizeof err) == TP_EINVAL);
        CHECK(s == NULL);
        CHECKF(strstr(err, bad[i][1]) != NULL, "%s -> %s", bad[i][0], err);
    }
    struct tp_source_opts o = {0};
    o.symbols = " , ";
    struct tp_source *s;
    char err[256] = "";
    CHECK(tp_source_open(&s, "sim", &o, err, sizeof err) == TP_EINVAL && s == NULL);
}

int main(void) {
    test_determinism();
    test_synthetic_mix();
    test_named_symbols();
    test_paced_and_stop();
    test_bad_specs();
    return TP_TEST_DONE();
}
