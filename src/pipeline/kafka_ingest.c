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

/* Frames per batch: large enough that librdkafka's per-call costs (topic
 * lock, clock) are spread thin, small enough to stay in the cache. */
#define INGEST_BATCH 64
/* Room for a batch of typical frames (39-144 bytes) plus one frame of the
 * largest size accepted, which is what each decode needs free. */
#define INGEST_FRAME_MAX (TP_PAYLOAD_MAX + TP_KAFKA_POS_LEN)
#define INGEST_ARENA (INGEST_BATCH * 256 + INGEST_FRAME_MAX)

struct tp_kafka_ingest {
    struct tp_kafka_ingest_opts o;
    struct tp_kafka_producer *p;
    struct tp_source *src;
    uint64_t source_id;       /* a replayed file's id for positions; 0 = live */
    struct tp_kafka_ingest_stats st;
    unsigned unpolled;        /* frames produced since the last poll */
    /* Frames decoded but not yet handed to the producer: their bytes in
     * arena[0..used), produced together (tp_kafka_produce_batch). */
    struct tp_kafka_out batch[INGEST_BATCH];
    int nbatch;
    size_t used;
    uint8_t arena[INGEST_ARENA];
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

/* Hands the frames decoded so far to the producer. 0 or fatal. */
static int ingest_send(struct tp_kafka_ingest *in) {
    int rc = 0;
    if (in->nbatch > 0)
        rc = tp_kafka_produce_batch(in->p, in->o.topic, in->batch, in->nbatch, in->errbuf,
                                    sizeof in->errbuf);
    in->nbatch = 0;
    in->used = 0;
    return rc;
}

/* Decodes one frame into the batch (or dead-letters it); sends the batch
 * when it is full. 0 or fatal. */
static int ingest_frame(struct tp_kafka_ingest *in, const struct tp_raw *r) {
    const char *reason = "";
    size_t plen = 0;
    struct tp_quote q;
    in->st.frames++;
    if (r->too_long)
        return ingest_reject(in, r, "line too long");
    uint8_t *payload = in->arena + in->used;
    /* r->line is the frame alone: a replay source has taken its receive
     * time off already, and a second one makes the line malformed, as in
     * `run`. */
    int d = tp_decode_frame(r->line, r->len, payload, &plen, &q, &reason);
    if (d == TP_DECODE_SKIP) {
        in->st.skipped++;
        return 0;
    }
    if (d != TP_DECODE_OK)
        return ingest_reject(in, r, reason);
    tp_sv id = q.v[TP_F_ID].sv;
    in->st.produced++;
    if (in->source_id && r->lineno > 0) {
        tp_kafka_pos_write(payload + plen, in->source_id, r->lineno);
        plen += TP_KAFKA_POS_LEN;
    }
    in->batch[in->nbatch++] = (struct tp_kafka_out){payload + id.off, id.len, payload, plen};
    in->used += plen;
    if (in->nbatch == INGEST_BATCH || sizeof in->arena - in->used < INGEST_FRAME_MAX)
        return ingest_send(in);
    return 0;
}

#define INGEST_POLL_EVERY 64

/* Reads the source to its end (or a stop signal). 0 or a fatal code.
 * While frames wait in the batch the source is only polled: when it has
 * nothing more right now, the batch goes out before any wait. */
static int ingest_loop(struct tp_kafka_ingest *in) {
    struct tp_raw r;
    int rc = 0;
    while (rc == 0 && !*in->o.stop) {
        rc = tp_source_next(in->src, &r, in->nbatch ? 0 : 200, in->errbuf, sizeof in->errbuf);
        if (rc == TP_EEOF)
            break;
        if (rc == TP_EAGAIN)
            rc = in->nbatch ? ingest_send(in)
                            : tp_kafka_producer_poll(in->p, 0, in->errbuf, sizeof in->errbuf);
        else if (rc == 0 && r.len > 0 && r.line[0] != '#')
            rc = ingest_frame(in, &r);
        /* Delivery reports are served every INGEST_POLL_EVERY frames (and
         * whenever the source has nothing, and inside a full queue's wait):
         * a poll per frame cost about as much as producing it. */
        if (rc == 0 && ++in->unpolled >= INGEST_POLL_EVERY) {
            in->unpolled = 0;
            rc = tp_kafka_producer_poll(in->p, 0, in->errbuf, sizeof in->errbuf);
        }
    }
    int sent = ingest_send(in);
    return rc < 0 && rc != TP_EEOF ? rc : sent;
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
    in->st.queue_full_waits = ps.queue_full_waits;
    return rc;
}

void tp_kafka_ingest_stats(const struct tp_kafka_ingest *in, struct tp_kafka_ingest_stats *s) {
    *s = in->st;
}

void tp_kafka_ingest_free(struct tp_kafka_ingest *in) {
    free(in);
}
