/*
 * cmd_common.c - what several subcommands share at the command-line edge:
 * the log level option and --symbols-file. Main thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/tp_error.h"
#include "../core/tp_log.h"
#include "tp_cmd.h"
#include "tp_opts.h"

/* Reads a symbols file (one per line or comma separated, lines of any
 * length; # starts a comment) into a malloc'ed comma list. */
char *tp_cmd_read_symbols_file(const char *path, char *errbuf, size_t errsize) {
    FILE *f = fopen(path, "r");
    if (!f) {
        tp_errf(errbuf, errsize, TP_EINVAL, "--symbols-file %s: cannot open", path);
        return NULL;
    }
    size_t cap = 4096, len = 0, lcap = 0;
    char *out = malloc(cap), *line = NULL;
    while (out && getline(&line, &lcap, f) >= 0) {
        char *hash = strchr(line, '#'), *save = NULL;
        if (hash)
            *hash = '\0';
        for (char *tok = strtok_r(line, ", \t\r\n", &save); tok && out;
             tok = strtok_r(NULL, ", \t\r\n", &save)) {
            size_t n = strlen(tok);
            while (out && len + n + 2 > cap) {
                char *no = realloc(out, cap *= 2);
                if (!no)
                    free(out);
                out = no;
            }
            if (!out)
                break;
            if (len)
                out[len++] = ',';
            memcpy(out + len, tok, n);
            len += n;
        }
    }
    free(line);
    fclose(f);
    if (out)
        out[len] = '\0';
    if (out && len == 0) {
        free(out);
        tp_errf(errbuf, errsize, TP_EINVAL, "--symbols-file %s: no symbols in the file", path);
        return NULL;
    }
    return out;
}

int tp_log_level_parse(const char *s) {
    static const char *names[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

int tp_cmd_set_log_level(const char *cmd, const char *level) {
    int lvl = tp_log_level_parse(level);
    if (lvl < 0) {
        fprintf(stderr, "tickpipe %s: --log-level %s: expected error, warn, info or debug\n", cmd, level);
        return 2;
    }
    tp_log_level = lvl;
    return 0;
}

int tp_cmd_opts_end(int rc, const char *cmd, const char *log_level) {
    if (rc == TP_OPTS_DONE)
        return -1;
    return rc ? 2 : tp_cmd_set_log_level(cmd, log_level);
}
