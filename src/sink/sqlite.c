/*
 * sqlite.c - the embedded default store: the DESIGN.md tables in one SQLite
 * file (WAL), written in batched transactions that carry the outputs, the
 * processor state and the source checkpoints together.
 *
 * Thread: the processor thread (or the query command). The only file that
 * includes sqlite3.h. Several processes may share one file (Kafka consumer
 * group members), so no write lock is held across a wait: ticks, bars,
 * latest and state rows put between commits are held in memory (copied),
 * and the write transaction (BEGIN IMMEDIATE, waiting up to busy_timeout
 * for the lock) only opens when the processor writes its checkpoints right
 * before commit(). A stopped or slow member therefore blocks the others at
 * most for the length of one commit.
 *
 * Layout and write order, chosen by measurement (bench/RESULTS.md, issue
 * 12): ticks is a rowid table whose key (symbol, time, seq) is its unique
 * index, so rows append to the table and only the small index entries land
 * between the symbols' earlier ones; held rows are written sorted by key, so
 * each batch walks every B-tree once from left to right. Stores made before
 * (a WITHOUT ROWID ticks table) open and work as they are.
 *
 * Checkpoints: a writer copies the WAL back into the database on its own
 * checkpoint thread, with a connection of its own (wal_autocheckpoint is
 * off on the writer's connection). After each commit the WAL hook (on the
 * processor thread) only wakes that thread once the WAL holds
 * CHECKPOINT_PAGES pages; the thread runs a PASSIVE checkpoint, which waits
 * for no reader or writer, so the processor never fsyncs the database file,
 * and SQLite restarts the WAL from its start at the next write transaction
 * once a checkpoint has copied all of it. A writer with a backlog begins
 * its next transaction before the checkpoint of its last commit is done,
 * so that never happened and the WAL grew with the backlog (440 MB for a
 * 354 MB replay): once the WAL holds WAL_BOUND_PAGES, the writer waits for
 * the checkpoint under way before it begins (bound_wal()).
 *
 * Fencing: tp_owner holds an ownership epoch per Kafka partition. claim()
 * moves it forward in its own transaction; a checkpoint put with a fence
 * checks, inside the write transaction, that the epoch is still the
 * writer's and that the position does not move backwards, else the whole
 * transaction is rolled back and TP_EFENCED returned: a member whose
 * partitions moved on can never change the store again.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/tp_buf.h"
#include "../core/tp_clock.h"
#include "../core/tp_error.h"
#include "../core/tp_fmt.h"
#include "../codec/tp_decode.h"
#include "bar_hold.h"
#include "store_int.h"

/* How long a writer waits for another one's lock (commits are short). */
#define BUSY_TIMEOUT_MS 30000

/* Connection settings, run outside any transaction. */
#define PRAGMA_SQL \
    "PRAGMA journal_mode=WAL;" \
    "PRAGMA synchronous=NORMAL;" \
    "PRAGMA cache_size=-32768;" \
    "PRAGMA secure_delete=OFF;" \
    "PRAGMA journal_size_limit=134217728;"

#define SCHEMA_SQL \
    "CREATE TABLE IF NOT EXISTS ticks (symbol TEXT NOT NULL, time INTEGER NOT NULL," \
    " seq INTEGER NOT NULL, price REAL, cum_avg_price REAL, currency TEXT, exchange TEXT," \
    " quote_type INTEGER, market_hours INTEGER, change_percent REAL, day_volume INTEGER," \
    " day_high REAL, day_low REAL, change REAL, open_price REAL, previous_close REAL," \
    " last_size INTEGER, bid REAL, bid_size INTEGER, ask REAL, ask_size INTEGER," \
    " price_hint INTEGER, payload BLOB, PRIMARY KEY (symbol, time, seq));" \
    "CREATE TABLE IF NOT EXISTS bars (symbol TEXT NOT NULL, interval TEXT NOT NULL," \
    " start INTEGER NOT NULL, open REAL, high REAL, low REAL, close REAL, volume INTEGER," \
    " vwap REAL, count INTEGER, PRIMARY KEY (symbol, interval, start)) WITHOUT ROWID;" \
    "CREATE TABLE IF NOT EXISTS latest (symbol TEXT PRIMARY KEY, time INTEGER, price REAL," \
    " cum_avg_price REAL, count INTEGER);" \
    "CREATE TABLE IF NOT EXISTS tp_state (symbol TEXT PRIMARY KEY, state BLOB NOT NULL);" \
    "CREATE TABLE IF NOT EXISTS tp_checkpoint (key TEXT PRIMARY KEY, pos INTEGER NOT NULL," \
    " line INTEGER NOT NULL, aux INTEGER NOT NULL DEFAULT 0);" \
    "CREATE TABLE IF NOT EXISTS tp_owner (key TEXT PRIMARY KEY, epoch INTEGER NOT NULL," \
    " owner TEXT NOT NULL, since INTEGER NOT NULL);" \
    "CREATE TABLE IF NOT EXISTS tp_loss (key TEXT NOT NULL, from_pos INTEGER NOT NULL," \
    " to_pos INTEGER NOT NULL, detected INTEGER NOT NULL, reason TEXT NOT NULL," \
    " PRIMARY KEY (key, from_pos));" \
    "CREATE TABLE IF NOT EXISTS gaps (symbol TEXT NOT NULL, start INTEGER NOT NULL," \
    " stop INTEGER NOT NULL, reason TEXT NOT NULL, PRIMARY KEY (symbol, start)) WITHOUT ROWID;"

