/*
 * test_fmt.c - tp_fmt_double() against the printf + strtod reference
 * (tests/fmt_reference.h), byte for byte, with zero mismatches allowed:
 *
 *   (a) doubles made from random float32 bit patterns (every price we get
 *       from Yahoo is a float32), TP_FMT_F32_COUNT of them;
 *   (b) random double bit patterns (all exponents equally likely),
 *       TP_FMT_F64_COUNT of them, plus random short decimals, dyadic
 *       fractions (exact ties), log-uniform doubles over the range of the
 *       128-bit fast path and the neighbourhood of every power of two (where
 *       the rounding interval is lopsided);
 *   (c) hand-picked edges: subnormals, DBL_MIN/MAX, powers of ten, the 1e15
 *       integral boundary, the 1e-5/1e-4 notation boundaries, and so on.
 *
 * TP_FMT_SEED picks the random stream (printed, so a failure can be re-run).
 * The defaults keep the run near ten seconds in a release build; the
 * reference costs about a microsecond per number, so raise the counts for a
 * longer soak, e.g. TP_FMT_F32_COUNT=50000000.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/tp_fmt.h"
#include "fmt_reference.h"
#include "tp_test.h"

#define MAX_REPORTS 20

/* Sanitizer builds run the same code about twice as slowly. */
#if defined(__SANITIZE_ADDRESS__)
#define DEFAULT_F32 2000000
#define DEFAULT_F64 400000
#else
#define DEFAULT_F32 4000000
#define DEFAULT_F64 800000
#endif

static long mismatches, compared;
static char *heap32; /* exactly 32 bytes on the heap: ASan sees any write past */

static uint64_t rng_next(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static long env_count(const char *name, long def) {
    const char *s = getenv(name);
    return s && *s ? strtol(s, NULL, 10) : def;
}

static double from_bits(uint64_t b) {
    double v;
    memcpy(&v, &b, sizeof v);
    return v;
}

static uint64_t to_bits(double v) {
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return b;
}

/* One differential comparison; also checks the length and the 32-byte
 * bound of the contract. */
static void same(double v) {
    char got[64], want[64];
    memset(got, 'X', sizeof got);
    int n = tp_fmt_double(got, 32, v);
    int rn = fmt_double_reference(want, 32, v);
    int hn = tp_fmt_double(heap32, 32, v);
    compared++;
    int ok = n == rn && n < 32 && (size_t)n == strlen(got) && strcmp(got, want) == 0 &&
             got[32] == 'X' && hn == n && strcmp(heap32, got) == 0;
    if (!ok) {
        mismatches++;
        if (mismatches <= MAX_REPORTS)
            fprintf(stderr, "mismatch: bits=0x%016llx %.17g: got \"%s\" (%d), want \"%s\" (%d)\n",
                    (unsigned long long)to_bits(v), v, got, n, want, rn);
    }
}

static void same_both_signs(double v) {
    same(v);
    same(-v);
}

static void test_float32(uint64_t *rng, long count) {
    for (long i = 0; i < count; i++) {
        uint32_t b = (uint32_t)rng_next(rng);
        float f;
        memcpy(&f, &b, sizeof f);
        same((double)f);
    }
}

static void test_random_doubles(uint64_t *rng, long count) {
    for (long i = 0; i < count; i++)
        same(from_bits(rng_next(rng)));
}

/* Log-uniform doubles in [1e-16, 1e18): the range of the 128-bit fast path
 * and both of its edges, with all 53 bits used. */
static void test_fast_range(uint64_t *rng, long count) {
    for (long i = 0; i < count; i++) {
        uint64_t r = rng_next(rng);
        double mant = 1.0 + (double)(r >> 11) / 9007199254740992.0;
        same_both_signs(ldexp(mant, (int)(rng_next(rng) % 114) - 54));
    }
}

/* Doubles read from decimals of 1 to 17 digits at any exponent: the inputs
 * whose shortest form is short, where off-by-one digit errors show. */
static void test_short_decimals(uint64_t *rng, long count) {
    char s[64];
    for (long i = 0; i < count; i++) {
        uint64_t r = rng_next(rng);
        int digits = 1 + (int)(r % 17);
        int exp = (int)((r >> 8) % 640) - 330;
        uint64_t mant = rng_next(rng) % 100000000000000000ULL;
        while (mant >= 10 && mant >= (uint64_t)pow(10, digits))
            mant /= 10;
        snprintf(s, sizeof s, "%llue%d", (unsigned long long)mant, exp);
        same_both_signs(strtod(s, NULL));
    }
}

/* n / 2^k: exact binary fractions, many of them exact ties when rounded to
 * 15 or 16 digits (printf rounds those half to even). */
static void test_dyadic(uint64_t *rng, long count) {
    for (long i = 0; i < count; i++) {
        uint64_t r = rng_next(rng);
        int k = 1 + (int)(r % 70);
        uint64_t n = rng_next(rng) >> (r >> 8) % 64;
        same_both_signs(ldexp((double)n, -k));
    }
}

/* Around every power of two the gap below is half the gap above. */
static void test_binade_edges(void) {
    for (int be = 0; be <= 2046; be++) {
        uint64_t base = (uint64_t)be << 52;
        for (int d = -3; d <= 3; d++) {
            uint64_t b = base + (uint64_t)(int64_t)d;
            if (b < (1ULL << 63))
                same_both_signs(from_bits(b));
        }
    }
}

static void test_edges(void) {
    static const double edges[] = {
        0.0, 5e-324, 1e-323, 2.225073858507201e-308, DBL_MIN, DBL_MAX, DBL_EPSILON,
        0.1, 0.2, 0.3, 0.7, 1.0 / 3, 2.0 / 3, 94745.078125, 177.4199981689453,
        177.42, 1e15, 1e15 - 1, 1e15 + 1, 999999999999999.9, 1e15 - 0.5, 1e15 + 0.5,
        1e16, 1e17, 9007199254740991.0, 9007199254740992.0, 9007199254740993.0,
        1e-5, 1e-4, 9.9999999999999991e-6, 1.0000000000000001e-5, 0.0001, 0.00009999,
        0.000099999999999999991, 1e-4 * 1.0000000000000002, 123456789012345.6,
        1234567890123456.7, 12345678901234567.0, 1e21, 1e22, 1e23, 1.7976931348623157e308,
        4.9406564584124654e-324, 2.2250738585072014e-308, 2.2250738585072009e-308,
        0.5, 0.25, 0.125, 1.5, 2.5, 1e-7, 1.23e-300, 9.999999999999999e22, 5e-324 * 3,
        0.30000000000000004, 100.0, 1e100, 1e-100, 1e300, 1e-300, 1e308, 1e-308,
        123.456, 0.000123456, 65536.5, 4294967296.25, 1e14 + 0.5, 29.99, 4.35, 0.01,
    };
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++)
        same_both_signs(edges[i]);
    for (int p = -330; p <= 310; p++) {
        char s[16];
        snprintf(s, sizeof s, "1e%d", p);
        double t = strtod(s, NULL);
        same_both_signs(t);
        same_both_signs(nextafter(t, 0));
        same_both_signs(nextafter(t, INFINITY));
    }
    for (int p = -1074; p <= 1023; p++)
        same_both_signs(ldexp(1.0, p));
    for (uint64_t b = 1; b < 4096; b++) /* the smallest subnormals */
        same(from_bits(b));
    for (uint64_t b = (1ULL << 52) - 4096; b < (1ULL << 52) + 4096; b++)
        same(from_bits(b)); /* the largest subnormals and the smallest normals */
    same(NAN);
    same(INFINITY);
    same(-INFINITY);
}

