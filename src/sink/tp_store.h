/*
 * tp_store.h - the contract every store (sqlite, cassandra, jsonl) fulfils.
 *
 * A store receives the processor's outputs batch by batch: begin(), any
 * number of put_*() calls, then commit(). Everything between begin() and a
 * successful commit() becomes durable together or not at all (Cassandra:
 * outputs are acknowledged before state and checkpoints are written), which
 * is what makes results exactly-once. The processor's per-symbol state is an
 * opaque blob to the store.
 *
 * The handle is opaque: callers use the functions below, never the table
 * of operations behind them (store_int.h, for the implementations only).
 *
 * Errors: every function returns 0 or a negative TP_E* code; on failure
 * errbuf (may be NULL) receives the store's sentence describing it.
 * TP_EFENCED means another owner took over (discard the batch); what else a
 * caller may retry, tp_error_retriable() says.
 *
 * Threads: a store handle is used by one thread at a time (the processor
 * thread), except tp_store_prepare_tick(), which touches no state of the
 * store and may run on any thread. Strings and buffers passed in are
 * borrowed for the call only.
 */
#ifndef TP_STORE_H
#define TP_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "../core/tp_quote.h"

/* One applied tick, as stored in the ticks table. */
struct tp_tick_row {
    const char *symbol;
    size_t symbol_len;
    const struct tp_quote *q;   /* views into payload */
    const uint8_t *payload;
    size_t payload_len;
    int64_t time;               /* Unix ms */
    int64_t seq;                /* 1, 2, 3... per symbol */
    double cum_avg_price;
    const char *prepared;       /* what tp_store_prepare_tick() made of q ahead of time, */
    size_t prepared_len;        /* on another thread; NULL: the store does it itself */
};

/* One bar (open or closed); vwap_valid is 0 when vwap is NULL. */
struct tp_bar_row {
    const char *symbol;
    const char *interval;       /* "1m" */
    int64_t start;              /* Unix ms */
    double open, high, low, close;
    int64_t volume;
    double vwap;
    int vwap_valid;
    int64_t count;
    int closed;                 /* 1 when the bar can change no more */
    size_t symbol_len, interval_len;   /* strlen() of each, which every bar would
                                          otherwise pay for in the store */
};

struct tp_latest_row {
    const char *symbol;
    int64_t time;
    double price;
    double cum_avg_price;
    int64_t count;
};

/* A source position: replay file (key = absolute path), Kafka partition
 * (key = "kafka:<topic>:<partition>"). aux carries store-independent extra
 * state such as the dead-letter file size at the checkpoint. */
struct tp_checkpoint {
    const char *key;
    int64_t pos;                /* byte offset / next Kafka offset */
    int64_t line;               /* lines consumed so far */
    int64_t aux;
    /* Fencing (Kafka partitions): when fence is set, the commit fails with
     * TP_EFENCED unless the ownership epoch of fence in the store is still
     * epoch (see claim below), or when pos would move backwards. */
    const char *fence;
    int64_t epoch;
};

/* Filters for query(); unset bounds are INT64_MIN / INT64_MAX, unset
 * strings NULL. */
enum tp_query_kind { TP_QUERY_TICKS, TP_QUERY_BARS, TP_QUERY_LATEST, TP_QUERY_GAPS };

/* A row of the gaps table: an interval in which a live capture was not
 * receiving a symbol (DESIGN.md). Strings are borrowed for the call. */
struct tp_gap_row {
    const char *symbol;
    int64_t start, stop;        /* Unix ms */
    const char *reason;         /* "disconnected", "silent", "not running" */
};
struct tp_query {
    enum tp_query_kind kind;
    const char *symbol;
    const char *interval;
    int64_t from, to;           /* inclusive time range */
};

/* A row handed to a query callback: ncols named columns, each value a
 * NUL-terminated text (NULL for SQL NULL) and a type hint for JSON output
 * (0 text, 1 integer, 2 real, 3 blob, given as base64). Return non-zero to stop. */
typedef int (*tp_query_cb)(void *opaque, int ncols, const char *const *names,
                           const char *const *values, const int *types);

/* Opaque; the implementations' struct and operations are in store_int.h. */
struct tp_store;

/* Opens a store from its spec ("sqlite:PATH", "jsonl:PATH", "jsonl:-",
 * "cassandra://..."). Creates tables as needed. On failure returns a TP_E*
 * code and fills errbuf. The caller owns *out and frees it with
 * tp_store_free(). */
int tp_store_open(struct tp_store **out, const char *spec, char *errbuf,
                  size_t errsize);

/* Opens an existing store to read it (query): never creates a file,
 * keyspace or table. TP_ENOTFOUND with "no such store" in errbuf when the
 * store does not exist. Only tp_store_query() may be called on it. */
int tp_store_open_readonly(struct tp_store **out, const char *spec, char *errbuf,
                           size_t errsize);