static const char *const pragma_sql = PRAGMA_SQL;
static const char *const schema_sql = SCHEMA_SQL;

const char *tp_store_sqlite_schema(void) {
    return PRAGMA_SQL SCHEMA_SQL;
}

enum { S_TICK, S_BAR, S_LATEST, S_STATE, S_CKPT, S_GET_STATE, S_GET_CKPT, S_BEGIN, S_COMMIT,
       S_ROLLBACK, S_GET_EPOCH, S_CLAIM, S_LOSS, S_GAP, S_BAR_MANY, NSTMT };

/* Bars written by one statement of S_BAR_MANY (its SQL is made at open). */
#define BARS_PER_STMT 16

static const char *const stmt_sql[NSTMT] = {
    "INSERT OR REPLACE INTO ticks VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    "INSERT OR REPLACE INTO bars VALUES (?,?,?,?,?,?,?,?,?,?)",
    "INSERT INTO latest VALUES (?1,?2,?3,?4,?5) ON CONFLICT (symbol) DO UPDATE SET"
    " time = ?2, price = ?3, cum_avg_price = ?4, count = ?5",
    "INSERT INTO tp_state VALUES (?1,?2) ON CONFLICT (symbol) DO UPDATE SET state = ?2",
    "INSERT OR REPLACE INTO tp_checkpoint VALUES (?,?,?,?)",
    "SELECT state FROM tp_state WHERE symbol = ?",
    "SELECT pos, line, aux FROM tp_checkpoint WHERE key = ?",
    "BEGIN IMMEDIATE",
    "COMMIT",
    "ROLLBACK",
    "SELECT epoch FROM tp_owner WHERE key = ?",
    ("INSERT INTO tp_owner VALUES (?1, 1, ?2, ?3) ON CONFLICT (key) DO UPDATE SET"
     " epoch = epoch + 1, owner = ?2, since = ?3"),
    "INSERT OR REPLACE INTO tp_loss VALUES (?,?,?,?,?)",
    "INSERT OR REPLACE INTO gaps VALUES (?,?,?,?)",
    NULL,   /* S_BAR_MANY: S_BAR with BARS_PER_STMT rows of values */
};

/* Quote fields stored in ticks columns 6..22, in column order. */
static const int tick_fields[] = {
    TP_F_CURRENCY, TP_F_EXCHANGE, TP_F_QUOTE_TYPE, TP_F_MARKET_HOURS, TP_F_CHANGE_PERCENT,
    TP_F_DAY_VOLUME, TP_F_DAY_HIGH, TP_F_DAY_LOW, TP_F_CHANGE, TP_F_OPEN_PRICE,
    TP_F_PREVIOUS_CLOSE, TP_F_LAST_SIZE, TP_F_BID, TP_F_BID_SIZE, TP_F_ASK, TP_F_ASK_SIZE,
    TP_F_PRICE_HINT};
#define NTICK_FIELDS (sizeof tick_fields / sizeof tick_fields[0])

/* A tick row held until the write transaction opens: the quote values the
 * table needs, with strings and payload copied into the arena. */
struct held_tick {
    int64_t time, seq;
    double price, cum_avg_price;
    uint32_t present;                   /* bit i: tick_fields[i] is set */
    size_t symbol, symbol_len, payload, payload_len;   /* arena offsets */
    union { float f32; double f64; int64_t i64; tp_sv sv; } v[NTICK_FIELDS];
};

struct held_latest {
    struct tp_latest_row r;
    size_t symbol, symbol_len;          /* arena offset */
};

struct held_state {
    size_t symbol, symbol_len, blob, blob_len;   /* arena offsets */
};

/* A held row's place in the key order of its table: symbol, then two
 * integers (time and seq; interval rank and start). The symbol's first
 * eight bytes, big-endian, decide most comparisons. */
struct sort_key {
    uint64_t prefix;
    const char *sym;
    size_t sym_len;
    int64_t k1, k2;
    size_t idx;                         /* position in the held array */
};

/* The checkpoint thread of a writing store and what it shares with the
 * processor thread (under mu). */
struct checkpointer {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    sqlite3 *db;                        /* the thread's own connection */
    int wanted, stop, started;
    int running;                        /* a checkpoint is under way */
    int wal_pages;                      /* WAL pages after the last commit (writer's thread) */
    int may_wait;                       /* restart_busy() may wait (checkpoint thread only) */
    int64_t runs;                       /* checkpoints run (for tests and logs) */
};

struct sqlite_store {
    struct tp_store base;
    sqlite3 *db;
    struct checkpointer *ckpt;          /* NULL for a read-only store */
    sqlite3_stmt *stmt[NSTMT];
    int in_txn;                         /* the write transaction is open */
    struct held_tick *ticks;
    size_t nticks, cap_ticks;
    struct tp_bar_hold *bars;
    struct held_latest *latest;
    size_t nlatest, cap_latest;
    struct held_state *states;
    size_t nstates, cap_states;
    struct sort_key *keys;
    size_t cap_keys;
    struct tp_buf arena;                /* the held rows' strings and blobs */
};

/* Names the cause: SQLite's message ("database or disk is full",
 * "attempt to write a readonly database", "database is locked"), and for
 * I/O errors the system's reason ("No space left on device"), read from
 * errno right after the failed call. */
