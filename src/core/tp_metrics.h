/*
 * tp_metrics.h - the counters, gauges and histograms every stage reports
 * into and `--http` exposes at /metrics (Prometheus text format), plus the
 * few timestamps /healthz judges the pipeline by.
 *
 * Threads: any thread may update (relaxed atomics, no lock: the pipeline
 * never waits for a scrape); the HTTP thread reads. A handle is created by
 * the command (main thread) and outlives every stage that reports into it.
 * Every update function accepts m == NULL and then does nothing, so a stage
 * needs no "is --http on?" test of its own.
 */
#ifndef TP_METRICS_H
#define TP_METRICS_H

#include <stdint.h>
#include <stdio.h>

/* Counters and gauges, by index. Processor counters are snapshots the
 * processing thread copies after each batch (the processor stays
 * single-threaded); the others are incremented where they happen. */
enum tp_metric {
    TP_M_FRAMES, TP_M_APPLIED, TP_M_DUPLICATES, TP_M_SKIPPED, TP_M_LATE,
    TP_M_QUEUE_DEPTH, TP_M_QUEUE_CAPACITY, TP_M_QUEUE_PAUSES,
    TP_M_STORE_COMMITS, TP_M_ROWS_TICKS, TP_M_ROWS_BARS, TP_M_ROWS_LATEST, TP_M_STORE_ERRORS,
    /* The live WebSocket source (src/source/yahoo.c); gaps are counted as
     * rows reach the store (sink/tap.c). */
    TP_M_WS_CONNECTS, TP_M_WS_RECONNECTS, TP_M_WS_RESUBSCRIBES, TP_M_WS_SILENT, TP_M_GAPS,
    TP_M_KAFKA_PRODUCE_ERRORS, TP_M_KAFKA_REBALANCES, TP_M_KAFKA_LOST, TP_M_KAFKA_FENCED,
    TP_M_STREAM_CLIENTS, TP_M_STREAM_DROPPED_CLIENTS, TP_M_HTTP_REQUESTS,
    TP_M_COUNT
};

/* Histograms (seconds). */
enum tp_hist { TP_H_COMMIT_SECONDS, TP_H_TICK_LATENCY_SECONDS, TP_H_COUNT };
#define TP_HIST_BUCKETS 14

struct tp_metrics;

/* Creates a zeroed set; start time is now. Returns NULL when out of memory.
 * tp_metrics_free(NULL) is a no-op. */
struct tp_metrics *tp_metrics_new(void);
void tp_metrics_free(struct tp_metrics *m);

void tp_metrics_add(struct tp_metrics *m, enum tp_metric i, int64_t n);
void tp_metrics_set(struct tp_metrics *m, enum tp_metric i, int64_t v);
int64_t tp_metrics_get(const struct tp_metrics *m, enum tp_metric i);

/* Counts a rejected frame by its reason (a static string: the pointer is
 * kept). At most 32 distinct reasons; more are counted as "other". Called
 * from one thread (the processing thread). */
void tp_metrics_reject(struct tp_metrics *m, const char *reason, int64_t n);

/* Adds n observations of `seconds` to histogram h. A stage with many
 * observations at once counts them per bucket itself (tp_metrics_bucket)
 * and adds the array (TP_HIST_BUCKETS + 1 entries, the last is +Inf). */
void tp_metrics_observe(struct tp_metrics *m, enum tp_hist h, double seconds, int64_t n);
int tp_metrics_bucket(double seconds);
void tp_metrics_observe_buckets(struct tp_metrics *m, enum tp_hist h, const int64_t *counts,
                                double sum_seconds);

/* Kafka consumer lag of one partition (messages, >= 0; do not report an
 * unknown lag), from the processing thread; partitions 0..255 are shown. */
void tp_metrics_lag(struct tp_metrics *m, int32_t partition, int64_t lag);

/* Health inputs. live: the source is live (silence is a fault);
 * silent_ms: how long it may be silent; stuck_ms: how long the processing
 * thread may hold a backlog without progress. */
void tp_metrics_health_config(struct tp_metrics *m, int live, int64_t silent_ms, int64_t stuck_ms);
void tp_metrics_frame_seen(struct tp_metrics *m);      /* the reader got a frame (any kind) */
/* The processing thread moved on, or has nothing to do by design (an empty
 * bus, a consumer at the end of its partitions). */
void tp_metrics_progress(struct tp_metrics *m);

/* 0 when healthy, else fills why (a sentence) and returns -1. HTTP thread. */
int tp_metrics_health(const struct tp_metrics *m, char *why, size_t size);

/* Writes the Prometheus text exposition of every metric to f. */
void tp_metrics_write(const struct tp_metrics *m, FILE *f);

/* Monotonic clock in microseconds (for durations measured by stages). */
int64_t tp_metrics_now_us(void);

#endif
