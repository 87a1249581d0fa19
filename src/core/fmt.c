/*
 * fmt.c - shortest round-trip formatting of doubles. Pure; any thread.
 *
 * Output rules (shared by every JSON and CSV writer): NaN and infinities
 * print as null; integral values below 1e15 print with a trailing ".0";
 * otherwise the shortest of %.15g, %.16g, %.17g that reads back as the same
 * double, with ".0" added when it has neither a point nor an exponent.
 */
#include "tp_fmt.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fmt_integral(char *buf, double v) {
    char tmp[24];
    int n = 0, neg = v < 0 || signbit(v);
    uint64_t u = (uint64_t)(neg ? -v : v);
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    int k = 0;
    if (neg)
        buf[k++] = '-';
    while (n)
        buf[k++] = tmp[--n];
    buf[k++] = '.';
    buf[k++] = '0';
    buf[k] = '\0';
    return k;
}

int tp_fmt_double(char *buf, size_t cap, double v) {
    if (cap < 32)
        return snprintf(buf, cap, "%s", "");
    if (!isfinite(v)) {
        memcpy(buf, "null", 5);
        return 4;
    }
    if (fabs(v) < 1e15 && v == floor(v))
        return fmt_integral(buf, v);
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(buf, cap, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    if (!strpbrk(buf, ".e")) {
        memcpy(buf + n, ".0", 3);
        n += 2;
    }
    return n;
}
