/*
 * api.c - /api/latest, /api/bars, /api/ticks, /api/gaps: the rows
 * `tickpipe query KIND --format json` prints, through the same code
 * (sink/query_out.c), read from a read-only store connection that the HTTP
 * thread opens on first use and keeps. Bad parameters are 400 with a
 * message naming the parameter.
 *
 * Thread: the HTTP service thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/tp_error.h"
#include "../sink/tp_query_out.h"
#include "../sink/tp_store.h"
#include "http_int.h"

#define API_DEFAULT_LIMIT 100000   /* /api/ticks without limit= */

static int answer_error(int status, const char *msg, char **body, size_t *len) {
    FILE *f = open_memstream(body, len);
    if (!f)
        return 500;
    fputs("{\"error\":\"", f);
    for (const char *c = msg; *c; c++) {
        if (*c == '"' || *c == '\\')
            fputc('\\', f);
        fputc((unsigned char)*c < 0x20 ? ' ' : *c, f);
    }
    fputs("\"}\n", f);
    fclose(f);
    return status;
}

static int parse_limit(const char *s, int64_t *limit) {
    char *end;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || v < 0)
        return -1;
    *limit = v;
    return 0;
}

int tp_http_api(struct tp_store **reader, const char *store_spec, const char *what,
                const char *(*get)(void *ctx, const char *name), void *ctx, char **body,
                size_t *len) {
    char errbuf[512] = "";
    struct tp_query qr;
    int err = tp_query_params(&qr, what, get(ctx, "symbol"), get(ctx, "interval"),
                              get(ctx, "from"), get(ctx, "to"), "", errbuf, sizeof errbuf);
    if (err)
        return answer_error(err == TP_ENOTFOUND ? 404 : 400, errbuf, body, len);
    int64_t limit = qr.kind == TP_QUERY_TICKS ? API_DEFAULT_LIMIT : 0;
    const char *l = get(ctx, "limit");
    if (l && parse_limit(l, &limit))
        return answer_error(400, "limit: expected a whole number >= 0 (0 = all)", body, len);
    if (!store_spec)
        return answer_error(404, "this command has no store to read", body, len);
    if (!*reader && (err = tp_store_open_reader(reader, store_spec, errbuf, sizeof errbuf)))
        return answer_error(err == TP_EINVAL ? 404 : 503, errbuf, body, len);
    FILE *f = open_memstream(body, len);
    if (!f)
        return 500;
    err = tp_query_write(*reader, &qr, 1, limit, f, errbuf, sizeof errbuf);
    fclose(f);
    if (err) {
        free(*body);
        *body = NULL;
        tp_store_free(*reader);   /* reopen on the next request */
        *reader = NULL;
        return answer_error(503, errbuf, body, len);
    }
    return 200;
}
