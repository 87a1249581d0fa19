/*
 * dtoa.c - shortest round-trip decimal for doubles without printf.
 *
 * Why: a jsonl tick carries about ten floats, and glibc's printf/strtod loop
 * (try 15, 16, 17 digits) costs about 1 us each, most of a `run`.
 *
 * How: for 1e-10 <= |v| < 1e27 the value is scaled into [1e16, 1e17) with
 * one x87 long double operation by an exact power of ten (64-bit mantissa,
 * so the relative error is at most 2^-64, under 0.008 units of the 17th
 * digit); unless the scaled value lies within 0.02 of a rounding tie, that
 * gives the correctly rounded 17 digits, which always read back. Shorter
 * candidates (the nearest 16-, 15-, ... digit decimals) are then tried
 * downwards while they still read back, checked against the midpoints to the
 * neighbouring doubles with a margin far above the arithmetic error; a
 * candidate too close to call counts as not reading back, which can only
 * make the output longer, never wrong. Everything else (near-ties, tiny and
 * huge values, platforms without an 80-bit long double) takes the
 * printf/strtod path. Pure; any thread.
 */
#include "tp_dtoa.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint64_t pow10_u64[20] = {
    1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull,
    100000000ull, 1000000000ull, 10000000000ull, 100000000000ull,
    1000000000000ull, 10000000000000ull, 100000000000000ull,
    1000000000000000ull, 10000000000000000ull, 100000000000000000ull,
    1000000000000000000ull, 10000000000000000000ull};

/* A decimal: digits d (nd of them, no leading zero) times 10^(e10 - nd + 1),
 * so e10 is the exponent of the first digit. */
struct dec {
    uint64_t d;
    int nd, e10;
};

#if LDBL_MANT_DIG >= 64 && defined(__SIZEOF_INT128__)
/* 10^0 .. 10^27, all exact in a 64-bit mantissa (5^27 < 2^64). */
static const long double pow10_ld[28] = {
    1e0L,  1e1L,  1e2L,  1e3L,  1e4L,  1e5L,  1e6L,  1e7L,  1e8L,  1e9L,
    1e10L, 1e11L, 1e12L, 1e13L, 1e14L, 1e15L, 1e16L, 1e17L, 1e18L, 1e19L,
    1e20L, 1e21L, 1e22L, 1e23L, 1e24L, 1e25L, 1e26L, 1e27L};

static long double scale10(long double x, int n) {
    return n >= 0 ? x * pow10_ld[n] : x / pow10_ld[-n];
}

/* Whether d * 10^p reads back as v: strictly between the midpoints to v's
 * neighbours. x carries one rounding (2^-64 relative), the midpoints none;
 * within a margin of 2^-62 relative of a midpoint (about 1 case in 1000)
 * strtod decides. */
static int reads_back(uint64_t d, int p, double v) {
    if (p > 27 || p < -27)
        return 0;
    long double x = scale10((long double)d, p);
    uint64_t bits;
    double below, above; /* v's neighbours; v > 0 and finite */
    memcpy(&bits, &v, 8);
    bits--;
    memcpy(&below, &bits, 8);
    bits += 2;
    memcpy(&above, &bits, 8);
    long double lo = ((long double)v + (long double)below) / 2;
    long double hi = ((long double)v + (long double)above) / 2;
    long double tol = x * 0x1p-62L;
    if (x > lo + tol && x < hi - tol)
        return 1;
    if (x < lo - tol || x > hi + tol)
        return 0;
    char buf[40];
    snprintf(buf, sizeof buf, "%llue%d", (unsigned long long)d, p);
    return strtod(buf, NULL) == v;
}