static int fail(struct sqlite_store *s, const char *what) {
    int os_errno = errno;   /* SQLite often loses it (sqlite3_system_errno() is 0) */
    int code = sqlite3_errcode(s->db), sys = sqlite3_system_errno(s->db);
    if (!sys)
        sys = os_errno;
    int io = code == SQLITE_IOERR || code == SQLITE_FULL || code == SQLITE_CANTOPEN;
    snprintf(s->base.last_error, sizeof s->base.last_error, "sqlite %s: %s%s%s%s", what,
             sqlite3_errmsg(s->db), io && sys ? " (" : "", io && sys ? strerror(sys) : "",
             io && sys ? ")" : "");
    return TP_ESTORE;
}

/* Runs a statement that returns no rows and resets it. */
static int step_done(struct sqlite_store *s, sqlite3_stmt *st, const char *what) {
    int rc = sqlite3_step(st);
    int err = rc == SQLITE_DONE ? 0 : fail(s, what);   /* before reset: keeps the OS error */
    sqlite3_reset(st);
    return err;
}

/* Forgets the held rows of every table (written, or given up). */
static void forget_held(struct sqlite_store *s) {
    s->nticks = s->nlatest = s->nstates = 0;
    s->arena.len = 0;
    s->arena.oom = 0;
    tp_bar_hold_clear(s->bars);
}

/* Drops the held rows and any open write transaction. */
static void discard(struct sqlite_store *s) {
    if (s->in_txn)
        step_done(s, s->stmt[S_ROLLBACK], "rollback");
    s->in_txn = 0;
    forget_held(s);
}

/* A batch begins without touching the file: see open_txn(). */
static int sq_begin(struct tp_store *b) {
    (void)b;
    return 0;
}

/* Copies len bytes and a NUL into the arena; returns their offset or -1. */
static ptrdiff_t arena_copy(struct sqlite_store *s, const void *p, size_t len) {
    struct tp_buf *a = &s->arena;
    if (tp_buf_reserve(a, len + 1))
        return -1;
    size_t off = a->len;
    memcpy(a->p + off, p, len);
    a->p[off + len] = '\0';
    a->len += len + 1;
    return (ptrdiff_t)off;
}

/* The held bytes at arena offset off. */
static const char *arena_at(const struct sqlite_store *s, size_t off) {
    return (const char *)s->arena.p + off;
}

/* Grows an array of held rows (n of them) to hold one more. */
static int grow(void *arr, size_t *cap, size_t n, size_t sz) {
    return tp_array_grow(arr, cap, n, sz, 1024);
}

static int hold_tick(struct sqlite_store *s, const struct tp_tick_row *t) {
    if (grow(&s->ticks, &s->cap_ticks, s->nticks, sizeof *s->ticks))
        return TP_ENOMEM;
    struct held_tick *h = &s->ticks[s->nticks];
    ptrdiff_t sym = arena_copy(s, t->symbol, t->symbol_len);
    ptrdiff_t pay = arena_copy(s, t->payload, t->payload_len);
    if (sym < 0 || pay < 0)
        return TP_ENOMEM;
    *h = (struct held_tick){.time = t->time, .seq = t->seq, .price = t->q->v[TP_F_PRICE].f32,
                            .cum_avg_price = t->cum_avg_price, .symbol = (size_t)sym,
                            .symbol_len = t->symbol_len, .payload = (size_t)pay,
                            .payload_len = t->payload_len};
    for (size_t i = 0; i < NTICK_FIELDS; i++)
        if (tp_quote_has(t->q, tick_fields[i])) {
            h->present |= 1u << i;
            memcpy(&h->v[i], &t->q->v[tick_fields[i]], sizeof h->v[i]);
        }
    s->nticks++;
    return 0;
}

/* Binds held field i at column col as its stored type, or NULL if absent. */
static void bind_held(sqlite3_stmt *st, int col, const struct held_tick *h, const char *payload,
                      size_t i) {
    if (!(h->present & (1u << i))) {
        sqlite3_bind_null(st, col);
        return;
    }
    switch (tp_field_type(tick_fields[i])) {
    case TP_FT_FLOAT: sqlite3_bind_double(st, col, h->v[i].f32); break;
    case TP_FT_DOUBLE: sqlite3_bind_double(st, col, h->v[i].f64); break;
    case TP_FT_STRING:
        sqlite3_bind_text(st, col, payload + h->v[i].sv.off, h->v[i].sv.len, SQLITE_STATIC);
        break;
    default: sqlite3_bind_int64(st, col, h->v[i].i64); break;
    }
}

static int write_tick(struct sqlite_store *s, const struct held_tick *h) {
    sqlite3_stmt *st = s->stmt[S_TICK];
    const char *payload = arena_at(s, h->payload);
    sqlite3_bind_text(st, 1, arena_at(s, h->symbol), (int)h->symbol_len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, h->time);
    sqlite3_bind_int64(st, 3, h->seq);
    sqlite3_bind_double(st, 4, h->price);
    sqlite3_bind_double(st, 5, h->cum_avg_price);
    for (size_t i = 0; i < NTICK_FIELDS; i++)
        bind_held(st, 6 + (int)i, h, payload, i);
    sqlite3_bind_blob(st, 23, payload, (int)h->payload_len, SQLITE_STATIC);
    return step_done(s, st, "insert tick");
}

static int write_bar(struct sqlite_store *s, const struct tp_bar_row *r);
static void bind_bar(sqlite3_stmt *st, int at, const struct tp_bar_row *r);
static int write_latest(struct sqlite_store *s, const struct tp_latest_row *l);
static int write_state(struct sqlite_store *s, const char *symbol, const void *blob, size_t len);

