/*
 * kafka_consumer.c - the consuming side of the Kafka bus (`process`): one
 * member of a consumer group.
 *
 * Our store, not Kafka, is the source of truth for positions: on every
 * assignment the `assigned` hook returns the offset to resume at (the
 * checkpoint committed atomically with the outputs), and we assign exactly
 * that. Before partitions are given up the `revoking` hook flushes and
 * checkpoints them. Kafka's committed offsets are kept only as an advisory
 * copy for monitoring tools: enable.auto.offset.store is off and offsets
 * are stored only after our own store committed them.
 *
 * Per-partition progress (next offset, high watermark, lag, EOF) is kept in
 * a small array indexed by partition number, for --exit-at-end, lag logs
 * and a future metrics endpoint.
 *
 * Threads: everything, including the rebalance callback, runs on the
 * thread calling tp_kafka_consume() (librdkafka serves rebalances from
 * inside rd_kafka_consumer_poll()).
 */
#include "tp_kafka.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/tp_clock.h"
#include "../core/tp_error.h"
#include "../core/tp_log.h"
#include "kafka_int.h"

struct part_state {
    int assigned;
    int at_eof;
    int64_t next_offset;
    int64_t high;
};

struct tp_kafka_consumer {
    rd_kafka_t *rk;
    char *topic;
    struct tp_kafka_hooks hooks;
    rd_kafka_message_t *held;     /* last message handed out */
    struct part_state *parts;
    int nparts;                   /* capacity of parts */
    int fatal;                    /* a hook or librdkafka failed for good */
    char why[1024];
    int closed;
    int close_timed_out;          /* destroy must not try to close again */
};

/* Defaults for a stateful consumer: a member that stops answering (kill -9,
 * a VM pause) keeps its partitions until session.timeout.ms has passed,
 * and that is how long a replacement waits before it writes again, so the
 * session is 6 s instead of librdkafka's 45 s (heartbeats every 500 ms come
 * from librdkafka's own thread, so only a stalled process, not a slow
 * commit, misses them; a stall over 6 s costs a rebalance, which fencing
 * makes safe). Measured on the mock cluster: a replacement writes about
 * 11 s after kill -9 (the 2.0.2 mock adds a join wait; a real cluster about
 * 6-7 s). Static membership (--instance) avoids the rebalance on planned
 * restarts on a real cluster. */
static const char *const consumer_defaults[] = {
    "session.timeout.ms=6000",
    "heartbeat.interval.ms=500",
    "enable.partition.eof=true",
    "enable.auto.offset.store=false",
    "enable.auto.commit=true",
    "auto.offset.reset=earliest",
    "fetch.wait.max.ms=100",         /* latency: do not let the broker hold fetches 500 ms */
    "log.connection.close=false",
};

static struct part_state *part(struct tp_kafka_consumer *c, int32_t partition) {
    if (partition < 0)
        return NULL;
    if (partition >= c->nparts) {
        int n = partition + 16;
        struct part_state *ps = realloc(c->parts, (size_t)n * sizeof *ps);
        if (!ps)
            return NULL;
        memset(ps + c->nparts, 0, (size_t)(n - c->nparts) * sizeof *ps);
        c->parts = ps;
        c->nparts = n;
    }
    return &c->parts[partition];
}

static void set_fatal(struct tp_kafka_consumer *c, const char *what) {
    if (!c->fatal)
        snprintf(c->why, sizeof c->why, "%s", what);
    c->fatal = 1;
}

static int cooperative(rd_kafka_t *rk) {
    const char *proto = rd_kafka_rebalance_protocol(rk);
    return proto && strcmp(proto, "COOPERATIVE") == 0;
}

/* How long a rebalance may wait for the group's committed offsets and the
 * log start of newly assigned partitions. */
#define ASSIGN_QUERY_MS 10000

/* Fills committed offsets (from the coordinator) and log starts and ends
 * (from the partition leaders) of parts; -1 where unknown. */
