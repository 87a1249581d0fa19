/*
 * kafka_producer.c - the producing side of the Kafka bus (`ingest`).
 *
 * One idempotent producer (enable.idempotence, acks=all) so that broker
 * failures and retries neither lose, duplicate nor reorder messages of a
 * partition. A full local queue is handled by serving delivery reports
 * until there is room (never by dropping). A delivery that fails for good,
 * or a fatal producer error, is latched and returned from every later call
 * so the caller stops reading its source and reports it.
 *
 * Threads: all functions run on the caller's thread; the delivery-report
 * and error callbacks run on that thread too, from inside rd_kafka_poll()
 * and rd_kafka_flush(), so the counters need no lock.
 *
 * Topic handles are kept, so producing does not look the topic up by name
 * each time. (Reporting only failed deliveries, delivery.report.only.error,
 * cut ~900 instructions a message from this thread but doubled the wall
 * time: the broker thread then frees the messages and the two threads
 * contend, 8,000 futex calls for 200,000 messages.)
 */
#include "tp_kafka.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/tp_error.h"
#include "../core/tp_log.h"
#include "kafka_int.h"

struct tp_kafka_producer {
    rd_kafka_t *rk;
    rd_kafka_topic_t **rkt;      /* handles of the topics produced to, nrkt of them */
    int nrkt;
    struct tp_kafka_producer_stats st;
    int failed;                  /* latched: a delivery failed or fatal error */
    char why[512];               /* what failed, for the caller's message */
};

static const char *const producer_defaults[] = {
    "enable.idempotence=true",
    "acks=all",
    "linger.ms=5",
    "batch.num.messages=10000",
    "compression.type=lz4",
    "log.connection.close=false",
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    struct tp_kafka_producer *p = opaque;
    if (!m->err) {
        p->st.delivered++;
        return;
    }
    p->st.failed++;
    if (!p->failed) {
        p->failed = 1;
        snprintf(p->why, sizeof p->why, "delivery to %s [%d] failed: %s",
                 rd_kafka_topic_name(m->rkt), (int)m->partition, rd_kafka_err2str(m->err));
    }
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
    struct tp_kafka_producer *p = opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char fatal[256];
        rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, fatal, sizeof fatal);
        if (!p->failed)
            snprintf(p->why, sizeof p->why, "fatal producer error %s: %s",
                     rd_kafka_err2name(orig), fatal);
        p->failed = 1;
        return;
    }
    /* Transient (broker down, all brokers down): librdkafka retries. */
    tp_warn("ingest", "kafka: %s: %s", rd_kafka_err2name(err), reason);
}

int tp_kafka_producer_new(struct tp_kafka_producer **out, const char *brokers,
                          const char *const *kv, int nkv, char *errbuf, size_t errsize) {
    int err;
    char errstr[512];
    *out = NULL;
    struct tp_kafka_producer *p = calloc(1, sizeof *p);
    if (!p)
        return tp_errf(errbuf, errsize, TP_ENOMEM, "out of memory");
    rd_kafka_conf_t *conf = tp_kafka_conf_build(
        brokers, producer_defaults, (int)(sizeof producer_defaults / sizeof *producer_defaults),
        kv, nkv, &err, errbuf, errsize);
    if (!conf) {
        free(p);
        return err;
    }
    rd_kafka_conf_set_opaque(conf, p);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_error_cb(conf, on_error);
    p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!p->rk) {
        rd_kafka_conf_destroy(conf);
        free(p);
        return tp_errf(errbuf, errsize, TP_EINVAL, "cannot create the Kafka producer: %s", errstr);
    }
    *out = p;
    return 0;
}