static int cmp_key(const void *a, const void *b) {
    const struct sort_key *x = a, *y = b;
    if (x->prefix != y->prefix)
        return x->prefix < y->prefix ? -1 : 1;
    if (x->sym_len > 8 || y->sym_len > 8) {
        size_t n = x->sym_len < y->sym_len ? x->sym_len : y->sym_len;
        int c = n > 8 ? memcmp(x->sym + 8, y->sym + 8, n - 8) : 0;
        if (c)
            return c;
    }
    if (x->sym_len != y->sym_len)
        return x->sym_len < y->sym_len ? -1 : 1;
    if (x->k1 != y->k1)
        return x->k1 < y->k1 ? -1 : 1;
    if (x->k2 != y->k2)
        return x->k2 < y->k2 ? -1 : 1;
    return (x->idx > y->idx) - (x->idx < y->idx);   /* stable: the last put wins */
}

/* Fills s->keys[0..n) for n held rows and sorts them by key. */
static int sort_keys(struct sqlite_store *s, size_t n,
                     void (*fill)(const struct sqlite_store *, size_t, struct sort_key *)) {
    if (n == 0)
        return 0;   /* s->keys may still be NULL: qsort must not see it */
    if (n > s->cap_keys) {
        struct sort_key *k = realloc(s->keys, n * sizeof *k);
        if (!k)
            return TP_ENOMEM;
        s->keys = k;
        s->cap_keys = n;
    }
    for (size_t i = 0; i < n; i++) {
        struct sort_key *k = &s->keys[i];
        fill(s, i, k);
        k->prefix = tp_bytes_prefix(k->sym, k->sym_len);
        k->idx = i;
    }
    qsort(s->keys, n, sizeof *s->keys, cmp_key);
    return 0;
}

static void key_tick(const struct sqlite_store *s, size_t i, struct sort_key *k) {
    const struct held_tick *h = &s->ticks[i];
    *k = (struct sort_key){.sym = arena_at(s, h->symbol), .sym_len = h->symbol_len,
                           .k1 = h->time, .k2 = h->seq};
}

static void key_latest(const struct sqlite_store *s, size_t i, struct sort_key *k) {
    *k = (struct sort_key){.sym = arena_at(s, s->latest[i].symbol),
                           .sym_len = s->latest[i].symbol_len};
}

static void key_state(const struct sqlite_store *s, size_t i, struct sort_key *k) {
    *k = (struct sort_key){.sym = arena_at(s, s->states[i].symbol),
                           .sym_len = s->states[i].symbol_len};
}

/* Writes the held bars in key order: BARS_PER_STMT per statement while
 * that many are left (bars are small rows: the statement's own cost
 * counts), the rest one by one. */
static int write_held_bars(struct sqlite_store *s) {
    struct tp_bar_row r[BARS_PER_STMT];
    int err = tp_bar_hold_order(s->bars);
    for (size_t n; !err && (n = tp_bar_hold_next(s->bars, r, BARS_PER_STMT)) > 0;) {
        if (n == BARS_PER_STMT) {
            for (size_t k = 0; k < n; k++)
                bind_bar(s->stmt[S_BAR_MANY], (int)k * 10, &r[k]);
            err = step_done(s, s->stmt[S_BAR_MANY], "upsert bars");
        } else {
            for (size_t k = 0; !err && k < n; k++)
                err = write_bar(s, &r[k]);
        }
    }
    return err;
}

/* Writes the held rows of every table, each table's in key order. */
static int write_held(struct sqlite_store *s) {
    int err = write_held_bars(s);
    if (!err)
        err = sort_keys(s, s->nticks, key_tick);
    for (size_t i = 0; !err && i < s->nticks; i++)
        err = write_tick(s, &s->ticks[s->keys[i].idx]);
    if (!err)
        err = sort_keys(s, s->nlatest, key_latest);
    for (size_t i = 0; !err && i < s->nlatest; i++) {
        const struct held_latest *h = &s->latest[s->keys[i].idx];
        struct tp_latest_row r = h->r;
        r.symbol = arena_at(s, h->symbol);
        err = write_latest(s, &r);
    }
    if (!err)
        err = sort_keys(s, s->nstates, key_state);
    for (size_t i = 0; !err && i < s->nstates; i++) {
        const struct held_state *h = &s->states[s->keys[i].idx];
        err = write_state(s, arena_at(s, h->symbol), arena_at(s, h->blob), h->blob_len);
    }
    if (err == TP_ENOMEM)
        snprintf(s->base.last_error, sizeof s->base.last_error, "sqlite: out of memory");
    return err;
}

static void bound_wal(struct checkpointer *c);

/* Opens the write transaction (waiting for the lock, and for a checkpoint
 * when the WAL is past its bound) and writes the rows held since the last
 * commit. */
static int open_txn(struct sqlite_store *s) {
    if (s->in_txn)
        return 0;
    bound_wal(s->ckpt);
    int err = step_done(s, s->stmt[S_BEGIN], "begin");
    if (err)
        return err;
    s->in_txn = 1;
    if ((err = write_held(s))) {
        char why[sizeof s->base.last_error];
        memcpy(why, s->base.last_error, sizeof why);
        discard(s);
        memcpy(s->base.last_error, why, sizeof why);
        return err;
    }
    forget_held(s);
    return 0;
}

static int sq_commit(struct tp_store *b) {
    struct sqlite_store *s = (struct sqlite_store *)b;
    int err = open_txn(s);
    if (err)
        return err;
    err = step_done(s, s->stmt[S_COMMIT], "commit");
    if (err && !sqlite3_get_autocommit(s->db)) {
        /* Keep the commit's error (disk full, read-only, locked): SQLite
         * may already have rolled back, and a second message would hide
         * the cause. */
        sqlite3_step(s->stmt[S_ROLLBACK]);
        sqlite3_reset(s->stmt[S_ROLLBACK]);
    }
    s->in_txn = 0;
    return err;
}

