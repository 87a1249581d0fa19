/*
 * tp_kafka.h - the Kafka bus: a producer for `ingest` and a consumer-group
 * member for `process`, behind our own types (only src/bus/kafka*.c see
 * librdkafka).
 *
 * Configuration: brokers plus any number of "key=value" librdkafka
 * properties, applied after our defaults so users can override them; a
 * property librdkafka rejects makes _new() fail with TP_EINVAL and an
 * errbuf naming it with librdkafka's message.
 *
 * Threads: each handle is used by one thread (the one that created it).
 * librdkafka runs its own threads inside; every callback into our code
 * (delivery reports, rebalances) runs on the calling thread during
 * tp_kafka_producer_poll()/_produce()/_flush() and tp_kafka_consume().
 */
#ifndef TP_KAFKA_H
#define TP_KAFKA_H

#include <stddef.h>
#include <stdint.h>

/* ---- producer ---------------------------------------------------------- */

struct tp_kafka_producer;

struct tp_kafka_producer_stats {
    int64_t produced;         /* accepted into librdkafka's queue */
    int64_t delivered;        /* acknowledged by the brokers (acks=all) */
    int64_t failed;           /* delivery reports with an error */
    int64_t queue_full_waits; /* times produce() had to poll for room */
};

/* Creates an idempotent producer (acks=all, lz4, linger 5 ms) for brokers;
 * kv holds nkv "key=value" properties applied on top. TP_EINVAL when a
 * property is rejected, TP_EFATAL when librdkafka cannot start. */
int tp_kafka_producer_new(struct tp_kafka_producer **out, const char *brokers,
                          const char *const *kv, int nkv, char *errbuf, size_t errsize);

/* Waits up to timeout_ms for the cluster's metadata of topic. TP_ETIMEDOUT
 * when no broker answered, TP_ENOTFOUND when the topic does not exist
 * (errbuf says what to fix). */
int tp_kafka_producer_check(struct tp_kafka_producer *p, const char *topic,
                            int timeout_ms, char *errbuf, size_t errsize);

/* Queues one message (key, value and the optional header are copied).
 * When librdkafka's queue is full it serves delivery reports until there is
 * room; it never drops. Returns 0, or TP_EFATAL once a delivery failed for
 * good or the producer hit a fatal error (errbuf says which). */
int tp_kafka_produce(struct tp_kafka_producer *p, const char *topic,
                     const void *key, size_t key_len, const void *value, size_t len,
                     const char *header, const char *header_value,
                     char *errbuf, size_t errsize);

/* One message of tp_kafka_produce_batch(). */
struct tp_kafka_out {
    const void *key;
    size_t key_len;
    const void *value;
    size_t len;
};

#define TP_KAFKA_BATCH_MAX 256

/* Queues n (at most TP_KAFKA_BATCH_MAX) messages to topic in order, each
 * as produce() would (copied, partitioned by key, no header; a full queue
 * is waited out, never dropped), with librdkafka's topic lock, clock and
 * checks taken once for all of them instead of once per message. Same
 * result as produce(). */
int tp_kafka_produce_batch(struct tp_kafka_producer *p, const char *topic,
                           const struct tp_kafka_out *m, int n, char *errbuf, size_t errsize);

/* Serves delivery reports for up to timeout_ms. Same result as produce(). */
int tp_kafka_producer_poll(struct tp_kafka_producer *p, int timeout_ms,
                           char *errbuf, size_t errsize);

/* Waits up to timeout_ms for every queued message to be delivered.
 * *undelivered receives how many were not (still queued or failed).
 * Returns 0 when all were delivered, else TP_ETIMEDOUT or TP_EFATAL. */
int tp_kafka_producer_flush(struct tp_kafka_producer *p, int timeout_ms,
                            int64_t *undelivered, char *errbuf, size_t errsize);

void tp_kafka_producer_stats(const struct tp_kafka_producer *p,
                             struct tp_kafka_producer_stats *s);

/* Frees without flushing (call flush first); NULL is a no-op. */
void tp_kafka_producer_free(struct tp_kafka_producer *p);

/* ---- consumer ---------------------------------------------------------- */

struct tp_kafka_consumer;

/* What the consumer knows about a newly assigned partition. */
struct tp_kafka_assignment {
    const char *topic;
    int32_t partition;
    int64_t committed;        /* the group's committed offset; -1 none or unknown */
    int64_t log_start;        /* the first offset still readable; -1 unknown */
    int64_t log_end;          /* the offset the next message will get; -1 unknown */
};

/* Rebalance hooks, called on the thread inside tp_kafka_consume().
 * assigned: once per newly assigned partition; sets *offset to the offset
 *   to resume at (from our own checkpoint; < 0 = the earliest).
 * revoking: before the consumer gives up partitions (all of them, or the
 *   ones listed); lost = 1 when the group already took them away (session
 *   timeout), so work not yet committed must be discarded, not committed.
 * Both return 0, or a negative TP_E* code with a sentence in errbuf: that
 * is fatal, and the next tp_kafka_consume() returns TP_EFATAL with that
 * sentence (the hooks print nothing themselves). */
