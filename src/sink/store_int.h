/*
 * store_int.h - what a store implementation fills in: its table of
 * operations and the header its own struct begins with. Only the store
 * implementations (src/sink/) include this file; everybody else goes
 * through the functions of tp_store.h, which dispatch here (store.c).
 *
 * Operations return 0 or a negative TP_E* code and, on failure, leave a
 * sentence in last_error; the tp_store_*() functions hand it to the
 * caller's errbuf. Optional operations are NULL when a store lacks them.
 */
#ifndef TP_STORE_INT_H
#define TP_STORE_INT_H

#include "tp_store.h"

struct tp_store_ops {
    const char *name;
    int (*begin)(struct tp_store *st);
    int (*put_tick)(struct tp_store *st, const struct tp_tick_row *t);
    int (*put_bar)(struct tp_store *st, const struct tp_bar_row *b);
    int (*put_latest)(struct tp_store *st, const struct tp_latest_row *l);
    int (*put_state)(struct tp_store *st, const char *symbol, const void *blob, size_t len);
    int (*put_checkpoint)(struct tp_store *st, const struct tp_checkpoint *c);
    int (*commit)(struct tp_store *st);
    /* Optional: NULL when the store holds nothing between commits. */
    void (*abort)(struct tp_store *st);
    /* TP_ENOTFOUND when there is no such row (stores without state: always). */
    int (*get_state)(struct tp_store *st, const char *symbol, void **blob, size_t *len);
    int (*get_checkpoint)(struct tp_store *st, struct tp_checkpoint *c);
    /* The only operation that fills errbuf itself. */
    int (*query)(struct tp_store *st, const struct tp_query *qr, tp_query_cb cb, void *opaque,
                 char *errbuf, size_t errsize);
    void (*free)(struct tp_store *st);
    /* Optional: stores without a gaps table (jsonl) leave it NULL. */
    int (*put_gap)(struct tp_store *st, const struct tp_gap_row *g);
    /* Optional: fencing and losses (tp_store_claim() and the like). */
    int (*claim)(struct tp_store *st, const char *key, const char *owner, int64_t *epoch);
    int (*get_epoch)(struct tp_store *st, const char *key, int64_t *epoch);
    int (*put_loss)(struct tp_store *st, const char *key, int64_t from, int64_t to,
                    const char *reason);
    /* Optional: tp_store_prepare_tick(); must read no mutable store state. */
    int (*prepare_tick)(const struct tp_store *st, const struct tp_quote *q,
                        const uint8_t *payload, char *out, size_t cap);
};

/* Every store struct begins with this header. */
struct tp_store {
    const struct tp_store_ops *ops;
    int has_state;              /* 0 for jsonl: no checkpoint, no state */
    char last_error[256];       /* the sentence of the last failure, for errbuf */
};

/* Per-store constructors, dispatched to by tp_store_open() and the like
 * (store.c); callers use those. */
int tp_store_sqlite_open(struct tp_store **out, const char *path, char *errbuf, size_t errsize);
int tp_store_sqlite_open_readonly(struct tp_store **out, const char *path, char *errbuf,
                                  size_t errsize);
int tp_store_jsonl_open(struct tp_store **out, const char *path, char *errbuf, size_t errsize);
int tp_store_cassandra_open(struct tp_store **out, const char *uri, char *errbuf, size_t errsize);
int tp_store_cassandra_open_readonly(struct tp_store **out, const char *uri, char *errbuf,
                                     size_t errsize);

#endif
