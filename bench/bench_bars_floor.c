/*
 * bench_bars_floor.c - what SQLite itself charges for the bars of issue
 * 12's "12 intervals vs 1" target: a plain C loop writes the rows a store
 * holds (its ticks, and its bars of the intervals asked for) into a fresh
 * file with the store's own schema and pragmas, in transactions of --batch
 * ticks taken in time order, each transaction's rows in key order (bars
 * first, as the store writes them), with prepared statements: ticks one
 * row per statement, bars 16 rows per statement (as the store). Rows are
 * loaded before the clock starts, so only SQLite work is timed.
 *
 * It writes less than `tickpipe run` must, never more: each bar once, in
 * the transaction where its interval (plus the default 10 s lateness)
 * has passed, with no open bar written early and rewritten later; no
 * latest or state rows; no checkpoint during the timed part (the WAL
 * grows). So the ratio of two of its runs (all 12 intervals against 1m)
 * is a lower bound on what the bars add to any store that keeps these
 * tables in SQLite.
 *
 * usage: bench_bars_floor STORE_DB OUT_DB --intervals LIST [--batch N]
 *   STORE_DB  a store written by `tickpipe run` with at least LIST's bars
 * prints: bars_floor intervals=LIST ticks=N bars=M transactions=T seconds=S
 */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/tp_buf.h"
#include "core/tp_intervals.h"
#include "sink/tp_store.h"

#define TICK_COLS 23
#define BAR_COLS 10
#define BARS_PER_STMT 16
#define LATENESS_MS 10000

/* One stored value, typed as SQLite returned it; text and blobs copied. */
struct cell {
    int type;
    int64_t i;
    double d;
    void *p;
    int n;
};

struct row {
    struct cell c[TICK_COLS];   /* bars use the first BAR_COLS */
    int64_t at;                 /* ticks: time; bars: when the bar closes */
    size_t txn;
};

struct rows {
    struct row *v;
    size_t n, cap;
};

static void free_rows(struct rows *rs) {
    for (size_t i = 0; i < rs->n; i++)
        for (int c = 0; c < TICK_COLS; c++)
            free(rs->v[i].c[c].p);
    free(rs->v);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(sqlite3 *db, const char *what) {
    fprintf(stderr, "bench_bars_floor: %s: %s\n", what, db ? sqlite3_errmsg(db) : "out of memory");
    exit(1);
}

static void take(struct cell *c, sqlite3_stmt *st, int col) {
    c->type = sqlite3_column_type(st, col);
    if (c->type == SQLITE_INTEGER)
        c->i = sqlite3_column_int64(st, col);
    else if (c->type == SQLITE_FLOAT)
        c->d = sqlite3_column_double(st, col);
    else if (c->type == SQLITE_TEXT || c->type == SQLITE_BLOB) {
        const void *p = c->type == SQLITE_TEXT ? (const void *)sqlite3_column_text(st, col)
                                               : sqlite3_column_blob(st, col);
        c->n = sqlite3_column_bytes(st, col);
        c->p = malloc((size_t)c->n + 1);
        if (!c->p)
            die(NULL, "load");
        memcpy(c->p, p, (size_t)c->n);
        ((char *)c->p)[c->n] = '\0';
    }
}

static void bind(sqlite3_stmt *st, int col, const struct cell *c) {
    switch (c->type) {
    case SQLITE_INTEGER: sqlite3_bind_int64(st, col, c->i); break;
    case SQLITE_FLOAT: sqlite3_bind_double(st, col, c->d); break;
    case SQLITE_TEXT: sqlite3_bind_text(st, col, c->p, c->n, SQLITE_STATIC); break;
    case SQLITE_BLOB: sqlite3_bind_blob(st, col, c->p, c->n, SQLITE_STATIC); break;
    default: sqlite3_bind_null(st, col); break;
    }
}

static int64_t interval_ms(const char *name) {
    int64_t ms;
    char err[128];
    if (tp_parse_bars(name, &ms, 1, err, sizeof err) != 1) {
        fprintf(stderr, "bench_bars_floor: a stored bar's interval: %s\n", err);
        exit(1);
    }
    return ms;
}

static void load(sqlite3 *db, const char *sql, int ncols, int is_bar, struct rows *out) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        die(db, "read the store");
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (tp_array_grow(&out->v, &out->cap, out->n, sizeof *out->v, 1 << 16))
            die(NULL, "load");
        struct row *r = &out->v[out->n++];
        memset(r, 0, sizeof *r);
        for (int c = 0; c < ncols; c++)
            take(&r->c[c], st, c);
        r->at = is_bar ? r->c[2].i + interval_ms(r->c[1].p) + LATENESS_MS : r->c[1].i;
    }
    sqlite3_finalize(st);
}

static int cmp_at(const void *a, const void *b) {
    const struct row *x = a, *y = b;
    return (x->at > y->at) - (x->at < y->at);
}

static int cmp_cell(const struct cell *a, const struct cell *b) {
    if (a->type == SQLITE_TEXT)
        return tp_bytes_cmp(a->p, (size_t)a->n, b->p, (size_t)b->n);
    return (a->i > b->i) - (a->i < b->i);
}

/* Transaction, then the table's key (its first three columns). */
static int cmp_key(const void *a, const void *b) {
    const struct row *x = a, *y = b;
    if (x->txn != y->txn)
        return x->txn < y->txn ? -1 : 1;
    for (int c = 0; c < 3; c++) {
        int k = cmp_cell(&x->c[c], &y->c[c]);
        if (k)
            return k;
    }
    return 0;
}