struct tp_kafka_hooks {
    int (*assigned)(void *opaque, const struct tp_kafka_assignment *a, int64_t *offset,
                    char *errbuf, size_t errsize);
    int (*revoking)(void *opaque, const char *topic, const int32_t *partitions, int n,
                    int lost, char *errbuf, size_t errsize);
    void *opaque;
};

/* A consumed message; pointers are valid until the next consume() call. */
struct tp_kafka_msg {
    const char *topic;
    int32_t partition;
    int64_t offset;
    const void *key;
    size_t key_len;
    const uint8_t *value;     /* without ingest's position field, if it had one */
    size_t len;
    uint64_t src_id;          /* where ingest read the frame (see below); 0 = unknown */
    int64_t src_line;
};

/* Where a frame of a replayed file came from, which lets `process`
 * recognise frames that a restarted ingest produced again: the file's id
 * (never 0) and its line. `ingest` appends it to the PricingData bytes as
 * one more protobuf field, number TP_KAFKA_POS_FIELD, holding a nested
 * message {fixed64 id = 1; fixed64 line = 2;}: TP_KAFKA_POS_LEN bytes that
 * PricingData decoders skip as an unknown field. tp_kafka_consume() takes
 * it off again. Topics written before carried it as a header
 * (TP_KAFKA_POS_HEADER, "<16 hex digits of the id>:<line>"), which is still
 * read; the header cost librdkafka three allocations per message. */
#define TP_KAFKA_POS_FIELD 15000
#define TP_KAFKA_POS_LEN 22
#define TP_KAFKA_POS_HEADER "tp-pos"

/* Writes the position field (TP_KAFKA_POS_LEN bytes) at dst. */
void tp_kafka_pos_write(uint8_t *dst, uint64_t id, int64_t line);

/* 1 with *id and *line filled when value (len bytes) ends with a position
 * field, else 0. */
int tp_kafka_pos_read(const uint8_t *value, size_t len, uint64_t *id, int64_t *line);

/* Per-partition progress, kept for logging and a metrics endpoint. */
struct tp_kafka_lag {
    int32_t partition;
    int64_t next_offset;      /* next offset we will read; -1 unknown */
    int64_t high_watermark;   /* end of the log as last seen; -1 unknown */
    int64_t lag;              /* high_watermark - next_offset; -1 unknown */
    int at_eof;               /* reached the end and nothing new since */
};

/* Joins group and subscribes to topic. enable.partition.eof is on;
 * offsets are stored only through tp_kafka_consumer_store() (advisory
 * commits). TP_EINVAL on a rejected property (errbuf names it). */
int tp_kafka_consumer_new(struct tp_kafka_consumer **out, const char *brokers,
                          const char *group, const char *topic,
                          const char *const *kv, int nkv,
                          const struct tp_kafka_hooks *hooks,
                          char *errbuf, size_t errsize);

/* Waits up to timeout_ms. Returns 0 with *m filled, TP_EAGAIN when nothing
 * arrived (or only events such as a rebalance or a partition EOF were
 * handled), or TP_EFATAL (errbuf says what to fix). */
int tp_kafka_consume(struct tp_kafka_consumer *c, struct tp_kafka_msg *m, int timeout_ms,
                     char *errbuf, size_t errsize);

/* Records that everything before next_offset of partition is durable in
 * our store, so Kafka's committed offset (advisory) may move there. */
void tp_kafka_consumer_store(struct tp_kafka_consumer *c, int32_t partition,
                             int64_t next_offset);

/* Moves the fetch position of an assigned partition to offset (used after
 * uncommitted work was discarded). 0 or TP_EFATAL (errbuf says why). */
int tp_kafka_consumer_seek(struct tp_kafka_consumer *c, int32_t partition, int64_t offset,
                           char *errbuf, size_t errsize);

/* 1 when the group has taken the assignment away (session timeout) and the
 * revocation has not been served yet: nothing may be committed then. */
int tp_kafka_consumer_lost(struct tp_kafka_consumer *c);

/* 1 when at least one partition is assigned and all are at their end. */
int tp_kafka_consumer_at_end(const struct tp_kafka_consumer *c);

/* Copies up to max partition records into out (refreshing watermarks from
 * librdkafka's cache); returns how many partitions are assigned. */
int tp_kafka_consumer_lag(struct tp_kafka_consumer *c, struct tp_kafka_lag *out, int max);

/* Leaves the group (the revoking hook runs first). Idempotent. */
void tp_kafka_consumer_close(struct tp_kafka_consumer *c);

/* Closes if needed and frees; NULL is a no-op. */
void tp_kafka_consumer_free(struct tp_kafka_consumer *c);

#endif
