/*
 * cmd_query.c - `tickpipe query`: reads ticks, bars or latest back from a
 * store and prints them as CSV (header line first) or as a JSON array with
 * one object per line. NULL is an empty CSV field and JSON null; the
 * payload column prints as base64. The rows and their format come from
 * sink/query_out.c, which the HTTP API shares.
 *
 * The store is opened read-only and never created. The header line is
 * printed even when no row matches. A failed write to stdout (disk full,
 * a closed pipe: SIGPIPE is ignored by main.c) stops the query at once and
 * exits 1.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "../core/tp_error.h"
#include "../sink/tp_query_out.h"
#include "../sink/tp_store.h"
#include "tp_cmd.h"
#include "tp_opts.h"

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
        return rc == TP_OPTS_DONE ? 0 : 2;
    if (npos != 1) {
        fprintf(stderr, "tickpipe query: say what to read: ticks, bars, latest or gaps\n");
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
    int err = tp_store_open_readonly(&st, store, errbuf, sizeof errbuf);
    if (err) {
        fprintf(stderr, "tickpipe query: %s\n", errbuf);
        return err == TP_EINVAL ? 2 : 1;
    }
    err = tp_query_write(st, &qr, json, limit, stdout, errbuf, sizeof errbuf);
    tp_store_free(st);
    if (err && err != TP_ECLOSED) /* a closed pipe is no news to who closed it */
        fprintf(stderr, "tickpipe query: %s\n", errbuf);
    return err ? 1 : 0;
}
