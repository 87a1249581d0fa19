/*
 * fmt.c - shortest round-trip formatting of doubles. Pure; any thread.
 *
 * Output rules (shared by every JSON and CSV writer): NaN and infinities
 * print as null; integral values below 1e15 print with a trailing ".0";
 * otherwise the shortest of %.15g, %.16g, %.17g that reads back as the same
 * double, with ".0" added when it has neither a point nor an exponent.
 *
 * Those rules were first written with snprintf and strtod (about 1 us per
 * number); tests/unit/test_fmt.c keeps that version as the reference and
 * compares this one against it. Here the same answer is computed exactly
 * with integers, without the C library:
 *
 *   v = m * 2^e. Its rounding interval [L, U] (the reals strtod maps back to
 *   v) has the ends (4m - 2) * 2^(e-2) and (4m + 2) * 2^(e-2), or (4m - 1)
 *   at the lower end when m is a power of two, and contains its ends exactly
 *   when m is even (round half to even). Scaling by 10^(16-k), where 10^k
 *   <= v < 10^(k+1), puts v between 10^16 and 10^17. A candidate with N
 *   digits is the scaled v rounded at 10^(17-N), half to even as printf
 *   does, and it reads back as v when that integer lies inside the scaled
 *   [L, U]. All of it needs only exact integer facts about the three scaled
 *   values: their floors and where their fractional parts lie.
 *
 *   Fast path (1e-15 <= v < 1e17: every price, size and average we store):
 *   a product with 5^j (j <= 31) gives the scaled values exactly as
 *   128-bit fixed point; a k one too low is absorbed by reading the result
 *   as 18 digits instead of recomputing. Slow path (everything else): a
 *   fixed-size bignum divides exactly and keeps each fractional part as one
 *   of four classes (zero, below one half, one half, above), which division
 *   by ten preserves, so one scaling serves all three precisions.
 *
 *   The digits are written into buf with fixed-size copies that never pass
 *   its 32 bytes.
 */
#include "tp_fmt.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

typedef unsigned __int128 u128;

#define TEN16 10000000000000000ULL
#define TEN17 100000000000000000ULL

/* The fractional part of a non-negative rational, in the four classes that
 * rounding to the nearest integer (ties to even) needs. */
enum frac { FR_ZERO, FR_LOW, FR_HALF, FR_HIGH };

struct scaled {
    uint64_t q;   /* floor of the value */
    enum frac fr; /* class of value - q */
};

/* The triple we track: the lower end of the rounding interval, v, the
 * upper end, all multiplied by the same power of ten. */
enum { LO, MID, HI };

static const uint64_t pow5_u64[28] = {
    1ULL, 5ULL, 25ULL, 125ULL, 625ULL, 3125ULL, 15625ULL, 78125ULL,
    390625ULL, 1953125ULL, 9765625ULL, 48828125ULL, 244140625ULL,
    1220703125ULL, 6103515625ULL, 30517578125ULL, 152587890625ULL,
    762939453125ULL, 3814697265625ULL, 19073486328125ULL, 95367431640625ULL,
    476837158203125ULL, 2384185791015625ULL, 11920928955078125ULL,
    59604644775390625ULL, 298023223876953125ULL, 1490116119384765625ULL,
    7450580596923828125ULL,
};

/* x / 10 with the fractional class kept exact. */
static struct scaled sc_div10(struct scaled x) {
    unsigned d = (unsigned)(x.q % 10);
    struct scaled r = {x.q / 10, FR_LOW};
    if (d == 0 && x.fr == FR_ZERO)
        r.fr = FR_ZERO;
    else if (d == 5)
        r.fr = x.fr == FR_ZERO ? FR_HALF : FR_HIGH;
    else if (d > 5)
        r.fr = FR_HIGH;
    return r;
}

/* ---- slow path: a fixed-size bignum, little-endian 64-bit limbs ---- */

#define BIG_LIMBS 24 /* 1536 bits; the largest value formed is under 1200 */

struct big {
    int n; /* limbs in use; w[n-1] != 0 unless n == 0 */
    uint64_t w[BIG_LIMBS];
};

