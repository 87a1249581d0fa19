/*
 * sqlite.c - the embedded default store: the DESIGN.md tables in one SQLite
 * file (WAL), written in batched transactions that carry the outputs, the
 * processor state and the source checkpoints together.
 *
 * Thread: the processor thread (or the query command). The only file that
 * includes sqlite3.h. Several processes may share one file (Kafka consumer
 * group members): transactions start with BEGIN IMMEDIATE and wait up to
 * busy_timeout for the lock.
 */
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/tp_error.h"
#include "../core/tp_fmt.h"
#include "../source/tp_decode.h"
#include "tp_store.h"

static const char *const schema_sql =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "PRAGMA cache_size=-32768;"
    "CREATE TABLE IF NOT EXISTS ticks (symbol TEXT NOT NULL, time INTEGER NOT NULL,"
    " seq INTEGER NOT NULL, price REAL, cum_avg_price REAL, currency TEXT, exchange TEXT,"
    " quote_type INTEGER, market_hours INTEGER, change_percent REAL, day_volume INTEGER,"
    " day_high REAL, day_low REAL, change REAL, open_price REAL, previous_close REAL,"
    " last_size INTEGER, bid REAL, bid_size INTEGER, ask REAL, ask_size INTEGER,"
    " price_hint INTEGER, payload BLOB, PRIMARY KEY (symbol, time, seq)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS bars (symbol TEXT NOT NULL, interval TEXT NOT NULL,"
    " start INTEGER NOT NULL, open REAL, high REAL, low REAL, close REAL, volume INTEGER,"
    " vwap REAL, count INTEGER, PRIMARY KEY (symbol, interval, start)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS latest (symbol TEXT PRIMARY KEY, time INTEGER, price REAL,"
    " cum_avg_price REAL, count INTEGER);"
    "CREATE TABLE IF NOT EXISTS tp_state (symbol TEXT PRIMARY KEY, state BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS tp_checkpoint (key TEXT PRIMARY KEY, pos INTEGER NOT NULL,"
    " line INTEGER NOT NULL, aux INTEGER NOT NULL DEFAULT 0);";

const char *tp_store_sqlite_schema(void) {
    return schema_sql;
}

enum { S_TICK, S_BAR, S_LATEST, S_STATE, S_CKPT, S_GET_STATE, S_GET_CKPT, S_BEGIN, S_COMMIT,
       S_ROLLBACK, NSTMT };

static const char *const stmt_sql[NSTMT] = {
    "INSERT OR REPLACE INTO ticks VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    "INSERT OR REPLACE INTO bars VALUES (?,?,?,?,?,?,?,?,?,?)",
    "INSERT OR REPLACE INTO latest VALUES (?,?,?,?,?)",
    "INSERT OR REPLACE INTO tp_state VALUES (?,?)",
    "INSERT OR REPLACE INTO tp_checkpoint VALUES (?,?,?,?)",
    "SELECT state FROM tp_state WHERE symbol = ?",
    "SELECT pos, line, aux FROM tp_checkpoint WHERE key = ?",
    "BEGIN IMMEDIATE",
    "COMMIT",
    "ROLLBACK",
};

struct sqlite_store {
    struct tp_store base;
    sqlite3 *db;
    sqlite3_stmt *stmt[NSTMT];
    int in_txn;
};

static int fail(struct sqlite_store *s, const char *what) {
    snprintf(s->base.last_error, sizeof s->base.last_error, "sqlite %s: %s", what,
             sqlite3_errmsg(s->db));
    return TP_ESTORE;
}

/* Runs a statement that returns no rows and resets it. */
static int step_done(struct sqlite_store *s, sqlite3_stmt *st, const char *what) {
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : fail(s, what);
}

static int sq_begin(struct tp_store *b) {
    struct sqlite_store *s = (struct sqlite_store *)b;
    if (s->in_txn)
        return 0;
    int err = step_done(s, s->stmt[S_BEGIN], "begin");
    s->in_txn = err == 0;
    return err;
}

static int sq_commit(struct tp_store *b) {
    struct sqlite_store *s = (struct sqlite_store *)b;
    if (!s->in_txn)
        return 0;
    int err = step_done(s, s->stmt[S_COMMIT], "commit");
    if (err) {
        step_done(s, s->stmt[S_ROLLBACK], "rollback");
    }
    s->in_txn = 0;
    return err;
}

