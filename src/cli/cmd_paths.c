/*
 * cmd_paths.c - refuses output paths that would feed a command its own
 * output: a dead-letter file, store or recording that is also the replayed
 * source, or two outputs that are one file. Such loops grow a file until the
 * disk is full or interleave two formats, so they are bad usage (exit 2).
 *
 * Two paths are the same file when stat(2) gives the same device and inode
 * (this sees through symlinks and hard links); when either does not exist
 * yet, their resolved absolute paths are compared. "-" (stdin/stdout) is
 * never a file.
 *
 * Also here: the warning for --symbols given with a replay source, which
 * plays whatever symbols the recording holds. Main thread only.
 */
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tp_cmd.h"

/* The absolute path path would have: its directory resolved, its name kept.
 * Returns a malloc'ed string or NULL. */
static char *resolve(const char *path) {
    char *full = realpath(path, NULL);
    if (full)
        return full;
    char *d = strdup(path), *b = strdup(path);
    char *out = NULL;
    if (d && b) {
        char *dir = realpath(dirname(d), NULL);
        const char *base = basename(b);
        if (dir && (out = malloc(strlen(dir) + strlen(base) + 2)))
            sprintf(out, "%s/%s", dir, base);
        free(dir);
    }
    free(d);
    free(b);
    return out;
}

int tp_cmd_same_file(const char *a, const char *b) {
    if (!a || !b || !*a || !*b || strcmp(a, "-") == 0 || strcmp(b, "-") == 0)
        return 0;
    struct stat sa, sb;
    if (stat(a, &sa) == 0 && stat(b, &sb) == 0)
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    char *ra = resolve(a), *rb = resolve(b);
    int same = ra && rb ? strcmp(ra, rb) == 0 : strcmp(a, b) == 0;
    free(ra);
    free(rb);
    return same;
}

/* The file behind "replay:PATH", "sqlite:PATH" or "jsonl:PATH"; NULL for
 * other specs. */
const char *tp_cmd_spec_path(const char *spec) {
    static const char *const prefixes[] = {"replay:", "sqlite:", "jsonl:"};
    if (!spec)
        return NULL;
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        size_t n = strlen(prefixes[i]);
        if (strncmp(spec, prefixes[i], n) == 0)
            return spec + n;
    }
    return NULL;
}

int tp_cmd_check_paths(const char *cmd, const struct tp_cmd_path *paths, int n) {
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            if (!paths[i].path || !paths[j].path)
                continue;
            if (!paths[i].output && !paths[j].output)
                continue;   /* two inputs may well be one file */
            if (tp_cmd_same_file(paths[i].path, paths[j].path)) {
                fprintf(stderr, "tickpipe %s: %s %s and %s %s are the same file: an output "
                        "must not be a source or another output\n", cmd, paths[i].what,
                        paths[i].path, paths[j].what, paths[j].path);
                return 2;
            }
        }
    return 0;
}

void tp_cmd_warn_ignored_symbols(const char *cmd, const char *source, int argc, char **argv) {
    if (!source || strncmp(source, "replay:", 7) != 0)
        return;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--symbols") == 0 || strncmp(argv[i], "--symbols=", 10) == 0 ||
            strcmp(argv[i], "--symbols-file") == 0 || strncmp(argv[i], "--symbols-file=", 15) == 0) {
            fprintf(stderr, "tickpipe %s: warning: %.*s is ignored with --source %s: a replay "
                    "plays every symbol of its file\n", cmd, (int)strcspn(argv[i], "="), argv[i],
                    source);
            return;
        }
}
