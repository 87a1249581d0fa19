/*
 * tp_kafka_process.h - the loop of `tickpipe process`: one consumer-group
 * member that applies a Kafka topic to a store through the processor, with
 * rebalances, zombie fencing, the re-delivery protocol of a restarted
 * ingest and loss accounting (the design is at the top of
 * kafka_process.c).
 *
 * Errors: every function returns 0 or a negative TP_E* code and fills the
 * caller's errbuf with a sentence; nothing here prints an error or decides
 * an exit status (the command does). Conditions the loop survives (a loss,
 * a fenced batch, a partition taken away) are logged with the stage name
 * "process".
 *
 * Threads: a handle is used by the thread that created it; librdkafka's
 * rebalance callbacks reach it on that thread inside tp_kafka_process_run()
 * and _close(). With metrics set, counters are published as relaxed
 * atomics for the HTTP thread.
 */
#ifndef TP_KAFKA_PROCESS_H
#define TP_KAFKA_PROCESS_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/tp_metrics.h"
#include "../process/tp_processor.h"
#include "../sink/tp_store.h"

struct tp_kafka_process_opts {
    const char *brokers, *topic, *group;   /* all required */
    const char *store_spec;   /* the --store the user gave: named in messages only */
    const char *instance;     /* static membership (group.instance.id) and owner name; or NULL */
    const char *const *conf;  /* nconf "key=value" librdkafka properties, after instance's */
    int nconf;
    int rebuild;              /* the store may be behind the group's committed offsets */
    int exit_at_end;          /* run() returns once every partition stayed at its end */
    int64_t commit_ms;        /* commit to the store at least this often */
    int64_t lag_ms;           /* log the consumer lag this often */
    int64_t grace_ms;         /* with exit_at_end: how long the end must stay idle */
    struct tp_processor_opts po;
    struct tp_metrics *m;     /* NULL: publish nothing */
    struct tp_store *tap;     /* the measuring tap the store is wrapped in, or NULL */
    const volatile sig_atomic_t *stop;   /* non-zero: run() returns 0; required */
};

/* The counters of the summary line, over every processor the loop used. */
struct tp_kafka_process_stats {
    struct tp_processor_stats p;
    int64_t lost;     /* messages that could no longer be read */
    int64_t fenced;   /* batches refused because partitions moved on */
};

struct tp_kafka_process;

/* Creates the processor on st and joins the group (st is borrowed and must
 * outlive the handle; o's strings too). TP_EINVAL: bad processor settings
 * (including other --bars/--lateness than the store's) or a property
 * librdkafka rejects; other codes are runtime failures (a store or file
 * that cannot be read). *out is NULL on failure. */
int tp_kafka_process_new(struct tp_kafka_process **out, struct tp_store *st,
                         const struct tp_kafka_process_opts *o, char *errbuf, size_t errsize);

/* Consumes and applies until o->stop is set or, with exit_at_end, the end
 * of every assigned partition. 0, or a fatal code after which only
 * _close(kp, 1, ...) and _free() may follow. */
int tp_kafka_process_run(struct tp_kafka_process *kp, char *errbuf, size_t errsize);

/* Ends the work. failed == 0: the final commit (or, with exit_at_end, the
 * finish that writes open bars), the advisory offsets, and leaving the
 * group; a failing commit returns its code. failed != 0: commits nothing,
 * now or when the group takes the partitions on _free(). */
int tp_kafka_process_close(struct tp_kafka_process *kp, int failed, char *errbuf,
                           size_t errsize);

void tp_kafka_process_stats(const struct tp_kafka_process *kp, struct tp_kafka_process_stats *s);

/* Leaves the group if still in it and frees everything but the store;
 * NULL is a no-op. */
void tp_kafka_process_free(struct tp_kafka_process *kp);

#endif
