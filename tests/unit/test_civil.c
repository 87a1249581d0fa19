/*
 * test_civil.c - the one copy of the calendar maths and of FNV-1a
 * (core/tp_civil.h): known dates on both sides of the epoch and of leap
 * days, a round trip over 4,000 years of day numbers checked against a
 * day-by-day walk of the calendar, floor division, and the published
 * FNV-1a test vectors.
 */
#include <string.h>

#include "core/tp_civil.h"
#include "tp_test.h"

static int leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int month_days(int64_t y, int m) {
    static const int n[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return n[m - 1] + (m == 2 && leap(y));
}

static void known_dates(void) {
    static const struct { int64_t y; int m, d; int64_t z; } t[] = {
        {1970, 1, 1, 0},       {1969, 12, 31, -1},     {2000, 2, 29, 11016},
        {2000, 3, 1, 11017},   {1900, 3, 1, -25508},   {2024, 2, 29, 19782},
        {2025, 12, 31, 20453}, {1, 1, 1, -719162},     {0, 2, 29, -719469},
        {-1, 12, 31, -719529}, {9999, 12, 31, 2932896}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        int64_t y;
        int m, d;
        CHECKF(tp_days_from_civil(t[i].y, t[i].m, t[i].d) == t[i].z, "%lld-%d-%d -> %lld",
               (long long)t[i].y, t[i].m, t[i].d,
               (long long)tp_days_from_civil(t[i].y, t[i].m, t[i].d));
        tp_civil_from_days(t[i].z, &y, &m, &d);
        CHECKF(y == t[i].y && m == t[i].m && d == t[i].d, "%lld -> %lld-%d-%d",
               (long long)t[i].z, (long long)y, m, d);
    }
}

/* Walks the calendar one day at a time from 0001-01-01 to 4000-12-31 and
 * checks both directions on every day. */
static void walk(void) {
    int64_t y = 1, z = tp_days_from_civil(1, 1, 1);
    int m = 1, d = 1;
    long bad = 0;
    while (y <= 4000) {
        int64_t gy;
        int gm, gd;
        tp_civil_from_days(z, &gy, &gm, &gd);
        if (tp_days_from_civil(y, m, d) != z || gy != y || gm != m || gd != d)
            bad++;
        z++;
        if (++d > month_days(y, m)) {
            d = 1;
            if (++m > 12) {
                m = 1;
                y++;
            }
        }
    }
    CHECKF(bad == 0, "%ld days disagree", bad);
}

static void floor_division(void) {
    CHECK(tp_floor_div(7, 2) == 3);
    CHECK(tp_floor_div(-7, 2) == -4);
    CHECK(tp_floor_div(7, -2) == -4);
    CHECK(tp_floor_div(-7, -2) == 3);
    CHECK(tp_floor_div(-86400000, 86400000) == -1);
    CHECK(tp_floor_div(-1, 86400000) == -1);
    CHECK(tp_floor_div(0, 5) == 0);
}

static void fnv(void) {
    /* Test vectors of the FNV reference (64-bit FNV-1a). */
    CHECK(tp_fnv1a(TP_FNV1A_BASIS, "", 0) == 0xcbf29ce484222325ull);
    CHECK(tp_fnv1a(TP_FNV1A_BASIS, "a", 1) == 0xaf63dc4c8601ec8cull);
    CHECK(tp_fnv1a(TP_FNV1A_BASIS, "foobar", 6) == 0x85944171f73967e8ull);
    /* Continuing a hash is hashing the concatenation. */
    CHECK(tp_fnv1a(tp_fnv1a(TP_FNV1A_BASIS, "foo", 3), "bar", 3) ==
          tp_fnv1a(TP_FNV1A_BASIS, "foobar", 6));
}

int main(void) {
    known_dates();
    walk();
    floor_division();
    fnv();
    return TP_TEST_DONE();
}
