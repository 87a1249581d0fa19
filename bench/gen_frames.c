/*
 * gen_frames.c - writes synthetic Yahoo frames (the sim source) to a frame
 * file for tests and benchmarks:
 *
 *   gen_frames --count 300000 --symbols 200 --seed 1 --out FILE
 *              [--start MS] [--envelope] [--recv-prefix]
 *
 * --start defaults to 1736509140000 (not "now") so that a file is a pure
 * function of its arguments. --recv-prefix writes "<recv ms>\t" before each
 * frame: the event time plus a deterministic 50-249 ms of "network delay".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/tp_decode.h"
#include "source/tp_source.h"

static int usage(const char *msg) {
    fprintf(stderr, "gen_frames: %s\nusage: gen_frames --count N --symbols S --seed X "
                    "--out FILE [--start MS] [--envelope] [--recv-prefix]\n", msg);
    return 2;
}

int main(int argc, char **argv) {
    long long count = 100000, symbols = 100, seed = 1, start = 1736509140000LL;
    int envelope = 0, prefix = 0;
    const char *out = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--envelope") == 0) { envelope = 1; continue; }
        if (strcmp(a, "--recv-prefix") == 0) { prefix = 1; continue; }
        if (!v)
            return usage("missing value");
        i++;
        char *end;
        long long n = strtoll(v, &end, 10);
        if (strcmp(a, "--out") == 0) out = v;
        else if (*end || n < 0) return usage(a);
        else if (strcmp(a, "--count") == 0) count = n;
        else if (strcmp(a, "--symbols") == 0) symbols = n;
        else if (strcmp(a, "--seed") == 0) seed = n;
        else if (strcmp(a, "--start") == 0) start = n;
        else return usage(a);
    }
    if (!out)
        return usage("--out is required");
    char spec[256], err[256];
    snprintf(spec, sizeof spec, "sim:count=%lld,symbols=%lld,seed=%lld,start=%lld,envelope=%d",
             count, symbols, seed, start, envelope);
    struct tp_source_opts o = {0};
    struct tp_source *s;
    if (tp_source_open(&s, spec, &o, err, sizeof err)) {
        fprintf(stderr, "gen_frames: %s\n", err);
        return 2;
    }
    FILE *f = strcmp(out, "-") == 0 ? stdout : fopen(out, "w");
    if (!f) {
        perror(out);
        return 1;
    }
    struct tp_raw r;
    static uint8_t pl[TP_PAYLOAD_MAX];
    for (long long k = 0; tp_source_next(s, &r, 0, err, sizeof err) == 0; k++) {
        if (prefix) {
            struct tp_quote q;
            size_t plen;
            const char *why;
            tp_decode_frame(r.line, r.len, pl, &plen, &q, &why);
            fprintf(f, "%lld\t", (long long)q.v[TP_F_TIME].i64 + 50 + (k * 37) % 200);
        }
        fwrite(r.line, 1, r.len, f);
        fputc('\n', f);
    }
    tp_source_free(s);
    if ((f != stdout && fclose(f) != 0) || (f == stdout && fflush(f) != 0)) {
        perror(out);
        return 1;
    }
    return 0;
}