/* The correctly rounded 17 digits of v > 0, or 0 when not sure. */
static int digits17(double v, struct dec *out) {
    uint64_t bits;
    memcpy(&bits, &v, 8);
    int bexp = (int)((bits >> 52) & 0x7ff) - 1023; /* v in [2^bexp, 2^(bexp+1)) */
    if (bexp < -1000)
        return 0; /* subnormal */
    /* floor(bexp * log10(2)), exact for |bexp| < 1650 (78913 / 2^18). */
    int e10 = (int)(((int64_t)bexp * 78913) >> 18);
    long double s = 0;
    for (int tries = 0; tries < 3; tries++) {
        if (e10 < -10 || e10 > 26)
            return 0;
        s = scale10((long double)v, 16 - e10);
        if (s < 1e16L)
            e10--;
        else if (s >= 1e17L)
            e10++;
        else
            break;
    }
    if (s < 1e16L || s >= 1e17L)
        return 0;
    long double fl = floorl(s);
    long double frac = s - fl;
    uint64_t d = (uint64_t)fl + (frac > 0.5L);
    if (fabsl(frac - 0.5L) < 0.01L) {
        /* Too close to the tie to round on s: compare v with the tie
         * itself, (2 fl + 1) / 2 * 10^(e10 - 16), computed with one
         * rounding; only a true near-tie goes to printf. */
        long double mid = scale10(2 * fl + 1, e10 - 16) / 2;
        long double tol = mid * 0x1p-62L;
        if (mid > (long double)v + tol)
            d = (uint64_t)fl;
        else if (mid < (long double)v - tol)
            d = (uint64_t)fl + 1;
        else
            return 0;
    }
    if (d == pow10_u64[17]) {
        d = pow10_u64[16];
        e10++;
    }
    *out = (struct dec){d, 17, e10};
    return 1;
}

/* The nd-digit decimal c (at first-digit exponent e10) as a struct dec if
 * it reads back as v; a carry (c == 10^nd) moves it one decade up. */
static int candidate(uint64_t c, int nd, int e10, double v, struct dec *out) {
    if (c == pow10_u64[nd]) {
        c = pow10_u64[nd - 1];
        e10++;
    }
    if (!reads_back(c, e10 - nd + 1, v))
        return 0;
    *out = (struct dec){c, nd, e10};
    return 1;
}

static const uint64_t pow5_u64[28] = {
    1ull, 5ull, 25ull, 125ull, 625ull, 3125ull, 15625ull, 78125ull, 390625ull,
    1953125ull, 9765625ull, 48828125ull, 244140625ull, 1220703125ull,
    6103515625ull, 30517578125ull, 152587890625ull, 762939453125ull,
    3814697265625ull, 19073486328125ull, 95367431640625ull,
    476837158203125ull, 2384185791015625ull, 11920928955078125ull,
    59604644775390625ull, 298023223876953125ull, 1490116119384765625ull,
    7450580596923828125ull};

/* Whether d * 10^p is exactly v (v > 0), in integers: with v = m * 2^e,
 * v * 10^-p = m * 5^-p * 2^(e - p). Answers 0 for p >= 0 (values of 1e16
 * and up; 0 only costs the printf path). */
static int exactly(uint64_t d, int p, double v) {
    if (p >= 0 || p < -27)
        return 0;
    uint64_t bits;
    memcpy(&bits, &v, 8);
    int be = (int)((bits >> 52) & 0x7ff);
    uint64_t m = (bits & ((1ull << 52) - 1)) | (be ? 1ull << 52 : 0);
    int e = (be ? be : 1) - 1075;
    while (m && !(m & 1)) {
        m >>= 1;
        e++;
    }
    unsigned __int128 lhs = (unsigned __int128)m * pow5_u64[-p];
    int sh = e - p;
    if (sh >= 0)
        return sh < 60 && lhs <= d && (lhs << sh) == d;
    return -sh < 64 && lhs == (unsigned __int128)d << -sh;
}

/* On which side of the tie x.d (17 digits) v lies: 1 above, -1 below, 0
 * exactly at it, 2 too close to tell. */
static int tie_side(const struct dec *x, double v) {
    if (exactly(x->d, x->e10 - 16, v))
        return 0;
    long double t = scale10((long double)x->d, x->e10 - 16);
    long double tol = t * 0x1p-62L;
    return t < (long double)v - tol ? 1 : t > (long double)v + tol ? -1 : 2;
}

/* The fast path; v > 0. Returns 0 when it cannot decide. */
static int shortest_fast(double v, struct dec *out) {
    struct dec x;
    if (!digits17(v, &x))
        return 0;
    *out = x;
    /* The nearest shorter decimals, while they read back. When the dropped
     * digits are exactly half and both neighbours read back, the side of
     * the tie v lies on picks one (the even one on a true tie, as Python). */
    for (int nd = 16; nd >= 1; nd--) {
        uint64_t div = pow10_u64[17 - nd], q = x.d / div, r = x.d % div;
        if (r != div / 2) {
            if (!candidate(r > div / 2 ? q + 1 : q, nd, x.e10, v, out))
                break;
            continue;
        }
        struct dec lo, hi;
        int has_lo = candidate(q, nd, x.e10, v, &lo);
        int has_hi = candidate(q + 1, nd, x.e10, v, &hi);
        if (has_lo && has_hi) {
            int side = tie_side(&x, v);
            if (side == 2)
                return 0; /* printf rounds exactly */
            *out = side > 0 || (side == 0 && (q & 1)) ? hi : lo;
        } else if (has_lo || has_hi) {
            *out = has_lo ? lo : hi;
        } else {
            break;
        }
    }
    return 1;
}
#endif

