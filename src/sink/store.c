/*
 * store.c - the functions of the store contract (tp_store.h): dispatch of
 * STORE specs to the store implementations, and of each call to the
 * store's operations (store_int.h), handing a failure's sentence to the
 * caller's errbuf.
 *
 * Thread: the caller's (one thread per handle; tp_store_prepare_tick() any).
 */
#include <stdio.h>
#include <string.h>

#include "../core/tp_error.h"
#include "store_int.h"

int tp_store_open(struct tp_store **out, const char *spec, char *errbuf, size_t errsize) {
    *out = NULL;
    if (strncmp(spec, "sqlite:", 7) == 0 && spec[7])
        return tp_store_sqlite_open(out, spec + 7, errbuf, errsize);
    if (strncmp(spec, "jsonl:", 6) == 0 && spec[6])
        return tp_store_jsonl_open(out, spec + 6, errbuf, errsize);
    if (strncmp(spec, "cassandra://", 12) == 0)
        return tp_store_cassandra_open(out, spec, errbuf, errsize);
    return tp_errf(errbuf, errsize, TP_EINVAL,
                   "--store %s: unknown store (expected sqlite:PATH, jsonl:PATH, jsonl:- or "
                   "cassandra://HOST[:PORT]/KEYSPACE)", spec);
}

int tp_store_open_readonly(struct tp_store **out, const char *spec, char *errbuf,
                           size_t errsize) {
    *out = NULL;
    if (strncmp(spec, "sqlite:", 7) == 0 && spec[7])
        return tp_store_sqlite_open_readonly(out, spec + 7, errbuf, errsize);
    if (strncmp(spec, "cassandra://", 12) == 0)
        return tp_store_cassandra_open_readonly(out, spec, errbuf, errsize);
    return tp_store_open(out, spec, errbuf, errsize);
}

void tp_store_free(struct tp_store *st) {
    if (st)
        st->ops->free(st);
}

int tp_store_open_reader(struct tp_store **out, const char *spec, char *errbuf, size_t errsize) {
    *out = NULL;
    if ((strncmp(spec, "sqlite:", 7) == 0 && spec[7]) || strncmp(spec, "cassandra://", 12) == 0)
        return tp_store_open_readonly(out, spec, errbuf, errsize);
    return tp_errf(errbuf, errsize, TP_EINVAL, "--store %s: this store cannot be read back", spec);
}

/* Copies the store's sentence into errbuf when err is a failure. */
static int fail(const struct tp_store *st, int err, char *errbuf, size_t errsize) {
    if (err < 0 && errbuf && errsize)
        snprintf(errbuf, errsize, "%s", st->last_error);
    return err;
}

/* For look-ups: "no such row" is an answer, not a failure. */
static int lookup(const struct tp_store *st, int err, char *errbuf, size_t errsize) {
    return err == TP_ENOTFOUND ? err : fail(st, err, errbuf, errsize);
}

const char *tp_store_name(const struct tp_store *st) {
    return st->ops->name;
}

int tp_store_has_state(const struct tp_store *st) {
    return st->has_state;
}

int tp_store_keeps_gaps(const struct tp_store *st) {
    return st->ops->put_gap != NULL;
}

int tp_store_begin(struct tp_store *st, char *errbuf, size_t errsize) {
    return fail(st, st->ops->begin(st), errbuf, errsize);
}

int tp_store_put_tick(struct tp_store *st, const struct tp_tick_row *t, char *errbuf,
                      size_t errsize) {
    int err = st->ops->put_tick(st, t);
    return err ? fail(st, err, errbuf, errsize) : 0;
}

int tp_store_put_bar(struct tp_store *st, const struct tp_bar_row *b, char *errbuf,
                     size_t errsize) {
    int err = st->ops->put_bar(st, b);
    return err ? fail(st, err, errbuf, errsize) : 0;
}

int tp_store_put_latest(struct tp_store *st, const struct tp_latest_row *l, char *errbuf,
                        size_t errsize) {
    return fail(st, st->ops->put_latest(st, l), errbuf, errsize);
}

int tp_store_put_state(struct tp_store *st, const char *symbol, const void *blob, size_t len,
                       char *errbuf, size_t errsize) {
    return fail(st, st->ops->put_state(st, symbol, blob, len), errbuf, errsize);
}

int tp_store_put_checkpoint(struct tp_store *st, const struct tp_checkpoint *c, char *errbuf,
                            size_t errsize) {
    return fail(st, st->ops->put_checkpoint(st, c), errbuf, errsize);
}

int tp_store_put_gap(struct tp_store *st, const struct tp_gap_row *g, char *errbuf,
                     size_t errsize) {
    return st->ops->put_gap ? fail(st, st->ops->put_gap(st, g), errbuf, errsize) : 0;
}

int tp_store_commit(struct tp_store *st, char *errbuf, size_t errsize) {
    return fail(st, st->ops->commit(st), errbuf, errsize);
}

void tp_store_abort(struct tp_store *st) {
    if (st->ops->abort)
        st->ops->abort(st);
}

int tp_store_get_state(struct tp_store *st, const char *symbol, void **blob, size_t *len,
                       char *errbuf, size_t errsize) {
    return lookup(st, st->ops->get_state(st, symbol, blob, len), errbuf, errsize);
}

int tp_store_get_checkpoint(struct tp_store *st, struct tp_checkpoint *c, char *errbuf,
                            size_t errsize) {
    return lookup(st, st->ops->get_checkpoint(st, c), errbuf, errsize);
}

int tp_store_query(struct tp_store *st, const struct tp_query *qr, tp_query_cb cb, void *opaque,
                   char *errbuf, size_t errsize) {
    return st->ops->query(st, qr, cb, opaque, errbuf, errsize);
}

int tp_store_claim(struct tp_store *st, const char *key, const char *owner, int64_t *epoch,
                   char *errbuf, size_t errsize) {
    *epoch = 0;
    return st->ops->claim ? fail(st, st->ops->claim(st, key, owner, epoch), errbuf, errsize) : 0;
}

int tp_store_get_epoch(struct tp_store *st, const char *key, int64_t *epoch, char *errbuf,
                       size_t errsize) {
    *epoch = 0;
    return st->ops->get_epoch ? fail(st, st->ops->get_epoch(st, key, epoch), errbuf, errsize) : 0;
}

int tp_store_record_loss(struct tp_store *st, const char *key, int64_t from, int64_t to,
                         const char *reason, char *errbuf, size_t errsize) {
    if (!st->ops->put_loss)
        return 0;
    return fail(st, st->ops->put_loss(st, key, from, to, reason), errbuf, errsize);
}

int tp_store_prepares_ticks(const struct tp_store *st) {
    return st->ops->prepare_tick != NULL;
}

int tp_store_prepare_tick(const struct tp_store *st, const struct tp_quote *q,
                          const uint8_t *payload, char *out, size_t cap) {
    return st->ops->prepare_tick ? st->ops->prepare_tick(st, q, payload, out, cap) : 0;
}
