/*
 * query_out.c - query parameters to rows as CSV or JSON (tp_query_out.h).
 * NULL is an empty CSV field and JSON null; blobs arrive as base64 text.
 *
 * Thread: the caller's (the query command, or the HTTP thread).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../core/tp_error.h"
#include "../core/tp_intervals.h"
#include "../core/tp_timeparse.h"
#include "tp_query_out.h"

struct out {
    FILE *f;
    int json;
    int64_t rows;
    int64_t limit;
};

/* The words `query` and /api/ accept. */
static const struct {
    const char *word;
    enum tp_query_kind kind;
} kinds[] = {
    {"ticks", TP_QUERY_TICKS},
    {"bars", TP_QUERY_BARS},
    {"latest", TP_QUERY_LATEST},
    {"gaps", TP_QUERY_GAPS},
};

/* Column names of each kind, for the header of an empty result (a
 * non-empty one prints the names the store gives). */
static const char *const headers[] = {
    [TP_QUERY_TICKS] = "symbol,time,seq,price,cum_avg_price,currency,exchange,quote_type,"
                       "market_hours,change_percent,day_volume,day_high,day_low,change,"
                       "open_price,previous_close,last_size,bid,bid_size,ask,ask_size,"
                       "price_hint,payload",
    [TP_QUERY_BARS] = "symbol,interval,start,open,high,low,close,volume,vwap,count",
    [TP_QUERY_LATEST] = "symbol,time,price,cum_avg_price,count",
    [TP_QUERY_GAPS] = "symbol,start,stop,reason",
};

static void csv_field(FILE *f, const char *v) {
    if (!v)
        return;
    if (!strpbrk(v, ",\"\r\n")) {
        fputs(v, f);
        return;
    }
    putc('"', f);
    for (; *v; v++) {
        if (*v == '"')
            putc('"', f);
        putc(*v, f);
    }
    putc('"', f);
}

static void json_string(FILE *f, const char *v) {
    putc('"', f);
    for (; *v; v++) {
        unsigned char c = (unsigned char)*v;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            putc(c, f);
    }
    putc('"', f);
}

static void json_row(FILE *f, int ncols, const char *const *names, const char *const *values,
                     const int *types) {
    for (int i = 0; i < ncols; i++) {
        if (i)
            putc(',', f);
        json_string(f, names[i]);
        putc(':', f);
        if (!values[i])
            fputs("null", f);
        else if (types[i] == 1 || types[i] == 2)
            fputs(values[i], f);
        else
            json_string(f, values[i]);
    }
}

static int print_row(void *opaque, int ncols, const char *const *names, const char *const *values,
                     const int *types) {
    struct out *o = opaque;
    if ((o->limit > 0 && o->rows >= o->limit) || ferror(o->f))
        return 1; /* enough, or the output failed (a closed pipe): stop reading */
    if (!o->json && o->rows == 0) {
        for (int i = 0; i < ncols; i++)
            fprintf(o->f, "%s%s", i ? "," : "", names[i]);
        putc('\n', o->f);
    }
    if (o->json) {
        fputs(o->rows ? ",\n{" : "[\n{", o->f);
        json_row(o->f, ncols, names, values, types);
        putc('}', o->f);
    } else {
        for (int i = 0; i < ncols; i++) {
            if (i)
                putc(',', o->f);
            csv_field(o->f, values[i]);
        }
        putc('\n', o->f);
    }
    o->rows++;
    return 0;
}

int tp_query_params(struct tp_query *qr, const char *what, const char *symbol,
                    const char *interval, const char *from, const char *to, const char *prefix,
                    char *errbuf, size_t errsize) {
    static const char time_hint[] = "expected Unix ms or ISO-8601 UTC (2025-01-10T11:39:00Z)";
    memset(qr, 0, sizeof *qr);
    qr->symbol = symbol;
    qr->from = INT64_MIN;
    qr->to = INT64_MAX;
    size_t k = 0;
    while (k < sizeof kinds / sizeof kinds[0] && strcmp(kinds[k].word, what) != 0)
        k++;
    if (k == sizeof kinds / sizeof kinds[0])
        return tp_errf(errbuf, errsize, TP_ENOTFOUND, "'%s': expected ticks, bars, latest or gaps", what);
    qr->kind = kinds[k].kind;
    if (interval) {
        int64_t ms;
        if (tp_parse_duration(interval, &ms) || !tp_interval_name(ms))
            return tp_errf(errbuf, errsize, TP_EINVAL,
                           "%sinterval %s: not one of 1s 5s 10s 15s 30s 1m 5m 15m 30m 1h 4h 1d",
                           prefix, interval);
        qr->interval = tp_interval_name(ms);
    }
    if (from && tp_parse_time(from, &qr->from))
        return tp_errf(errbuf, errsize, TP_EINVAL, "%sfrom %s: %s", prefix, from, time_hint);
    if (to && tp_parse_time(to, &qr->to))
        return tp_errf(errbuf, errsize, TP_EINVAL, "%sto %s: %s", prefix, to, time_hint);
    return 0;
}

int tp_query_write(struct tp_store *st, const struct tp_query *qr, int json, int64_t limit,
                   FILE *f, char *errbuf, size_t errsize) {
    struct out o = {f, json, 0, limit};
    int err = tp_store_query(st, qr, print_row, &o, errbuf, errsize);
    if (o.json)
        fputs(o.rows ? "\n]\n" : "[]\n", f);
    else if (o.rows == 0 && !err)
        fprintf(f, "%s\n", headers[qr->kind]);
    if (err)
        return err;
    if (fflush(f) != 0 || ferror(f)) {
        int e = errno;
        return tp_errf(errbuf, errsize, e == EPIPE ? TP_ECLOSED : TP_EIO,
                       "cannot write the output: %s", strerror(e));
    }
    return 0;
}