#ifdef __SIZEOF_INT128__
/* 10^n as a 128-bit integer, n <= 38. */
static unsigned __int128 pow10_u128(int n) {
    return n <= 19 ? pow10_u64[n] : (unsigned __int128)pow10_u64[19] * pow10_u64[n - 19];
}

/* The exact integer path for a non-integral v in [1e-6, 1e16) whose
 * mantissa is not a power of two (so its rounding interval is symmetric):
 * with v = m * 2^-k and X = m * 10^n, the 17 digits are X >> k with
 * remainder rem, and a decimal C (in units of 10^-n) reads back as v when
 * |C * 2^k - X| * 2^(54 - L) <= 10^n (L = bit length of m; strict when the
 * 53-bit mantissa is odd, as the tie then rounds away from v). All in
 * unsigned __int128, no rounding anywhere. Returns 0 when v is outside
 * that domain. */
static int shortest_exact(double v, struct dec *out) {
    uint64_t bits;
    memcpy(&bits, &v, 8);
    int be = (int)((bits >> 52) & 0x7ff);
    if (be == 0)
        return 0;
    uint64_t m = (bits & ((1ull << 52) - 1)) | 1ull << 52;
    int tz = __builtin_ctzll(m);
    m >>= tz;
    int k = 1075 - be - tz; /* v = m * 2^-k */
    int L = 64 - __builtin_clzll(m);
    if (m == 1 || k <= 0 || k > 72)
        return 0;
    int e10 = (int)(((int64_t)(be - 1023) * 78913) >> 18); /* floor or one low */
    int n = 16 - e10;
    unsigned __int128 X = 0;
    uint64_t D = 0;
    for (int tries = 0; tries < 2; tries++, n--, e10++) {
        if (n < 0 || n > 22)
            return 0;
        X = (unsigned __int128)m * pow10_u128(n);
        D = (uint64_t)(X >> k);
        if (D < pow10_u64[17])
            break;
    }
    if (D < pow10_u64[16] || D >= pow10_u64[17])
        return 0;
    unsigned __int128 rem = X - ((unsigned __int128)D << k);
    int s = 54 - L;
    unsigned __int128 p10 = pow10_u128(n);
    unsigned __int128 lim = L < 53 ? p10 >> s : ((p10 + ((unsigned __int128)1 << s) - 1) >> s) - 1;
    /* 17 digits (j = 0) always read back when correctly rounded. When v is
     * exactly D (rem == 0), D without its trailing zeros reads back too. */
    uint64_t q = D, r = 0; /* D = q * 10^j + r */
    int j = 0;
    if (rem == 0)
        while (j < 16 && q % 10 == 0)
            q /= 10, j++;
    uint64_t c0 = q + (rem == 0 ? 0 : rem > ((unsigned __int128)1 << (k - 1)) ||
                                        (rem == ((unsigned __int128)1 << (k - 1)) && (q & 1)));
    *out = (struct dec){c0, 17 - j, e10};
    if (c0 == pow10_u64[17])
        *out = (struct dec){pow10_u64[16], 17, e10 + 1};
    /* Drop one more digit while the nearest shorter decimal reads back. */
    while (++j <= 16) {
        r += q % 10 * pow10_u64[j - 1];
        q /= 10;
        uint64_t div = pow10_u64[j];
        unsigned __int128 down = ((unsigned __int128)r << k) + rem;
        unsigned __int128 up = ((unsigned __int128)div << k) - down;
        int use_up = up < down || (up == down && (q & 1));
        if ((use_up ? up : down) > lim)
            break;
        uint64_t c = use_up ? q + 1 : q;
        int nd = 17 - j, ce = e10;
        if (c == pow10_u64[nd]) { /* rounding carried into a new digit */
            c = pow10_u64[nd - 1];
            ce++;
        }
        *out = (struct dec){c, nd, ce};
    }
    return 1;
}
#endif

/* The general path through printf and strtod; v > 0. 17 digits always
 * read back; fewer are tried downwards while they do. */
