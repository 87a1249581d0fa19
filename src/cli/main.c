/*
 * main.c - the tickpipe binary: dispatches to one subcommand. Owns the only
 * process-wide mutable state: the stop flag set by SIGINT/SIGTERM.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "tp_cmd.h"

static volatile sig_atomic_t stop_requested;

const volatile sig_atomic_t *tp_stop_flag(void) {
    return &stop_requested;
}

static void on_signal(int sig) {
    (void)sig;
    stop_requested = 1;
}

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} cmds[] = {
    {"run", tp_cmd_run, "all stages in one process: source -> aggregates -> store"},
    {"ingest", tp_cmd_ingest, "source -> Kafka topic"},
    {"process", tp_cmd_process, "Kafka topic -> aggregates -> store (scale out in a consumer group)"},
    {"query", tp_cmd_query, "read ticks, bars or latest quotes back from a store"},
    {"record", tp_cmd_record, "capture raw frames to a file"},
    {"feed", tp_cmd_feed, "serve a recording as a local Yahoo-compatible streamer"},
};

static void usage(FILE *f) {
    fprintf(f, "usage: tickpipe COMMAND [options]   (tickpipe COMMAND --help for details)\n\n"
               "Real-time market data: Yahoo Finance quotes -> bus -> aggregates -> store.\n\n"
               "commands:\n");
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].help);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (strcmp(argv[1], cmds[i].name) == 0)
            return cmds[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "tickpipe: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
