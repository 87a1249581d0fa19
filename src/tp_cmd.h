/*
 * tp_cmd.h - the subcommands of the tickpipe binary. Each takes the
 * arguments after the subcommand name (argv[0] is the subcommand) and
 * returns the process exit status: 0 success, 1 fatal runtime error,
 * 2 bad usage (with a message naming the bad argument).
 */
#ifndef TP_CMD_H
#define TP_CMD_H

#include <signal.h>

/* Set to non-zero by SIGINT/SIGTERM (handlers installed by main.c). Long
 * running commands poll it and stop cleanly: flush, checkpoint, exit 0. */
const volatile sig_atomic_t *tp_stop_flag(void);

/* "error", "warn", "info", "debug" to a TP_LOG_* level; -1 if unknown. */
int tp_log_level_parse(const char *s);

int tp_cmd_run(int argc, char **argv);      /* src/cmd_run.c */
int tp_cmd_query(int argc, char **argv);    /* src/cmd_query.c */
int tp_cmd_record(int argc, char **argv);   /* src/cmd_record.c */
int tp_cmd_feed(int argc, char **argv);     /* src/cmd_feed.c */
int tp_cmd_ingest(int argc, char **argv);   /* src/cmd_kafka.c */
int tp_cmd_process(int argc, char **argv);  /* src/cmd_kafka.c */

#endif
