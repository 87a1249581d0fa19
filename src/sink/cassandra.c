/*
 * cassandra.c - the Cassandra store: DESIGN.md's tables in a keyspace,
 * written through the CQL client (tp_cql.h), read back with paging.
 *
 * URI: cassandra://[USER:PASS@]HOST[:PORT][,HOST[:PORT]...]/KEYSPACE[?OPTIONS]
 * (options in cas_opts below; unknown keys are errors that name the key).
 *
 * Exactly-once: every output is an idempotent upsert keyed by its primary
 * key. put_*() only buffer: ticks go into unlogged batches of one partition
 * each, kept under BATCH_BYTES; bars and latest rows are coalesced per key
 * within a commit, so one batch never holds two versions of a row (Cassandra
 * would pick the larger value, not the later one). commit() sends them all,
 * waits for every acknowledgement, then writes processor state and
 * checkpoints, and last this writer's commit marker. Each store handle is a
 * writer with a random 64-bit id; several may share a keyspace (the
 * instances of one `process` group) as long as they write disjoint symbols
 * and checkpoint keys, handing a name over by committing before another
 * writer loads it. State and checkpoint rows are double-buffered: each name
 * has two slots and a commit writes the slot that does not hold the
 * committed version, tagged (writer, gen). tp_commit holds one marker per
 * writer; a slot is committed when its gen is at most its writer's marker,
 * and readers take the committed slot with the largest gen. gen is a hybrid
 * logical clock: max(wall-clock microseconds, largest gen this handle has
 * seen or written + 1), and loading a row advances the clock past it, so
 * the new owner of a name always writes later generations than the one it
 * loaded. A crash anywhere leaves the previous commit's state and
 * checkpoints intact (the crashed writer's newer rows are never committed,
 * and its id is never reused), and a re-run rewrites the same outputs with
 * the same values. Nothing is deleted at open.
 *
 * Threads: the processor thread (or the query command); one at a time.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../core/tp_civil.h"
#include "../core/tp_error.h"
#include "../core/tp_fmt.h"
#include "../core/tp_log.h"
#include "../codec/tp_decode.h"
#include "cql_store_int.h"
#include "../cql/tp_cql.h"
#include "tp_store.h"

/* The namespace of the yahoofinance seed table's ids (a fixed random UUID). */
const uint8_t TP_CQL_SEED_NAMESPACE[16] = {0x3f, 0x6c, 0x2a, 0x91, 0x5e, 0x04, 0x4b, 0x7d,
                                           0x9a, 0x1c, 0x62, 0xd8, 0x0b, 0xe3, 0x47, 0x15};

#define BATCH_BYTES 4000        /* under Cassandra's 5 KB batch warning */
#define DAY_MS 86400000LL

static int cas_put_sql(struct kv *m, const char *key, const struct tp_cql_values *v);

/* ------------------------------------------------------------ time keys */
/* yyyymm of a day number (days since 1970-01-01), civil calendar. */
static int32_t month_of_day(int64_t z) {
    int64_t y;
    int m, d;
    tp_civil_from_days(z, &y, &m, &d);
    return (int32_t)(y * 100 + m);
}

/* First day number of yyyymm (inverse of month_of_day for day 1). */
static int64_t day_of_month(int32_t ym) {
    return tp_days_from_civil(ym / 100, ym % 100, 1);
}

static int32_t next_month(int32_t ym) { return ym % 100 == 12 ? (ym / 100 + 1) * 100 + 1 : ym + 1; }

/* ------------------------------------------------------------ puts */
static int cas_begin(struct tp_store *b) {
    (void)b;
    return 0;
}

/* Quote fields of ticks columns 6..22, in DESIGN.md column order. */
static const int tick_fields[] = {
    TP_F_CURRENCY, TP_F_EXCHANGE, TP_F_QUOTE_TYPE, TP_F_MARKET_HOURS, TP_F_CHANGE_PERCENT,
    TP_F_DAY_VOLUME, TP_F_DAY_HIGH, TP_F_DAY_LOW, TP_F_CHANGE, TP_F_OPEN_PRICE,
    TP_F_PREVIOUS_CLOSE, TP_F_LAST_SIZE, TP_F_BID, TP_F_BID_SIZE, TP_F_ASK, TP_F_ASK_SIZE,
    TP_F_PRICE_HINT};