int tp_kafka_producer_check(struct tp_kafka_producer *p, const char *topic,
                            int timeout_ms, char *errbuf, size_t errsize) {
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(p->rk, topic, NULL);
    if (!rkt)
        return tp_errf(errbuf, errsize, TP_EINVAL, "--topic %s: %s", topic,
                       rd_kafka_err2str(rd_kafka_last_error()));
    rd_kafka_resp_err_t e = rd_kafka_metadata(p->rk, 0, rkt, &md, timeout_ms);
    rd_kafka_topic_destroy(rkt);
    if (e)
        return tp_errf(errbuf, errsize, TP_ETIMEDOUT,
                       "no Kafka broker answered within %d ms (%s): check --kafka and that the "
                       "brokers are up and reachable", timeout_ms, rd_kafka_err2str(e));
    int rc = 0;
    if (md->topic_cnt < 1 || md->topics[0].err || md->topics[0].partition_cnt < 1)
        rc = tp_errf(errbuf, errsize, TP_ENOTFOUND,
                     "topic %s is not available (%s): create it on the cluster or fix --topic",
                     topic, md->topic_cnt ? rd_kafka_err2str(md->topics[0].err) : "no metadata");
    rd_kafka_metadata_destroy(md);
    return rc;
}

static int latched(struct tp_kafka_producer *p, char *errbuf, size_t errsize) {
    if (!p->failed)
        return 0;
    return tp_errf(errbuf, errsize, TP_EFATAL, "%s", p->why);
}

/* The handle for topic, created on first use and kept until the producer
 * is freed (a handful of topics: the main one and the dead-letter one);
 * NULL when librdkafka refuses the name or memory runs out. */
static rd_kafka_topic_t *topic_handle(struct tp_kafka_producer *p, const char *topic) {
    for (int i = 0; i < p->nrkt; i++)
        if (strcmp(rd_kafka_topic_name(p->rkt[i]), topic) == 0)
            return p->rkt[i];
    rd_kafka_topic_t **v = realloc(p->rkt, (size_t)(p->nrkt + 1) * sizeof *v);
    if (!v)
        return NULL;
    p->rkt = v;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(p->rk, topic, NULL);
    if (rkt)
        p->rkt[p->nrkt++] = rkt;
    return rkt;
}

/* The handle for topic once no failure is latched; NULL with *rc set to
 * TP_EFATAL (errbuf filled) otherwise. */
static rd_kafka_topic_t *ready_topic(struct tp_kafka_producer *p, const char *topic, int *rc,
                                     char *errbuf, size_t errsize) {
    if ((*rc = latched(p, errbuf, errsize)))
        return NULL;
    rd_kafka_topic_t *rkt = topic_handle(p, topic);
    if (!rkt)
        *rc = tp_errf(errbuf, errsize, TP_EFATAL, "producing to %s failed: %s", topic,
                      rd_kafka_err2str(rd_kafka_last_error()));
    return rkt;
}

/* librdkafka's queue is full: deliveries make room. */
static void wait_for_room(struct tp_kafka_producer *p) {
    p->st.queue_full_waits++;
    rd_kafka_poll(p->rk, 100);
}

int tp_kafka_produce(struct tp_kafka_producer *p, const char *topic,
                     const void *key, size_t key_len, const void *value, size_t len,
                     const char *header, const char *header_value,
                     char *errbuf, size_t errsize) {
    for (;;) {
        int rc;
        rd_kafka_topic_t *rkt = ready_topic(p, topic, &rc, errbuf, errsize);
        if (!rkt)
            return rc;
        rd_kafka_resp_err_t e;
        if (header)
            e = rd_kafka_producev(p->rk, RD_KAFKA_V_RKT(rkt),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                  RD_KAFKA_V_KEY(key, key_len),
                                  RD_KAFKA_V_VALUE((void *)value, len),
                                  RD_KAFKA_V_HEADER(header, header_value, -1),
                                  RD_KAFKA_V_END);
        else
            e = rd_kafka_producev(p->rk, RD_KAFKA_V_RKT(rkt),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                  RD_KAFKA_V_KEY(key, key_len),
                                  RD_KAFKA_V_VALUE((void *)value, len), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
            p->st.produced++;
            return 0;
        }
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            return tp_errf(errbuf, errsize, TP_EFATAL, "producing to %s failed: %s", topic,
                           rd_kafka_err2str(e));
        wait_for_room(p);   /* then retry */
    }
}