static void sq_abort(struct tp_store *b) {
    discard((struct sqlite_store *)b);
}

static int sq_put_tick(struct tp_store *b, const struct tp_tick_row *t) {
    struct sqlite_store *s = (struct sqlite_store *)b;
    if (!s->in_txn)
        return hold_tick(s, t);
    struct held_tick h;
    size_t used = s->arena.len;
    int err = hold_tick(s, t);
    if (err)
        return err;
    h = s->ticks[--s->nticks];
    err = write_tick(s, &h);
    s->arena.len = used;
    return err;
}

static int sq_put_bar(struct tp_store *b, const struct tp_bar_row *r) {
    struct sqlite_store *s = (struct sqlite_store *)b;
    if (s->in_txn)
        return write_bar(s, r);
    return tp_bar_hold_put(s->bars, r);
}

/* Binds r to the 10 parameters of st after the first `at`. */
static void bind_bar(sqlite3_stmt *st, int at, const struct tp_bar_row *r) {
    sqlite3_bind_text(st, at + 1, r->symbol, (int)r->symbol_len, SQLITE_STATIC);
    sqlite3_bind_text(st, at + 2, r->interval, (int)r->interval_len, SQLITE_STATIC);
    sqlite3_bind_int64(st, at + 3, r->start);
    sqlite3_bind_double(st, at + 4, r->open);
    sqlite3_bind_double(st, at + 5, r->high);
    sqlite3_bind_double(st, at + 6, r->low);
    sqlite3_bind_double(st, at + 7, r->close);
    sqlite3_bind_int64(st, at + 8, r->volume);
    if (r->vwap_valid)
        sqlite3_bind_double(st, at + 9, r->vwap);
    else
        sqlite3_bind_null(st, at + 9);
    sqlite3_bind_int64(st, at + 10, r->count);
}

static int write_bar(struct sqlite_store *s, const struct tp_bar_row *r) {
    bind_bar(s->stmt[S_BAR], 0, r);
    return step_done(s, s->stmt[S_BAR], "upsert bar");
}

static int write_latest(struct sqlite_store *s, const struct tp_latest_row *l) {
    sqlite3_stmt *st = s->stmt[S_LATEST];
    sqlite3_bind_text(st, 1, l->symbol, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, l->time);
    sqlite3_bind_double(st, 3, l->price);
    sqlite3_bind_double(st, 4, l->cum_avg_price);
    sqlite3_bind_int64(st, 5, l->count);
    return step_done(s, st, "upsert latest");
}

static int sq_put_latest(struct tp_store *b, const struct tp_latest_row *l) {
    struct sqlite_store *s = (struct sqlite_store *)b;
    if (s->in_txn)
        return write_latest(s, l);
    if (grow(&s->latest, &s->cap_latest, s->nlatest, sizeof *s->latest))
        return TP_ENOMEM;
    size_t len = strlen(l->symbol);
    ptrdiff_t sym = arena_copy(s, l->symbol, len);
    if (sym < 0)
        return TP_ENOMEM;
    s->latest[s->nlatest++] = (struct held_latest){*l, (size_t)sym, len};
    return 0;
}

static int write_state(struct sqlite_store *s, const char *symbol, const void *blob, size_t len) {
    sqlite3_stmt *st = s->stmt[S_STATE];
    sqlite3_bind_text(st, 1, symbol, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, blob, (int)len, SQLITE_STATIC);
    return step_done(s, st, "save state");
}

static int sq_put_state(struct tp_store *b, const char *symbol, const void *blob, size_t len) {
    struct sqlite_store *s = (struct sqlite_store *)b;
    if (s->in_txn)
        return write_state(s, symbol, blob, len);
    if (grow(&s->states, &s->cap_states, s->nstates, sizeof *s->states))
        return TP_ENOMEM;
    size_t sym_len = strlen(symbol);
    ptrdiff_t sym = arena_copy(s, symbol, sym_len);
    ptrdiff_t off = arena_copy(s, blob, len);
    if (sym < 0 || off < 0)
        return TP_ENOMEM;
    s->states[s->nstates++] = (struct held_state){(size_t)sym, sym_len, (size_t)off, len};
    return 0;
}

/* Reads one integer column of a one-row lookup by key; TP_ENOTFOUND when
 * there is no row. */
static int lookup_int(struct sqlite_store *s, int which, const char *key, int64_t *out,
                      const char *what) {
    sqlite3_stmt *st = s->stmt[which];
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st), err = TP_ENOTFOUND;
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        err = 0;
    } else if (rc != SQLITE_DONE) {
        err = fail(s, what);
    }
    sqlite3_reset(st);
    return err;
}

/* Inside the write transaction: is c's writer still the owner of its
 * fence, and does c not move its position backwards? */
static int check_fence(struct sqlite_store *s, const struct tp_checkpoint *c) {
    int64_t epoch = 0, pos = 0;
    int err = lookup_int(s, S_GET_EPOCH, c->fence, &epoch, "read owner epoch");
    if (err && err != TP_ENOTFOUND)
        return err;
    if (epoch != c->epoch) {
        snprintf(s->base.last_error, sizeof s->base.last_error,
                 "%s is owned by another member now (epoch %lld, ours %lld): commit refused",
                 c->fence, (long long)epoch, (long long)c->epoch);
        return TP_EFENCED;
    }
    err = lookup_int(s, S_GET_CKPT, c->key, &pos, "load checkpoint");
    if (err && err != TP_ENOTFOUND)
        return err;
    if (err == 0 && c->pos < pos) {
        snprintf(s->base.last_error, sizeof s->base.last_error,
                 "%s: checkpoint would move back from %lld to %lld: commit refused", c->key,
                 (long long)pos, (long long)c->pos);
        return TP_EFENCED;
    }
    return 0;
}