static void add_field(struct tp_cql_values *v, const struct tp_quote *q, const uint8_t *payload,
                      int f) {
    if (!tp_quote_has(q, f)) {
        tp_cql_add_null(v);
        return;
    }
    switch (tp_field_type(f)) {
    case TP_FT_FLOAT: tp_cql_add_double(v, q->v[f].f32); break;
    case TP_FT_DOUBLE: tp_cql_add_double(v, q->v[f].f64); break;
    case TP_FT_STRING:
        tp_cql_add_text(v, (const char *)payload + q->v[f].sv.off, q->v[f].sv.len);
        break;
    default: tp_cql_add_bigint(v, q->v[f].i64); break;
    }
}

/* Moves pb's full batch to the held list (see struct cas: hold) and gives
 * pb an empty one. */
static int hold_batch(struct cas *s, struct pbatch *pb) {
    if (s->nheld == s->capheld) {
        int cap = s->capheld ? s->capheld * 2 : 16;
        struct tp_cql_batch **h = realloc(s->held, (size_t)cap * sizeof *h);
        if (!h)
            return TP_ENOMEM;
        s->held = h;
        s->capheld = cap;
    }
    struct tp_cql_batch *nb = tp_cql_batch_new();
    if (!nb)
        return TP_ENOMEM;
    s->held[s->nheld++] = pb->b;
    pb->b = nb;
    return 0;
}

/* Holds every open batch (all partitions' slots are in use). */
static int hold_all(struct cas *s) {
    for (int i = 0; i < s->npb; i++) {
        int rc = tp_cql_batch_count(s->pb[i].b) > 0 ? hold_batch(s, &s->pb[i]) : 0;
        if (rc < 0)
            return rc;
    }
    s->npb = 0;
    return 0;
}

/* Appends a statement to the open batch of its partition, sending the
 * batch first when the statement would push it over BATCH_BYTES. */
static int batch_add(struct cas *s, const char *pkey, struct tp_cql_prep *p,
                     const struct tp_cql_values *v) {
    struct pbatch *pb = NULL;
    for (int i = 0; i < s->npb; i++)
        if (strcmp(s->pb[i].key, pkey) == 0)
            pb = &s->pb[i];
    if (!pb) {
        if (s->npb == MAX_OPEN_BATCHES) {
            if (!s->hold)
                tp_cas_stamp(s);
            int rc = s->hold ? hold_all(s) : tp_cas_flush_batches(s);
            if (rc < 0)
                return rc;
        }
        pb = &s->pb[s->npb++];
        snprintf(pb->key, sizeof(pb->key), "%s", pkey);
        if (!pb->b && !(pb->b = tp_cql_batch_new()))
            return TP_ENOMEM;
    }
    if (tp_cql_batch_count(pb->b) > 0 && tp_cql_batch_bytes(pb->b) + v->len > BATCH_BYTES) {
        if (!s->hold)
            tp_cas_stamp(s);
        int rc = s->hold ? hold_batch(s, pb) : tp_cql_batch_async(s->c, pb->b);
        if (rc < 0)
            return rc;
    }
    return tp_cql_batch_add(pb->b, p, v);
}

/* Sends the held batches, then the open ones. */
int tp_cas_flush_batches(struct cas *s) {
    int rc = 0;
    for (int i = 0; i < s->nheld; i++) {
        if (rc == 0)
            rc = tp_cql_batch_async(s->c, s->held[i]);
        tp_cql_batch_free(s->held[i]);
    }
    s->nheld = 0;
    for (int i = 0; i < s->npb && rc == 0; i++)
        rc = tp_cql_batch_async(s->c, s->pb[i].b);
    s->npb = 0;
    return rc;
}

