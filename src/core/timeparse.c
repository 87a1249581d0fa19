/*
 * timeparse.c - the duration and time parsers (tp_timeparse.h). They
 * return TP_EINVAL and leave the output alone on any input they do not
 * accept whole; messages naming the bad value are the caller's (the option
 * parser, the query parameters, the Cassandra store URI).
 *
 * Thread: any; no state.
 */
#include "tp_timeparse.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tp_civil.h"
#include "tp_error.h"

int tp_parse_duration(const char *s, int64_t *ms) {
    char *end;
    if (!s || !*s)
        return TP_EINVAL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || v < 0 || !isfinite(v))
        return TP_EINVAL;
    double mul;
    if (!*end || strcmp(end, "ms") == 0) mul = 1;
    else if (strcmp(end, "s") == 0) mul = 1000;
    else if (strcmp(end, "m") == 0) mul = 60000;
    else if (strcmp(end, "h") == 0) mul = 3600000;
    else if (strcmp(end, "d") == 0) mul = 86400000;
    else return TP_EINVAL;
    double r = v * mul;
    if (r > 9e15 || r != floor(r))
        return TP_EINVAL;
    *ms = (int64_t)r;
    return 0;
}

/* Reads exactly n decimal digits at *p into *out and advances *p. */
static int take_digits(const char **p, int n, int *out) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return TP_EINVAL;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

static int days_in_month(int y, int m) {
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return days[m - 1] + (m == 2 && leap);
}

/* "HH:MM[:SS[.fff...]]" at *p: fills h, mi, sec and frac (ms). */
static int take_clock(const char **p, int *h, int *mi, int *sec, int *frac) {
    if (take_digits(p, 2, h) || *(*p)++ != ':' || take_digits(p, 2, mi))
        return TP_EINVAL;
    if (**p != ':')
        return 0;
    (*p)++;
    if (take_digits(p, 2, sec))
        return TP_EINVAL;
    if (**p != '.')
        return 0;
    int digits = 0;
    for ((*p)++; **p >= '0' && **p <= '9'; (*p)++, digits++)
        if (digits < 3)
            *frac = *frac * 10 + (**p - '0');
    if (digits == 0)
        return TP_EINVAL;
    for (; digits < 3; digits++)
        *frac *= 10;
    return 0;
}

/* ISO-8601 UTC: "YYYY-MM-DD[(T| )HH:MM[:SS[.fff]]][Z|+00:00]". Every field
 * is checked against the calendar: 2025-02-30 is an error, not March 2. */
static int parse_iso(const char *s, int64_t *ms) {
    const char *p = s;
    int y, mo, d, h = 0, mi = 0, sec = 0, frac = 0;
    if (take_digits(&p, 4, &y) || *p++ != '-' || take_digits(&p, 2, &mo) || *p++ != '-' ||
        take_digits(&p, 2, &d))
        return TP_EINVAL;
    if ((*p == 'T' || *p == ' ') && (p++, take_clock(&p, &h, &mi, &sec, &frac)))
        return TP_EINVAL;
    if (*p == 'Z')
        p++;
    else if (strcmp(p, "+00:00") == 0)
        p += 6;
    if (*p || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 ||
        sec > 60)
        return TP_EINVAL;
    *ms = ((tp_days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60000LL + sec * 1000LL + frac;
    return 0;
}

int tp_parse_time(const char *s, int64_t *ms) {
    char *end;
    if (!s || !*s)
        return TP_EINVAL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    /* Ten digits alone read as Unix seconds, a likely mistake: refused. */
    if (!*end && !errno && (s[0] == '-' || (s[0] >= '0' && s[0] <= '9')) && strlen(s) != 10) {
        *ms = v;
        return 0;
    }
    return parse_iso(s, ms);
}
