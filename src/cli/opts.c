/*
 * opts.c - table-driven command-line parsing and --help generation, shared
 * by every subcommand (durations are read by core/timeparse.c).
 *
 * Main thread only. Parsing never exits the process: it returns 0,
 * TP_OPTS_DONE or a negative TP_E* code, and the subcommand decides the
 * exit status. Usage errors are printed here, at the CLI edge, naming the
 * option and the offending value.
 *
 * --config FILE: every option is also a key of an INI file (the long name
 * without "--"). Settings are applied in this order, later ones winning:
 * table defaults, section [tickpipe] (shared by every command), section
 * [<command>], then the command-line flags. A list option (--kafka-conf)
 * accumulates in the same order instead. Sections of other commands are
 * skipped (their keys are checked when that command runs), and so are keys
 * of [tickpipe] that are options of other commands only; unknown sections,
 * unknown keys, repeated keys, empty and bad values are usage errors
 * naming the file, line and key. --print-config prints the
 * effective settings in the same format, so its output is a config file.
 * Strings read from the file are owned by a struct tp_opts_mem that the
 * subcommand holds until it returns.
 */
#include "tp_opts.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/tp_config.h"
#include "../core/tp_error.h"
#include "../core/tp_timeparse.h"

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

/* Every section a config file may have: the shared one and one per
 * subcommand (a new subcommand adds its name here). */
static const char *const config_sections[] = {"tickpipe", "run", "ingest", "process",
                                              "query", "record", "feed", NULL};

struct setting {
    const struct tp_opt *o;
    char *val;
    int line;
    int own_section;    /* 1: [<command>], 0: [tickpipe] */
};

struct tp_opts_mem {
    const char *path;
    const char *cmd;
    const struct tp_opt *table;
    struct setting *v;
    int n, cap;
};

void tp_opts_mem_free(struct tp_opts_mem *m) {
    if (!m)
        return;
    for (int i = 0; i < m->n; i++)
        free(m->v[i].val);
    free(m->v);
    free(m);
}

void tp_opts_mem_release(struct tp_opts_mem **m) {
    tp_opts_mem_free(*m);
    *m = NULL;
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
    printf("  %-28s %s\n", "--config FILE", "read options from an INI file; flags override it");
    printf("  %-28s %s\n", "--print-config", "print the effective settings as a config file and exit");
    printf("  %-28s %s\n", "--help", "show this help and exit");
}

/* Is val one of the '|'-separated words of choices? */
static int is_choice(const char *choices, const char *val) {
    size_t n = strlen(val);
    for (const char *p = choices; p && *p; p = strchr(p, '|') ? strchr(p, '|') + 1 : NULL)
        if (strncmp(p, val, n) == 0 && (p[n] == '|' || p[n] == '\0') && n)
            return 1;
    return 0;
}

/* Stores an INT, DOUBLE or DUR value into o->dst; 0, or TP_EINVAL after
 * printing a usage error naming subj. */
