/*
 * fmt.c - shortest round-trip formatting of doubles. Pure; any thread.
 */
#include "tp_fmt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tp_fmt_double(char *buf, size_t cap, double v) {
    if (!isfinite(v))
        return snprintf(buf, cap, "null");
    if (v == floor(v) && fabs(v) < 1e15)
        return snprintf(buf, cap, "%.1f", v);
    for (int prec = 15; prec <= 17; prec++) {
        int n = snprintf(buf, cap, "%.*g", prec, v);
        if (prec == 17 || strtod(buf, NULL) == v)
            return n;
    }
    return 0;
}