/* Binds quote field f at column col as its stored type, or NULL if absent. */
static void bind_field(sqlite3_stmt *st, int col, const struct tp_quote *q, const uint8_t *payload,
                       int f) {
    if (!tp_quote_has(q, f)) {
        sqlite3_bind_null(st, col);
        return;
    }
    switch (tp_field_type(f)) {
    case TP_FT_FLOAT: sqlite3_bind_double(st, col, q->v[f].f32); break;
    case TP_FT_DOUBLE: sqlite3_bind_double(st, col, q->v[f].f64); break;
    case TP_FT_STRING:
        sqlite3_bind_text(st, col, (const char *)payload + q->v[f].sv.off, q->v[f].sv.len,
                          SQLITE_STATIC);
        break;
    default: sqlite3_bind_int64(st, col, q->v[f].i64); break;
    }
}

/* Quote fields stored in ticks columns 6..22, in column order. */
static const int tick_fields[] = {
    TP_F_CURRENCY, TP_F_EXCHANGE, TP_F_QUOTE_TYPE, TP_F_MARKET_HOURS, TP_F_CHANGE_PERCENT,
    TP_F_DAY_VOLUME, TP_F_DAY_HIGH, TP_F_DAY_LOW, TP_F_CHANGE, TP_F_OPEN_PRICE,
    TP_F_PREVIOUS_CLOSE, TP_F_LAST_SIZE, TP_F_BID, TP_F_BID_SIZE, TP_F_ASK, TP_F_ASK_SIZE,
    TP_F_PRICE_HINT};

static int sq_put_tick(struct tp_store *b, const struct tp_tick_row *t) {
    struct sqlite_store *s = (struct sqlite_store *)b;
    sqlite3_stmt *st = s->stmt[S_TICK];
    sqlite3_bind_text(st, 1, t->symbol, (int)t->symbol_len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, t->time);
    sqlite3_bind_int64(st, 3, t->seq);
    sqlite3_bind_double(st, 4, t->q->v[TP_F_PRICE].f32);
    sqlite3_bind_double(st, 5, t->cum_avg_price);
    for (size_t i = 0; i < sizeof tick_fields / sizeof tick_fields[0]; i++)
        bind_field(st, 6 + (int)i, t->q, t->payload, tick_fields[i]);
    sqlite3_bind_blob(st, 23, t->payload, (int)t->payload_len, SQLITE_STATIC);
    return step_done(s, st, "insert tick");
}

static int sq_put_bar(struct tp_store *b, const struct tp_bar_row *r) {
    struct sqlite_store *s = (struct sqlite_store *)b;
    sqlite3_stmt *st = s->stmt[S_BAR];
    sqlite3_bind_text(st, 1, r->symbol, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, r->interval, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, r->start);
    sqlite3_bind_double(st, 4, r->open);
    sqlite3_bind_double(st, 5, r->high);
    sqlite3_bind_double(st, 6, r->low);
    sqlite3_bind_double(st, 7, r->close);
    sqlite3_bind_int64(st, 8, r->volume);
    if (r->vwap_valid)
        sqlite3_bind_double(st, 9, r->vwap);
    else
        sqlite3_bind_null(st, 9);
    sqlite3_bind_int64(st, 10, r->count);
    return step_done(s, st, "upsert bar");
}

static int sq_put_latest(struct tp_store *b, const struct tp_latest_row *l) {
    struct sqlite_store *s = (struct sqlite_store *)b;
    sqlite3_stmt *st = s->stmt[S_LATEST];
    sqlite3_bind_text(st, 1, l->symbol, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, l->time);
    sqlite3_bind_double(st, 3, l->price);
    sqlite3_bind_double(st, 4, l->cum_avg_price);
    sqlite3_bind_int64(st, 5, l->count);
    return step_done(s, st, "upsert latest");
}

static int sq_put_state(struct tp_store *b, const char *symbol, const void *blob, size_t len) {
    struct sqlite_store *s = (struct sqlite_store *)b;
    sqlite3_stmt *st = s->stmt[S_STATE];
    sqlite3_bind_text(st, 1, symbol, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, blob, (int)len, SQLITE_STATIC);
    return step_done(s, st, "save state");
}

static int sq_put_checkpoint(struct tp_store *b, const struct tp_checkpoint *c) {
    struct sqlite_store *s = (struct sqlite_store *)b;
    sqlite3_stmt *st = s->stmt[S_CKPT];
    sqlite3_bind_text(st, 1, c->key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, c->pos);
    sqlite3_bind_int64(st, 3, c->line);
    sqlite3_bind_int64(st, 4, c->aux);
    return step_done(s, st, "save checkpoint");
}