static int set_number(const char *cmd, const struct tp_opt *o, const char *val, const char *subj) {
    char *end;
    int bounded = o->min < o->max;
    errno = 0;
    if (o->type == TP_OPT_INT) {
        long long v = strtoll(val, &end, 10);
        if (errno || end == val || *end) {
            fprintf(stderr, "tickpipe %s: %s: not an integer\n", cmd, subj);
            return TP_EINVAL;
        }
        if (bounded && (v < o->min || v > o->max)) {
            fprintf(stderr, "tickpipe %s: %s: out of range [%.0f, %.0f]\n", cmd, subj, o->min,
                    o->max);
            return TP_EINVAL;
        }
        *(int64_t *)o->dst = v;
    } else if (o->type == TP_OPT_DOUBLE) {
        double v = strtod(val, &end);
        if (errno || end == val || *end || !isfinite(v)) {
            fprintf(stderr, "tickpipe %s: %s: not a number\n", cmd, subj);
            return TP_EINVAL;
        }
        if (bounded && (v < o->min || v > o->max)) {
            fprintf(stderr, "tickpipe %s: %s: out of range [%g, %g]\n", cmd, subj, o->min, o->max);
            return TP_EINVAL;
        }
        *(double *)o->dst = v;
    } else {
        int64_t ms;
        if (tp_parse_duration(val, &ms) != 0) {
            fprintf(stderr, "tickpipe %s: %s: not a duration (examples: 500ms, 10s, 5m)\n", cmd,
                    subj);
            return TP_EINVAL;
        }
        if (ms != 0 && val[strspn(val, "0123456789.")] == '\0') {
            /* "--lateness 10" meant 10 ms silently: a unit is required */
            fprintf(stderr, "tickpipe %s: %s: say the unit (%sms, %ss, %sm)\n", cmd, subj, val,
                    val, val);
            return TP_EINVAL;
        }
        if (bounded && (ms < o->min || ms > o->max)) {
            fprintf(stderr, "tickpipe %s: %s: out of range [%.0fms, %.0fms]\n", cmd, subj, o->min,
                    o->max);
            return TP_EINVAL;
        }
        *(int64_t *)o->dst = ms;
    }
    return 0;
}

/* Stores one value into o->dst; returns 0 or prints a usage error and
 * returns TP_EINVAL. subj names the value in messages: "--lateness 5x"
 * for a flag, "FILE:LINE: lateness = 5x" for a config key. */
static int set_value(const char *cmd, const struct tp_opt *o, const char *val, const char *subj) {
    switch (o->type) {
    case TP_OPT_STR:
        *(const char **)o->dst = val;
        return 0;
    case TP_OPT_CHOICE:
        if (!is_choice(o->metavar, val)) {
            fprintf(stderr, "tickpipe %s: %s: expected one of %s\n", cmd, subj, o->metavar);
            return TP_EINVAL;
        }
        *(const char **)o->dst = val;
        return 0;
    case TP_OPT_FLAG:
        *(int *)o->dst = 1;
        return 0;
    case TP_OPT_LIST: {
        struct tp_strlist *l = o->dst;
        if (l->n >= TP_STRLIST_MAX) {
            fprintf(stderr, "tickpipe %s: %s: --%s given more than %d times\n", cmd, subj,
                    o->name, TP_STRLIST_MAX);
            return TP_EINVAL;
        }
        l->v[l->n++] = val;
        return 0;
    }
    case TP_OPT_INT:
    case TP_OPT_DOUBLE:
    case TP_OPT_DUR:
        return set_number(cmd, o, val, subj);
    }
    return TP_EINVAL;
}

static const struct tp_opt *find_opt(const struct tp_opt *table, const char *name, size_t nlen) {
    for (const struct tp_opt *o = table; o->name; o++)
        if (strlen(o->name) == nlen && strncmp(o->name, name, nlen) == 0)
            return o;
    return NULL;
}

/* Is it an option of any subcommand? A key of [tickpipe] that the running
 * command lacks is skipped when it is (e.g. bars, for query), an error when
 * it is not (a typo). tests/integration/test_config.sh checks that every
 * option of every command's --help is here. */
static int known_key(const char *key) {
    static const char *const keys[] = {
        "batch", "bars", "commit-interval", "deadletter", "dlq-topic", "drop-every",
        "end-grace", "exit-at-end", "health-silence", "health-stuck", "flush", "flush-timeout", "format", "from", "group",
        "http", "instance", "interval", "kafka", "kafka-conf", "lag-interval", "laps", "lateness",
        "limit", "listen", "log-level", "log-sent", "loop", "max-frames", "out", "progress",
        "rebuild", "replay", "source", "speed", "store", "symbol", "symbols", "symbols-file",
        "silent-timeout", "symbols-per-socket", "timeout", "tls-ca", "tls-cert", "tls-key", "to", "topic", "web-root", NULL};
    for (int i = 0; keys[i]; i++)
        if (strcmp(keys[i], key) == 0)
            return 1;
    return 0;
}