static void shortest_slow(double v, struct dec *out) {
    char buf[40];
    for (int nd = 17; nd >= 1; nd--) {
        snprintf(buf, sizeof buf, "%.*e", nd - 1, v);
        if (nd < 17 && strtod(buf, NULL) != v)
            return;
        uint64_t d = 0;
        char *p = buf;
        for (; *p && *p != 'e'; p++)
            if (*p >= '0' && *p <= '9')
                d = d * 10 + (uint64_t)(*p - '0');
        *out = (struct dec){d, nd, atoi(p + 1)};
    }
}

static const char digit_pairs[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* Writes exactly 8 digits of v < 10^8. */
static void put8(uint32_t v, char *o) {
    uint32_t a = v / 10000, b = v % 10000;
    memcpy(o, digit_pairs + 2 * (a / 100), 2);
    memcpy(o + 2, digit_pairs + 2 * (a % 100), 2);
    memcpy(o + 4, digit_pairs + 2 * (b / 100), 2);
    memcpy(o + 6, digit_pairs + 2 * (b % 100), 2);
}

/* Writes the nd (1..20) lowest decimal digits of v, leading zeros
 * included. */
static void put_digits(uint64_t v, int nd, char *o) {
    char tmp[24];
    put8((uint32_t)(v % 100000000), tmp + 16);
    if (nd > 8) {
        v /= 100000000;
        put8((uint32_t)(v % 100000000), tmp + 8);
        if (nd > 16)
            put8((uint32_t)(v / 100000000 % 100000000), tmp);
    }
    memcpy(o, tmp + 24 - nd, (size_t)nd);
}

static int count_digits(uint64_t v) {
    int n = 1;
    while (n < 20 && v >= pow10_u64[n])
        n++;
    return n;
}

static size_t put_u64(uint64_t v, char *buf) {
    int nd = count_digits(v);
    put_digits(v, nd, buf);
    return (size_t)nd;
}

/* Lays out a decimal as Python's repr does: positional for exponents
 * -4..15, scientific otherwise. Returns the length; NUL-terminates. */
static size_t layout(struct dec x, char *o) {
    while (x.nd > 1 && x.d % 10 == 0) {
        x.d /= 10;
        x.nd--;
    }
    char dig[20];
    put_digits(x.d, x.nd, dig);
    size_t n = 0;
    if (x.e10 >= 16 || x.e10 < -4) {
        o[n++] = dig[0];
        if (x.nd > 1) {
            o[n++] = '.';
            memcpy(o + n, dig + 1, (size_t)x.nd - 1);
            n += (size_t)x.nd - 1;
        }
        int e = x.e10 < 0 ? -x.e10 : x.e10;
        o[n++] = 'e';
        o[n++] = x.e10 < 0 ? '-' : '+';
        if (e < 10)
            o[n++] = '0';
        n += put_u64((uint64_t)e, o + n);
    } else if (x.e10 >= 0) {
        int ip = x.e10 + 1; /* digits before the point */
        int lead = ip < x.nd ? ip : x.nd;
        memcpy(o + n, dig, (size_t)lead);
        n += (size_t)lead;
        for (int i = lead; i < ip; i++)
            o[n++] = '0';
        o[n++] = '.';
        if (x.nd > ip) {
            memcpy(o + n, dig + ip, (size_t)(x.nd - ip));
            n += (size_t)(x.nd - ip);
        } else {
            o[n++] = '0';
        }
    } else {
        o[n++] = '0';
        o[n++] = '.';
        for (int i = 0; i < -x.e10 - 1; i++)
            o[n++] = '0';
        memcpy(o + n, dig, (size_t)x.nd);
        n += (size_t)x.nd;
    }
    o[n] = '\0';
    return n;
}

size_t tp_dtoa(double v, char *buf) {
    if (!isfinite(v)) {
        memcpy(buf, "null", 5);
        return 4;
    }
    size_t n = 0;
    if (signbit(v)) {
        buf[n++] = '-';
        v = -v;
    }
    if (v < 1e16 && v == (double)(uint64_t)v) { /* integral: every digit, ".0" */
        n += put_u64((uint64_t)v, buf + n);
        memcpy(buf + n, ".0", 3);
        return n + 2;
    }
    struct dec x = {0, 1, 0};
    int done = 0;
#ifdef __SIZEOF_INT128__
    done = shortest_exact(v, &x);
#endif
#if LDBL_MANT_DIG >= 64 && defined(__SIZEOF_INT128__)
    done = done || shortest_fast(v, &x);
#endif
    if (!done)
        shortest_slow(v, &x);
    return n + layout(x, buf + n);
}
