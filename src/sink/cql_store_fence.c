/*
 * cql_store_fence.c - ownership fencing of the Cassandra store (the same
 * contract as the SQLite store's tp_owner, see tp_store.h claim()).
 *
 * tp_owner holds, per Kafka partition key, the epoch of its current owner.
 * claim() writes a new epoch: the larger of the stored one plus one and
 * this handle's hybrid logical clock (tp_cas_next_gen), so epochs only move
 * forward and two handles never pick the same one. A commit whose
 * checkpoints carry fences reads the epochs back before it sends any bar or
 * latest row, and again before it writes state and checkpoints; if one
 * moved on, the whole batch is dropped and TP_EFENCED returned. Cassandra
 * has no transactions (and the test server no lightweight transactions),
 * so a commit that passed its check just before the new owner's claim can
 * still land late; its state and checkpoints then carry a generation taken
 * before the check, older than the claim (epochs and generations are both
 * values of the hybrid logical clock), so readers keep preferring the new
 * owner's rows. Every write of a commit carries a client timestamp taken
 * before its first fence check (tp_cas_stamp), so bars and latest rows of
 * such a late commit lose to the new owner's rows, in whatever order they
 * arrive (last write wins by timestamp).
 *
 * Thread: the store's thread.
 */
#include <stdio.h>
#include <string.h>

#include "../core/tp_clock.h"
#include "../core/tp_error.h"
#include "cql_store_int.h"
#include "../cql/tp_cql.h"

/* Reads the epoch of key into *epoch (0 when never claimed). */
static int read_epoch(struct cas *s, const char *key, int64_t *epoch) {
    struct tp_cql_result *r = NULL;
    char err[256];
    *epoch = 0;
    tp_cql_values_reset(&s->v);
    tp_cql_add_text(&s->v, key, strlen(key));
    int rc = tp_cql_select(s->c, s->prep[P_OWNER_GET], &s->v, 0, NULL, 0, &r, err, sizeof err);
    if (rc < 0) {
        snprintf(s->base.last_error, sizeof s->base.last_error,
                 "cassandra: reading the owner of %.60s: %.150s", key, err);
        tp_cql_result_free(r);
        return TP_ESTORE;
    }
    if (r->nrows > 0)
        tp_cql_get_int64(r, 0, 0, epoch);
    tp_cql_result_free(r);
    return 0;
}

int tp_cas_claim(struct tp_store *b, const char *key, const char *owner, int64_t *epoch) {
    struct cas *s = (struct cas *)b;
    int64_t cur = 0;
    int rc = read_epoch(s, key, &cur);
    if (rc < 0)
        return rc;
    int64_t next = tp_cas_next_gen(s);
    if (next <= cur)
        next = cur + 1;
    s->clock = next;
    tp_cql_set_timestamp(s->c, next);
    tp_cql_values_reset(&s->v);
    tp_cql_add_text(&s->v, key, strlen(key));
    tp_cql_add_bigint(&s->v, next);
    tp_cql_add_bigint(&s->v, s->writer);
    tp_cql_add_text(&s->v, owner, strlen(owner));
    if ((rc = tp_cql_execute_async(s->c, s->prep[P_OWNER_PUT], &s->v)) < 0)
        return tp_cas_fail(s, rc, "claim a partition");
    char err[256];
    if (tp_cql_wait(s->c, err, sizeof err) < 0) {
        snprintf(s->base.last_error, sizeof s->base.last_error,
                 "cassandra: claiming %.60s: %.150s", key, err);
        return TP_ESTORE;
    }
    *epoch = next;
    s->hold = 1;
    return 0;
}

int tp_cas_get_epoch(struct tp_store *b, const char *key, int64_t *epoch) {
    return read_epoch((struct cas *)b, key, epoch);
}

int tp_cas_check_fences(struct cas *s) {
    for (size_t i = 0; i < s->fences.cap; i++) {
        struct kv_entry *e = &s->fences.e[i];
        int64_t mine, now = 0;
        if (!e->key)
            continue;
        memcpy(&mine, e->val, sizeof mine);
        int rc = read_epoch(s, e->key, &now);
        if (rc < 0)
            return rc;
        if (now != mine) {
            snprintf(s->base.last_error, sizeof s->base.last_error,
                     "%.80s is owned by another member now (epoch %lld, ours %lld): commit "
                     "refused", e->key, (long long)now, (long long)mine);
            return TP_EFENCED;
        }
    }
    return 0;
}

int tp_cas_put_loss(struct tp_store *b, const char *key, int64_t from, int64_t to,
                    const char *reason) {
    struct cas *s = (struct cas *)b;
    int rc;
    tp_cas_stamp(s);
    tp_cql_values_reset(&s->v);
    tp_cql_add_text(&s->v, key, strlen(key));
    tp_cql_add_bigint(&s->v, from);
    tp_cql_add_bigint(&s->v, to);
    tp_cql_add_bigint(&s->v, tp_wall_ms());
    tp_cql_add_text(&s->v, reason, strlen(reason));
    if ((rc = tp_cql_execute_async(s->c, s->prep[P_LOSS], &s->v)) < 0)
        return tp_cas_fail(s, rc, "record a loss");
    char err[256];
    if (tp_cql_wait(s->c, err, sizeof err) < 0) {
        snprintf(s->base.last_error, sizeof s->base.last_error,
                 "cassandra: recording a loss of %.60s: %.150s", key, err);
        return TP_ESTORE;
    }
    return 0;
}