/* A few outputs spelled out, so the contract is readable here too. */
static void test_literals(void) {
    static const struct {
        double v;
        const char *want;
    } cases[] = {
        {0.1, "0.1"},
        {-0.0, "-0.0"},
        {0.0, "0.0"},
        {94745.078125, "94745.078125"},
        {177.4199981689453, "177.4199981689453"},
        {1e15, "1e+15"},
        {1e15 - 1, "999999999999999.0"},
        {1e-5, "1e-05"},
        {1e-4, "0.0001"},
        {0.30000000000000004, "0.30000000000000004"},
        {5e-324, "4.94065645841247e-324"},
        {DBL_MAX, "1.7976931348623157e+308"},
        {NAN, "null"},
        {-INFINITY, "null"},
        {1234567890123456.0, "1234567890123456.0"},
        {-2.5e-7, "-2.5e-07"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[32];
        tp_fmt_double(buf, sizeof buf, cases[i].v);
        CHECKF(strcmp(buf, cases[i].want) == 0, "got %s want %s", buf, cases[i].want);
    }
    char small[31] = "unchanged";
    CHECK(tp_fmt_double(small, sizeof small, 1.5) == 0 && small[0] == '\0');
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* tp_fmt_i64() against printf("%lld") at every power of ten and its
 * neighbours, the extremes and random values of every magnitude. */
static void test_i64(uint64_t *rng, long n) {
    char got[32], want[32];
    long bad = 0;
    for (long i = 0; i < n + 64 * 3 + 2; i++) {
        int64_t v;
        if (i < 2) {
            v = i ? INT64_MAX : INT64_MIN;
        } else if (i < 2 + 64 * 3) {
            long k = (i - 2) / 3 % 19, d = (i - 2) % 3 - 1;
            int64_t p = 1;
            for (long j = 0; j < k; j++)
                p *= 10;
            v = (i - 2) / 3 >= 19 ? -(p + d) : p + d;
        } else {
            uint64_t r = rng_next(rng);
            v = (int64_t)(r >> (r % 64));
            if (r & 1)
                v = -v;
        }
        size_t len = tp_fmt_i64(got, v);
        got[len] = '\0';
        snprintf(want, sizeof want, "%lld", (long long)v);
        if (strcmp(got, want) != 0 && bad++ < MAX_REPORTS)
            fprintf(stderr, "tp_fmt_i64: got %s want %s\n", got, want);
    }
    CHECKF(bad == 0, "%ld integers differ from printf", bad);
}

int main(void) {
    uint64_t seed = (uint64_t)env_count("TP_FMT_SEED", 20261124), rng = seed;
    long n32 = env_count("TP_FMT_F32_COUNT", DEFAULT_F32);
    long n64 = env_count("TP_FMT_F64_COUNT", DEFAULT_F64);
    double t0 = now_s();
    heap32 = malloc(32);
    REQUIRE(heap32 != NULL);
    test_literals();
    test_edges();
    test_binade_edges();
    test_short_decimals(&rng, n64 / 4);
    test_dyadic(&rng, n64 / 4);
    test_fast_range(&rng, n64 / 4);
    test_random_doubles(&rng, n64);
    test_float32(&rng, n32);
    test_i64(&rng, n64);
    fprintf(stderr, "seed %llu: %ld compared (%ld float32, %ld random doubles) in %.1f s, "
                    "%ld mismatches\n",
            (unsigned long long)seed, compared, n32, n64, now_s() - t0, mismatches);
    CHECKF(mismatches == 0, "%ld of %ld differ from the reference", mismatches, compared);
    free(heap32);
    return TP_TEST_DONE();
}