/* Opens a second handle on an existing store for tp_store_query() only, beside a
 * writer in this process (the HTTP thread's reads): tp_store_open_readonly()
 * (SQLite WAL readers never block the writer; Cassandra opens a session of
 * its own). jsonl cannot be read: TP_EINVAL. */
int tp_store_open_reader(struct tp_store **out, const char *spec, char *errbuf, size_t errsize);

/* The store's name ("sqlite", "jsonl", "cassandra", "tap"). Static string. */
const char *tp_store_name(const struct tp_store *st);

/* 1 when the store keeps checkpoints and per-symbol state (0 for jsonl:
 * every run then starts from an empty state). */
int tp_store_has_state(const struct tp_store *st);

/* 1 when the store keeps a gaps table (tp_store_put_gap() writes a row). */
int tp_store_keeps_gaps(const struct tp_store *st);

/* The write path: begin, any number of puts, commit (see above). */
int tp_store_begin(struct tp_store *st, char *errbuf, size_t errsize);
int tp_store_put_tick(struct tp_store *st, const struct tp_tick_row *t, char *errbuf,
                      size_t errsize);
int tp_store_put_bar(struct tp_store *st, const struct tp_bar_row *b, char *errbuf,
                     size_t errsize);
int tp_store_put_latest(struct tp_store *st, const struct tp_latest_row *l, char *errbuf,
                        size_t errsize);
int tp_store_put_state(struct tp_store *st, const char *symbol, const void *blob, size_t len,
                       char *errbuf, size_t errsize);
int tp_store_put_checkpoint(struct tp_store *st, const struct tp_checkpoint *c, char *errbuf,
                            size_t errsize);
/* Writes a gaps row in the current batch; 0 and nothing written for stores
 * without a gaps table (jsonl). */
int tp_store_put_gap(struct tp_store *st, const struct tp_gap_row *g, char *errbuf,
                     size_t errsize);
int tp_store_commit(struct tp_store *st, char *errbuf, size_t errsize);
/* Abandons the current batch: nothing put since the last commit is ever
 * written, and an open transaction is rolled back. For a writer that gives
 * up work it applied but may not commit (its processor is rebuilt from the
 * store). jsonl writes as it goes and cannot take lines back. */
void tp_store_abort(struct tp_store *st);

/* Looks up saved state of symbol. On success *blob is malloc'ed (the caller
 * frees it). TP_ENOTFOUND (errbuf untouched) when none, always for stores
 * without state. */
int tp_store_get_state(struct tp_store *st, const char *symbol, void **blob, size_t *len,
                       char *errbuf, size_t errsize);

/* Fills pos/line/aux of c for c->key; TP_ENOTFOUND (errbuf untouched) when none. */
int tp_store_get_checkpoint(struct tp_store *st, struct tp_checkpoint *c, char *errbuf,
                            size_t errsize);

/* Reads rows of qr->kind in key order (the read path of `tickpipe query`
 * and of the HTTP API alike), calling cb for each; for TP_QUERY_GAPS,
 * from/to select gaps that overlap [from, to]. */
int tp_store_query(struct tp_store *st, const struct tp_query *qr, tp_query_cb cb, void *opaque,
                   char *errbuf, size_t errsize);

/* Fencing and losses. claim takes ownership of key for owner (a sentence
 * naming the instance): it moves the key's epoch forward by one in its own
 * short transaction and returns it, so any commit fenced with an older
 * epoch fails from then on. get_epoch gives the current epoch (0 when never
 * claimed). Both give *epoch = 0 and return 0 for stores that cannot fence.
 * record_loss durably records, in its own short transaction, that positions
 * [from, to) of key can no longer be read; 0 for stores that cannot record
 * losses (the caller still logs them). */
int tp_store_claim(struct tp_store *st, const char *key, const char *owner, int64_t *epoch,
                   char *errbuf, size_t errsize);
int tp_store_get_epoch(struct tp_store *st, const char *key, int64_t *epoch, char *errbuf,
                       size_t errsize);
int tp_store_record_loss(struct tp_store *st, const char *key, int64_t from, int64_t to,
                         const char *reason, char *errbuf, size_t errsize);

/* The preparation hook: a store that formats ticks itself (jsonl renders
 * the quote's JSON members) may have that part done ahead, on another
 * thread, from the quote alone. tp_store_prepares_ticks() says whether the
 * store does anything here. tp_store_prepare_tick() writes at most cap
 * bytes into out and returns their number, 0 when the store prepares
 * nothing, or a negative TP_E* code when out is too small; its result goes
 * into tp_tick_row.prepared. Safe on any thread: it reads no store state. */
int tp_store_prepares_ticks(const struct tp_store *st);
int tp_store_prepare_tick(const struct tp_store *st, const struct tp_quote *q,
                          const uint8_t *payload, char *out, size_t cap);

/* Frees the store; NULL is a no-op. Uncommitted work is rolled back. */
void tp_store_free(struct tp_store *st);

/* The pragmas and CREATE statements the SQLite store runs on open (for the
 * benchmark floor, which must insert into exactly the same table). */
const char *tp_store_sqlite_schema(void);

#endif