static int sq_put_checkpoint(struct tp_store *b, const struct tp_checkpoint *c) {
    struct sqlite_store *s = (struct sqlite_store *)b;
    int err = open_txn(s);
    if (!err && c->fence)
        err = check_fence(s, c);
    if (err) {
        char why[sizeof s->base.last_error];
        memcpy(why, s->base.last_error, sizeof why);
        discard(s);
        memcpy(s->base.last_error, why, sizeof why);
        return err;
    }
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

/* Gaps are rare (a live source's outages): written in the write
 * transaction, which this opens. */
static int sq_put_gap(struct tp_store *b, const struct tp_gap_row *g) {
    struct sqlite_store *s = (struct sqlite_store *)b;
    int err = open_txn(s);
    if (err)
        return err;
    sqlite3_stmt *st = s->stmt[S_GAP];
    sqlite3_bind_text(st, 1, g->symbol, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, g->start);
    sqlite3_bind_int64(st, 3, g->stop);
    sqlite3_bind_text(st, 4, g->reason, -1, SQLITE_STATIC);
    return step_done(s, st, "save gap");
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
    static const char gaps_sql[] =
        "SELECT symbol, start, stop, reason FROM gaps"
        " WHERE (?1 IS NULL OR symbol = ?1) AND stop >= ?3 AND start <= ?4 ORDER BY symbol, start";
    static const char *const base[] = {ticks_sql, bars_sql, latest_sql, gaps_sql};
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, base[qr->kind], -1, &st, NULL) != SQLITE_OK) {
        if (qr->kind == TP_QUERY_GAPS && strstr(sqlite3_errmsg(s->db), "no such table"))
            return 0;   /* a store from before the gaps table: no gap was recorded */
        return tp_errf(errbuf, errsize, TP_ESTORE, "sqlite query: %s", sqlite3_errmsg(s->db));
    }
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

/* Runs one write statement (already bound) in its own short transaction;
 * never inside a batch's write transaction. */
static int write_alone(struct sqlite_store *s, sqlite3_stmt *st, const char *what) {
    if (s->in_txn) {
        sqlite3_reset(st);
        snprintf(s->base.last_error, sizeof s->base.last_error, "sqlite %s: inside a batch", what);
        return TP_EINVAL;
    }
    int err = step_done(s, st, what);   /* autocommit: its own write transaction */
    sqlite3_clear_bindings(st);
    return err;
}

static int sq_claim(struct tp_store *b, const char *key, const char *owner, int64_t *epoch) {
    struct sqlite_store *s = (struct sqlite_store *)b;
    sqlite3_stmt *st = s->stmt[S_CLAIM];
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, owner, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, tp_wall_ms());
    int err = write_alone(s, st, "claim ownership");
    if (!err)
        err = lookup_int(s, S_GET_EPOCH, key, epoch, "read owner epoch");
    return err;
}

static int sq_get_epoch(struct tp_store *b, const char *key, int64_t *epoch) {
    struct sqlite_store *s = (struct sqlite_store *)b;
    int err = lookup_int(s, S_GET_EPOCH, key, epoch, "read owner epoch");
    if (err == TP_ENOTFOUND)
        *epoch = 0;
    return err == TP_ENOTFOUND ? 0 : err;
}

static int sq_put_loss(struct tp_store *b, const char *key, int64_t from, int64_t to,
                       const char *reason) {
    struct sqlite_store *s = (struct sqlite_store *)b;
    sqlite3_stmt *st = s->stmt[S_LOSS];
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, from);
    sqlite3_bind_int64(st, 3, to);
    sqlite3_bind_int64(st, 4, tp_wall_ms());
    sqlite3_bind_text(st, 5, reason, -1, SQLITE_STATIC);
    return write_alone(s, st, "record a loss");
}

/* WAL pages that wake the checkpoint thread (SQLite's autocheckpoint
 * default). */
#define CHECKPOINT_PAGES 1000
/* A WAL that has grown this large after a checkpoint is restarted. */
#define RESTART_PAGES (4 * CHECKPOINT_PAGES)

/* How long a RESTART checkpoint waits for the writer's lock or for
 * readers, once the WAL has grown past RESTART_WAIT_PAGES. */
#define RESTART_WAIT_MS 20
#define RESTART_WAIT_PAGES (16 * CHECKPOINT_PAGES)
/* A WAL this large makes the writer wait for the checkpoint under way
 * before its next transaction (125 MB at 4 KB pages; journal_size_limit,
 * 128 MB, then keeps the file that large instead of cutting it back and
 * growing it again). */
#define WAL_BOUND_PAGES (32 * CHECKPOINT_PAGES)

static int restart_busy(void *arg, int count) {
    const struct checkpointer *c = arg;
    if (!c->may_wait || count >= RESTART_WAIT_MS)
        return 0;
    sqlite3_sleep(1);
    return 1;
}