static void big_set(struct big *b, uint64_t v) {
    b->w[0] = v;
    b->n = v != 0;
}

static void big_mul(struct big *b, uint64_t f) {
    u128 carry = 0;
    for (int i = 0; i < b->n; i++) {
        carry += (u128)b->w[i] * f;
        b->w[i] = (uint64_t)carry;
        carry >>= 64;
    }
    if (carry && b->n < BIG_LIMBS)
        b->w[b->n++] = (uint64_t)carry;
    while (b->n > 0 && b->w[b->n - 1] == 0)
        b->n--;
}

static void big_mul_pow5(struct big *b, int k) {
    for (; k >= 27; k -= 27)
        big_mul(b, pow5_u64[27]);
    if (k > 0)
        big_mul(b, pow5_u64[k]);
}

static void big_shl(struct big *b, int bits) {
    if (b->n == 0 || bits == 0)
        return;
    int limbs = bits / 64, r = bits % 64, n = b->n;
    uint64_t top = r ? b->w[n - 1] >> (64 - r) : 0;
    for (int i = n - 1; i >= 0; i--) {
        uint64_t lo = (r && i > 0) ? b->w[i - 1] >> (64 - r) : 0;
        b->w[i + limbs] = r ? (b->w[i] << r) | lo : b->w[i];
    }
    for (int i = 0; i < limbs; i++)
        b->w[i] = 0;
    b->n = n + limbs;
    if (top)
        b->w[b->n++] = top;
}

static int big_cmp(const struct big *a, const struct big *b) {
    if (a->n != b->n)
        return a->n < b->n ? -1 : 1;
    for (int i = a->n - 1; i >= 0; i--)
        if (a->w[i] != b->w[i])
            return a->w[i] < b->w[i] ? -1 : 1;
    return 0;
}

/* a -= b; requires a >= b. */
static void big_sub(struct big *a, const struct big *b) {
    uint64_t borrow = 0;
    for (int i = 0; i < a->n; i++) {
        uint64_t bi = i < b->n ? b->w[i] : 0;
        uint64_t d = a->w[i] - bi - borrow;
        borrow = (a->w[i] < bi) || (a->w[i] - bi < borrow);
        a->w[i] = d;
    }
    while (a->n > 0 && a->w[a->n - 1] == 0)
        a->n--;
}

static int big_bitlen(const struct big *b) {
    return b->n ? 64 * (b->n - 1) + 64 - __builtin_clzll(b->w[b->n - 1]) : 0;
}

/* Bits [from, from + 128) of b. */
static u128 big_bits(const struct big *b, int from) {
    int limb = from / 64, off = from % 64;
    uint64_t w[3];
    for (int i = 0; i < 3; i++)
        w[i] = limb + i < b->n ? b->w[limb + i] : 0;
    if (off == 0)
        return (u128)w[1] << 64 | w[0];
    uint64_t lo = w[0] >> off | w[1] << (64 - off);
    uint64_t hi = w[1] >> off | w[2] << (64 - off);
    return (u128)hi << 64 | lo;
}

/* num / den, where the quotient is known to be below 2^62. Clobbers num. */
static struct scaled big_divide(struct big *num, const struct big *den) {
    int db = big_bitlen(den);
    int sh = db > 64 ? db - 64 : 0;
    uint64_t dt = (uint64_t)big_bits(den, sh);
    uint64_t q = (uint64_t)(big_bits(num, sh) / dt); /* within one of the truth */
    struct big t = *den;
    big_mul(&t, q);
    while (big_cmp(&t, num) > 0) {
        big_sub(&t, den);
        q--;
    }
    big_sub(num, &t);
    while (big_cmp(num, den) >= 0) {
        big_sub(num, den);
        q++;
    }
    struct scaled r = {q, FR_ZERO};
    if (num->n == 0)
        return r;
    big_shl(num, 1);
    int c = big_cmp(num, den);
    r.fr = c < 0 ? FR_LOW : c == 0 ? FR_HALF : FR_HIGH;
    return r;
}

