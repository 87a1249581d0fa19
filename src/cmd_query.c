/*
 * cmd_query.c - `tickpipe query`: reads ticks, bars or latest back from a
 * store and prints them as CSV (header line first) or as a JSON array with
 * one object per line. NULL is an empty CSV field and JSON null; the
 * payload column prints as base64. The rows and their format come from
 * sink/query_out.c, which the HTTP API shares.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "core/tp_error.h"
#include "core/tp_opts.h"
#include "sink/tp_query_out.h"
#include "sink/tp_store.h"
#include "tp_cmd.h"

int tp_cmd_query(int argc, char **argv) {
    const char *store = NULL, *symbol = NULL, *interval = NULL, *from = NULL, *to = NULL;
    const char *format = NULL;
    int64_t limit = 0;
    const struct tp_opt table[] = {
        {"store", TP_OPT_STR, &store, "sqlite:tickpipe.db", "STORE", "the store to read (sqlite:PATH or cassandra://...)", 0, 0},
        {"symbol", TP_OPT_STR, &symbol, NULL, "S", "only this symbol", 0, 0},
        {"interval", TP_OPT_STR, &interval, NULL, "I", "bars: only this interval (1m, 5m, ...)", 0, 0},
        {"from", TP_OPT_STR, &from, NULL, "T", "from this time, inclusive (Unix ms or ISO-8601 UTC)", 0, 0},
        {"to", TP_OPT_STR, &to, NULL, "T", "up to this time, inclusive (Unix ms or ISO-8601 UTC)", 0, 0},
        {"format", TP_OPT_STR, &format, "csv", "csv|json", "output format", 0, 0},
        {"limit", TP_OPT_INT, &limit, "0", "N", "print at most N rows (0 = all)", 0, 1e15},
        {NULL, 0, NULL, NULL, NULL, NULL, 0, 0}};
    const char *pos[2];
    int npos = 0;
    int rc = tp_opts_parse("query", "--store STORE (ticks|bars|latest) [options]",
                           "Reads stored ticks, bars or latest quotes back, as CSV or JSON.", table,
                           argc, argv, pos, 1, &npos);
    if (rc)
        return rc == 1 ? 0 : 2;
    if (npos != 1) {
        fprintf(stderr, "tickpipe query: say what to read: ticks, bars or latest\n");
        return 2;
    }
    char errbuf[512] = "";
    struct tp_query qr;
    if (tp_query_params(&qr, pos[0], symbol, interval, from, to, "--", errbuf, sizeof errbuf)) {
        fprintf(stderr, "tickpipe query: %s\n", errbuf);
        return 2;
    }
    int json = 0;
    if (strcmp(format, "json") == 0) json = 1;
    else if (strcmp(format, "csv") != 0) {
        fprintf(stderr, "tickpipe query: --format %s: expected csv or json\n", format);
        return 2;
    }
    if (strncmp(store, "jsonl:", 6) == 0) {
        fprintf(stderr, "tickpipe query: --store %s: a jsonl store cannot be queried; read the file itself\n", store);
        return 2;
    }
    struct tp_store *st = NULL;
    int err = tp_store_open(&st, store, errbuf, sizeof errbuf);
    if (err) {
        fprintf(stderr, "tickpipe query: %s\n", errbuf);
        return err == TP_EINVAL ? 2 : 1;
    }
    err = tp_query_write(st, &qr, json, limit, stdout, errbuf, sizeof errbuf);
    tp_store_free(st);
    if (err) {
        fprintf(stderr, "tickpipe query: %s\n", errbuf);
        return 1;
    }
    return 0;
}
