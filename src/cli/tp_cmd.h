/*
 * tp_cmd.h - the subcommands of the tickpipe binary. Each takes the
 * arguments after the subcommand name (argv[0] is the subcommand) and
 * returns the process exit status: 0 success, 1 fatal runtime error,
 * 2 bad usage (with a message naming the bad argument).
 */
#ifndef TP_CMD_H
#define TP_CMD_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/tp_events.h"
#include "../core/tp_metrics.h"
#include "../http/tp_http.h"
#include "../sink/tp_store.h"

/* Set to non-zero by SIGINT/SIGTERM (handlers installed by main.c). Long
 * running commands poll it and stop cleanly: flush, checkpoint, exit 0. */
const volatile sig_atomic_t *tp_stop_flag(void);

/* "error", "warn", "info", "debug" to a TP_LOG_* level; -1 if unknown. */
int tp_log_level_parse(const char *s);

/* Sets the process log level from --log-level; on a bad name prints a
 * usage error for subcommand cmd and returns 2 (else 0). */
int tp_cmd_set_log_level(const char *cmd, const char *level);

/* What a command does after tp_opts_parse() returned rc, then sets the log
 * level: -1 when --help or --print-config was printed (exit 0), 2 after a
 * usage error or a bad --log-level (printed; exit 2), 0 to go on. */
int tp_cmd_opts_end(int rc, const char *cmd, const char *log_level);

/* Reads --symbols-file PATH (symbols one per line or comma separated, any
 * line length, # comments) into a malloc'ed comma list the caller frees;
 * NULL with errbuf filled when it cannot be read or holds no symbol. */
char *tp_cmd_read_symbols_file(const char *path, char *errbuf, size_t errsize);

/* One path a command reads or writes, for tp_cmd_check_paths(). */
struct tp_cmd_path {
    const char *what;   /* the option, e.g. "--deadletter" */
    const char *path;   /* NULL = not a file (live source, cassandra store) */
    int output;
};

/* Non-zero when paths a and b name the same file (same device and inode,
 * or the same resolved path when either does not exist). "-" is no file. */
int tp_cmd_same_file(const char *a, const char *b);

/* The PATH of "replay:PATH", "sqlite:PATH" or "jsonl:PATH", else NULL.
 * Points into spec. */
const char *tp_cmd_spec_path(const char *spec);

/* Refuses outputs that equal a source or each other: prints a message
 * naming both and returns 2 (bad usage), or returns 0. src/cli/cmd_paths.c */
int tp_cmd_check_paths(const char *cmd, const struct tp_cmd_path *paths, int n);

/* Warns on stderr when --symbols or --symbols-file was given with a replay
 * source, which ignores them (sim and yahoo use them). */
void tp_cmd_warn_ignored_symbols(const char *cmd, const char *source, int argc, char **argv);

/* --http for run and process (src/cli/cmd_http.c). */
struct tp_cmd_http_opts {
    const char *addr;        /* --http; NULL = off */
    const char *web_root;    /* --web-root; NULL = default */
    const char *store;       /* the STORE spec /api/ reads */
    int live;                /* the source is live: silence makes /healthz 503 */
    int64_t silent_ms, stuck_ms;
};

struct tp_cmd_http {
    struct tp_metrics *m;    /* all NULL when --http is off */
    struct tp_events *ev;
    struct tp_store *tap;    /* the wrapped store (owned by the caller's *st) */
    struct tp_http *h;
};

/* With --http (addr non-NULL): the metrics the stages report into, created
 * on first call (NULL without --http, or when out of memory). w starts
 * zeroed. */
struct tp_metrics *tp_cmd_http_metrics(struct tp_cmd_http *w, const char *addr);

/* With o->addr set: creates the metrics and events, wraps *st in the tap
 * (the caller keeps owning *st, now the tap) and starts the server.
 * Returns 0, or the exit status after printing why. */
int tp_cmd_http_start(struct tp_cmd_http *w, const char *cmd, const struct tp_cmd_http_opts *o,
                      struct tp_store **st);

/* Lets /stream clients receive the last events, then stops the server. */
void tp_cmd_http_stop(struct tp_cmd_http *w);

/* Stops (if needed) and frees the metrics and events: after the store. */
void tp_cmd_http_free(struct tp_cmd_http *w);

int tp_cmd_run(int argc, char **argv);      /* src/cli/cmd_run.c */
int tp_cmd_query(int argc, char **argv);    /* src/cli/cmd_query.c */
int tp_cmd_record(int argc, char **argv);   /* src/cli/cmd_record.c */
int tp_cmd_feed(int argc, char **argv);     /* src/cli/cmd_feed.c */
int tp_cmd_ingest(int argc, char **argv);   /* src/cli/cmd_kafka.c */
int tp_cmd_process(int argc, char **argv);  /* src/cli/cmd_kafka.c */

#endif