static void *checkpoint_main(void *arg) {
    struct checkpointer *c = arg;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        while (!c->wanted && !c->stop)
            pthread_cond_wait(&c->cv, &c->mu);
        if (c->stop)
            break;
        c->wanted = 0;
        c->running = 1;
        pthread_mutex_unlock(&c->mu);
        /* The bulk of the copying and the fsyncs, without blocking anyone.
         * SQLITE_BUSY (another connection's checkpoint) is fine: the next
         * wake-up tries again. */
        int nlog = 0, nckpt = 0;
        sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &nlog, &nckpt);
        /* The WAL starts over only when a writer finds all of it copied;
         * a writer that commits all the time rarely does. Then the few
         * pages added meanwhile are copied while writers wait, and the
         * next write starts the WAL over (its size limited by
         * journal_size_limit). RESTART holds the write lock while it
         * waits for readers, so it does not wait (restart_busy()): with
         * the writer or a reader busy it gives up, and a later wake-up
         * tries again; only a WAL past RESTART_WAIT_PAGES waits, at most
         * RESTART_WAIT_MS. Waiting the connection's busy timeout stalled
         * commits for seconds behind a polling reader. */
        if (nlog >= RESTART_PAGES) {
            c->may_wait = nlog >= RESTART_WAIT_PAGES;
            sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_RESTART, &nlog, &nckpt);
        }
        pthread_mutex_lock(&c->mu);
        c->running = 0;
        pthread_cond_broadcast(&c->cv);   /* a writer may wait in bound_wal() */
        c->runs++;
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

/* The writer's WAL hook: runs on the processor thread after each commit. */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages) {
    (void)db;
    (void)name;
    struct checkpointer *c = arg;
    c->wal_pages = pages;
    if (pages >= CHECKPOINT_PAGES) {
        pthread_mutex_lock(&c->mu);
        if (!c->wanted) {
            c->wanted = 1;
            pthread_cond_broadcast(&c->cv);
        }
        pthread_mutex_unlock(&c->mu);
    }
    return SQLITE_OK;
}

/* Before a write transaction (on the writer's thread): once the WAL holds
 * WAL_BOUND_PAGES, waits for the checkpoint under way or asked for, so that
 * the transaction finds the WAL copied and SQLite writes it from its start
 * again. A checkpoint that a reader's snapshot keeps from copying
 * everything still ends, and so does the wait: the next transaction tries
 * again. */
static void bound_wal(struct checkpointer *c) {
    if (!c || c->wal_pages < WAL_BOUND_PAGES)
        return;
    pthread_mutex_lock(&c->mu);
    while ((c->wanted || c->running) && !c->stop)
        pthread_cond_wait(&c->cv, &c->mu);
    pthread_mutex_unlock(&c->mu);
}

static void checkpointer_free(struct checkpointer *c) {
    if (!c)
        return;
    if (c->started) {
        pthread_mutex_lock(&c->mu);
        c->stop = 1;
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
        pthread_join(c->thread, NULL);
    }
    sqlite3_close(c->db);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    free(c);
}

/* Starts the checkpoint thread of the store at path, whose writer is
 * s->db; 0 or TP_E* with errbuf filled. */
static int checkpointer_start(struct sqlite_store *s, const char *path, char *errbuf,
                              size_t errsize) {
    struct checkpointer *c = calloc(1, sizeof *c);
    if (!c)
        return TP_ENOMEM;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    s->ckpt = c;
    if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK)
        return tp_errf(errbuf, errsize, TP_ESTORE, "--store sqlite:%s: cannot open: %s", path,
                       c->db ? sqlite3_errmsg(c->db) : "out of memory");
    sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS);
    /* A connection finds the file in WAL mode, and can checkpoint it, only
     * once it has read it. */
    if (sqlite3_exec(c->db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL) != SQLITE_OK)
        return tp_errf(errbuf, errsize, TP_ESTORE, "--store sqlite:%s: cannot read: %s", path,
                       sqlite3_errmsg(c->db));
    sqlite3_busy_handler(c->db, restart_busy, c);
    if (pthread_create(&c->thread, NULL, checkpoint_main, c) != 0)
        return tp_errf(errbuf, errsize, TP_ENOMEM, "--store sqlite:%s: cannot start the "
                       "checkpoint thread", path);
    c->started = 1;
    sqlite3_exec(s->db, "PRAGMA wal_autocheckpoint=0", NULL, NULL, NULL);
    sqlite3_wal_hook(s->db, wal_hook, c);
    return 0;
}

static void sq_free(struct tp_store *b) {
    struct sqlite_store *s = (struct sqlite_store *)b;
    /* The checkpointer's connection closes first, so that the writer's
     * close, the last one, checkpoints and removes the WAL as before. */
    if (s->db)
        sqlite3_wal_hook(s->db, NULL, NULL);
    checkpointer_free(s->ckpt);
    if (s->in_txn && s->stmt[S_ROLLBACK])
        sqlite3_step(s->stmt[S_ROLLBACK]);
    for (int i = 0; i < NSTMT; i++)
        sqlite3_finalize(s->stmt[i]);
    sqlite3_close(s->db);
    free(s->ticks);
    tp_bar_hold_free(s->bars);
    free(s->latest);
    free(s->states);
    free(s->keys);
    free(s->arena.p);
    free(s);
}


/* Runs sql, retrying while another connection holds a lock. The busy
 * handler does not cover every case: SQLite answers SQLITE_BUSY at once
 * when waiting could deadlock (a reader upgrading to writer, switching
 * to WAL), which is what concurrent first starts on a new file hit. */
