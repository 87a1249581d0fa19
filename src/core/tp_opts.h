/*
 * tp_opts.h - command-line options as a table (STYLE.md 8). Each option
 * has a name, type, default, bounds and one-line help; --help is generated
 * from the table; unknown options and bad values are usage errors naming
 * the option. Main thread only.
 */
#ifndef TP_OPTS_H
#define TP_OPTS_H

#include <stdint.h>

enum tp_opt_type {
    TP_OPT_STR,     /* const char **dst */
    TP_OPT_INT,     /* int64_t *dst, bounded by min/max */
    TP_OPT_DOUBLE,  /* double *dst, bounded by min/max */
    TP_OPT_FLAG,    /* int *dst set to 1; takes no value */
    TP_OPT_DUR,     /* int64_t *dst in ms: "500ms", "10s", "5m", "1h", bare ms */
    TP_OPT_LIST     /* struct tp_strlist *dst; repeatable */
};

#define TP_STRLIST_MAX 64
struct tp_strlist { const char *v[TP_STRLIST_MAX]; int n; };

struct tp_opt {
    const char *name;      /* long name without "--" */
    enum tp_opt_type type;
    void *dst;
    const char *def;       /* default as text (applied before parsing), or NULL */
    const char *metavar;   /* "PATH" */
    const char *help;      /* one line */
    double min, max;       /* bounds for INT/DOUBLE/DUR when min < max */
};

/* Parses argv[1..argc-1] (argv[0] is the subcommand) against table, which
 * ends with an entry whose name is NULL. Non-option words go to pos (up to
 * maxpos; more is a usage error). Returns 0 to continue, 1 when --help was
 * printed (exit 0), 2 after printing a usage error to stderr (exit 2).
 * synopsis and about are printed by --help. */
int tp_opts_parse(const char *cmd, const char *synopsis, const char *about,
                  const struct tp_opt *table, int argc, char **argv,
                  const char **pos, int maxpos, int *npos);

/* Parses a duration ("500ms", "10s", "5m", "1h", "1d", or bare ms) into ms.
 * Returns 0 or TP_EINVAL. */
int tp_parse_duration(const char *s, int64_t *ms);

/* Parses a time: Unix ms or ISO-8601 UTC ("2025-01-10T11:39:00Z",
 * "2025-01-10T11:39:00.250Z", "2025-01-10"). Returns 0 or TP_EINVAL. */
int tp_parse_time(const char *s, int64_t *ms);

#endif
