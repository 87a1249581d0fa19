/*
 * opts.c - table-driven command-line parsing, --help generation, and the
 * duration and time parsers shared by every subcommand.
 *
 * Main thread only. Parsing never exits the process: it returns 0/1/2 and
 * the subcommand decides. Usage errors are printed here, at the CLI edge,
 * naming the option and the offending value.
 */
#include "tp_opts.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int tp_parse_time(const char *s, int64_t *ms) {
    char *end;
    if (!s || !*s)
        return TP_EINVAL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*end && !errno && (s[0] == '-' || (s[0] >= '0' && s[0] <= '9')) && strlen(s) != 10) {
        *ms = v;
        return 0;
    }
    int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;
    if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10)
        return TP_EINVAL;
    const char *p = s + 10;
    int64_t frac = 0;
    if (*p == 'T' || *p == ' ') {
        int n2 = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &h, &mi, &n2) != 2 || n2 != 5)
            return TP_EINVAL;
        p += 1 + n2;
        if (*p == ':') {
            if (sscanf(p + 1, "%2d%n", &sec, &n2) != 1 || n2 != 2)
                return TP_EINVAL;
            p += 3;
            if (*p == '.') {
                int digits = 0;
                for (p++; *p >= '0' && *p <= '9'; p++, digits++)
                    if (digits < 3)
                        frac = frac * 10 + (*p - '0');
                if (digits == 0)
                    return TP_EINVAL;
                for (; digits < 3; digits++)
                    frac *= 10;
            }
        }
    }
    if (*p == 'Z')
        p++;
    else if (strcmp(p, "+00:00") == 0)
        p += 6;
    if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return TP_EINVAL;
    *ms = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60000LL + sec * 1000LL + frac;
    return 0;
}

static const char *type_metavar(const struct tp_opt *o) {
    if (o->metavar)
        return o->metavar;
    switch (o->type) {
    case TP_OPT_INT: return "N";
    case TP_OPT_DOUBLE: return "X";
    case TP_OPT_DUR: return "DUR";
    case TP_OPT_FLAG: return "";
    default: return "VALUE";
    }
}

static void print_help(const char *cmd, const char *synopsis, const char *about,
                       const struct tp_opt *table) {
    printf("usage: tickpipe %s %s\n\n%s\n\noptions:\n", cmd, synopsis ? synopsis : "[options]",
           about ? about : "");
    for (const struct tp_opt *o = table; o->name; o++) {
        char left[64];
        snprintf(left, sizeof left, "--%s %s", o->name, type_metavar(o));
        printf("  %-28s %s", left, o->help ? o->help : "");
        if (o->def)
            printf(" (default: %s)", o->def);
        if (o->type == TP_OPT_LIST)
            printf(" (repeatable)");
        printf("\n");
    }
    printf("  %-28s %s\n", "--help", "show this help and exit");
}

/* Stores one value into o->dst; returns 0 or prints a usage error and returns 2. */
static int set_value(const char *cmd, const struct tp_opt *o, const char *val) {
    char *end;
    int bounded = o->min < o->max;
    switch (o->type) {
    case TP_OPT_STR:
        *(const char **)o->dst = val;
        return 0;
    case TP_OPT_FLAG:
        *(int *)o->dst = 1;
        return 0;
    case TP_OPT_LIST: {
        struct tp_strlist *l = o->dst;
        if (l->n >= TP_STRLIST_MAX) {
            fprintf(stderr, "tickpipe %s: --%s given more than %d times\n", cmd, o->name, TP_STRLIST_MAX);
            return 2;
        }
        l->v[l->n++] = val;
        return 0;
    }
    case TP_OPT_INT: {
        errno = 0;
        long long v = strtoll(val, &end, 10);
        if (errno || end == val || *end) {
            fprintf(stderr, "tickpipe %s: --%s %s: not an integer\n", cmd, o->name, val);
            return 2;
        }
        if (bounded && (v < o->min || v > o->max)) {
            fprintf(stderr, "tickpipe %s: --%s %s: out of range [%.0f, %.0f]\n", cmd, o->name,
                    val, o->min, o->max);
            return 2;
        }
        *(int64_t *)o->dst = v;
        return 0;
    }
    case TP_OPT_DOUBLE: {
        errno = 0;
        double v = strtod(val, &end);
        if (errno || end == val || *end || !isfinite(v)) {
            fprintf(stderr, "tickpipe %s: --%s %s: not a number\n", cmd, o->name, val);
            return 2;
        }
        if (bounded && (v < o->min || v > o->max)) {
            fprintf(stderr, "tickpipe %s: --%s %s: out of range [%g, %g]\n", cmd, o->name, val,
                    o->min, o->max);
            return 2;
        }
        *(double *)o->dst = v;
        return 0;
    }
    case TP_OPT_DUR: {
        int64_t ms;
        if (tp_parse_duration(val, &ms) != 0) {
            fprintf(stderr, "tickpipe %s: --%s %s: not a duration (examples: 500ms, 10s, 5m)\n",
                    cmd, o->name, val);
            return 2;
        }
        if (ms != 0 && val[strspn(val, "0123456789.")] == '\0') {
            /* "--lateness 10" meant 10 ms silently: a unit is required */
            fprintf(stderr, "tickpipe %s: --%s %s: say the unit (%sms, %ss, %sm)\n", cmd,
                    o->name, val, val, val, val);
            return 2;
        }
        if (bounded && (ms < o->min || ms > o->max)) {
            fprintf(stderr, "tickpipe %s: --%s %s: out of range [%.0fms, %.0fms]\n", cmd, o->name,
                    val, o->min, o->max);
            return 2;
        }
        *(int64_t *)o->dst = ms;
        return 0;
    }
    }
    return 2;
}

int tp_opts_parse(const char *cmd, const char *synopsis, const char *about,
                  const struct tp_opt *table, int argc, char **argv,
                  const char **pos, int maxpos, int *npos) {
    for (const struct tp_opt *o = table; o->name; o++)
        if (o->def && o->type != TP_OPT_LIST && o->type != TP_OPT_FLAG && set_value(cmd, o, o->def))
            return 2;
    if (npos)
        *npos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            print_help(cmd, synopsis, about, table);
            return 1;
        }
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
            if (!npos || *npos >= maxpos) {
                fprintf(stderr, "tickpipe %s: unexpected argument '%s' (see tickpipe %s --help)\n",
                        cmd, a, cmd);
                return 2;
            }
            pos[(*npos)++] = a;
            continue;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        const struct tp_opt *o = table;
        for (; o->name; o++)
            if (strlen(o->name) == nlen && strncmp(o->name, name, nlen) == 0)
                break;
        if (!o->name) {
            fprintf(stderr, "tickpipe %s: unknown option '--%.*s' (see tickpipe %s --help)\n", cmd,
                    (int)nlen, name, cmd);
            return 2;
        }
        const char *val = NULL;
        if (o->type == TP_OPT_FLAG) {
            if (eq) {
                fprintf(stderr, "tickpipe %s: --%s takes no value\n", cmd, o->name);
                return 2;
            }
        } else if (eq) {
            val = eq + 1;
        } else if (i + 1 < argc) {
            val = argv[++i];
        } else {
            fprintf(stderr, "tickpipe %s: --%s needs a value (%s)\n", cmd, o->name, type_metavar(o));
            return 2;
        }
        if (set_value(cmd, o, val))
            return 2;
    }
    return 0;
}