static int exec_retry(sqlite3 *db, const char *sql, char *msg, size_t msgsize) {
    for (int64_t start = tp_mono_ms();;) {
        char *m = NULL;
        int rc = sqlite3_exec(db, sql, NULL, NULL, &m);
        int busy = (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
        if (rc != SQLITE_OK)
            snprintf(msg, msgsize, "%s", m ? m : sqlite3_errmsg(db));
        sqlite3_free(m);
        if (rc == SQLITE_OK || !busy || tp_mono_ms() - start >= BUSY_TIMEOUT_MS)
            return rc;
        if (sqlite3_get_autocommit(db) == 0)
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        sqlite3_sleep(20);
    }
}

/* Creates the tables in one write transaction taken up front (BEGIN
 * IMMEDIATE waits in the busy handler instead of failing on upgrade). */
static int create_tables(sqlite3 *db, char *msg, size_t msgsize) {
    char sql[4096];
    snprintf(sql, sizeof sql, "BEGIN IMMEDIATE;%sCOMMIT;", schema_sql);
    return exec_retry(db, sql, msg, msgsize);
}

static const struct tp_store_ops sqlite_ops = {
    .name = "sqlite", .begin = sq_begin, .put_tick = sq_put_tick, .put_bar = sq_put_bar,
    .put_latest = sq_put_latest, .put_state = sq_put_state, .put_checkpoint = sq_put_checkpoint,
    .commit = sq_commit, .abort = sq_abort, .get_state = sq_get_state,
    .get_checkpoint = sq_get_checkpoint, .query = sq_query, .free = sq_free,
    .put_gap = sq_put_gap, .claim = sq_claim, .get_epoch = sq_get_epoch,
    .put_loss = sq_put_loss};

/* Process-wide settings, before SQLite's first use: no memory statistics
 * (they take a global mutex on every allocation, for numbers nobody reads).
 * Too late if SQLite was initialised already (harmless: SQLITE_MISUSE). */
static void configure_once(void) {
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static void configure(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, configure_once);
}

/* Opens a store only to read it: never creates the file or its tables and
 * takes no write lock. A WAL store in a directory this user may not write
 * (no -shm can be made) is opened as immutable, as a last resort. */
static int open_readonly(struct sqlite_store *s, const char *path, char *errbuf, size_t errsize) {
    if (access(path, F_OK) != 0)
        return tp_errf(errbuf, errsize, TP_ENOTFOUND, "--store sqlite:%s: no such store", path);
    int flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX;
    configure();
    int rc = sqlite3_open_v2(path, &s->db, flags, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(s->db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        sqlite3_close(s->db);
        char *uri = sqlite3_mprintf("file:%s?immutable=1", path);
        rc = uri ? sqlite3_open_v2(uri, &s->db, flags | SQLITE_OPEN_URI, NULL) : SQLITE_NOMEM;
        sqlite3_free(uri);
    }
    if (rc != SQLITE_OK)
        return tp_errf(errbuf, errsize, TP_ESTORE, "--store sqlite:%s: cannot read: %s", path,
                       s->db ? sqlite3_errmsg(s->db) : "out of memory");
    sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
    return 0;
}

/* A store with nothing open yet; NULL when out of memory. */
static struct sqlite_store *store_new(void) {
    struct sqlite_store *s = calloc(1, sizeof *s);
    if (!s || !(s->bars = tp_bar_hold_new())) {
        free(s);
        return NULL;
    }
    s->base.ops = &sqlite_ops;
    s->base.has_state = 1;
    return s;
}

int tp_store_sqlite_open_readonly(struct tp_store **out, const char *path, char *errbuf,
                                  size_t errsize) {
    *out = NULL;
    struct sqlite_store *s = store_new();
    if (!s)
        return TP_ENOMEM;
    int err = open_readonly(s, path, errbuf, errsize);
    if (err) {
        sq_free(&s->base);
        return err;
    }
    *out = &s->base;
    return 0;
}

int tp_store_sqlite_open(struct tp_store **out, const char *path, char *errbuf, size_t errsize) {
    *out = NULL;
    struct sqlite_store *s = store_new();
    if (!s)
        return TP_ENOMEM;
    int err = 0;
    configure();
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        err = tp_errf(errbuf, errsize, TP_ESTORE, "--store sqlite:%s: cannot open: %s", path,
                      s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
    char msg[256] = "";
    if (exec_retry(s->db, pragma_sql, msg, sizeof msg) != SQLITE_OK ||
        create_tables(s->db, msg, sizeof msg) != SQLITE_OK) {
        err = tp_errf(errbuf, errsize, TP_ESTORE, "--store sqlite:%s: cannot create tables: %s",
                      path, msg);
        goto fail;
    }
    char many[64 + BARS_PER_STMT * 24] = "INSERT OR REPLACE INTO bars VALUES ";
    for (int i = 0; i < BARS_PER_STMT; i++)
        strcat(many, i ? ",(?,?,?,?,?,?,?,?,?,?)" : "(?,?,?,?,?,?,?,?,?,?)");
    for (int i = 0; i < NSTMT; i++)
        if (sqlite3_prepare_v3(s->db, stmt_sql[i] ? stmt_sql[i] : many, -1,
                               SQLITE_PREPARE_PERSISTENT, &s->stmt[i], NULL) != SQLITE_OK) {
            err = tp_errf(errbuf, errsize, TP_ESTORE,
                          "--store sqlite:%s: the file has an incompatible schema: %s", path,
                          sqlite3_errmsg(s->db));
            goto fail;
        }
    if ((err = checkpointer_start(s, path, errbuf, errsize)))
        goto fail;
    *out = &s->base;
    return 0;
fail:
    sq_free(&s->base);
    return err;
}