static void scale_exact(const uint64_t c[3], int e2, int j, struct scaled x[3]) {
    struct big den, num;
    int s = e2 + j;
    big_set(&den, 1);
    if (j < 0)
        big_mul_pow5(&den, -j);
    if (s < 0)
        big_shl(&den, -s);
    for (int i = 0; i < 3; i++) {
        big_set(&num, c[i]);
        if (j > 0)
            big_mul_pow5(&num, j);
        if (s > 0)
            big_shl(&num, s);
        x[i] = big_divide(&num, &den);
    }
}

/* ---- choosing the digits and printing them ---- */

/* floor(e * log10(2)) for |e| < 1650: 78913 / 2^18 is close enough. */
static int floor_log10_pow2(int e) {
    return e >= 0 ? (int)(((uint32_t)e * 78913) >> 18) : -(int)(((uint32_t)-e * 78913) >> 18) - 1;
}

static const char two_digits[201] =
    "000102030405060708091011121314151617181920212223242526272829303132"
    "333435363738394041424344454647484950515253545556575859606162636465"
    "66676869707172737475767778798081828384858687888990919293949596979899";

/* The 8 decimal digits of x < 10^8. */
static inline void put8(char *out, uint32_t x) {
    uint32_t hi = x / 10000, lo = x % 10000;
    memcpy(out, two_digits + 2 * (hi / 100), 2);
    memcpy(out + 2, two_digits + 2 * (hi % 100), 2);
    memcpy(out + 4, two_digits + 2 * (lo / 100), 2);
    memcpy(out + 6, two_digits + 2 * (lo % 100), 2);
}

/* The digits d (n of them, or 10^n after rounding up) in %g style with
 * precision n and decimal exponent k, written straight into buf with
 * fixed-size copies that stay inside its 32 bytes. */
static int emit(char *buf, int neg, uint64_t d, int n, int k) {
    char dig[48];
    if (d >= (n == 17 ? TEN17 : n == 16 ? TEN16 : TEN16 / 10)) { /* rounded up to 10^n */
        d /= 10;
        k++;
    }
    int nd = n; /* significant digits once trailing zeros are gone */
    while (d % 10 == 0) {
        d /= 10;
        nd--;
    }
    uint64_t rest = d % TEN16;
    dig[0] = (char)('0' + d / TEN16);
    put8(dig + 1, (uint32_t)(rest / 100000000));
    put8(dig + 9, (uint32_t)(rest % 100000000));
    memset(dig + 17, '0', 31); /* s may reach 31 past its digits */
    const char *s = dig + 17 - nd; /* the digits, then zeros */
    char *o = buf;
    *o = '-';
    o += neg;
    if (k < -4 || k >= n) {
        o[0] = s[0];
        o[1] = '.';
        memcpy(o + 2, s + 1, 16);
        o += nd > 1 ? nd + 1 : 1;
        *o++ = 'e';
        *o++ = k < 0 ? '-' : '+';
        int a = k < 0 ? -k : k;
        if (a >= 100)
            *o++ = (char)('0' + a / 100);
        memcpy(o, two_digits + 2 * (a % 100), 2);
        o += 2;
    } else if (k >= 0) {
        int ip = k + 1; /* digits before the point */
        memcpy(o, s, 17);
        o[ip] = '.';
        if (ip <= 14) {
            memcpy(o + ip + 1, s + ip, 16);
        } else {
            o[ip + 1] = '0';
            for (int i = ip; i < nd; i++)
                o[i + 1] = s[i];
        }
        o += nd > ip ? nd + 1 : ip + 2; /* at least one digit after the point */
    } else {
        memcpy(o, "0.000", 5);
        memcpy(o + 1 - k, s, 17); /* "0." and -k-1 zeros, then the digits */
        o += 1 - k + nd;
    }
    *o = '\0';
    return (int)(o - buf);
}

/* Does d (at the scale where x is divided by 10^(17-n)) lie in [L, U],
 * ends included when m is even? */