static int sq_get_state(struct tp_store *b, const char *symbol, void **blob, size_t *len) {
    struct sqlite_store *s = (struct sqlite_store *)b;
    sqlite3_stmt *st = s->stmt[S_GET_STATE];
    sqlite3_bind_text(st, 1, symbol, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st), err = TP_ENOTFOUND;
    if (rc == SQLITE_ROW) {
        int n = sqlite3_column_bytes(st, 0);
        *blob = malloc(n ? (size_t)n : 1);
        if (*blob) {
            memcpy(*blob, sqlite3_column_blob(st, 0), (size_t)n);
            *len = (size_t)n;
            err = 0;
        } else {
            err = TP_ENOMEM;
        }
    } else if (rc != SQLITE_DONE) {
        err = fail(s, "load state");
    }
    sqlite3_reset(st);
    return err;
}

static int sq_get_checkpoint(struct tp_store *b, struct tp_checkpoint *c) {
    struct sqlite_store *s = (struct sqlite_store *)b;
    sqlite3_stmt *st = s->stmt[S_GET_CKPT];
    sqlite3_bind_text(st, 1, c->key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st), err = TP_ENOTFOUND;
    if (rc == SQLITE_ROW) {
        c->pos = sqlite3_column_int64(st, 0);
        c->line = sqlite3_column_int64(st, 1);
        c->aux = sqlite3_column_int64(st, 2);
        err = 0;
    } else if (rc != SQLITE_DONE) {
        err = fail(s, "load checkpoint");
    }
    sqlite3_reset(st);
    return err;
}

/* ---------- query ---------- */

#define QMAXCOLS 32

static int emit_row(sqlite3_stmt *st, tp_query_cb cb, void *opaque, char *space, size_t cap) {
    int n = sqlite3_column_count(st);
    const char *names[QMAXCOLS], *vals[QMAXCOLS];
    int types[QMAXCOLS];
    size_t used = 0;
    if (n > QMAXCOLS)
        n = QMAXCOLS;
    for (int i = 0; i < n; i++) {
        names[i] = sqlite3_column_name(st, i);
        char *dst = space + used;
        size_t room = cap - used;
        switch (sqlite3_column_type(st, i)) {
        case SQLITE_NULL: vals[i] = NULL; types[i] = 0; continue;
        case SQLITE_INTEGER:
            types[i] = 1;
            used += (size_t)snprintf(dst, room, "%lld", (long long)sqlite3_column_int64(st, i)) + 1;
            break;
        case SQLITE_FLOAT:
            types[i] = 2;
            used += (size_t)tp_fmt_double(dst, room, sqlite3_column_double(st, i)) + 1;
            break;
        case SQLITE_BLOB: {
            types[i] = 3;
            int len = sqlite3_column_bytes(st, i);
            if ((size_t)(4 * ((len + 2) / 3) + 1) > room)
                return TP_ENOMEM;
            used += tp_base64_encode(sqlite3_column_blob(st, i), (size_t)len, dst) + 1;
            break;
        }
        default:
            types[i] = 0;
            used += (size_t)snprintf(dst, room, "%s", (const char *)sqlite3_column_text(st, i)) + 1;
            break;
        }
        if (used > cap)
            return TP_ENOMEM;
        vals[i] = dst;
    }
    return cb(opaque, n, names, vals, types);
}