static void assignment_facts(struct tp_kafka_consumer *c, rd_kafka_topic_partition_list_t *parts,
                             struct tp_kafka_assignment *facts) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_copy(parts);
    rd_kafka_resp_err_t e = rd_kafka_committed(c->rk, l, ASSIGN_QUERY_MS);
    if (e)
        tp_warn("process", "cannot read the group's committed offsets: %s", rd_kafka_err2str(e));
    for (int i = 0; i < parts->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &parts->elems[i];
        int64_t lo = -1, hi = -1;
        facts[i] = (struct tp_kafka_assignment){.topic = tp->topic, .partition = tp->partition,
                                                .committed = -1, .log_start = -1, .log_end = -1};
        if (!e && !l->elems[i].err && l->elems[i].offset >= 0)
            facts[i].committed = l->elems[i].offset;
        if (rd_kafka_query_watermark_offsets(c->rk, tp->topic, tp->partition, &lo, &hi,
                                             ASSIGN_QUERY_MS) == 0) {
            facts[i].log_start = lo;
            facts[i].log_end = hi;
        }
    }
    rd_kafka_topic_partition_list_destroy(l);
}

static void on_assign(struct tp_kafka_consumer *c, rd_kafka_topic_partition_list_t *parts) {
    struct tp_kafka_assignment facts[parts->cnt > 0 ? parts->cnt : 1];
    assignment_facts(c, parts, facts);
    for (int i = 0; i < parts->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &parts->elems[i];
        int64_t off = -1;
        char why[sizeof c->why] = "";
        if (c->hooks.assigned && !c->fatal &&
            c->hooks.assigned(c->hooks.opaque, &facts[i], &off, why, sizeof why) != 0) {
            set_fatal(c, why[0] ? why : "could not resume an assigned partition from the store");
            off = -1;
        }
        tp->offset = off > 0 ? off : RD_KAFKA_OFFSET_BEGINNING;
        struct part_state *ps = part(c, tp->partition);
        if (ps)
            *ps = (struct part_state){.assigned = 1, .next_offset = off > 0 ? off : 0, .high = -1};
        tp_info("process", "assigned %s [%d], resuming at offset %lld", tp->topic,
                (int)tp->partition, (long long)(off > 0 ? off : 0));
    }
    rd_kafka_error_t *err = NULL;
    rd_kafka_resp_err_t e = 0;
    if (cooperative(c->rk))
        err = rd_kafka_incremental_assign(c->rk, parts);
    else
        e = rd_kafka_assign(c->rk, parts);
    if (err || e) {
        char msg[300];
        snprintf(msg, sizeof msg, "assigning partitions failed: %s",
                 err ? rd_kafka_error_string(err) : rd_kafka_err2str(e));
        set_fatal(c, msg);
        rd_kafka_error_destroy(err);
    }
}

static void on_revoke(struct tp_kafka_consumer *c, rd_kafka_topic_partition_list_t *parts) {
    int lost = rd_kafka_assignment_lost(c->rk);
    int32_t ids[parts->cnt > 0 ? parts->cnt : 1];
    for (int i = 0; i < parts->cnt; i++)
        ids[i] = parts->elems[i].partition;
    char why[sizeof c->why] = "";
    if (c->hooks.revoking && parts->cnt > 0 &&
        c->hooks.revoking(c->hooks.opaque, c->topic, ids, parts->cnt, lost, why, sizeof why) != 0)
        set_fatal(c, why[0] ? why : "could not checkpoint revoked partitions in the store");
    for (int i = 0; i < parts->cnt; i++) {
        struct part_state *ps = part(c, ids[i]);
        if (ps)
            ps->assigned = 0;
    }
    tp_info("process", "%s %d partition(s) of %s", lost ? "lost" : "revoked", parts->cnt,
            c->topic);
    if (cooperative(c->rk)) {
        rd_kafka_error_t *err = rd_kafka_incremental_unassign(c->rk, parts);
        rd_kafka_error_destroy(err);
    } else {
        rd_kafka_assign(c->rk, NULL);
    }
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque) {
    (void)rk;
    struct tp_kafka_consumer *c = opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS)
        on_assign(c, parts);
    else
        on_revoke(c, parts);
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
    struct tp_kafka_consumer *c = opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char fatal[256], msg[400];
        rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, fatal, sizeof fatal);
        snprintf(msg, sizeof msg, "fatal consumer error %s: %s", rd_kafka_err2name(orig), fatal);
        set_fatal(c, msg);
        return;
    }
    tp_warn("process", "kafka: %s: %s", rd_kafka_err2name(err), reason);
}