/* Is it a section a config file may have? */
static int known_section(const char *s) {
    for (int i = 0; config_sections[i]; i++)
        if (strcmp(config_sections[i], s) == 0)
            return 1;
    return 0;
}

/* tp_config_fn: checks one key of the file and keeps a copy of its value. */
static int on_config_key(void *ctx, const char *section, const char *key, const char *value,
                         int line, int section_line, char *errbuf, size_t errsize) {
    struct tp_opts_mem *m = ctx;
    if (!*section)
        return tp_errf(errbuf, errsize, TP_EINVAL, "%s:%d: key '%s' before any section "
                       "(put it under [tickpipe] or [%s])", m->path, line, key, m->cmd);
    if (!known_section(section))
        return tp_errf(errbuf, errsize, TP_EINVAL, "%s:%d: unknown section [%s] (expected "
                       "[tickpipe] or a command's name)", m->path, section_line, section);
    int own = strcmp(section, m->cmd) == 0;
    if (!own && strcmp(section, "tickpipe") != 0)
        return 0;   /* another command's section */
    const struct tp_opt *o = find_opt(m->table, key, strlen(key));
    if (!o && !own && known_key(key))
        return 0;   /* a shared key for the other commands */
    if (!o)
        return tp_errf(errbuf, errsize, TP_EINVAL, "%s:%d: unknown key '%s' in [%s] "
                       "(tickpipe %s has no --%s)", m->path, line, key, section, m->cmd, key);
    if (!*value)
        return tp_errf(errbuf, errsize, TP_EINVAL, "%s:%d: %s: empty value (comment the line "
                       "out to keep the default)", m->path, line, key);
    for (int i = 0; i < m->n && o->type != TP_OPT_LIST; i++)
        if (m->v[i].o == o && m->v[i].own_section == own)
            return tp_errf(errbuf, errsize, TP_EINVAL, "%s:%d: %s given twice in [%s] "
                           "(first on line %d)", m->path, line, key, section, m->v[i].line);
    if (m->n == m->cap) {
        int cap = m->cap ? m->cap * 2 : 16;
        struct setting *v = realloc(m->v, (size_t)cap * sizeof *v);
        if (!v)
            return tp_errf(errbuf, errsize, TP_ENOMEM, "--config: out of memory");
        m->v = v;
        m->cap = cap;
    }
    char *copy = strdup(value);
    if (!copy)
        return tp_errf(errbuf, errsize, TP_ENOMEM, "--config: out of memory");
    m->v[m->n++] = (struct setting){o, copy, line, own};
    return 0;
}

/* A config value for a flag: true/false, yes/no, on/off, 1/0. */
static int parse_bool(const char *s, int *b) {
    static const char *const yes[] = {"true", "yes", "on", "1"}, *const no[] = {"false", "no", "off", "0"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, yes[i]) == 0)
            return *b = 1, 0;
        if (strcmp(s, no[i]) == 0)
            return *b = 0, 0;
    }
    return -1;
}

/* Applies the settings of one section kind (shared or the command's own). */
static int apply_settings(const struct tp_opts_mem *m, int own) {
    for (int i = 0; i < m->n; i++) {
        const struct setting *st = &m->v[i];
        if (st->own_section != own)
            continue;
        char subj[512];
        snprintf(subj, sizeof subj, "%s:%d: %s = %s", m->path, st->line, st->o->name, st->val);
        if (st->o->type == TP_OPT_FLAG) {
            if (parse_bool(st->val, st->o->dst)) {
                fprintf(stderr, "tickpipe %s: %s: expected true or false\n", m->cmd, subj);
                return TP_EINVAL;
            }
        } else if (set_value(m->cmd, st->o, st->val, subj)) {
            return TP_EINVAL;
        }
    }
    return 0;
}

