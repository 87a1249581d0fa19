/*
 * bench_decode.c - decode-only throughput of the frame decoder on one core:
 * tp_decode_frame() over (a) the real Yahoo frames repeated, (b) sim frames
 * as bare base64 and (c) sim frames in the version=2 JSON envelope. Five
 * runs each; prints the median frames per CPU-second of this thread (the
 * machine is shared: time other jobs take the core from us does not count)
 * and the peak RSS. Run on a release
 * build (never a sanitizer build):
 *
 *   bench_decode [--frames N] [--data DIR] [--set real|sim|sim-envelope]
 *
 * DIR (the vendored tests/data) defaults to $TP_DATA, else tests/data.
 * --set runs one set only (bench/bench_decode_callgrind.sh uses it to count
 * instructions per frame of each set under callgrind).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "codec/tp_decode.h"
#include "source/tp_source.h"

#define RUNS 5

struct set {
    char **line;
    size_t *len;
    size_t n;
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void add(struct set *s, const char *line, size_t len, size_t cap) {
    if (s->n == 0) {
        s->line = malloc(cap * sizeof *s->line);
        s->len = malloc(cap * sizeof *s->len);
    }
    s->line[s->n] = malloc(len);
    memcpy(s->line[s->n], line, len);
    s->len[s->n++] = len;
}

static int load_real(struct set *s, const char *dir, size_t n) {
    char path[4096], buf[8192];
    snprintf(path, sizeof path, "%s/yahoo/frames.txt", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return -1;
    }
    struct set one = {0};
    while (fgets(buf, sizeof buf, f)) {
        size_t len = strcspn(buf, "\r\n");
        if (len)
            add(&one, buf, len, 1024);
    }
    fclose(f);
    for (size_t i = 0; i < n; i++)
        add(s, one.line[i % one.n], one.len[i % one.n], n);
    return 0;
}

static int load_sim(struct set *s, size_t n, int envelope) {
    char spec[200], err[256];
    snprintf(spec, sizeof spec, "sim:count=%zu,symbols=200,seed=1,start=1736509140000,envelope=%d",
             n, envelope);
    struct tp_source_opts o = {0};
    struct tp_source *src;
    if (tp_source_open(&src, spec, &o, err, sizeof err)) {
        fprintf(stderr, "bench_decode: %s\n", err);
        return -1;
    }
    struct tp_raw r;
    while (tp_source_next(src, &r, 0, err, sizeof err) == 0)
        add(s, r.line, r.len, n);
    tp_source_free(src);
    return 0;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Decodes the whole set RUNS times; prints and returns the median rate. */
static double run(const char *name, const struct set *s) {
    static uint8_t payload[TP_PAYLOAD_MAX];
    double rate[RUNS];
    size_t ok = 0, bytes = 0;
    uint64_t sink = 0;
    for (size_t i = 0; i < s->n; i++)
        bytes += s->len[i];
    for (int k = 0; k < RUNS; k++) {
        double t0 = now_s();
        for (size_t i = 0; i < s->n; i++) {
            struct tp_quote q;
            size_t plen;
            const char *why;
            ok += tp_decode_frame(s->line[i], s->len[i], payload, &plen, &q, &why) == TP_DECODE_OK;
            sink += q.present ^ plen;
        }
        rate[k] = (double)s->n / (now_s() - t0);
    }
    qsort(rate, RUNS, sizeof *rate, cmp_double);
    printf("decode %-14s %9.0f frames/s  (%.1f MB/s of text; min %.0f max %.0f; "
           "%zu frames x %d runs, %zu ok, check %llx)\n",
           name, rate[RUNS / 2], rate[RUNS / 2] * (double)bytes / (double)s->n / 1e6,
           rate[0], rate[RUNS - 1], s->n, RUNS, ok / RUNS, (unsigned long long)(sink & 0xffff));
    return rate[RUNS / 2];
}

int main(int argc, char **argv) {
    size_t n = 1000000;
    const char *dir = getenv("TP_DATA"), *only = NULL;
    if (!dir || !*dir)
        dir = "tests/data";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--frames") == 0)
            n = (size_t)strtoull(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--data") == 0)
            dir = argv[i + 1];
        else if (strcmp(argv[i], "--set") == 0)
            only = argv[i + 1];
        else {
            fprintf(stderr, "usage: bench_decode [--frames N] [--data DIR] "
                            "[--set real|sim|sim-envelope]\n");
            return 2;
        }
    }
    static const char *names[] = {"real", "sim", "sim-envelope"};
    for (int k = 0; k < 3; k++) {
        struct set s = {0};
        if (only && strcmp(only, names[k]) != 0)
            continue;
        if (k == 0 ? load_real(&s, dir, n) : load_sim(&s, n, k == 2))
            return 1;
        run(names[k], &s);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("peak RSS %ld KiB (includes the %zu x 3 frames held in memory)\n", ru.ru_maxrss, n);
    return 0;
}
