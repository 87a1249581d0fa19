/*
 * intervals.c - the bar intervals DESIGN.md allows, by name and length.
 * Pure functions; any thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tp_error.h"
#include "tp_intervals.h"

static const struct { const char *name; int64_t ms; } intervals[] = {
    {"1s", 1000},       {"5s", 5000},         {"10s", 10000},      {"15s", 15000},
    {"30s", 30000},     {"1m", 60000},        {"5m", 300000},      {"15m", 900000},
    {"30m", 1800000},   {"1h", 3600000},      {"4h", 14400000},    {"1d", 86400000},
};
#define NINTERVALS (sizeof intervals / sizeof intervals[0])

const char *tp_interval_name(int64_t ms) {
    for (size_t i = 0; i < NINTERVALS; i++)
        if (intervals[i].ms == ms)
            return intervals[i].name;
    return NULL;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int tp_parse_bars(const char *list, int64_t *bar_ms, int max, char *errbuf, size_t errsize) {
    int n = 0;
    const char *p = list;
    if (!list || !*list)
        return tp_errf(errbuf, errsize, TP_EINVAL, "--bars: empty list (example: 1m,5m)");
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        size_t i = 0;
        for (; i < NINTERVALS; i++)
            if (strlen(intervals[i].name) == len && strncmp(intervals[i].name, p, len) == 0)
                break;
        if (i == NINTERVALS)
            return tp_errf(errbuf, errsize, TP_EINVAL,
                           "--bars: unknown interval '%.*s' (choose from 1s 5s 10s 15s 30s 1m 5m 15m 30m 1h 4h 1d)",
                           (int)len, p);
        int dup = 0;
        for (int j = 0; j < n; j++)
            dup |= bar_ms[j] == intervals[i].ms;
        if (!dup) {
            if (n >= max)
                return tp_errf(errbuf, errsize, TP_EINVAL, "--bars: more than %d intervals", max);
            bar_ms[n++] = intervals[i].ms;
        }
        p += len;
        if (*p == ',')
            p++;
    }
    qsort(bar_ms, (size_t)n, sizeof *bar_ms, cmp_i64);
    return n;
}

int64_t tp_bars_mask(const int64_t *bar_ms, int n) {
    int64_t mask = 0;
    for (int j = 0; j < n; j++)
        for (size_t i = 0; i < NINTERVALS; i++)
            if (intervals[i].ms == bar_ms[j])
                mask |= (int64_t)1 << i;
    return mask;
}

void tp_bars_format(int64_t mask, char *out, size_t cap) {
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < NINTERVALS && used < cap; i++)
        if (mask & ((int64_t)1 << i))
            used += (size_t)snprintf(out + used, cap - used, "%s%s", used ? "," : "",
                                     intervals[i].name);
}
