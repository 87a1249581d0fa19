/*
 * test_dtoa.c - tp_dtoa() against Python's repr() (known outputs) and, on
 * random doubles and float32 values of every kind, against the definition:
 * the output reads back as the same double and no shorter %.*e form does.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/tp_dtoa.h"
#include "tp_test.h"

static void check_known(void) {
    static const struct { double v; const char *repr; } k[] = {
        {0.0, "0.0"}, {-0.0, "-0.0"}, {1.0, "1.0"}, {-2.5, "-2.5"}, {0.1, "0.1"},
        {(double)177.42f, "177.4199981689453"}, {(double)94745.078125f, "94745.078125"},
        {(double)0.1f, "0.10000000149011612"}, {(double)-1.7227057218551636f, "-1.7227057218551636"},
        {19808172.0, "19808172.0"}, {1876726640000.0, "1876726640000.0"},
        {1e16, "1e+16"}, {1.5e-7, "1.5e-07"}, {0.0001, "0.0001"}, {0.00001, "1e-05"},
        {123456789012345678.0, "1.2345678901234568e+17"}, {1e300, "1e+300"},
        {5e-324, "5e-324"}, {1.7976931348623157e308, "1.7976931348623157e+308"},
        {49.032, "49.032"}, {93.436, "93.436"}, {713981.9423631123, "713981.9423631123"},
        {(double)8.030349731445312f, "8.030349731445312"}, {0.3, "0.3"}, {2.0 / 3, "0.6666666666666666"},
        {9007199254740993.0, "9007199254740992.0"}, {0.5, "0.5"}, {1024.0009765625, "1024.0009765625"},
        {NAN, "null"}, {INFINITY, "null"}, {-INFINITY, "null"},
    };
    for (size_t i = 0; i < sizeof k / sizeof *k; i++) {
        char buf[TP_DTOA_MAX];
        size_t n = tp_dtoa(k[i].v, buf);
        CHECKF(strcmp(buf, k[i].repr) == 0 && n == strlen(buf), "%.17g -> %s, want %s",
               k[i].v, buf, k[i].repr);
    }
}

static uint64_t st = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) {
    st ^= st << 13;
    st ^= st >> 7;
    st ^= st << 17;
    return st;
}

/* Significant digits in a %e-style or positional rendering. */
static int sig_digits(const char *s) {
    int n = 0, lead = 1, trail = 0;
    for (; *s && *s != 'e'; s++) {
        if (*s < '0' || *s > '9')
            continue;
        if (lead && *s == '0')
            continue;
        lead = 0;
        n++;
        trail = *s == '0' ? trail + 1 : 0;
    }
    return n - trail;
}

static void check_random(void) {
    char buf[TP_DTOA_MAX], ref[64];
    for (int i = 0; i < 300000; i++) {
        double v;
        uint64_t r = rnd();
        if (i % 3 == 0) {
            memcpy(&v, &r, 8);
        } else if (i % 3 == 1) {
            uint32_t b = (uint32_t)r;
            float f;
            memcpy(&f, &b, 4);
            v = f;
        } else {
            v = (double)(r % 100000000) / (double)(1 + (r >> 40) % 997);
        }
        if (!isfinite(v))
            continue;
        tp_dtoa(v, buf);
        CHECKF(strtod(buf, NULL) == v, "%.17g -> %s", v, buf);
        int shortest = 17;
        for (int p = 1; p < 17; p++) {
            snprintf(ref, sizeof ref, "%.*e", p - 1, v);
            if (strtod(ref, NULL) == v) {
                shortest = p;
                break;
            }
        }
        if (v != 0 && !(fabs(v) < 1e16 && v == floor(v)))
            CHECKF(sig_digits(buf) == shortest || (shortest == 17 && sig_digits(buf) <= 17),
                   "%.17g -> %s, shortest has %d digits", v, buf, shortest);
    }
}

int main(void) {
    check_known();
    check_random();
    return TP_TEST_DONE();
}
