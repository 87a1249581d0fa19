/*
 * tp_kafka_ingest.h - the loop of `tickpipe ingest`: source -> decode ->
 * Kafka topic. Every frame is validated with the decoder; valid ones are
 * produced as PricingData bytes keyed by symbol (one symbol stays in one
 * partition, in order), heartbeats are skipped and counted, rejected
 * frames go to the dead-letter file and optionally a dead-letter topic.
 * Frames of a replayed file carry their position (the file's id and line,
 * as one more protobuf field: tp_kafka_pos_write) so `process` recognises
 * frames a restarted ingest produces again.
 *
 * Errors: 0 or a negative TP_E* code with errbuf filled; nothing here
 * prints or decides an exit status.
 *
 * Threads: a handle is used by the thread that created it (librdkafka's
 * delivery reports reach it there, inside _run() and _flush()).
 */
#ifndef TP_KAFKA_INGEST_H
#define TP_KAFKA_INGEST_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../bus/tp_kafka.h"
#include "../source/tp_source.h"

struct tp_kafka_ingest_opts {
    const char *topic;        /* required */
    const char *dlq_topic;    /* NULL: rejected frames go to the file only */
    const char *source_name;  /* names the source in dead letters when it has no position key */
    FILE *dead;               /* dead-letter file (borrowed), or NULL */
    const volatile sig_atomic_t *stop;   /* non-zero: _run() returns 0; required */
};

/* The counters of the summary line. */
struct tp_kafka_ingest_stats {
    int64_t frames, produced, rejected, skipped, dlq;
    int64_t delivered, undelivered;   /* filled by _flush() */
    int64_t queue_full_waits;         /* times librdkafka's queue was full; by _flush() */
};

struct tp_kafka_ingest;

/* Reads src and produces through p; both are borrowed and must outlive the
 * handle, as must o's strings. TP_ENOMEM only. */
int tp_kafka_ingest_new(struct tp_kafka_ingest **out, struct tp_kafka_producer *p,
                        struct tp_source *src, const struct tp_kafka_ingest_opts *o,
                        char *errbuf, size_t errsize);

/* Reads the source to its end (or the stop flag). 0 or a fatal code (a
 * source or producer failure). */
int tp_kafka_ingest_run(struct tp_kafka_ingest *in, char *errbuf, size_t errsize);

/* Waits up to timeout_ms for every queued message to be delivered; fills
 * the delivery counters of the stats. 0, or a code when some stayed
 * undelivered or the producer failed. */
int tp_kafka_ingest_flush(struct tp_kafka_ingest *in, int timeout_ms, char *errbuf,
                          size_t errsize);

void tp_kafka_ingest_stats(const struct tp_kafka_ingest *in, struct tp_kafka_ingest_stats *s);

/* Frees the handle (not the producer, source or file); NULL is a no-op. */
void tp_kafka_ingest_free(struct tp_kafka_ingest *in);

#endif