static int sq_query(struct tp_store *b, const struct tp_query *qr, tp_query_cb cb, void *opaque,
                    char *errbuf, size_t errsize) {
    struct sqlite_store *s = (struct sqlite_store *)b;
    static const char ticks_sql[] =
        "SELECT symbol, time, seq, price, cum_avg_price, currency, exchange, quote_type,"
        " market_hours, change_percent, day_volume, day_high, day_low, change, open_price,"
        " previous_close, last_size, bid, bid_size, ask, ask_size, price_hint, payload FROM ticks"
        " WHERE (?1 IS NULL OR symbol = ?1) AND time BETWEEN ?3 AND ?4 ORDER BY symbol, time, seq";
    static const char bars_sql[] =
        "SELECT symbol, interval, start, open, high, low, close, volume, vwap, count FROM bars"
        " WHERE (?1 IS NULL OR symbol = ?1) AND (?2 IS NULL OR interval = ?2)"
        " AND start BETWEEN ?3 AND ?4 ORDER BY symbol, interval, start";
    static const char latest_sql[] =
        "SELECT symbol, time, price, cum_avg_price, count FROM latest"
        " WHERE (?1 IS NULL OR symbol = ?1) AND time BETWEEN ?3 AND ?4 ORDER BY symbol";
    static const char *const base[] = {ticks_sql, bars_sql, latest_sql};
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, base[qr->kind], -1, &st, NULL) != SQLITE_OK)
        return tp_errf(errbuf, errsize, TP_ESTORE, "sqlite query: %s", sqlite3_errmsg(s->db));
    if (qr->symbol)
        sqlite3_bind_text(st, 1, qr->symbol, -1, SQLITE_STATIC);
    if (qr->interval && qr->kind == TP_QUERY_BARS)
        sqlite3_bind_text(st, 2, qr->interval, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, qr->from);
    sqlite3_bind_int64(st, 4, qr->to);
    size_t cap = 1 << 17;
    char *space = malloc(cap);
    int rc = SQLITE_DONE, err = space ? 0 : TP_ENOMEM;
    while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW)
        err = emit_row(st, cb, opaque, space, cap);
    free(space);
    if (!err && rc != SQLITE_DONE)
        err = tp_errf(errbuf, errsize, TP_ESTORE, "sqlite query: %s", sqlite3_errmsg(s->db));
    sqlite3_finalize(st);
    return err < 0 ? err : 0;
}

static void sq_free(struct tp_store *b) {
    struct sqlite_store *s = (struct sqlite_store *)b;
    if (s->in_txn && s->stmt[S_ROLLBACK])
        sqlite3_step(s->stmt[S_ROLLBACK]);
    for (int i = 0; i < NSTMT; i++)
        sqlite3_finalize(s->stmt[i]);
    sqlite3_close(s->db);
    free(s);
}

static const struct tp_store_ops sqlite_ops = {
    "sqlite", sq_begin, sq_put_tick, sq_put_bar, sq_put_latest, sq_put_state, sq_put_checkpoint,
    sq_commit, sq_get_state, sq_get_checkpoint, sq_query, sq_free};

int tp_store_sqlite_open(struct tp_store **out, const char *path, char *errbuf, size_t errsize) {
    *out = NULL;
    struct sqlite_store *s = calloc(1, sizeof *s);
    if (!s)
        return TP_ENOMEM;
    s->base.ops = &sqlite_ops;
    s->base.has_state = 1;
    int err = 0;
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        err = tp_errf(errbuf, errsize, TP_ESTORE, "--store sqlite:%s: cannot open: %s", path,
                      s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(s->db, 30000);
    char *msg = NULL;
    if (sqlite3_exec(s->db, schema_sql, NULL, NULL, &msg) != SQLITE_OK) {
        err = tp_errf(errbuf, errsize, TP_ESTORE, "--store sqlite:%s: cannot create tables: %s",
                      path, msg ? msg : sqlite3_errmsg(s->db));
        sqlite3_free(msg);
        goto fail;
    }
    for (int i = 0; i < NSTMT; i++)
        if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[i],
                               NULL) != SQLITE_OK) {
            err = tp_errf(errbuf, errsize, TP_ESTORE,
                          "--store sqlite:%s: the file has an incompatible schema: %s", path,
                          sqlite3_errmsg(s->db));
            goto fail;
        }
    *out = &s->base;
    return 0;
fail:
    sq_free(&s->base);
    return err;
}

/* A second, read-only connection for readers beside the writer (the HTTP
 * API): in WAL mode it never blocks the writer nor waits for it. Only
 * query() and free() may be called on it. */
int tp_store_sqlite_open_reader(struct tp_store **out, const char *path, char *errbuf,
                                size_t errsize) {
    *out = NULL;
    struct sqlite_store *s = calloc(1, sizeof *s);
    if (!s)
        return TP_ENOMEM;
    s->base.ops = &sqlite_ops;
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        int err = tp_errf(errbuf, errsize, TP_ESTORE, "--store sqlite:%s: cannot open to read: %s",
                          path, s->db ? sqlite3_errmsg(s->db) : "out of memory");
        sq_free(&s->base);
        return err;
    }
    sqlite3_busy_timeout(s->db, 5000);
    *out = &s->base;
    return 0;
}