int tp_kafka_consumer_new(struct tp_kafka_consumer **out, const char *brokers,
                          const char *group, const char *topic,
                          const char *const *kv, int nkv,
                          const struct tp_kafka_hooks *hooks,
                          char *errbuf, size_t errsize) {
    int err;
    char errstr[512];
    *out = NULL;
    struct tp_kafka_consumer *c = calloc(1, sizeof *c);
    if (!c || !(c->topic = strdup(topic))) {
        free(c);
        return tp_errf(errbuf, errsize, TP_ENOMEM, "out of memory");
    }
    c->hooks = *hooks;
    rd_kafka_conf_t *conf = tp_kafka_conf_build(
        brokers, consumer_defaults, (int)(sizeof consumer_defaults / sizeof *consumer_defaults),
        kv, nkv, &err, errbuf, errsize);
    if (!conf)
        goto fail;
    err = TP_EINVAL;
    if (rd_kafka_conf_set(conf, "group.id", group, errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        tp_errf(errbuf, errsize, err, "--group %s: %s", group, errstr);
        goto fail;
    }
    rd_kafka_conf_set_opaque(conf, c);
    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    rd_kafka_conf_set_error_cb(conf, on_error);
    c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!c->rk) {
        rd_kafka_conf_destroy(conf);
        tp_errf(errbuf, errsize, err, "cannot create the Kafka consumer: %s", errstr);
        goto fail;
    }
    rd_kafka_poll_set_consumer(c->rk);
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(c->rk, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (e) {
        tp_errf(errbuf, errsize, err, "--topic %s: cannot subscribe: %s", topic,
                rd_kafka_err2str(e));
        goto fail;
    }
    *out = c;
    return 0;
fail:
    c->closed = 1;
    tp_kafka_consumer_free(c);
    return err;
}

static void release_held(struct tp_kafka_consumer *c) {
    if (c->held) {
        rd_kafka_message_destroy(c->held);
        c->held = NULL;
    }
}

/* Handles a message that carries an error or event; returns TP_EAGAIN or
 * TP_EFATAL. */
static int consume_event(struct tp_kafka_consumer *c, rd_kafka_message_t *km,
                         char *errbuf, size_t errsize) {
    if (km->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        struct part_state *ps = part(c, km->partition);
        if (ps && ps->assigned) {
            ps->at_eof = 1;
            ps->next_offset = km->offset;
            ps->high = km->offset;
        }
        return TP_EAGAIN;
    }
    int fatal = km->err == RD_KAFKA_RESP_ERR__FATAL ||
                km->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
                km->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
                km->err == RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED;
    if (!fatal) {
        tp_warn("process", "kafka: %s", rd_kafka_message_errstr(km));
        return TP_EAGAIN;
    }
    return tp_errf(errbuf, errsize, TP_EFATAL, "consuming %s failed: %s: check --topic and "
                   "the cluster's ACLs", c->topic, rd_kafka_message_errstr(km));
}

int tp_kafka_consume(struct tp_kafka_consumer *c, struct tp_kafka_msg *m, int timeout_ms,
                     char *errbuf, size_t errsize) {
    release_held(c);
    if (c->fatal)
        return tp_errf(errbuf, errsize, TP_EFATAL, "%s", c->why);
    rd_kafka_message_t *km = rd_kafka_consumer_poll(c->rk, timeout_ms);
    if (c->fatal) {
        if (km)
            rd_kafka_message_destroy(km);
        return tp_errf(errbuf, errsize, TP_EFATAL, "%s", c->why);
    }
    if (!km)
        return TP_EAGAIN;
    if (km->err) {
        int rc = consume_event(c, km, errbuf, errsize);
        rd_kafka_message_destroy(km);
        return rc;
    }
    struct part_state *ps = part(c, km->partition);
    if (ps) {
        ps->at_eof = 0;
        ps->next_offset = km->offset + 1;
    }
    c->held = km;
    m->topic = rd_kafka_topic_name(km->rkt);
    m->partition = km->partition;
    m->offset = km->offset;
    m->key = km->key;
    m->key_len = km->key_len;
    m->value = km->payload;
    m->len = km->len;
    m->src_id = 0;
    m->src_line = 0;
    if (m->value && tp_kafka_pos_read(m->value, m->len, &m->src_id, &m->src_line)) {
        m->len -= TP_KAFKA_POS_LEN;
        return 0;
    }
    rd_kafka_headers_t *hdrs = NULL;
    const void *hv = NULL;
    size_t hlen = 0;
    if (rd_kafka_message_headers(km, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        rd_kafka_header_get_last(hdrs, TP_KAFKA_POS_HEADER, &hv, &hlen) ==
            RD_KAFKA_RESP_ERR_NO_ERROR && hv)
        tp_kafka_pos_header(hv, hlen, &m->src_id, &m->src_line);
    return 0;
}

int tp_kafka_consumer_seek(struct tp_kafka_consumer *c, int32_t partition, int64_t offset,
                           char *errbuf, size_t errsize) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, c->topic, partition)->offset =
        offset > 0 ? offset : RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_error_t *err = rd_kafka_seek_partitions(c->rk, l, ASSIGN_QUERY_MS);
    int rc = 0;
    if (err || l->elems[0].err)
        rc = tp_errf(errbuf, errsize, TP_EFATAL, "cannot move partition %d of %s back to "
                     "offset %lld: %s", (int)partition, c->topic, (long long)offset,
                     err ? rd_kafka_error_string(err) : rd_kafka_err2str(l->elems[0].err));
    rd_kafka_error_destroy(err);
    rd_kafka_topic_partition_list_destroy(l);
    struct part_state *ps = part(c, partition);
    if (!rc && ps) {
        ps->next_offset = offset > 0 ? offset : 0;
        ps->at_eof = 0;
    }
    return rc;
}

