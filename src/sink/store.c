/*
 * store.c - dispatch of STORE specs to the store implementations.
 */
#include <string.h>

#include "../core/tp_error.h"
#include "tp_store.h"

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

int tp_store_claim(struct tp_store *st, const char *key, const char *owner, int64_t *epoch) {
    *epoch = 0;
    return st->ops->claim ? st->ops->claim(st, key, owner, epoch) : 0;
}

int tp_store_get_epoch(struct tp_store *st, const char *key, int64_t *epoch) {
    *epoch = 0;
    return st->ops->get_epoch ? st->ops->get_epoch(st, key, epoch) : 0;
}

int tp_store_record_loss(struct tp_store *st, const char *key, int64_t from, int64_t to,
                         const char *reason) {
    return st->ops->put_loss ? st->ops->put_loss(st, key, from, to, reason) : 0;
}