/* Ticks in time order, batch ticks a transaction; a bar joins the
 * transaction of the first tick at or after its close, else the last. */
static size_t assign(struct rows *ticks, struct rows *bars, size_t batch) {
    qsort(ticks->v, ticks->n, sizeof *ticks->v, cmp_at);
    for (size_t i = 0; i < ticks->n; i++)
        ticks->v[i].txn = i / batch;
    size_t ntxn = ticks->n ? (ticks->n - 1) / batch + 1 : 1;
    for (size_t i = 0; i < bars->n; i++) {
        size_t lo = 0, hi = ticks->n;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (ticks->v[mid].at < bars->v[i].at)
                lo = mid + 1;
            else
                hi = mid;
        }
        bars->v[i].txn = lo < ticks->n ? ticks->v[lo].txn : ntxn - 1;
    }
    qsort(ticks->v, ticks->n, sizeof *ticks->v, cmp_key);
    qsort(bars->v, bars->n, sizeof *bars->v, cmp_key);
    return ntxn;
}

static void step(sqlite3 *db, sqlite3_stmt *st) {
    if (sqlite3_step(st) != SQLITE_DONE)
        die(db, "insert");
    sqlite3_reset(st);
}

/* Writes the bars of transaction t from *at on, 16 per statement. */
static void write_bars(sqlite3 *db, sqlite3_stmt *many, sqlite3_stmt *one, const struct rows *bars,
                       size_t t, size_t *at) {
    size_t end = *at;
    while (end < bars->n && bars->v[end].txn == t)
        end++;
    size_t i = *at;
    for (; end - i >= BARS_PER_STMT; i += BARS_PER_STMT) {
        for (int k = 0; k < BARS_PER_STMT; k++)
            for (int c = 0; c < BAR_COLS; c++)
                bind(many, k * BAR_COLS + c + 1, &bars->v[i + (size_t)k].c[c]);
        step(db, many);
    }
    for (; i < end; i++) {
        for (int c = 0; c < BAR_COLS; c++)
            bind(one, c + 1, &bars->v[i].c[c]);
        step(db, one);
    }
    *at = end;
}

/* The timed part: a fresh OUT_DB, every transaction written and committed.
 * Returns the seconds it took (under callgrind: --toggle-collect=write_all). */
__attribute__((noinline)) static double write_all(const char *path, const struct rows *ticks, const struct rows *bars,
                        size_t ntxn) {
    char many_sql[64 + BARS_PER_STMT * 24] = "INSERT OR REPLACE INTO bars VALUES ";
    for (int i = 0; i < BARS_PER_STMT; i++)
        strcat(many_sql, i ? ",(?,?,?,?,?,?,?,?,?,?)" : "(?,?,?,?,?,?,?,?,?,?)");
    double t0 = now_s();
    sqlite3 *db;
    sqlite3_stmt *tick, *one, *many;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                        SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
        sqlite3_exec(db, tp_store_sqlite_schema(), NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db, "PRAGMA wal_autocheckpoint=0", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO ticks VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,"
                           "?,?,?,?,?,?,?,?,?,?)", -1, &tick, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO bars VALUES (?,?,?,?,?,?,?,?,?,?)", -1,
                           &one, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, many_sql, -1, &many, NULL) != SQLITE_OK)
        die(db, path);
    size_t at_tick = 0, at_bar = 0;
    for (size_t t = 0; t < ntxn; t++) {
        sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
        write_bars(db, many, one, bars, t, &at_bar);
        for (; at_tick < ticks->n && ticks->v[at_tick].txn == t; at_tick++) {
            for (int c = 0; c < TICK_COLS; c++)
                bind(tick, c + 1, &ticks->v[at_tick].c[c]);
            step(db, tick);
        }
        if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            die(db, "commit");
    }
    sqlite3_finalize(tick);
    sqlite3_finalize(one);
    sqlite3_finalize(many);
    double secs = now_s() - t0;
    sqlite3_close(db);
    return secs;
}

int main(int argc, char **argv) {
    const char *ivals = NULL;
    size_t batch = 65536;
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--intervals") == 0 && i + 1 < argc)
            ivals = argv[++i];
        else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc && atol(argv[i + 1]) > 0)
            batch = (size_t)atol(argv[++i]);
        else
            argc = 0;
    }
    if (argc < 3 || !ivals) {
        fprintf(stderr, "usage: %s STORE_DB OUT_DB --intervals LIST [--batch N]\n", argv[0]);
        return 2;
    }
    sqlite3 *in;
    if (sqlite3_open_v2(argv[1], &in, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        die(in, argv[1]);
    struct rows ticks = {0}, bars = {0};
    load(in, "SELECT * FROM ticks", TICK_COLS, 0, &ticks);
    char *sql = sqlite3_mprintf("SELECT * FROM bars WHERE ',' || %Q || ',' LIKE"
                                " '%%,' || interval || ',%%'", ivals);
    load(in, sql, BAR_COLS, 1, &bars);
    sqlite3_free(sql);
    sqlite3_close(in);
    size_t ntxn = assign(&ticks, &bars, batch);

    double secs = write_all(argv[2], &ticks, &bars, ntxn);
    printf("bars_floor intervals=%s ticks=%zu bars=%zu transactions=%zu seconds=%.3f\n", ivals,
           ticks.n, bars.n, ntxn, secs);
    free_rows(&ticks);
    free_rows(&bars);
    return 0;
}