static int put_seed_row(struct cas *s, const struct tp_tick_row *t) {
    struct tp_cql_values *v = &s->v;
    char name[300];
    uint8_t id[16];
    int n = snprintf(name, sizeof(name), "%.*s|%" PRId64 "|%" PRId64, (int)t->symbol_len,
                     t->symbol, t->time, t->seq);
    tp_cql_uuid_v5(TP_CQL_SEED_NAMESPACE, name, (size_t)n, id);
    tp_cql_values_reset(v);
    tp_cql_add_uuid(v, id);
    add_field(v, t->q, t->payload, TP_F_EXCHANGE);
    static const int dbl_fields[] = {TP_F_QUOTE_TYPE, TP_F_PRICE, TP_F_TIME, TP_F_MARKET_HOURS,
                                     TP_F_CHANGE_PERCENT, TP_F_DAY_VOLUME, TP_F_CHANGE,
                                     TP_F_PRICE_HINT};
    for (size_t i = 0; i < sizeof(dbl_fields) / sizeof(dbl_fields[0]); i++) {
        int f = dbl_fields[i];
        if (f == TP_F_TIME)
            tp_cql_add_double(v, (double)t->time);
        else if (!tp_quote_has(t->q, f))
            tp_cql_add_null(v);
        else if (tp_field_type(f) == TP_FT_FLOAT)
            tp_cql_add_double(v, t->q->v[f].f32);
        else
            tp_cql_add_double(v, (double)t->q->v[f].i64);
    }
    tp_cql_add_double(v, t->cum_avg_price);
    return tp_cql_execute_async(s->c, s->prep[P_SEED], v);
}

static int cas_put_tick(struct tp_store *b, const struct tp_tick_row *t) {
    struct cas *s = (struct cas *)b;
    struct tp_cql_values *v = &s->v;
    int64_t day = tp_floor_div(t->time, DAY_MS);
    char pkey[300];
    tp_cql_values_reset(v);
    tp_cql_add_text(v, t->symbol, t->symbol_len);
    tp_cql_add_date(v, (int32_t)day);
    tp_cql_add_bigint(v, t->time);
    tp_cql_add_bigint(v, t->seq);
    tp_cql_add_double(v, t->q->v[TP_F_PRICE].f32);
    tp_cql_add_double(v, t->cum_avg_price);
    for (size_t i = 0; i < sizeof(tick_fields) / sizeof(tick_fields[0]); i++)
        add_field(v, t->q, t->payload, tick_fields[i]);
    tp_cql_add_blob(v, t->payload, t->payload_len);
    snprintf(pkey, sizeof(pkey), "t|%.*s|%" PRId64, (int)t->symbol_len, t->symbol, day);
    int rc = batch_add(s, pkey, s->prep[P_TICK], v);
    if (rc == 0 && s->opt.seed_table)
        rc = put_seed_row(s, t);
    return tp_cas_fail(s, rc, "write a tick");
}

static int cas_put_bar(struct tp_store *b, const struct tp_bar_row *r) {
    struct cas *s = (struct cas *)b;
    struct tp_cql_values *v = &s->v;
    char key[300];
    tp_cql_values_reset(v);
    tp_cql_add_text(v, r->symbol, r->symbol_len);
    tp_cql_add_text(v, r->interval, r->interval_len);
    tp_cql_add_int(v, month_of_day(tp_floor_div(r->start, DAY_MS)));
    tp_cql_add_bigint(v, r->start);
    tp_cql_add_double(v, r->open);
    tp_cql_add_double(v, r->high);
    tp_cql_add_double(v, r->low);
    tp_cql_add_double(v, r->close);
    tp_cql_add_bigint(v, r->volume);
    if (r->vwap_valid)
        tp_cql_add_double(v, r->vwap);
    else
        tp_cql_add_null(v);
    tp_cql_add_bigint(v, r->count);
    snprintf(key, sizeof(key), "%s|%s|%" PRId64, r->symbol, r->interval, r->start);
    return tp_cas_fail(s, cas_put_sql(&s->bars, key, v), "buffer a bar");
}