static int load_config(const char *cmd, const struct tp_opt *table, const char *path,
                       struct tp_opts_mem **mem) {
    struct tp_opts_mem *m = calloc(1, sizeof *m);
    if (!m) {
        fprintf(stderr, "tickpipe %s: out of memory\n", cmd);
        return TP_ENOMEM;
    }
    *mem = m;
    m->path = path;
    m->cmd = cmd;
    m->table = table;
    char errbuf[1024];
    int err = tp_config_read(path, on_config_key, m, errbuf, sizeof errbuf);
    if (err) {
        fprintf(stderr, "tickpipe %s: %s\n", cmd, errbuf);
        return err;
    }
    if (apply_settings(m, 0) || apply_settings(m, 1))
        return TP_EINVAL;
    return 0;
}

/* The words that act before the others: --help, --config FILE and
 * --print-config, found wherever they are on the line. Returns 1 when
 * --help was asked for. */
static int scan_early(const struct tp_opt *table, int argc, char **argv, const char **config,
                      int *nconfig, int *print_config) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return 1;
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0')
            continue;
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        if (strcmp(name, "print-config") == 0) {
            *print_config = 1;
        } else if (nlen == 6 && strncmp(name, "config", 6) == 0) {
            if ((*nconfig)++)
                continue;   /* reported by the caller */
            if (eq)
                *config = eq + 1;
            else if (i + 1 < argc)
                *config = argv[++i];
        } else {
            const struct tp_opt *o = find_opt(table, name, nlen);
            if (o && o->type != TP_OPT_FLAG && !eq)
                i++;   /* skip its value */
        }
    }
    return 0;
}

/* A value as it would be written in a config file: a duration in the
 * largest unit that keeps it whole. */
