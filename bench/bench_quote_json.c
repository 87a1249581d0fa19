/*
 * bench_quote_json.c - the jsonl store's per-tick formatting on one core:
 * tp_quote_json_fields() over decoded sim frames (200 symbols, the frames
 * of bench_pipeline.sh) and over the real Yahoo frames repeated, plus the
 * tail js_put_tick adds (seq and the running average, a full double).
 * Prints the median ns per tick of five runs in CPU time of this thread.
 * bench/bench_quote_json_callgrind.sh counts instructions per tick (exact;
 * one thread, so the per-thread float cache behaves the same every run).
 * Run on a release build:
 *
 *   bench_quote_json [--frames N] [--data DIR] [--set sim|real]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/tp_fmt.h"
#include "codec/tp_decode.h"
#include "source/tp_source.h"

#define RUNS 5

struct tick {
    struct tp_quote q;
    uint8_t *payload;
    double avg;
};

static double cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int add(struct tick *t, size_t *n, const char *line, size_t len) {
    static uint8_t buf[TP_PAYLOAD_MAX];
    size_t plen;
    const char *why, *frame;
    size_t flen;
    tp_decode_split_recv_time(line, len, &frame, &flen);
    if (tp_decode_frame(frame, flen, buf, &plen, &t[*n].q, &why) != TP_DECODE_OK)
        return 0;
    t[*n].payload = malloc(plen ? plen : 1);
    memcpy(t[*n].payload, buf, plen);
    t[*n].avg = (double)t[*n].q.v[TP_F_PRICE].f32 * (1.0 + (double)(*n % 997) / 1e7);
    (*n)++;
    return 1;
}

static size_t load(struct tick *t, size_t want, const char *set, const char *dir) {
    size_t n = 0;
    char err[256];
    if (strcmp(set, "real") == 0) {
        char path[4096], line[8192];
        snprintf(path, sizeof path, "%s/yahoo/frames.txt", dir);
        while (n < want) {
            FILE *f = fopen(path, "r");
            if (!f) {
                perror(path);
                exit(1);
            }
            size_t before = n;
            while (n < want && fgets(line, sizeof line, f))
                add(t, &n, line, strcspn(line, "\r\n"));
            fclose(f);
            if (n == before)
                break;
        }
        return n;
    }
    char spec[200];
    snprintf(spec, sizeof spec, "sim:count=%zu,symbols=200,seed=1,start=1736509140000", want);
    struct tp_source_opts o = {0};
    struct tp_source *src;
    if (tp_source_open(&src, spec, &o, err, sizeof err)) {
        fprintf(stderr, "bench_quote_json: %s\n", err);
        exit(1);
    }
    struct tp_raw r;
    while (n < want && tp_source_next(src, &r, 0, err, sizeof err) == 0)
        add(t, &n, r.line, r.len);
    tp_source_free(src);
    return n;
}

/* What js_put_tick does with the quote's members, without the file. */
__attribute__((noinline)) static size_t render(const struct tick *t, int64_t seq, char *line, size_t cap) {
    int n = tp_quote_json_fields(&t->q, t->payload, line, cap - 128);
    if (n < 0)
        return 0;
    char *p = line + n;
    p += tp_fmt_i64(p, seq);
    p += tp_fmt_double(p, 40, t->avg);
    return (size_t)(p - line);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    size_t want = 300000;
    const char *dir = getenv("TP_DATA"), *set = "sim";
    if (!dir || !*dir)
        dir = "tests/data";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--frames") == 0)
            want = (size_t)strtoull(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--data") == 0)
            dir = argv[i + 1];
        else if (strcmp(argv[i], "--set") == 0)
            set = argv[i + 1];
        else {
            fprintf(stderr, "usage: bench_quote_json [--frames N] [--data DIR] [--set sim|real]\n");
            return 2;
        }
    }
    struct tick *t = malloc(want * sizeof *t);
    size_t n = load(t, want, set, dir);
    static char line[8192];
    double ns[RUNS];
    size_t bytes = 0;
    for (int r = 0; r < RUNS; r++) {
        double t0 = cpu_s();
        for (size_t i = 0; i < n; i++)
            bytes += render(&t[i], (int64_t)i + 1, line, sizeof line);
        ns[r] = (cpu_s() - t0) * 1e9 / (double)n;
    }
    qsort(ns, RUNS, sizeof ns[0], cmp_double);
    printf("quote_json %-4s %7.1f ns per tick (median of %d, CPU time; %zu ticks, %.0f bytes each)\n",
           set, ns[RUNS / 2], RUNS, n, (double)bytes / (double)(n * RUNS));
    return 0;
}