static int in_interval(uint64_t d, const struct scaled x[3], int even) {
    const struct scaled *lo = &x[LO], *hi = &x[HI];
    int ok_lo = even ? lo->q + (lo->fr != FR_ZERO) <= d : lo->q < d;
    int ok_hi = d < hi->q || (d == hi->q && (even || hi->fr != FR_ZERO));
    return ok_lo && ok_hi;
}

static uint64_t round_half_even(struct scaled s) {
    return s.q + (s.fr == FR_HIGH || (s.fr == FR_HALF && (s.q & 1)));
}

/* ---- fast path: 1e-15 <= v < 1e17, exact in 128 bits ---- */

/* v scaled by 10^(16-k) to [10^16, 10^17): floor q and remainder r in
 * units of 2^-sh, and the integers the rounding interval accepts. */
struct fast {
    uint64_t q, lo_min, hi_max;
    u128 r;
    int sh;
};

/* Scales v = m * 2^e (lopsided: m a power of two above the smallest normal)
 * by 10^j. Returns -1 when j or the result is out of the 128-bit range. */
static int fast_scale(struct fast *f, uint64_t m, int e, int lopsided, int j) {
    if (j < 0 || j > 31)
        return -1;
    u128 p5 = j <= 27 ? pow5_u64[j] : (u128)pow5_u64[27] * pow5_u64[j - 27];
    u128 n = (u128)(4 * m) * p5; /* < 2^55 * 5^31 < 2^127 */
    u128 nu = n + 2 * p5, nl = n - (lopsided ? p5 : 2 * p5);
    int s = e - 2 + j, even = !(m & 1);
    uint64_t qu, ql;
    int nzu = 0, nzl = 0;
    if (s >= 0) {
        if (s >= 64 || (nu >> (64 - s)) != 0)
            return -1;
        f->q = (uint64_t)n << s;
        qu = (uint64_t)nu << s;
        ql = (uint64_t)nl << s;
        f->r = 0;
        f->sh = 0;
    } else {
        int sh = -s;
        if (sh > 100 || (nu >> sh) >> 64 != 0)
            return -1;
        u128 mask = ((u128)1 << sh) - 1;
        f->q = (uint64_t)(n >> sh);
        qu = (uint64_t)(nu >> sh);
        ql = (uint64_t)(nl >> sh);
        f->r = n & mask;
        f->sh = sh;
        nzu = (nu & mask) != 0;
        nzl = (nl & mask) != 0;
    }
    f->lo_min = even ? ql + nzl : ql + 1;
    f->hi_max = even || nzu ? qu : qu - 1;
    return 0;
}

/* The scaled v rounded to 17 - log10(p) digits, half to even. */
static inline uint64_t fast_round(const struct fast *f, uint64_t p) {
    uint64_t d = f->q / p, rem = f->q % p;
    u128 twice = ((u128)rem << (f->sh + 1)) + 2 * f->r, whole = (u128)p << f->sh;
    return d + (twice > whole || (twice == whole && (d & 1)));
}

/* Those digits when they read back as v, else 0. */
static inline uint64_t fast_try(const struct fast *f, uint64_t p) {
    uint64_t d = fast_round(f, p), x = d * p;
    return f->lo_min <= x && x <= f->hi_max ? d : 0;
}

/* The first of 15, 16, 17 digits that reads back as v. unit is 1 when
 * the scaled v has 17 digits before the point, 10 when it has 18. */
static inline int fast_pick(const struct fast *f, char *buf, int neg, int k, uint64_t unit) {
    uint64_t d;
    if ((d = fast_try(f, 100 * unit)) != 0)
        return emit(buf, neg, d, 15, k);
    if ((d = fast_try(f, 10 * unit)) != 0)
        return emit(buf, neg, d, 16, k);
    return emit(buf, neg, fast_round(f, unit), 17, k);
}

/* k is floor(log10(v)) or one less. */
static int fmt_fast(char *buf, int neg, uint64_t m, int e, int lopsided, int k) {
    struct fast f;
    if (fast_scale(&f, m, e, lopsided, 16 - k) < 0 || f.q < TEN16 || f.q >= 10 * TEN17)
        return -1;
    return f.q >= TEN17 ? fast_pick(&f, buf, neg, k + 1, 10) : fast_pick(&f, buf, neg, k, 1);
}

