/*
 * tp_opts.h - command-line options as a table (STYLE.md 8). Each option
 * has a name, type, default, bounds and one-line help; --help is generated
 * from the table; unknown options and bad values are usage errors naming
 * the option. Main thread only.
 */
#ifndef TP_OPTS_H
#define TP_OPTS_H

#include <stdint.h>

#include "../core/tp_strlist.h"

enum tp_opt_type {
    TP_OPT_STR,     /* const char **dst */
    TP_OPT_INT,     /* int64_t *dst, bounded by min/max */
    TP_OPT_DOUBLE,  /* double *dst, bounded by min/max */
    TP_OPT_FLAG,    /* int *dst set to 1; takes no value */
    TP_OPT_DUR,     /* int64_t *dst in ms: "500ms", "10s", "5m", "1h", bare ms */
    TP_OPT_LIST,    /* struct tp_strlist *dst; repeatable */
    TP_OPT_CHOICE   /* const char **dst; one of the words of metavar "a|b|c" */
};

struct tp_opt {
    const char *name;      /* long name without "--" */
    enum tp_opt_type type;
    void *dst;
    const char *def;       /* default as text (applied before parsing), or NULL */
    const char *metavar;   /* "PATH" */
    const char *help;      /* one line */
    double min, max;       /* bounds for INT/DOUBLE/DUR when min < max */
};

/* Strings read from a --config file, owned by the subcommand: the options
 * may point into them until it frees them. tp_opts_mem_free(NULL) is a
 * no-op. TP_OPTS_MEM(m) declares one that is freed when the enclosing
 * block ends, on every return path. */
struct tp_opts_mem;
void tp_opts_mem_free(struct tp_opts_mem *m);
void tp_opts_mem_release(struct tp_opts_mem **m);   /* frees *m, sets it NULL */
#define TP_OPTS_MEM(m) struct tp_opts_mem *m __attribute__((cleanup(tp_opts_mem_release))) = NULL

/* tp_opts_parse() printed --help or --print-config: the command has
 * nothing more to do and exits 0. Positive, so never a TP_E* code. */
#define TP_OPTS_DONE 1

/* Parses argv[1..argc-1] (argv[0] is the subcommand) against table, which
 * ends with an entry whose name is NULL. Non-option words go to pos (up to
 * maxpos; more is a usage error). Returns 0 to continue, TP_OPTS_DONE when
 * --help or --print-config was printed to stdout, or a negative TP_E* code
 * after printing a usage error to stderr: TP_EINVAL for a bad option or
 * value, the error of tp_config_read() (TP_EIO, TP_EPARSE, ...) for a
 * --config file that cannot be read, TP_ENOMEM. The command, not this
 * parser, turns that into an exit status (every command: 0 and 2).
 * synopsis and about are printed by --help.
 *
 * Every subcommand also takes --config FILE (an INI file whose keys are
 * the option names: section [tickpipe] for every command, then [<cmd>];
 * flags override it; see opts.c) and --print-config (prints the effective
 * settings as such a file). *mem (initially NULL, never NULL itself)
 * receives the strings of the file; free it after the last use of the
 * options. */
int tp_opts_parse(const char *cmd, const char *synopsis, const char *about,
                  const struct tp_opt *table, int argc, char **argv,
                  const char **pos, int maxpos, int *npos, struct tp_opts_mem **mem);

#endif
