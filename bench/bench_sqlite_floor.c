/*
 * bench_sqlite_floor.c - the floor SQLite itself sets for benchmark (a):
 * a plain C loop inserting one row per frame into the very same ticks
 * table (same pragmas, same schema, same columns and values, the same
 * commit every 8192 rows) with one prepared statement. Frames are decoded
 * before the clock starts, so only SQLite work is timed.
 *
 * usage: bench_sqlite_floor FRAMES_FILE DB_PATH
 * prints: floor rows=N seconds=S rows_per_s=R
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sink/tp_store.h"
#include "codec/tp_decode.h"

struct row {
    struct tp_quote q;
    uint8_t *payload;
    size_t len;
};

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
    if (argc != 3) {
        fprintf(stderr, "usage: %s FRAMES_FILE DB_PATH\n", argv[0]);
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
        n++;
    }
    fclose(f);
    free(line);

    static const int cols[] = {TP_F_CURRENCY, TP_F_EXCHANGE, TP_F_QUOTE_TYPE, TP_F_MARKET_HOURS,
                               TP_F_CHANGE_PERCENT, TP_F_DAY_VOLUME, TP_F_DAY_HIGH, TP_F_DAY_LOW,
                               TP_F_CHANGE, TP_F_OPEN_PRICE, TP_F_PREVIOUS_CLOSE, TP_F_LAST_SIZE,
                               TP_F_BID, TP_F_BID_SIZE, TP_F_ASK, TP_F_ASK_SIZE, TP_F_PRICE_HINT};
    double t0 = now_s();
    sqlite3 *db;
    if (sqlite3_open(argv[2], &db) != SQLITE_OK ||
        sqlite3_exec(db, tp_store_sqlite_schema(), NULL, NULL, NULL) != SQLITE_OK) {
        fprintf(stderr, "floor: %s\n", sqlite3_errmsg(db));
        return 1;
    }
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db, "INSERT INTO ticks VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                       -1, &st, NULL);
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    for (size_t i = 0; i < n; i++) {
        const struct row *r = &rows[i];
        const struct tp_quote *q = &r->q;
        sqlite3_bind_text(st, 1, (const char *)r->payload + q->v[TP_F_ID].sv.off, q->v[TP_F_ID].sv.len, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, q->v[TP_F_TIME].i64);
        sqlite3_bind_int64(st, 3, (int64_t)i + 1);
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
        if ((i + 1) % 8192 == 0) {
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
