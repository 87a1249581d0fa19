/*
 * test_bar_hold.c - the SQLite store's held bars (src/sink/bar_hold.c) come
 * back in the bars table's key order, one per key, the last put winning.
 *
 * A fixed case pins the order of the 12 interval names and of symbols that
 * are prefixes of each other (SQLite's BINARY collation: bytes, then the
 * shorter first). A differential case puts random bars (symbols sharing
 * long prefixes, all 12 intervals, starts mostly rising per pair, with
 * repeats and bars out of order) over several batches, reads them back in
 * random slices, and compares with a plain stable sort of every put.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/tp_error.h"
#include "sink/bar_hold.h"
#include "tp_test.h"

static const char *const ivals[] = {"1s", "5s", "10s", "15s", "30s", "1m",
                                    "5m", "15m", "30m", "1h", "4h", "1d"};
static const char *const syms[] = {"A", "AA", "AAPL", "AB", "B", "a", "BRK.BERKSHIRE1",
                                   "BRK.BERKSHIRE", "BRK.BERKSHIRE2", "^GSPC", "EURUSD=X", "Z"};
#define NIVALS (sizeof ivals / sizeof *ivals)
#define NSYMS (sizeof syms / sizeof *syms)

static struct tp_bar_row row(const char *sym, const char *ival, int64_t start, int64_t count) {
    return (struct tp_bar_row){.symbol = sym, .interval = ival, .start = start,
                               .open = (double)count, .high = (double)count + 1.5,
                               .low = (double)count - 0.5, .close = (double)count + 0.25,
                               .volume = count * 10, .vwap = (double)count / 3,
                               .vwap_valid = (int)(count & 1), .count = count,
                               .closed = (int)(count % 3 == 0), .symbol_len = strlen(sym),
                               .interval_len = strlen(ival)};
}

static int cmp_bytes(const char *a, size_t alen, const char *b, size_t blen) {
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c ? c : (alen > blen) - (alen < blen);
}

struct put {
    struct tp_bar_row r;
    size_t i;
};

static int cmp_key(const struct tp_bar_row *a, const struct tp_bar_row *b) {
    int c = cmp_bytes(a->symbol, a->symbol_len, b->symbol, b->symbol_len);
    if (!c)
        c = cmp_bytes(a->interval, a->interval_len, b->interval, b->interval_len);
    if (!c && a->start != b->start)
        c = a->start < b->start ? -1 : 1;
    return c;
}

static int cmp_put(const void *x, const void *y) {
    const struct put *a = x, *b = y;
    int c = cmp_key(&a->r, &b->r);
    return c ? c : (a->i > b->i) - (a->i < b->i);
}

static int same_row(const struct tp_bar_row *a, const struct tp_bar_row *b) {
    return cmp_key(a, b) == 0 && a->open == b->open && a->high == b->high && a->low == b->low &&
           a->close == b->close && a->volume == b->volume && a->vwap_valid == b->vwap_valid &&
           (!a->vwap_valid || a->vwap == b->vwap) && a->count == b->count &&
           a->closed == b->closed;
}

/* Reads every ordered bar back, max at a time. */
static size_t read_all(struct tp_bar_hold *h, struct tp_bar_row *out, size_t cap, size_t max) {
    size_t n = 0, k;
    struct tp_bar_row buf[32];
    REQUIRE(tp_bar_hold_order(h) == 0);
    while ((k = tp_bar_hold_next(h, buf, max)) > 0) {
        REQUIRE(n + k <= cap);
        memcpy(out + n, buf, k * sizeof *buf);
        n += k;
        if (k < max)
            CHECK(tp_bar_hold_next(h, buf, max) == 0);   /* a short read is the end */
    }
    return n;
}

static void test_fixed_order(void) {
    struct tp_bar_hold *h = tp_bar_hold_new();
    REQUIRE(h);
    for (size_t i = 0; i < NIVALS; i++)
        REQUIRE(tp_bar_hold_put(h, &(struct tp_bar_row){.symbol = "AB", .interval = ivals[i],
                                                         .start = 60000, .symbol_len = 2,
                                                         .interval_len = strlen(ivals[i])}) == 0);
    for (size_t i = 0; i < 4; i++) {
        static const char *const s[] = {"AA", "A", "B", "AAA"};
        struct tp_bar_row r = row(s[i], "1m", 0, 1);
        REQUIRE(tp_bar_hold_put(h, &r) == 0);
    }
    /* Names with a NUL byte order by all their bytes, as SQLite's BINARY
     * collation does: "A" < "A\0" < "A\0B" < "A\1" < "AA". */
    static const char nul_names[][4] = {"A\0B", "A\1", "A\0"};
    static const size_t nul_lens[] = {3, 2, 2};
    for (size_t i = 0; i < 3; i++) {
        struct tp_bar_row r = row("A", "1m", 0, 1);
        r.symbol = nul_names[i];
        r.symbol_len = nul_lens[i];
        REQUIRE(tp_bar_hold_put(h, &r) == 0);
    }
    static const char *const want[] = {"A/1m", "A\\0/1m", "A\\0B/1m", "A\\1/1m", "AA/1m",
                                       "AAA/1m", "AB/10s", "AB/15m", "AB/15s", "AB/1d", "AB/1h",
                                       "AB/1m", "AB/1s", "AB/30m", "AB/30s", "AB/4h", "AB/5m",
                                       "AB/5s", "B/1m"};
    struct tp_bar_row got[32];
    size_t n = read_all(h, got, 32, 5);
    CHECKF(n == sizeof want / sizeof *want, "%zu bars", n);
    for (size_t i = 0; i < n && i < sizeof want / sizeof *want; i++) {
        char key[64];
        size_t k = 0;
        for (size_t j = 0; j < got[i].symbol_len; j++)   /* a NUL or \1 byte shows as \0, \1 */
            k += (size_t)snprintf(key + k, sizeof key - k, got[i].symbol[j] > 1 ? "%c" : "\\%d",
                                  got[i].symbol[j]);
        snprintf(key + k, sizeof key - k, "/%s", got[i].interval);
        CHECKF(strcmp(key, want[i]) == 0, "bar %zu is %s, want %s", i, key, want[i]);
        CHECK(got[i].symbol[got[i].symbol_len] == '\0');
        CHECK(strlen(got[i].interval) == got[i].interval_len);
    }
    tp_bar_hold_free(h);
    tp_bar_hold_free(NULL);
    tp_bar_hold_clear(NULL);
}

