/*
 * cmd_query.c - `tickpipe query`: reads ticks, bars or latest back from a
 * store and prints them as CSV (header line first) or as a JSON array with
 * one object per line. NULL is an empty CSV field and JSON null; the
 * payload column prints as base64.
 *
 * The store is opened read-only and never created. The header line is
 * printed even when no row matches. A failed write to stdout (disk full,
 * a closed pipe: SIGPIPE is ignored by main.c) stops the query at once and
 * exits 1.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "core/tp_error.h"
#include "core/tp_opts.h"
#include "process/tp_processor.h"
#include "sink/tp_store.h"
#include "tp_cmd.h"

struct out {
    int json;
    int64_t rows;
    int64_t limit;
};

static void csv_field(const char *v) {
    if (!v)
        return;
    if (!strpbrk(v, ",\"\r\n")) {
        fputs(v, stdout);
        return;
    }
    putchar('"');
    for (; *v; v++) {
        if (*v == '"')
            putchar('"');
        putchar(*v);
    }
    putchar('"');
}

static void json_string(const char *v) {
    putchar('"');
    for (; *v; v++) {
        unsigned char c = (unsigned char)*v;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static int print_row(void *opaque, int ncols, const char *const *names, const char *const *values,
                     const int *types) {
    struct out *o = opaque;
    if ((o->limit > 0 && o->rows >= o->limit) || ferror(stdout))
        return 1;
    if (!o->json && o->rows == 0) {
        for (int i = 0; i < ncols; i++)
            printf("%s%s", i ? "," : "", names[i]);
        putchar('\n');
    }
    if (o->json) {
        fputs(o->rows ? ",\n{" : "[\n{", stdout);
        for (int i = 0; i < ncols; i++) {
            if (i)
                putchar(',');
            json_string(names[i]);
            putchar(':');
            if (!values[i])
                fputs("null", stdout);
            else if (types[i] == 1 || types[i] == 2)
                fputs(values[i], stdout);
            else
                json_string(values[i]);
        }
        putchar('}');
    } else {
        for (int i = 0; i < ncols; i++) {
            if (i)
                putchar(',');
            csv_field(values[i]);
        }
        putchar('\n');
    }
    o->rows++;
    return 0;
}

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

/* Flushes stdout; 0, or 1 after saying why a write failed. A closed pipe
 * (EPIPE) is no news to the user who closed it: exit 1 quietly. */
static int finish_output(void) {
    if (fflush(stdout) == 0 && !ferror(stdout))
        return 0;
    if (errno != EPIPE)
        fprintf(stderr, "tickpipe query: cannot write to standard output: %s\n", strerror(errno));
    return 1;
}

static int run_query(const char *store, const struct tp_query *qr, struct out *o) {
    char errbuf[512] = "";
    struct tp_store *st = NULL;
    int err = tp_store_open_readonly(&st, store, errbuf, sizeof errbuf);
    if (err) {
        fprintf(stderr, "tickpipe query: %s\n", errbuf);
        return err == TP_EINVAL ? 2 : 1;
    }
    err = st->ops->query(st, qr, print_row, o, errbuf, sizeof errbuf);
    tp_store_free(st);
    if (o->json)
        fputs(o->rows ? "\n]\n" : "[]\n", stdout);
    else if (o->rows == 0 && !err)
        printf("%s\n", headers[qr->kind]);
    if (err) {
        fprintf(stderr, "tickpipe query: %s\n", errbuf);
        return 1;
    }
    return finish_output();
}

int tp_cmd_query(int argc, char **argv) {
    const char *store = NULL, *symbol = NULL, *interval = NULL, *from = NULL, *to = NULL;
    const char *format = NULL;
    int64_t limit = 0;
    TP_OPTS_MEM(om);
    const struct tp_opt table[] = {
        {"store", TP_OPT_STR, &store, "sqlite:tickpipe.db", "STORE", "the store to read (sqlite:PATH or cassandra://...)", 0, 0},
        {"symbol", TP_OPT_STR, &symbol, NULL, "S", "only this symbol", 0, 0},
        {"interval", TP_OPT_STR, &interval, NULL, "I", "bars: only this interval (1m, 5m, ...)", 0, 0},
        {"from", TP_OPT_STR, &from, NULL, "T", "from this time, inclusive (Unix ms or ISO-8601 UTC)", 0, 0},
        {"to", TP_OPT_STR, &to, NULL, "T", "up to this time, inclusive (Unix ms or ISO-8601 UTC)", 0, 0},
        {"format", TP_OPT_CHOICE, &format, "csv", "csv|json", "output format", 0, 0},
        {"limit", TP_OPT_INT, &limit, "0", "N", "print at most N rows (0 = all)", 0, 1e15},
        {NULL, 0, NULL, NULL, NULL, NULL, 0, 0}};
    const char *pos[2];
    int npos = 0;
    int rc = tp_opts_parse("query", "--store STORE (ticks|bars|latest|gaps) [options]",
                           "Reads stored ticks, bars, latest quotes or capture gaps back, as CSV or\n"
                           "JSON. For gaps, --from/--to select the gaps that overlap the range.", table,
                           argc, argv, pos, 1, &npos, &om);
    if (rc)
        return rc == 1 ? 0 : 2;
    struct tp_query qr = {.symbol = symbol, .from = INT64_MIN, .to = INT64_MAX};
    if (npos != 1) {
        fprintf(stderr, "tickpipe query: say what to read: ticks, bars, latest or gaps\n");
        return 2;
    }
    if (strcmp(pos[0], "ticks") == 0) qr.kind = TP_QUERY_TICKS;
    else if (strcmp(pos[0], "bars") == 0) qr.kind = TP_QUERY_BARS;
    else if (strcmp(pos[0], "latest") == 0) qr.kind = TP_QUERY_LATEST;
    else if (strcmp(pos[0], "gaps") == 0) qr.kind = TP_QUERY_GAPS;
    else {
        fprintf(stderr, "tickpipe query: '%s': expected ticks, bars, latest or gaps\n", pos[0]);
        return 2;
    }
    if (interval) {
        int64_t ms;
        if (tp_parse_duration(interval, &ms) || !tp_interval_name(ms)) {
            fprintf(stderr, "tickpipe query: --interval %s: not one of 1s 5s 10s 15s 30s 1m 5m 15m 30m 1h 4h 1d\n", interval);
            return 2;
        }
        qr.interval = tp_interval_name(ms);
    }
    if (from && tp_parse_time(from, &qr.from)) {
        fprintf(stderr, "tickpipe query: --from %s: expected Unix ms or ISO-8601 UTC (2025-01-10T11:39:00Z)\n", from);
        return 2;
    }
    if (to && tp_parse_time(to, &qr.to)) {
        fprintf(stderr, "tickpipe query: --to %s: expected Unix ms or ISO-8601 UTC (2025-01-10T11:39:00Z)\n", to);
        return 2;
    }
    struct out o = {0, 0, limit};
    if (strcmp(format, "json") == 0) o.json = 1;
    else if (strcmp(format, "csv") != 0) {
        fprintf(stderr, "tickpipe query: --format %s: expected csv or json\n", format);
        return 2;
    }
    if (strncmp(store, "jsonl:", 6) == 0) {
        fprintf(stderr, "tickpipe query: --store %s: a jsonl store cannot be queried; read the file itself\n", store);
        return 2;
    }
    return run_query(store, &qr, &o);
}
