/*
 * jsonl.c - the jsonl:PATH / jsonl:- store: one JSON object per line, ticks
 * as they are applied and bars when they close (or at the end of a finite
 * source). Appends; keeps no checkpoint and no state, so every run starts
 * from an empty processor state (DESIGN.md).
 *
 * Thread: the processor thread. Output goes through a large stdio buffer
 * and is flushed at every commit.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/tp_error.h"
#include "../core/tp_fmt.h"
#include "../codec/tp_decode.h"
#include "store_int.h"

struct jsonl_store {
    struct tp_store base;
    FILE *f;
    int owns;
    char *iobuf;
    char line[8192];
};

static int io_fail(struct jsonl_store *s, const char *what) {
    snprintf(s->base.last_error, sizeof s->base.last_error, "jsonl %s: %s", what, strerror(errno));
    return TP_EIO;
}

static int js_begin(struct tp_store *b) { (void)b; return 0; }

static int js_commit(struct tp_store *b) {
    struct jsonl_store *s = (struct jsonl_store *)b;
    return fflush(s->f) == 0 ? 0 : io_fail(s, "write");
}

/* The quote's JSON members, the bulk of a tick's line: rendered from the
 * quote alone, so the run loop's reader thread may do it (tp_store.h). */
static int js_prepare_tick(const struct tp_store *b, const struct tp_quote *q,
                           const uint8_t *payload, char *out, size_t cap) {
    (void)b;
    int n = tp_quote_json_fields(q, payload, out, cap);
    return n < 0 ? TP_EINVAL : n;
}

/* One line per tick, assembled in s->line and written with one fwrite. */
static int js_put_tick(struct tp_store *b, const struct tp_tick_row *t) {
    struct jsonl_store *s = (struct jsonl_store *)b;
    static const char head[] = "{\"kind\":\"tick\",";
    static const char seq[] = ",\"seq\":", avg[] = ",\"cumAvgPrice\":";
    char *p = s->line;
    memcpy(p, head, sizeof head - 1);
    p += sizeof head - 1;
    int n = -1;
    if (t->prepared && t->prepared_len < sizeof s->line - 128) {
        memcpy(p, t->prepared, t->prepared_len);
        n = (int)t->prepared_len;
    } else if (!t->prepared) {
        n = tp_quote_json_fields(t->q, t->payload, p, sizeof s->line - 128);
    }
    if (n < 0) {
        snprintf(s->base.last_error, sizeof s->base.last_error, "jsonl: tick too large to format");
        return TP_EINVAL;
    }
    p += n;
    memcpy(p, seq, sizeof seq - 1);
    p += sizeof seq - 1;
    p += tp_fmt_i64(p, t->seq);
    memcpy(p, avg, sizeof avg - 1);
    p += sizeof avg - 1;
    p += tp_fmt_double(p, 40, t->cum_avg_price);
    *p++ = '}';
    *p++ = '\n';
    size_t len = (size_t)(p - s->line);
    if (fwrite(s->line, 1, len, s->f) != len)
        return io_fail(s, "write");
    return 0;
}

static int js_put_bar(struct tp_store *b, const struct tp_bar_row *r) {
    struct jsonl_store *s = (struct jsonl_store *)b;
    if (!r->closed)
        return 0;
    char o[40], h[40], l[40], c[40], v[40];
    tp_fmt_double(o, sizeof o, r->open);
    tp_fmt_double(h, sizeof h, r->high);
    tp_fmt_double(l, sizeof l, r->low);
    tp_fmt_double(c, sizeof c, r->close);
    if (r->vwap_valid)
        tp_fmt_double(v, sizeof v, r->vwap);
    else
        strcpy(v, "null");
    if (fputs("{\"kind\":\"bar\",\"symbol\":", s->f) < 0)
        return io_fail(s, "write");
    char sym[512];
    size_t k = 0;
    sym[k++] = '"';
    for (const char *p = r->symbol; *p && k < sizeof sym - 8; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch == '"' || ch == '\\') {
            sym[k++] = '\\';
            sym[k++] = (char)ch;
        } else if (ch < 0x20) {
            k += (size_t)snprintf(sym + k, sizeof sym - k, "\\u%04x", ch);
        } else {
            sym[k++] = (char)ch;
        }
    }
    sym[k++] = '"';
    sym[k] = '\0';
    if (fprintf(s->f,
                "%s,\"interval\":\"%s\",\"start\":%" PRId64 ",\"open\":%s,\"high\":%s,"
                "\"low\":%s,\"close\":%s,\"volume\":%" PRId64 ",\"vwap\":%s,\"count\":%" PRId64
                "}\n",
                sym, r->interval, r->start, o, h, l, c, r->volume, v, r->count) < 0)
        return io_fail(s, "write");
    return 0;
}

static int js_put_latest(struct tp_store *b, const struct tp_latest_row *l) {
    (void)b; (void)l;
    return 0;
}

static int js_put_state(struct tp_store *b, const char *symbol, const void *blob, size_t len) {
    (void)b; (void)symbol; (void)blob; (void)len;
    return 0;
}

static int js_put_checkpoint(struct tp_store *b, const struct tp_checkpoint *c) {
    (void)b; (void)c;
    return 0;
}

static int js_get_state(struct tp_store *b, const char *symbol, void **blob, size_t *len) {
    (void)b; (void)symbol; (void)blob; (void)len;
    return TP_ENOTFOUND;
}

static int js_get_checkpoint(struct tp_store *b, struct tp_checkpoint *c) {
    (void)b; (void)c;
    return TP_ENOTFOUND;
}

static int js_query(struct tp_store *b, const struct tp_query *qr, tp_query_cb cb, void *opaque,
                    char *errbuf, size_t errsize) {
    (void)b; (void)qr; (void)cb; (void)opaque;
    return tp_errf(errbuf, errsize, TP_EINVAL,
                   "--store jsonl: cannot be queried; read the file itself (one JSON object per line)");
}

static void js_free(struct tp_store *b) {
    struct jsonl_store *s = (struct jsonl_store *)b;
    if (s->f) {
        fflush(s->f);
        if (s->owns)
            fclose(s->f);
        else
            setvbuf(s->f, NULL, _IOLBF, 0);
    }
    free(s->iobuf);
    free(s);
}

/* No gaps, fencing or losses: a jsonl file keeps none of them. */
static const struct tp_store_ops jsonl_ops = {
    .name = "jsonl", .begin = js_begin, .put_tick = js_put_tick, .put_bar = js_put_bar,
    .put_latest = js_put_latest, .put_state = js_put_state, .put_checkpoint = js_put_checkpoint,
    .commit = js_commit, .get_state = js_get_state, .get_checkpoint = js_get_checkpoint,
    .query = js_query, .free = js_free, .prepare_tick = js_prepare_tick};

int tp_store_jsonl_open(struct tp_store **out, const char *path, char *errbuf, size_t errsize) {
    *out = NULL;
    struct jsonl_store *s = calloc(1, sizeof *s);
    if (!s)
        return TP_ENOMEM;
    s->base.ops = &jsonl_ops;
    if (strcmp(path, "-") == 0) {
        s->f = stdout;
    } else if (!(s->f = fopen(path, "a"))) {
        int e = errno;
        free(s);
        return tp_errf(errbuf, errsize, TP_ESTORE, "--store jsonl:%s: cannot open: %s", path,
                       strerror(e));
    } else {
        s->owns = 1;
    }
    s->iobuf = malloc(1 << 20);
    if (s->iobuf)
        setvbuf(s->f, s->iobuf, _IOFBF, 1 << 20);
    *out = &s->base;
    return 0;
}