int tp_kafka_consumer_lost(struct tp_kafka_consumer *c) {
    return rd_kafka_assignment_lost(c->rk);
}

void tp_kafka_consumer_store(struct tp_kafka_consumer *c, int32_t partition,
                             int64_t next_offset) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, c->topic, partition)->offset = next_offset;
    /* Fails harmlessly for a partition no longer assigned. */
    rd_kafka_offsets_store(c->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
}

int tp_kafka_consumer_at_end(const struct tp_kafka_consumer *c) {
    int n = 0;
    for (int i = 0; i < c->nparts; i++) {
        if (!c->parts[i].assigned)
            continue;
        if (!c->parts[i].at_eof)
            return 0;
        n++;
    }
    return n > 0;
}

int tp_kafka_consumer_lag(struct tp_kafka_consumer *c, struct tp_kafka_lag *out, int max) {
    int n = 0;
    for (int i = 0; i < c->nparts; i++) {
        struct part_state *ps = &c->parts[i];
        if (!ps->assigned)
            continue;
        int64_t lo, hi;
        if (rd_kafka_get_watermark_offsets(c->rk, c->topic, i, &lo, &hi) == 0 && hi >= 0)
            ps->high = hi;
        if (n < max)
            out[n] = (struct tp_kafka_lag){
                .partition = i, .next_offset = ps->next_offset, .high_watermark = ps->high,
                .lag = ps->high >= 0 ? ps->high - ps->next_offset : -1, .at_eof = ps->at_eof};
        n++;
    }
    return n;
}

/* How long leaving the group may take before we stop waiting for an
 * unreachable coordinator. Our own checkpoint is committed before closing,
 * so giving up here loses nothing. */
#define CLOSE_DEADLINE_MS 10000

void tp_kafka_consumer_close(struct tp_kafka_consumer *c) {
    if (!c || c->closed || !c->rk)
        return;
    release_held(c);
    c->closed = 1;
    rd_kafka_queue_t *q = rd_kafka_queue_new(c->rk);
    rd_kafka_error_t *err = rd_kafka_consumer_close_queue(c->rk, q);
    if (err) {
        tp_warn("process", "leaving the group failed: %s", rd_kafka_error_string(err));
        rd_kafka_error_destroy(err);
    } else {
        /* Serve the queue until closed: the revoking hook runs from here,
         * and messages fetched but not yet handed out are forwarded here
         * too. rd_kafka_consume_queue() serves callbacks and returns those
         * messages, which we drop (our checkpoint is already committed);
         * rd_kafka_queue_poll_callback() cannot take a message and aborts. */
        for (int64_t start = tp_mono_ms(); !rd_kafka_consumer_closed(c->rk);) {
            if (tp_mono_ms() - start >= CLOSE_DEADLINE_MS) {
                tp_warn("process", "the group coordinator did not answer within %d ms; "
                        "leaving without it", CLOSE_DEADLINE_MS);
                c->close_timed_out = 1;
                break;
            }
            rd_kafka_message_t *km = rd_kafka_consume_queue(q, 100);
            if (km)
                rd_kafka_message_destroy(km);
        }
    }
    rd_kafka_queue_destroy(q);
}

void tp_kafka_consumer_free(struct tp_kafka_consumer *c) {
    if (!c)
        return;
    tp_kafka_consumer_close(c);
    release_held(c);
    if (c->rk)
        rd_kafka_destroy_flags(c->rk, c->close_timed_out ? RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE : 0);
    free(c->parts);
    free(c->topic);
    free(c);
}
