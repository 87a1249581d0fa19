/*
 * bench_sqlite_floor.c - the floor SQLite itself sets for benchmark (a):
 * a plain C loop inserting one row per frame into the very same ticks
 * table (same pragmas, same schema, same columns and values, the same
 * commit every 8192 rows) with one prepared statement. Frames are decoded
 * before the clock starts, so only SQLite work is timed.
 *
 * "The same table" is the ticks table as it was before issue 12 (a WITHOUT
 * ROWID table keyed by symbol, time, seq, with the pragmas of that time),
 * frozen here so that the floor does not move when the store's layout does.
 * Options try the levers issue 12 measured, one at a time or together:
 *   --rowid     a rowid table with the key as its (automatic) unique index
 *   --txn N     N rows per transaction instead of 8192
 *   --sorted    each transaction's rows inserted in key order
 *   --tuned     memory statistics, secure_delete off (as the store now runs)
 *
 * usage: bench_sqlite_floor FRAMES_FILE DB_PATH [--rowid] [--txn N] [--sorted] [--tuned]
 * prints: floor rows=N seconds=S rows_per_s=R
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec/tp_decode.h"

/* Today's ticks table (before issue 12) and its pragmas, verbatim. */
#define TODAY_PRAGMAS \
    "PRAGMA journal_mode=WAL;" \
    "PRAGMA synchronous=NORMAL;" \
    "PRAGMA cache_size=-32768;"
#define TICKS_COLUMNS \
    "CREATE TABLE IF NOT EXISTS ticks (symbol TEXT NOT NULL, time INTEGER NOT NULL," \
    " seq INTEGER NOT NULL, price REAL, cum_avg_price REAL, currency TEXT, exchange TEXT," \
    " quote_type INTEGER, market_hours INTEGER, change_percent REAL, day_volume INTEGER," \
    " day_high REAL, day_low REAL, change REAL, open_price REAL, previous_close REAL," \
    " last_size INTEGER, bid REAL, bid_size INTEGER, ask REAL, ask_size INTEGER," \
    " price_hint INTEGER, payload BLOB, PRIMARY KEY (symbol, time, seq))"

struct row {
    struct tp_quote q;
    uint8_t *payload;
    size_t len;
    int64_t seq;
};