/* Hands m[0..n) to librdkafka; *done receives how many it took (in
 * order). 0, TP_EAGAIN when the queue filled up before the rest, or
 * TP_EFATAL (errbuf says why). */
static int batch_once(struct tp_kafka_producer *p, rd_kafka_topic_t *rkt,
                      const struct tp_kafka_out *m, int n, int *done,
                      char *errbuf, size_t errsize) {
    rd_kafka_message_t km[TP_KAFKA_BATCH_MAX];
    for (int i = 0; i < n; i++)
        km[i] = (rd_kafka_message_t){.key = (void *)m[i].key, .key_len = m[i].key_len,
                                     .payload = (void *)m[i].value, .len = m[i].len};
    int good = rd_kafka_produce_batch(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, km, n);
    p->st.produced += good;
    *done = good;
    if (good == n)
        return 0;
    /* librdkafka stops taking messages at the first full queue, so the
     * ones it took are the first `good`; any other failure is fatal. */
    for (int i = 0; i < n; i++) {
        rd_kafka_resp_err_t e = km[i].err;
        if (i < good ? e != RD_KAFKA_RESP_ERR_NO_ERROR : e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            return tp_errf(errbuf, errsize, TP_EFATAL, "producing to %s failed: %s",
                           rd_kafka_topic_name(rkt),
                           e ? rd_kafka_err2str(e) : "a message was taken after one was refused");
    }
    return TP_EAGAIN;
}

int tp_kafka_produce_batch(struct tp_kafka_producer *p, const char *topic,
                           const struct tp_kafka_out *m, int n, char *errbuf, size_t errsize) {
    if (n > TP_KAFKA_BATCH_MAX)
        return tp_errf(errbuf, errsize, TP_EINVAL, "a batch of %d messages is over %d", n,
                       TP_KAFKA_BATCH_MAX);
    while (n > 0) {
        int rc;
        rd_kafka_topic_t *rkt = ready_topic(p, topic, &rc, errbuf, errsize);
        if (!rkt)
            return rc;
        int done = 0;
        rc = batch_once(p, rkt, m, n, &done, errbuf, errsize);
        if (rc != 0 && rc != TP_EAGAIN)
            return rc;
        m += done;
        n -= done;
        if (rc == TP_EAGAIN)
            wait_for_room(p);
    }
    return 0;
}

int tp_kafka_producer_poll(struct tp_kafka_producer *p, int timeout_ms,
                           char *errbuf, size_t errsize) {
    rd_kafka_poll(p->rk, timeout_ms);
    return latched(p, errbuf, errsize);
}

int tp_kafka_producer_flush(struct tp_kafka_producer *p, int timeout_ms,
                            int64_t *undelivered, char *errbuf, size_t errsize) {
    rd_kafka_resp_err_t e = rd_kafka_flush(p->rk, timeout_ms);
    int queued = rd_kafka_outq_len(p->rk);
    *undelivered = p->st.produced - p->st.delivered;
    int rc = latched(p, errbuf, errsize);
    if (rc)
        return rc;
    if (e || queued > 0)
        return tp_errf(errbuf, errsize, TP_ETIMEDOUT,
                       "%lld messages still undelivered after waiting %d ms: check the brokers",
                       (long long)*undelivered, timeout_ms);
    return 0;
}

void tp_kafka_producer_stats(const struct tp_kafka_producer *p,
                             struct tp_kafka_producer_stats *s) {
    *s = p->st;
}

void tp_kafka_producer_free(struct tp_kafka_producer *p) {
    if (!p)
        return;
    if (p->rk) {
        /* Purge what is left so destroy does not block on it. */
        rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_poll(p->rk, 0);
        for (int i = 0; i < p->nrkt; i++)
            rd_kafka_topic_destroy(p->rkt[i]);
        rd_kafka_destroy(p->rk);
    }
    free(p->rkt);
    free(p);
}