static int cas_put_latest(struct tp_store *b, const struct tp_latest_row *l) {
    struct cas *s = (struct cas *)b;
    struct tp_cql_values *v = &s->v;
    tp_cql_values_reset(v);
    tp_cql_add_text(v, l->symbol, strlen(l->symbol));
    tp_cql_add_bigint(v, l->time);
    tp_cql_add_double(v, l->price);
    tp_cql_add_double(v, l->cum_avg_price);
    tp_cql_add_bigint(v, l->count);
    return tp_cas_fail(s, cas_put_sql(&s->latest, l->symbol, v), "buffer a latest row");
}

static int cas_put_sql(struct kv *m, const char *key, const struct tp_cql_values *v) {
    if (v->oom)
        return TP_ENOMEM;
    return tp_kv_put(m, key, v->buf, v->len, v->n);
}

/* gaps: partitioned by symbol alone (a symbol has a few outages a day at
 * most, so its partition stays small), clustered by start. */
static int cas_put_gap(struct tp_store *b, const struct tp_gap_row *g) {
    struct cas *s = (struct cas *)b;
    struct tp_cql_values *v = &s->v;
    char key[128];
    snprintf(key, sizeof key, "%.100s|%lld", g->symbol, (long long)g->start);
    tp_cql_values_reset(v);
    tp_cql_add_text(v, g->symbol, strlen(g->symbol));
    tp_cql_add_bigint(v, g->start);
    tp_cql_add_bigint(v, g->stop);
    tp_cql_add_text(v, g->reason, strlen(g->reason));
    return tp_cas_fail(s, cas_put_sql(&s->gaps, key, v), "buffer a gap");
}

static int cas_put_state(struct tp_store *b, const char *symbol, const void *blob, size_t len) {
    struct cas *s = (struct cas *)b;
    return tp_cas_fail(s, tp_kv_put(&s->states, symbol, blob, len, 0), "buffer state");
}

static int cas_put_checkpoint(struct tp_store *b, const struct tp_checkpoint *c) {
    struct cas *s = (struct cas *)b;
    int64_t vals[3] = {c->pos, c->line, c->aux};
    if (c->fence && tp_kv_put(&s->fences, c->fence, &c->epoch, sizeof c->epoch, 0) < 0)
        return tp_cas_fail(s, TP_ENOMEM, "buffer a fence");
    return tp_cas_fail(s, tp_kv_put(&s->ckpts, c->key, vals, sizeof(vals), 0), "buffer a checkpoint");
}

/* ------------------------------------------------------------ commit */
/* Sends the coalesced bars (batched by partition) and latest rows. */
static int send_rows(struct cas *s) {
    int rc = 0;
    for (size_t i = 0; i < s->bars.cap && rc == 0; i++) {
        struct kv_entry *e = &s->bars.e[i];
        if (!e->key)
            continue;
        struct tp_cql_values v = {e->val, e->len, e->len, e->n, 0};
        char pkey[300];
        const char *bar = strchr(e->key, '|');
        const char *start = bar ? strchr(bar + 1, '|') : NULL;
        int64_t st = start ? strtoll(start + 1, NULL, 10) : 0;
        snprintf(pkey, sizeof(pkey), "b|%.*s|%d", start ? (int)(start - e->key) : 0, e->key,
                 (int)month_of_day(tp_floor_div(st, DAY_MS)));
        rc = batch_add(s, pkey, s->prep[P_BAR], &v);
    }
    if (rc == 0)
        rc = tp_cas_flush_batches(s);
    for (size_t i = 0; i < s->latest.cap && rc == 0; i++) {
        struct kv_entry *e = &s->latest.e[i];
        if (!e->key)
            continue;
        struct tp_cql_values v = {e->val, e->len, e->len, e->n, 0};
        rc = tp_cql_execute_async(s->c, s->prep[P_LATEST], &v);
    }
    for (size_t i = 0; i < s->gaps.cap && rc == 0; i++) {
        struct kv_entry *e = &s->gaps.e[i];
        if (!e->key)
            continue;
        struct tp_cql_values v = {e->val, e->len, e->len, e->n, 0};
        rc = tp_cql_execute_async(s->c, s->prep[P_GAP], &v);
    }
    tp_kv_clear(&s->bars);
    tp_kv_clear(&s->latest);
    tp_kv_clear(&s->gaps);
    return rc;
}