static void test_last_put_wins(void) {
    struct tp_bar_hold *h = tp_bar_hold_new();
    REQUIRE(h);
    static const int64_t starts[] = {10, 20, 20, 30, 10, 40, 30, 5, 40};
    for (size_t i = 0; i < sizeof starts / sizeof *starts; i++) {
        struct tp_bar_row r = row("X", "1s", starts[i], (int64_t)i + 1);
        REQUIRE(tp_bar_hold_put(h, &r) == 0);
    }
    struct tp_bar_row got[16];
    size_t n = read_all(h, got, 16, 16);
    static const int64_t want_start[] = {5, 10, 20, 30, 40}, want_count[] = {8, 5, 3, 7, 9};
    CHECKF(n == 5, "%zu bars", n);
    for (size_t i = 0; i < n && i < 5; i++)
        CHECKF(got[i].start == want_start[i] && got[i].count == want_count[i],
               "bar %zu: start %lld count %lld", i, (long long)got[i].start,
               (long long)got[i].count);
    tp_bar_hold_clear(h);
    CHECK(read_all(h, got, 16, 16) == 0);
    tp_bar_hold_free(h);
}

static void test_random_against_sort(void) {
    enum { PUTS = 20000, BATCHES = 4 };
    struct put *p = malloc(PUTS * sizeof *p);
    struct tp_bar_row *got = malloc(PUTS * sizeof *got);
    struct tp_bar_hold *h = tp_bar_hold_new();
    REQUIRE(p && got && h);
    char names[64][24];
    for (size_t i = 0; i < 64; i++)   /* 64 symbols, most sharing their first 12 bytes */
        if (i < NSYMS)
            snprintf(names[i], sizeof names[i], "%s", syms[i]);
        else
            snprintf(names[i], sizeof names[i], "SHAREDPREFIX%zu", i * 7);
    srand(12);
    int64_t next[64][NIVALS] = {{0}};
    for (int batch = 0; batch < BATCHES; batch++) {
        size_t nput = (size_t)(PUTS / 2 + rand() % (PUTS / 2));
        for (size_t i = 0; i < nput; i++) {
            size_t s = (size_t)rand() % 64, v = (size_t)rand() % NIVALS;
            int64_t start = next[s][v];
            int what = rand() % 10;
            if (what == 0 && start > 0)
                start -= 1000 * (1 + rand() % 3);   /* an older bar again, or one out of order */
            else if (what > 2)
                next[s][v] = start += 1000;
            p[i] = (struct put){row(names[s], ivals[v], start, rand()), i};
            REQUIRE(tp_bar_hold_put(h, &p[i].r) == 0);
        }
        qsort(p, nput, sizeof *p, cmp_put);
        size_t want = 0;
        for (size_t i = 0; i < nput; i++)   /* keep the last put of each key */
            if (i + 1 == nput || cmp_key(&p[i].r, &p[i + 1].r) != 0)
                p[want++] = p[i];
        size_t n = read_all(h, got, PUTS, 1 + (size_t)rand() % 20);
        CHECKF(n == want, "batch %d: %zu bars, want %zu", batch, n, want);
        size_t bad = 0;
        for (size_t i = 0; i < n && i < want; i++)
            if (!same_row(&got[i], &p[i].r) && bad++ < 3)
                CHECKF(0, "batch %d bar %zu: %s/%s/%lld, want %s/%s/%lld", batch, i,
                       got[i].symbol, got[i].interval, (long long)got[i].start, p[i].r.symbol,
                       p[i].r.interval, (long long)p[i].r.start);
        CHECK(bad == 0);
        tp_bar_hold_clear(h);
    }
    tp_bar_hold_free(h);
    free(got);
    free(p);
}

int main(void) {
    test_fixed_order();
    test_last_put_wins();
    test_random_against_sort();
    return TP_TEST_DONE();
}
