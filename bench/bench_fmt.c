/*
 * bench_fmt.c - ns per number of tp_fmt_double() against the printf +
 * strtod reference it replaced (tests/fmt_reference.h), on one core, over
 * three sets: float32-derived prices (what Yahoo sends), doubles in
 * [10, 1000) with all 53 bits used (running averages, VWAPs) and random
 * double bit patterns of every exponent. Five runs each; prints the median
 * of the CPU time of this thread (the machine may be shared, and other load
 * should not count). Run on a release build (never a sanitizer build):
 *
 *   bench_fmt [--count N] [--set K]
 *
 * N numbers per set (default 1000000); --set K (0, 1 or 2) runs one set only
 * (bench/bench_fmt_callgrind.sh counts instructions per number with it).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../tests/fmt_reference.h"
#include "core/tp_fmt.h"

#define RUNS 5

typedef int (*fmt_fn)(char *, size_t, double);

static uint64_t rng_next(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static double cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median over RUNS of the ns per number of f over v[0..n). */
static double time_fn(fmt_fn f, const double *v, size_t n, size_t *sink) {
    double ns[RUNS];
    char buf[32];
    for (int r = 0; r < RUNS; r++) {
        double t0 = cpu_s();
        for (size_t i = 0; i < n; i++)
            *sink += (size_t)f(buf, sizeof buf, v[i]);
        ns[r] = (cpu_s() - t0) * 1e9 / (double)n;
    }
    qsort(ns, RUNS, sizeof ns[0], cmp_double);
    return ns[RUNS / 2];
}

static void fill(double *v, size_t n, int set, uint64_t *rng) {
    for (size_t i = 0; i < n; i++) {
        uint64_t r = rng_next(rng);
        if (set == 0) { /* a float32 price between 0.5 and 50000 */
            double p = 0.5 * (double)(1 + r % 100000) * (1.0 + (double)(r >> 40) / 16777216.0);
            v[i] = (double)(float)p;
        } else if (set == 1) {
            v[i] = 10.0 + 990.0 * (double)(r >> 11) / 9007199254740992.0;
        } else {
            do {
                memcpy(&v[i], &r, sizeof r);
                r = rng_next(rng);
            } while (v[i] != v[i] || v[i] - v[i] != 0); /* skip NaN and inf */
        }
    }
}

int main(int argc, char **argv) {
    size_t n = 1000000;
    int only = -1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) {
            n = strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--set") == 0 && i + 1 < argc) {
            only = atoi(argv[++i]);
        } else {
            fprintf(stderr, "usage: bench_fmt [--count N] [--set 0|1|2]\n");
            return 2;
        }
    }
    static const char *names[] = {"float32 prices", "doubles in [10,1000)", "random doubles"};
    double *v = malloc(n * sizeof *v);
    if (!v || n == 0)
        return 1;
    size_t nref = n / 5 ? n / 5 : 1, sink = 0;
    uint64_t rng = 42;
    printf("%-22s %12s %14s %8s\n", "set (median of 5)", "tp_fmt ns", "reference ns", "speedup");
    for (int set = 0; set < 3; set++) {
        fill(v, n, set, &rng);
        if (only >= 0 && set != only)
            continue;
        double fast = time_fn(tp_fmt_double, v, n, &sink);
        double ref = time_fn(fmt_double_reference, v, nref, &sink);
        printf("%-22s %12.1f %14.1f %7.1fx\n", names[set], fast, ref, ref / fast);
    }
    fprintf(stderr, "(%zu numbers per set, reference on the first %zu; sink %zu)\n", n, nref,
            sink);
    free(v);
    return 0;
}