/* Picks the free slot of every buffered name (into e->n) before anything
 * is sent, since a name this handle never loaded is looked up first. */
static int pick_slots(struct cas *s) {
    int rc = 0;
    for (size_t i = 0; i < s->states.cap && rc == 0; i++)
        if (s->states.e[i].key)
            rc = tp_cas_free_slot(s, &s->state_slots, P_STATE_SLOTS, s->states.e[i].key,
                               &s->states.e[i].n);
    for (size_t i = 0; i < s->ckpts.cap && rc == 0; i++)
        if (s->ckpts.e[i].key)
            rc = tp_cas_free_slot(s, &s->ckpt_slots, P_CKPT_SLOTS, s->ckpts.e[i].key,
                               &s->ckpts.e[i].n);
    return rc;
}

/* Writes buffered state and checkpoints into their free slots at gen. */
static int send_state(struct cas *s, int64_t gen) {
    struct tp_cql_values *v = &s->v;
    int rc = 0;
    for (size_t i = 0; i < s->states.cap && rc == 0; i++) {
        struct kv_entry *e = &s->states.e[i];
        if (!e->key)
            continue;
        tp_cql_values_reset(v);
        tp_cql_add_text(v, e->key, strlen(e->key));
        tp_cql_add_int(v, e->n);
        tp_cql_add_bigint(v, s->writer);
        tp_cql_add_bigint(v, gen);
        tp_cql_add_blob(v, e->val, e->len);
        rc = tp_cql_execute_async(s->c, s->prep[P_STATE], v);
    }
    for (size_t i = 0; i < s->ckpts.cap && rc == 0; i++) {
        struct kv_entry *e = &s->ckpts.e[i];
        int64_t vals[3];
        if (!e->key)
            continue;
        memcpy(vals, e->val, sizeof(vals));
        tp_cql_values_reset(v);
        tp_cql_add_text(v, e->key, strlen(e->key));
        tp_cql_add_int(v, e->n);
        tp_cql_add_bigint(v, s->writer);
        tp_cql_add_bigint(v, gen);
        for (int k = 0; k < 3; k++)
            tp_cql_add_bigint(v, vals[k]);
        rc = tp_cql_execute_async(s->c, s->prep[P_CKPT], v);
    }
    return rc;
}

/* After the marker: the slots just written now hold the committed versions. */
static void settle_slots(struct cas *s) {
    for (size_t i = 0; i < s->states.cap; i++)
        if (s->states.e[i].key)
            tp_kv_put(&s->state_slots, s->states.e[i].key, NULL, 0, s->states.e[i].n);
    for (size_t i = 0; i < s->ckpts.cap; i++)
        if (s->ckpts.e[i].key)
            tp_kv_put(&s->ckpt_slots, s->ckpts.e[i].key, NULL, 0, s->ckpts.e[i].n);
    tp_kv_clear(&s->states);
    tp_kv_clear(&s->ckpts);
}

static int wait_acks(struct cas *s, const char *what) {
    char err[256];
    int rc = tp_cql_wait(s->c, err, sizeof(err));
    if (rc < 0)
        snprintf(s->base.last_error, sizeof(s->base.last_error), "%.50s: %.190s", what, err);
    return rc < 0 ? TP_ESTORE : 0;
}

/* Forgets everything buffered since the last commit. Tick batches sent
 * already (only before this handle claimed a partition) stay sent. */