static void format_duration(int64_t ms, char *buf, size_t size) {
    static const struct { int64_t ms; const char *unit; } units[] = {
        {86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (ms && ms % units[i].ms == 0) {
            snprintf(buf, size, "%lld%s", (long long)(ms / units[i].ms), units[i].unit);
            return;
        }
    snprintf(buf, size, "%lldms", (long long)ms);
}

/* Prints "key = value", warning in a comment when the value would not
 * read back the same (inih trims values and cuts them at " ;"). */
static void print_key(const char *key, const char *val) {
    size_t n = strlen(val);
    if (!n || val[0] == ' ' || val[0] == '\t' || val[n - 1] == ' ' || val[n - 1] == '\t' ||
        strchr(val, '\n') || strstr(val, " ;") || strstr(val, "\t;") || n + strlen(key) + 3 > 199)
        printf("# warning: %s cannot be written in a config file as it is; give it as a flag\n", key);
    printf("%s = %s\n", key, val);
}

static void print_setting(const struct tp_opt *o) {
    char buf[64];
    switch (o->type) {
    case TP_OPT_STR:
    case TP_OPT_CHOICE: {
        const char *v = *(const char *const *)o->dst;
        if (v)
            print_key(o->name, v);
        else
            printf("; %s =\n", o->name);
        return;
    }
    case TP_OPT_LIST: {
        const struct tp_strlist *l = o->dst;
        for (int i = 0; i < l->n; i++)
            print_key(o->name, l->v[i]);
        if (!l->n)
            printf("; %s =\n", o->name);
        return;
    }
    case TP_OPT_FLAG:
        printf("%s = %s\n", o->name, *(const int *)o->dst ? "true" : "false");
        return;
    case TP_OPT_INT:
        printf("%s = %lld\n", o->name, (long long)*(const int64_t *)o->dst);
        return;
    case TP_OPT_DOUBLE: {
        double v = *(const double *)o->dst;
        snprintf(buf, sizeof buf, "%.15g", v);
        if (strtod(buf, NULL) != v)
            snprintf(buf, sizeof buf, "%.17g", v);
        printf("%s = %s\n", o->name, buf);
        return;
    }
    case TP_OPT_DUR:
        format_duration(*(const int64_t *)o->dst, buf, sizeof buf);
        printf("%s = %s\n", o->name, buf);
        return;
    }
}

static void print_config(const char *cmd, const struct tp_opt *table) {
    printf("# tickpipe %s: effective settings (defaults, then --config, then flags)\n[%s]\n",
           cmd, cmd);
    for (const struct tp_opt *o = table; o->name; o++)
        print_setting(o);
}

/* Parses one word of the command line (and the value it takes) at argv[*i]. */
static int parse_word(const char *cmd, const struct tp_opt *table, int argc, char **argv, int *i,
                      const char **pos, int maxpos, int *npos) {
    const char *a = argv[*i];
    if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
        if (!npos || *npos >= maxpos) {
            fprintf(stderr, "tickpipe %s: unexpected argument '%s' (see tickpipe %s --help)\n",
                    cmd, a, cmd);
            return TP_EINVAL;
        }
        pos[(*npos)++] = a;
        return 0;
    }
    const char *name = a + 2, *eq = strchr(name, '=');
    size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
    static const struct tp_opt config_opt = {"config", TP_OPT_STR, NULL, NULL, "FILE", NULL, 0, 0};
    static const struct tp_opt print_opt = {"print-config", TP_OPT_FLAG, NULL, NULL, NULL, NULL, 0, 0};
    const struct tp_opt *o = find_opt(table, name, nlen);
    if (!o && nlen == 6 && strncmp(name, "config", 6) == 0)
        o = &config_opt;
    if (!o && nlen == 12 && strncmp(name, "print-config", 12) == 0)
        o = &print_opt;
    if (!o) {
        fprintf(stderr, "tickpipe %s: unknown option '--%.*s' (see tickpipe %s --help)\n", cmd,
                (int)nlen, name, cmd);
        return TP_EINVAL;
    }
    const char *val = NULL;
    if (o->type == TP_OPT_FLAG) {
        if (eq) {
            fprintf(stderr, "tickpipe %s: --%s takes no value\n", cmd, o->name);
            return TP_EINVAL;
        }
    } else if (eq) {
        val = eq + 1;
    } else if (*i + 1 < argc) {
        val = argv[++*i];
    } else {
        fprintf(stderr, "tickpipe %s: --%s needs a value (%s)\n", cmd, o->name, type_metavar(o));
        return TP_EINVAL;
    }
    if (!o->dst)
        return 0;   /* --config and --print-config acted before */
    char subj[512];
    snprintf(subj, sizeof subj, "--%s %s", o->name, val ? val : "");
    return set_value(cmd, o, val, subj);
}

int tp_opts_parse(const char *cmd, const char *synopsis, const char *about,
                  const struct tp_opt *table, int argc, char **argv,
                  const char **pos, int maxpos, int *npos, struct tp_opts_mem **mem) {
    for (const struct tp_opt *o = table; o->name; o++)
        if (o->def && o->type != TP_OPT_LIST && o->type != TP_OPT_FLAG &&
            set_value(cmd, o, o->def, o->def))
            return TP_EINVAL;
    if (npos)
        *npos = 0;
    const char *config = NULL;
    int print = 0, nconfig = 0, err;
    if (scan_early(table, argc, argv, &config, &nconfig, &print)) {
        print_help(cmd, synopsis, about, table);
        return TP_OPTS_DONE;
    }
    if (nconfig > 1) {
        fprintf(stderr, "tickpipe %s: --config given more than once\n", cmd);
        return TP_EINVAL;
    }
    if (config && (err = load_config(cmd, table, config, mem)))
        return err;
    for (int i = 1; i < argc; i++)
        if (parse_word(cmd, table, argc, argv, &i, pos, maxpos, npos))
            return TP_EINVAL;
    if (print) {
        print_config(cmd, table);
        return TP_OPTS_DONE;
    }
    return 0;
}
