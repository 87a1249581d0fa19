/*
 * fuzz_config.c - libFuzzer target for config files: the input is written
 * to a file that tp_opts_parse reads with --config against a table of
 * every option type, so the INI reader (src/core/config.c, libinih), the
 * key checks and every value parser of src/cli/opts.c (durations:
 * src/core/timeparse.c) see arbitrary bytes. With --print-config,
 * parsing must end in TP_OPTS_DONE or a negative TP_E* code and never
 * crash, leak or read out of bounds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/tp_opts.h"

static char path[64];
static int fd = -1;
static char *args[64];

/* Adds -close_fd_mask=3 to the command line: libFuzzer then silences the
 * usage errors and printed configs of the target but keeps its own report. */
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    int n = 0;
    for (; n < *argc && n < 62; n++)
        args[n] = (*argv)[n];
    args[n++] = "-close_fd_mask=3";
    args[n] = NULL;
    *argc = n;
    *argv = args;
    /* One file for every input, unlinked at once: read through /proc. */
    char tmp[] = "/tmp/fuzz_config.XXXXXX";
    fd = mkstemp(tmp);
    if (fd < 0)
        abort();
    unlink(tmp);
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size)
        abort();
    const char *str = NULL, *level = NULL;
    int64_t n = 0, dur = 0;
    double x = 0;
    int flag = 0;
    struct tp_strlist list = {0};
    const struct tp_opt table[] = {
        {"source", TP_OPT_STR, &str, "yahoo", "SRC", "a string", 0, 0},
        {"n", TP_OPT_INT, &n, "5", "N", "an integer", 1, 100},
        {"dur", TP_OPT_DUR, &dur, "10s", "DUR", "a duration", 0, 86400000},
        {"x", TP_OPT_DOUBLE, &x, "1", "X", "a real", 0, 10},
        {"flag", TP_OPT_FLAG, &flag, NULL, NULL, "a flag", 0, 0},
        {"conf", TP_OPT_LIST, &list, NULL, "K=V", "a list", 0, 0},
        {"level", TP_OPT_CHOICE, &level, "warn", "error|warn|info|debug", "a choice", 0, 0},
        {NULL, 0, NULL, NULL, NULL, NULL, 0, 0}};
    char *argv[] = {"run", "--config", path, "--print-config", NULL};
    TP_OPTS_MEM(mem);
    int rc = tp_opts_parse("run", NULL, NULL, table, 4, argv, NULL, 0, NULL, &mem);
    if (rc != TP_OPTS_DONE && rc >= 0)
        abort();
    return 0;
}