static void drop_batch(struct cas *s) {
    for (int i = 0; i < s->npb; i++) {
        tp_cql_batch_free(s->pb[i].b);
        s->pb[i].b = NULL;
    }
    s->npb = 0;
    for (int i = 0; i < s->nheld; i++)
        tp_cql_batch_free(s->held[i]);
    s->nheld = 0;
    tp_kv_clear(&s->bars);
    tp_kv_clear(&s->latest);
    tp_kv_clear(&s->gaps);
    tp_kv_clear(&s->states);
    tp_kv_clear(&s->ckpts);
    tp_kv_clear(&s->fences);
}

static void cas_abort(struct tp_store *b) {
    drop_batch((struct cas *)b);
}

/* A refused batch: nothing of it is written (a member that claims
 * partitions holds its tick batches until commit). */
static int drop_fenced(struct cas *s) {
    drop_batch(s);
    return TP_EFENCED;
}

static int cas_commit(struct tp_store *b) {
    struct cas *s = (struct cas *)b;
    /* The outputs' timestamp is taken before the fence check: if this
     * writer is stopped after the check, its rows arrive late with a
     * timestamp older than the new owner's claim and lose to its rows. */
    tp_cas_stamp(s);
    int rc = s->fences.count ? tp_cas_check_fences(s) : 0;
    if (rc < 0)
        return rc == TP_EFENCED ? drop_fenced(s) : rc;
    rc = tp_cas_flush_batches(s);
    if (rc == 0)
        rc = send_rows(s);
    if (rc < 0)
        return tp_cas_fail(s, rc, "send outputs");
    if ((rc = wait_acks(s, "writing outputs")) < 0)
        return rc;
    if (s->states.count == 0 && s->ckpts.count == 0)
        return 0;
    if ((rc = pick_slots(s)) < 0)
        return rc;
    /* The generation is taken before the last fence check: if this writer
     * is stopped after the check, its rows land with a generation older
     * than the new owner's claim (an HLC value too), so readers, who take
     * the largest committed generation, prefer the new owner's rows. */
    int64_t gen = tp_cas_next_gen(s);
    s->clock = gen;
    if (s->fences.count && (rc = tp_cas_check_fences(s)) < 0)
        return rc == TP_EFENCED ? drop_fenced(s) : rc;
    tp_kv_clear(&s->fences);
    if ((rc = send_state(s, gen)) < 0)
        return tp_cas_fail(s, rc, "send state");
    if ((rc = wait_acks(s, "writing state")) < 0)
        return rc;
    tp_cql_values_reset(&s->v);
    tp_cql_add_bigint(&s->v, s->writer);
    tp_cql_add_bigint(&s->v, gen);
    if ((rc = tp_cql_execute_async(s->c, s->prep[P_MARK], &s->v)) < 0)
        return tp_cas_fail(s, rc, "send the commit marker");
    if ((rc = wait_acks(s, "writing the commit marker")) < 0)
        return rc;
    s->gen = gen;
    settle_slots(s);
    return 0;
}

/* ------------------------------------------------------------ reads */
static int cas_get_state(struct tp_store *b, const char *symbol, void **blob, size_t *len) {
    struct cas *s = (struct cas *)b;
    struct tp_cql_result *r = NULL;
    int row;
    int rc = tp_cas_read_slots(s, P_STATE_SLOTS, &s->state_slots, symbol, &r, &row);
    if (rc == 0) {
        int32_t n = r->lens[(size_t)row * (size_t)r->ncols + 3];
        *blob = malloc(n > 0 ? (size_t)n : 1);
        if (!*blob)
            rc = TP_ENOMEM;
        else if (n > 0)
            memcpy(*blob, r->vals[(size_t)row * (size_t)r->ncols + 3], (size_t)n);
        *len = n > 0 ? (size_t)n : 0;
    }
    tp_cql_result_free(r);
    return rc;
}

static int cas_get_checkpoint(struct tp_store *b, struct tp_checkpoint *c) {
    struct cas *s = (struct cas *)b;
    struct tp_cql_result *r = NULL;
    int row;
    int rc = tp_cas_read_slots(s, P_CKPT_SLOTS, &s->ckpt_slots, c->key, &r, &row);
    if (rc == 0) {
        tp_cql_get_int64(r, row, 3, &c->pos);
        tp_cql_get_int64(r, row, 4, &c->line);
        tp_cql_get_int64(r, row, 5, &c->aux);
    }
    tp_cql_result_free(r);
    return rc;
}