/* ---- any finite double ---- */

static int fmt_exact(char *buf, int neg, uint64_t m, int e, int lopsided, int k) {
    uint64_t c[3] = {lopsided ? 4 * m - 1 : 4 * m - 2, 4 * m, 4 * m + 2};
    struct scaled x[3];
    for (;;) {
        scale_exact(c, e - 2, 16 - k, x);
        if (x[MID].q < TEN16) { /* k was one too high; not expected */
            k--;
            continue;
        }
        break;
    }
    while (x[MID].q >= TEN17) {
        for (int i = 0; i < 3; i++)
            x[i] = sc_div10(x[i]);
        k++;
    }
    struct scaled x16[3], x15[3];
    for (int i = 0; i < 3; i++) {
        x16[i] = sc_div10(x[i]);
        x15[i] = sc_div10(x16[i]);
    }
    int even = !(m & 1);
    uint64_t d = round_half_even(x15[MID]);
    if (in_interval(d, x15, even))
        return emit(buf, neg, d, 15, k);
    d = round_half_even(x16[MID]);
    if (in_interval(d, x16, even))
        return emit(buf, neg, d, 16, k);
    return emit(buf, neg, round_half_even(x[MID]), 17, k);
}

/* v finite, nonzero and not integral below 1e15. */
static int fmt_general(char *buf, double v) {
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    int neg = (int)(bits >> 63), be = (int)(bits >> 52 & 0x7ff);
    uint64_t frac = bits & ((1ULL << 52) - 1);
    uint64_t m = be ? frac | 1ULL << 52 : frac;
    int e = be ? be - 1075 : -1074, lopsided = frac == 0 && be > 1;
    int k = floor_log10_pow2(e + 63 - __builtin_clzll(m));
    int n = fmt_fast(buf, neg, m, e, lopsided, k);
    return n >= 0 ? n : fmt_exact(buf, neg, m, e, lopsided, k);
}

static const uint64_t pow10_u64[20] = {
    1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL,
    100000000ULL, 1000000000ULL, 10000000000ULL, 100000000000ULL, 1000000000000ULL,
    10000000000000ULL, 100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL,
    100000000000000000ULL, 1000000000000000000ULL, 10000000000000000000ULL,
};

/* The decimal digits of u (at most 20), written back to front two at a
 * time once their count is known. */
static size_t fmt_u64(char *buf, uint64_t u) {
    int t = (64 - __builtin_clzll(u | 1)) * 1233 >> 12; /* about log10(u) */
    size_t n = (size_t)t + (u >= pow10_u64[t]);
    if (n == 0)
        n = 1;
    char *p = buf + n;
    while (u >= 100) {
        p -= 2;
        memcpy(p, two_digits + 2 * (u % 100), 2);
        u /= 100;
    }
    if (u >= 10)
        memcpy(p - 2, two_digits + 2 * u, 2);
    else
        p[-1] = (char)('0' + u);
    return n;
}

size_t tp_fmt_i64(char *buf, int64_t v) {
    size_t k = 0;
    if (v < 0)
        buf[k++] = '-';
    return k + fmt_u64(buf + k, v < 0 ? 0 - (uint64_t)v : (uint64_t)v);
}

static int fmt_integral(char *buf, double v) {
    int neg = v < 0 || signbit(v), k = 0;
    if (neg)
        buf[k++] = '-';
    k += (int)fmt_u64(buf + k, (uint64_t)(neg ? -v : v));
    buf[k++] = '.';
    buf[k++] = '0';
    buf[k] = '\0';
    return k;
}

int tp_fmt_double(char *buf, size_t cap, double v) {
    if (cap < 32) {
        if (cap > 0)
            buf[0] = '\0';
        return 0;
    }
    if (!isfinite(v)) {
        memcpy(buf, "null", 5);
        return 4;
    }
    if (fabs(v) < 1e15 && (double)(int64_t)v == v)
        return fmt_integral(buf, v);
    return fmt_general(buf, v);
}
