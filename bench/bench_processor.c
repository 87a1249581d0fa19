/*
 * bench_processor.c - the processor stage alone on one core: duplicates,
 * seq, averages, bars and latest over frames decoded before the clock
 * starts, into a store that keeps nothing (so no SQLite work is timed, but
 * the state blobs are still serialised at each commit, as for a real store).
 * Five runs per bar setting; prints the median ticks per CPU second.
 *
 *   bench_processor [--no-hints] FRAMES_FILE [BARS...]   e.g. 1m 1s,5s,10s,...,1d
 *
 * BARS defaults to "1m" and all 12 intervals. The processor is told each
 * tick's symbol TP_PROCESSOR_LOOKAHEAD ticks ahead, as `run` does;
 * --no-hints leaves that out. Run on a release build.
 * For instructions per tick: valgrind --tool=callgrind bench_processor
 * FRAMES_FILE BARS (one setting), and divide by the ticks printed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/tp_error.h"
#include "process/tp_processor.h"
#include "sink/store_int.h"
#include "sink/tp_store.h"
#include "codec/tp_decode.h"

#define RUNS 5

struct frame {
    struct tp_quote q;
    uint8_t *payload;
    size_t len;
};

/* A store that accepts every row and keeps nothing. */
static int n_begin(struct tp_store *st) { (void)st; return 0; }
static int n_tick(struct tp_store *st, const struct tp_tick_row *t) { (void)st; (void)t; return 0; }
static int n_bar(struct tp_store *st, const struct tp_bar_row *b) { (void)st; (void)b; return 0; }
static int n_latest(struct tp_store *st, const struct tp_latest_row *l) { (void)st; (void)l; return 0; }
static int n_state(struct tp_store *st, const char *s, const void *b, size_t n) {
    (void)st; (void)s; (void)b; (void)n;
    return 0;
}
static int n_ckpt(struct tp_store *st, const struct tp_checkpoint *c) { (void)st; (void)c; return 0; }
static int n_commit(struct tp_store *st) { (void)st; return 0; }
static int n_get_state(struct tp_store *st, const char *s, void **b, size_t *n) {
    (void)st; (void)s; (void)b; (void)n;
    return TP_ENOTFOUND;
}
static int n_get_ckpt(struct tp_store *st, struct tp_checkpoint *c) { (void)st; (void)c; return TP_ENOTFOUND; }
static void n_free(struct tp_store *st) { (void)st; }

static const struct tp_store_ops null_ops = {
    .name = "null", .begin = n_begin, .put_tick = n_tick, .put_bar = n_bar,
    .put_latest = n_latest, .put_state = n_state, .put_checkpoint = n_ckpt, .commit = n_commit,
    .get_state = n_get_state, .get_checkpoint = n_get_ckpt, .free = n_free};

static double cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One pass over all frames; returns CPU seconds, or -1 on an error. */
static double run_once(const struct frame *fr, size_t n, const char *bars, int hints,
                       int64_t *late) {
    struct tp_store st = {.ops = &null_ops, .has_state = 1};
    struct tp_processor_opts o = {.lateness_ms = -1, .batch_ticks = 65536};
    char err[256];
    o.nbars = tp_parse_bars(bars, o.bar_ms, TP_MAX_BARS, err, sizeof err);
    struct tp_processor *p;
    if (o.nbars < 0 || tp_processor_new(&p, &st, &o, err, sizeof err)) {
        fprintf(stderr, "bench_processor: %s\n", err);
        return -1;
    }
    double t0 = cpu_s();
    for (size_t i = 0; i < n; i++) {
        if (hints && i + TP_PROCESSOR_LOOKAHEAD < n) {   /* as `run` drives it */
            const struct frame *h = &fr[i + TP_PROCESSOR_LOOKAHEAD];
            tp_sv id = h->q.v[TP_F_ID].sv;
            tp_processor_hint(p, (const char *)h->payload + id.off, id.len);
        }
        struct tp_item it = {.kind = TP_ITEM_TICK, .q = &fr[i].q, .payload = fr[i].payload,
                             .payload_len = fr[i].len, .pos_slot = -1};
        if (tp_processor_apply(p, &it)) {
            fprintf(stderr, "bench_processor: %s\n", tp_processor_last_error(p));
            return -1;
        }
    }
    if (tp_processor_finish(p))
        return -1;
    double t = cpu_s() - t0;
    struct tp_processor_stats s;
    tp_processor_stats(p, &s);
    *late = s.late;
    tp_processor_free(p);
    return t;
}

int main(int argc, char **argv) {
    int hints = !(argc > 1 && strcmp(argv[1], "--no-hints") == 0);
    if (!hints) {
        argv++;
        argc--;
    }
    if (argc < 2) {
        fprintf(stderr, "usage: %s [--no-hints] FRAMES_FILE [BARS...]\n", argv[0]);
        return 2;
    }
    FILE *f = fopen(argv[1], "r");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    size_t n = 0, cap = 1 << 16;
    struct frame *fr = malloc(cap * sizeof *fr);
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    static uint8_t buf[TP_PAYLOAD_MAX];
    while (fr && (len = getline(&line, &lcap, f)) > 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        const char *frame, *reason;
        size_t flen, plen;
        tp_decode_split_recv_time(line, (size_t)len, &frame, &flen);
        if (n == cap && !(fr = realloc(fr, (cap *= 2) * sizeof *fr)))
            break;
        if (tp_decode_frame(frame, flen, buf, &plen, &fr[n].q, &reason) != TP_DECODE_OK)
            continue;
        fr[n].payload = malloc(plen);
        memcpy(fr[n].payload, buf, plen);
        fr[n].len = plen;
        n++;
    }
    fclose(f);
    free(line);
    if (!fr)
        return 1;
    static const char *const defaults[] = {"1m", "1s,5s,10s,15s,30s,1m,5m,15m,30m,1h,4h,1d"};
    const char *const *sets = argc > 2 ? (const char *const *)argv + 2 : defaults;
    int nsets = argc > 2 ? argc - 2 : 2;
    for (int k = 0; k < nsets; k++) {
        double t[RUNS];
        int64_t late = 0;
        for (int r = 0; r < RUNS; r++)
            if ((t[r] = run_once(fr, n, sets[k], hints, &late)) < 0)
                return 1;
        qsort(t, RUNS, sizeof *t, cmp_double);
        printf("processor --bars %-40s %10.0f ticks/CPU-s (median of %d; min %.0f max %.0f;"
               " %zu ticks, %lld late)\n", sets[k], (double)n / t[RUNS / 2], RUNS,
               (double)n / t[RUNS - 1], (double)n / t[0], n, (long long)late);
    }
    return 0;
}