static void cas_free(struct tp_store *b) {
    struct cas *s = (struct cas *)b;
    if (!s)
        return;
    if (s->c) {
        struct tp_cql_stats st;
        tp_cql_get_stats(s->c, &st);
        tp_info("cassandra", "requests=%" PRIu64 " retries=%" PRIu64 " reprepares=%" PRIu64
                " reconnects=%" PRIu64 " max_in_flight=%d nodes=%d", st.requests, st.retries,
                st.reprepares, st.reconnects, st.max_in_flight, st.nodes);
    }
    for (int i = 0; i < MAX_OPEN_BATCHES; i++)
        tp_cql_batch_free(s->pb[i].b);
    for (int i = 0; i < s->nheld; i++)
        tp_cql_batch_free(s->held[i]);
    free(s->held);
    tp_kv_free(&s->bars);
    tp_kv_free(&s->latest);
    tp_kv_free(&s->gaps);
    tp_kv_free(&s->states);
    tp_kv_free(&s->ckpts);
    tp_kv_free(&s->state_slots);
    tp_kv_free(&s->ckpt_slots);
    tp_kv_free(&s->markers);
    tp_kv_free(&s->fences);
    tp_cql_values_free(&s->v);
    tp_cql_free(s->c);
    tp_cas_opts_free(&s->opt);
    free(s);
}

static const struct tp_store_ops cassandra_ops = {
    .name = "cassandra", .begin = cas_begin, .put_tick = cas_put_tick, .put_bar = cas_put_bar,
    .put_latest = cas_put_latest, .put_state = cas_put_state,
    .put_checkpoint = cas_put_checkpoint, .commit = cas_commit, .abort = cas_abort,
    .get_state = cas_get_state, .get_checkpoint = cas_get_checkpoint, .query = tp_cas_query,
    .free = cas_free, .put_gap = cas_put_gap, .claim = tp_cas_claim,
    .get_epoch = tp_cas_get_epoch, .put_loss = tp_cas_put_loss};

static int cassandra_open(struct tp_store **out, const char *uri, int readonly, char *errbuf,
                          size_t errsize);

int tp_store_cassandra_open_readonly(struct tp_store **out, const char *uri, char *errbuf,
                                     size_t errsize) {
    return cassandra_open(out, uri, 1, errbuf, errsize);
}

int tp_store_cassandra_open(struct tp_store **out, const char *uri, char *errbuf,
                            size_t errsize) {
    return cassandra_open(out, uri, 0, errbuf, errsize);
}

static int cassandra_open(struct tp_store **out, const char *uri, int readonly, char *errbuf,
                          size_t errsize) {
    struct cas *s = calloc(1, sizeof(*s));
    int rc;
    *out = NULL;
    if (!s)
        return tp_errf(errbuf, errsize, TP_ENOMEM, "cassandra: out of memory");
    s->base.ops = &cassandra_ops;
    s->base.has_state = 1;
    rc = tp_cas_opts_parse(&s->opt, uri, errbuf, errsize);
    if (rc == 0)
        rc = tp_cas_connect(s, errbuf, errsize);
    if (rc == 0)
        rc = readonly ? tp_cas_schema_readonly(s, uri, errbuf, errsize) : tp_cas_schema(s, errbuf, errsize);
    if (rc < 0) {
        cas_free(&s->base);
        return rc;
    }
    *out = &s->base;
    return 0;
}

/* Exposed for the query code in cql_store_query.c. */
int32_t tp_cas_month_of_day(int64_t day) { return month_of_day(day); }
int64_t tp_cas_day_of_month(int32_t ym) { return day_of_month(ym); }
int32_t tp_cas_next_month(int32_t ym) { return next_month(ym); }
