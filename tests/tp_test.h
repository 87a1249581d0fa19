/*
 * tp_test.h - the tiny assertion harness of our C tests.
 *
 *   CHECK(cond)              counts a check; on failure prints file:line and
 *                            the condition, and the test keeps going
 *   CHECKF(cond, fmt, ...)   the same with a printf-style explanation
 *   REQUIRE(cond)            a CHECK that ends the test at once on failure
 *   return TP_TEST_DONE();   prints "<prog>: N checks, F failed" and gives
 *                            the exit status (0 only when nothing failed)
 *
 * One test program per file; the counters are file-static on purpose.
 */
#ifndef TP_TEST_H
#define TP_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

static long tp_test_checks, tp_test_failed;

#define CHECKF(cond, ...)                                                  \
    do {                                                                   \
        tp_test_checks++;                                                  \
        if (!(cond)) {                                                     \
            tp_test_failed++;                                              \
            fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__,         \
                    __LINE__, #cond);                                      \
            fprintf(stderr, __VA_ARGS__);                                  \
            fputc('\n', stderr);                                           \
        }                                                                  \
    } while (0)

#define CHECK(cond) CHECKF(cond, "%s", "")

#define REQUIRE(cond)                                                      \
    do {                                                                   \
        int tp_req_ok_ = !!(cond); /* evaluate once: cond may have effects */ \
        CHECKF(tp_req_ok_, "%s", #cond);                                   \
        if (!tp_req_ok_) {                                                 \
            fprintf(stderr, "%s:%d: required check failed; stopping\n",    \
                    __FILE__, __LINE__);                                   \
            exit(1);                                                       \
        }                                                                  \
    } while (0)

static inline int tp_test_done(const char *prog) {
    fprintf(stderr, "%s: %ld checks, %ld failed\n", prog, tp_test_checks,
            tp_test_failed);
    return tp_test_failed ? 1 : 0;
}
#define TP_TEST_DONE() tp_test_done(__FILE__)

/* The vendored test data (tests/data: real captured frames): $TP_DATA,
 * else $TP_SRC/tests/data, else tests/data. Returns a static buffer. */
static inline const char *tp_test_data(void) {
    static char buf[4096];
    const char *s = getenv("TP_DATA");
    if (s && *s)
        return s;
    const char *src = getenv("TP_SRC");
    snprintf(buf, sizeof buf, "%s/tests/data", src && *src ? src : ".");
    return buf;
}

/* Reads up to max non-empty lines of path (without line ends) into
 * lines[] (strdup'ed; the caller frees) and their lengths into lens[];
 * returns how many. Ends the test when the file cannot be opened. */
static inline int tp_test_read_lines(const char *path, char **lines, size_t *lens, int max) {
    FILE *f = fopen(path, "r");
    REQUIRE(f != NULL);
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    int n = 0;
    while (n < max && (got = getline(&line, &cap, f)) > 0) {
        while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r'))
            line[--got] = '\0';
        if (got == 0)
            continue;
        lines[n] = strdup(line);
        REQUIRE(lines[n] != NULL);
        lens[n++] = (size_t)got;
    }
    free(line);
    fclose(f);
    return n;
}

#endif