static int cmp_key(const void *a, const void *b) {
    const struct row *x = a, *y = b;
    tp_sv sx = x->q.v[TP_F_ID].sv, sy = y->q.v[TP_F_ID].sv;
    size_t n = sx.len < sy.len ? sx.len : sy.len;
    int c = memcmp(x->payload + sx.off, y->payload + sy.off, n);
    if (c || sx.len != sy.len)
        return c ? c : (sx.len < sy.len ? -1 : 1);
    int64_t tx = x->q.v[TP_F_TIME].i64, ty = y->q.v[TP_F_TIME].i64;
    if (tx != ty)
        return tx < ty ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void bind_opt(sqlite3_stmt *st, int col, const struct row *r, int f) {
    const struct tp_quote *q = &r->q;
    if (!tp_quote_has(q, f))
        sqlite3_bind_null(st, col);
    else if (tp_field_type(f) == TP_FT_FLOAT)
        sqlite3_bind_double(st, col, q->v[f].f32);
    else if (tp_field_type(f) == TP_FT_STRING)
        sqlite3_bind_text(st, col, (const char *)r->payload + q->v[f].sv.off, q->v[f].sv.len, SQLITE_STATIC);
    else
        sqlite3_bind_int64(st, col, q->v[f].i64);
}

int main(int argc, char **argv) {
    int rowid = 0, sorted = 0, tuned = 0;
    size_t txn = 8192;
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--rowid") == 0)
            rowid = 1;
        else if (strcmp(argv[i], "--sorted") == 0)
            sorted = 1;
        else if (strcmp(argv[i], "--tuned") == 0)
            tuned = 1;
        else if (strcmp(argv[i], "--txn") == 0 && i + 1 < argc && atol(argv[i + 1]) > 0)
            txn = (size_t)atol(argv[++i]);
        else
            argc = 0;
    }
    if (argc < 3) {
        fprintf(stderr, "usage: %s FRAMES_FILE DB_PATH [--rowid] [--txn N] [--sorted] [--tuned]\n",
                argv[0]);
        return 2;
    }
    FILE *f = fopen(argv[1], "r");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    size_t n = 0, cap = 1 << 16;
    struct row *rows = malloc(cap * sizeof *rows);
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    uint8_t buf[TP_PAYLOAD_MAX];
    while ((len = getline(&line, &lcap, f)) > 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        const char *frame;
        size_t flen, plen;
        const char *reason;
        tp_decode_split_recv_time(line, (size_t)len, &frame, &flen);
        if (n == cap)
            rows = realloc(rows, (cap *= 2) * sizeof *rows);
        if (tp_decode_frame(frame, flen, buf, &plen, &rows[n].q, &reason) != TP_DECODE_OK)
            continue;
        rows[n].payload = malloc(plen);
        memcpy(rows[n].payload, buf, plen);
        rows[n].len = plen;
        rows[n].seq = (int64_t)n + 1;
        n++;
    }
    fclose(f);
    free(line);

    static const int cols[] = {TP_F_CURRENCY, TP_F_EXCHANGE, TP_F_QUOTE_TYPE, TP_F_MARKET_HOURS,
                               TP_F_CHANGE_PERCENT, TP_F_DAY_VOLUME, TP_F_DAY_HIGH, TP_F_DAY_LOW,
                               TP_F_CHANGE, TP_F_OPEN_PRICE, TP_F_PREVIOUS_CLOSE, TP_F_LAST_SIZE,
                               TP_F_BID, TP_F_BID_SIZE, TP_F_ASK, TP_F_ASK_SIZE, TP_F_PRICE_HINT};
    if (tuned)
        sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    double t0 = now_s();
    sqlite3 *db;
    const char *schema = rowid ? TODAY_PRAGMAS TICKS_COLUMNS ";"
                               : TODAY_PRAGMAS TICKS_COLUMNS " WITHOUT ROWID;";
    if (sqlite3_open(argv[2], &db) != SQLITE_OK ||
        sqlite3_exec(db, schema, NULL, NULL, NULL) != SQLITE_OK ||
        (tuned && sqlite3_exec(db, "PRAGMA secure_delete=OFF;", NULL, NULL, NULL) != SQLITE_OK)) {
        fprintf(stderr, "floor: %s\n", sqlite3_errmsg(db));
        return 1;
    }
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db, "INSERT INTO ticks VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                       -1, &st, NULL);
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    for (size_t i = 0; i < n; i++) {
        if (sorted && i % txn == 0)
            qsort(rows + i, n - i < txn ? n - i : txn, sizeof *rows, cmp_key);
        const struct row *r = &rows[i];
        const struct tp_quote *q = &r->q;
        sqlite3_bind_text(st, 1, (const char *)r->payload + q->v[TP_F_ID].sv.off, q->v[TP_F_ID].sv.len, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, q->v[TP_F_TIME].i64);
        sqlite3_bind_int64(st, 3, r->seq);
        sqlite3_bind_double(st, 4, q->v[TP_F_PRICE].f32);
        sqlite3_bind_double(st, 5, q->v[TP_F_PRICE].f32);
        for (int c = 0; c < 17; c++)
            bind_opt(st, 6 + c, r, cols[c]);
        sqlite3_bind_blob(st, 23, r->payload, (int)r->len, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) {
            fprintf(stderr, "floor: insert: %s\n", sqlite3_errmsg(db));
            return 1;
        }
        sqlite3_reset(st);
        if ((i + 1) % txn == 0) {
            sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
            sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
        }
    }
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sqlite3_finalize(st);
    sqlite3_close(db);
    double secs = now_s() - t0;
    printf("floor rows=%zu seconds=%.3f rows_per_s=%.0f\n", n, secs, (double)n / secs);
    for (size_t i = 0; i < n; i++)
        free(rows[i].payload);
    free(rows);
    return 0;
}
