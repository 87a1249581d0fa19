/*
 * kafka_ingest.c - the loop of `tickpipe ingest` (tp_kafka_ingest.h):
 * source -> decode -> Kafka topic.
 *
 * While the source has nothing, the producer is polled so delivery reports
 * keep flowing; after each frame too. A frame of a replayed file carries
 * its position (tp_kafka_pos_write: the file's id and line), the id being
 * FNV-1a of the file's absolute path (never 0), so each replayed file has
 * one id.
 *
 * Threads: the thread that owns the handle only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../codec/tp_decode.h"
#include "../core/tp_civil.h"
#include "../core/tp_deadletter.h"
#include "../core/tp_error.h"
#include "../core/tp_quote.h"
#include "tp_kafka_ingest.h"

struct tp_kafka_ingest {
    struct tp_kafka_ingest_opts o;
    struct tp_kafka_producer *p;
    struct tp_source *src;
    uint64_t source_id;       /* a replayed file's id for position headers; 0 = live */
    struct tp_kafka_ingest_stats st;
    unsigned unpolled;        /* frames produced since the last poll */
    uint8_t payload[TP_PAYLOAD_MAX + TP_KAFKA_POS_LEN];
    char errbuf[512];
};

static int ingest_reject(struct tp_kafka_ingest *in, const struct tp_raw *r, const char *reason) {
    const char *key = tp_source_position_key(in->src);
    in->st.rejected++;
    if (in->o.dead) {
        tp_deadletter_write(in->o.dead, reason, key ? key : in->o.source_name, r->lineno, r->line,
                            r->len);
        fflush(in->o.dead);
    }
    if (!in->o.dlq_topic)
        return 0;
    char pos[64];
    snprintf(pos, sizeof pos, "%lld", (long long)r->lineno);
    in->st.dlq++;
    return tp_kafka_produce(in->p, in->o.dlq_topic, pos, strlen(pos), r->line, r->len, "reason",
                            reason, in->errbuf, sizeof in->errbuf);
}

/* Decodes one frame and produces it (or dead-letters it). 0 or fatal. */
static int ingest_frame(struct tp_kafka_ingest *in, const struct tp_raw *r) {
    const char *frame, *reason = "";
    size_t frame_len, plen = 0;
    struct tp_quote q;
    in->st.frames++;
    if (r->too_long)
        return ingest_reject(in, r, "line too long");
    tp_decode_split_recv_time(r->line, r->len, &frame, &frame_len);
    int d = tp_decode_frame(frame, frame_len, in->payload, &plen, &q, &reason);
    if (d == TP_DECODE_SKIP) {
        in->st.skipped++;
        return 0;
    }
    if (d != TP_DECODE_OK)
        return ingest_reject(in, r, reason);
    tp_sv id = q.v[TP_F_ID].sv;
    in->st.produced++;
    if (in->source_id && r->lineno > 0) {
        tp_kafka_pos_write(in->payload + plen, in->source_id, r->lineno);
        plen += TP_KAFKA_POS_LEN;
    }
    return tp_kafka_produce(in->p, in->o.topic, in->payload + id.off, id.len, in->payload, plen,
                            NULL, NULL, in->errbuf, sizeof in->errbuf);
}

#define INGEST_POLL_EVERY 64

/* Reads the source to its end (or a stop signal). 0 or a fatal code. */
static int ingest_loop(struct tp_kafka_ingest *in) {
    struct tp_raw r;
    while (!*in->o.stop) {
        int rc = tp_source_next(in->src, &r, 200, in->errbuf, sizeof in->errbuf);
        if (rc == TP_EEOF)
            return 0;
        if (rc == TP_EAGAIN)
            rc = tp_kafka_producer_poll(in->p, 0, in->errbuf, sizeof in->errbuf);
        else if (rc == 0 && r.len > 0 && r.line[0] != '#')
            rc = ingest_frame(in, &r);
        /* Delivery reports are served every INGEST_POLL_EVERY frames (and
         * whenever the source has nothing, and inside a full queue's wait):
         * a poll per frame cost about as much as producing it. */
        if (rc == 0 && ++in->unpolled >= INGEST_POLL_EVERY) {
            in->unpolled = 0;
            rc = tp_kafka_producer_poll(in->p, 0, in->errbuf, sizeof in->errbuf);
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

int tp_kafka_ingest_new(struct tp_kafka_ingest **out, struct tp_kafka_producer *p,
                        struct tp_source *src, const struct tp_kafka_ingest_opts *o,
                        char *errbuf, size_t errsize) {
    struct tp_kafka_ingest *in = calloc(1, sizeof *in);
    *out = NULL;
    if (!in)
        return tp_errf(errbuf, errsize, TP_ENOMEM, "ingest: out of memory");
    in->o = *o;
    in->p = p;
    in->src = src;
    const char *key = tp_source_position_key(src);
    if (key) {   /* FNV-1a of the absolute path: one id per replayed file */
        /* The basis lacks the standard one's last digit (TP_FNV1A_BASIS) since
         * the first release; kept, as topics and checkpoints carry ids made with it. */
        in->source_id = tp_fnv1a(1469598103934665603ULL, key, strlen(key));
        in->source_id |= 1;   /* never 0 */
    }
    *out = in;
    return 0;
}

int tp_kafka_ingest_run(struct tp_kafka_ingest *in, char *errbuf, size_t errsize) {
    int rc = ingest_loop(in);
    return rc < 0 ? tp_errf(errbuf, errsize, rc, "%s", in->errbuf) : 0;
}

int tp_kafka_ingest_flush(struct tp_kafka_ingest *in, int timeout_ms, char *errbuf,
                          size_t errsize) {
    int rc = tp_kafka_producer_flush(in->p, timeout_ms, &in->st.undelivered, errbuf, errsize);
    struct tp_kafka_producer_stats ps;
    tp_kafka_producer_stats(in->p, &ps);
    in->st.delivered = ps.delivered;
    return rc;
}

void tp_kafka_ingest_stats(const struct tp_kafka_ingest *in, struct tp_kafka_ingest_stats *s) {
    *s = in->st;
}

void tp_kafka_ingest_free(struct tp_kafka_ingest *in) {
    free(in);
}
