/*
 * metrics.c - counters, gauges, histograms and health inputs behind
 * /metrics and /healthz (tp_metrics.h).
 *
 * Threads: writers are the stages (reader, processing thread, WebSocket
 * service thread); the reader is the HTTP thread. Every value is a relaxed
 * atomic: a scrape may see one counter a batch ahead of another, never a
 * torn value, and no writer ever waits. The reject-reason table is filled
 * by one thread: a slot's name is published before its counter is used.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tp_metrics.h"

#define MAX_REASONS 32
#define MAX_PARTITIONS 256

static const double bucket_le[TP_HIST_BUCKETS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

struct hist {
    _Atomic int64_t counts[TP_HIST_BUCKETS + 1];
    _Atomic int64_t sum_us;
};

struct tp_metrics {
    _Atomic int64_t v[TP_M_COUNT];
    struct hist h[TP_H_COUNT];
    const char *_Atomic reason_name[MAX_REASONS];
    _Atomic int64_t reason_count[MAX_REASONS];
    _Atomic int64_t lag[MAX_PARTITIONS];       /* -1: partition not seen */
    double start_time;                         /* Unix seconds */
    int live;
    int64_t silent_ms, stuck_ms;
    _Atomic int64_t last_frame_ms, last_progress_ms;
};

/* Name, type, help and label of each counter or gauge; entries sharing a
 * name are one metric family with a label. */
static const struct {
    const char *name, *type, *help, *label;
} info[TP_M_COUNT] = {
    [TP_M_FRAMES] = {"tickpipe_frames_total", "counter", "Frames read from the source (not blank, not comments).", NULL},
    [TP_M_APPLIED] = {"tickpipe_applied_total", "counter", "Frames applied as ticks.", NULL},
    [TP_M_DUPLICATES] = {"tickpipe_duplicates_total", "counter", "Frames equal to the last applied frame of their symbol.", NULL},
    [TP_M_SKIPPED] = {"tickpipe_skipped_total", "counter", "Heartbeats and non-pricing envelopes.", NULL},
    [TP_M_LATE] = {"tickpipe_late_total", "counter", "Applied ticks that came too late for their bar.", NULL},
    [TP_M_QUEUE_DEPTH] = {"tickpipe_queue_depth", "gauge", "Batches waiting in the in-process bus.", NULL},
    [TP_M_QUEUE_CAPACITY] = {"tickpipe_queue_capacity", "gauge", "Capacity of the in-process bus, in batches.", NULL},
    [TP_M_QUEUE_PAUSES] = {"tickpipe_queue_pauses_total", "counter", "Times the reader waited for room in the bus.", NULL},
    [TP_M_STORE_COMMITS] = {"tickpipe_store_commits_total", "counter", "Store transactions committed.", NULL},
    [TP_M_ROWS_TICKS] = {"tickpipe_store_rows_total", "counter", "Rows written to the store, by table.", "table=\"ticks\""},
    [TP_M_ROWS_BARS] = {"tickpipe_store_rows_total", "counter", NULL, "table=\"bars\""},
    [TP_M_ROWS_LATEST] = {"tickpipe_store_rows_total", "counter", NULL, "table=\"latest\""},
    [TP_M_STORE_ERRORS] = {"tickpipe_store_errors_total", "counter", "Store operations that failed.", NULL},
    [TP_M_WS_CONNECTS] = {"tickpipe_ws_connects_total", "counter", "WebSocket connections opened to the streamer.", NULL},
    [TP_M_WS_RECONNECTS] = {"tickpipe_ws_reconnects_total", "counter", "WebSocket connections opened again after a loss.", NULL},
    [TP_M_WS_RESUBSCRIBES] = {"tickpipe_ws_resubscribes_total", "counter", "Subscriptions sent again on an open socket.", NULL},
    [TP_M_WS_SILENT] = {"tickpipe_ws_silent_sockets_total", "counter", "Sockets found silent past their threshold.", NULL},
    [TP_M_GAPS] = {"tickpipe_gaps_total", "counter", "Gaps recorded in the gaps table.", NULL},
    [TP_M_KAFKA_PRODUCE_ERRORS] = {"tickpipe_kafka_produce_errors_total", "counter", "Kafka messages that failed delivery.", NULL},
    [TP_M_KAFKA_REBALANCES] = {"tickpipe_kafka_rebalances_total", "counter", "Kafka consumer group rebalances.", NULL},
    [TP_M_KAFKA_LOST] = {"tickpipe_kafka_lost_messages_total", "counter", "Kafka messages that could no longer be read (retention, offset reset).", NULL},
    [TP_M_KAFKA_FENCED] = {"tickpipe_kafka_fenced_commits_total", "counter", "Batches refused because their partitions had moved to another member.", NULL},
    [TP_M_STREAM_CLIENTS] = {"tickpipe_stream_clients", "gauge", "Clients connected to /stream.", NULL},
    [TP_M_STREAM_DROPPED_CLIENTS] = {"tickpipe_stream_dropped_clients_total", "counter", "Slow /stream clients disconnected.", NULL},
    [TP_M_HTTP_REQUESTS] = {"tickpipe_http_requests_total", "counter", "HTTP requests served.", NULL},
};

static const char *const hist_info[TP_H_COUNT][2] = {
    {"tickpipe_store_commit_duration_seconds", "Duration of store commits."},
    {"tickpipe_tick_latency_seconds", "Time from receiving a frame to committing its tick."},
};

static int64_t mono_ms(void) {
    return tp_metrics_now_us() / 1000;
}

int64_t tp_metrics_now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

struct tp_metrics *tp_metrics_new(void) {
    struct tp_metrics *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    m->start_time = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    for (int i = 0; i < MAX_PARTITIONS; i++)
        atomic_init(&m->lag[i], -1);
    m->silent_ms = 60000;
    m->stuck_ms = 30000;
    atomic_store(&m->last_frame_ms, mono_ms());
    atomic_store(&m->last_progress_ms, mono_ms());
    return m;
}

void tp_metrics_free(struct tp_metrics *m) {
    free(m);
}

void tp_metrics_add(struct tp_metrics *m, enum tp_metric i, int64_t n) {
    if (m)
        atomic_fetch_add_explicit(&m->v[i], n, memory_order_relaxed);
}

void tp_metrics_set(struct tp_metrics *m, enum tp_metric i, int64_t v) {
    if (m)
        atomic_store_explicit(&m->v[i], v, memory_order_relaxed);
}

int64_t tp_metrics_get(const struct tp_metrics *m, enum tp_metric i) {
    return m ? atomic_load_explicit(&((struct tp_metrics *)m)->v[i], memory_order_relaxed) : 0;
}

void tp_metrics_reject(struct tp_metrics *m, const char *reason, int64_t n) {
    if (!m)
        return;
    if (!reason)
        reason = "rejected";
    int i;
    for (i = 0; i < MAX_REASONS - 1; i++) {
        const char *name = atomic_load_explicit(&m->reason_name[i], memory_order_acquire);
        if (!name) {
            atomic_store_explicit(&m->reason_name[i], reason, memory_order_release);
            break;
        }
        if (name == reason || strcmp(name, reason) == 0)
            break;
    }
    if (i == MAX_REASONS - 1)
        atomic_store_explicit(&m->reason_name[i], "other", memory_order_release);
    atomic_fetch_add_explicit(&m->reason_count[i], n, memory_order_relaxed);
}

int tp_metrics_bucket(double seconds) {
    int b = 0;
    while (b < TP_HIST_BUCKETS && seconds > bucket_le[b])
        b++;
    return b;
}

void tp_metrics_observe(struct tp_metrics *m, enum tp_hist h, double seconds, int64_t n) {
    if (!m || n <= 0)
        return;
    atomic_fetch_add_explicit(&m->h[h].counts[tp_metrics_bucket(seconds)], n, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->h[h].sum_us, (int64_t)llround(seconds * 1e6) * n,
                              memory_order_relaxed);
}

void tp_metrics_observe_buckets(struct tp_metrics *m, enum tp_hist h, const int64_t *counts,
                                double sum_seconds) {
    if (!m)
        return;
    for (int b = 0; b <= TP_HIST_BUCKETS; b++)
        if (counts[b])
            atomic_fetch_add_explicit(&m->h[h].counts[b], counts[b], memory_order_relaxed);
    atomic_fetch_add_explicit(&m->h[h].sum_us, (int64_t)llround(sum_seconds * 1e6),
                              memory_order_relaxed);
}

void tp_metrics_lag(struct tp_metrics *m, int32_t partition, int64_t lag) {
    if (m && partition >= 0 && partition < MAX_PARTITIONS)
        atomic_store_explicit(&m->lag[partition], lag, memory_order_relaxed);
}

void tp_metrics_health_config(struct tp_metrics *m, int live, int64_t silent_ms, int64_t stuck_ms) {
    if (!m)
        return;
    m->live = live;
    m->silent_ms = silent_ms;
    m->stuck_ms = stuck_ms;
}

void tp_metrics_frame_seen(struct tp_metrics *m) {
    if (m)
        atomic_store_explicit(&m->last_frame_ms, mono_ms(), memory_order_relaxed);
}

void tp_metrics_progress(struct tp_metrics *m) {
    if (m)
        atomic_store_explicit(&m->last_progress_ms, mono_ms(), memory_order_relaxed);
}

int tp_metrics_health(const struct tp_metrics *m, char *why, size_t size) {
    struct tp_metrics *mm = (struct tp_metrics *)m;
    int64_t now = mono_ms();
    int64_t silent = now - atomic_load_explicit(&mm->last_frame_ms, memory_order_relaxed);
    int64_t idle = now - atomic_load_explicit(&mm->last_progress_ms, memory_order_relaxed);
    int64_t depth = tp_metrics_get(m, TP_M_QUEUE_DEPTH);
    if (m->live && silent > m->silent_ms) {
        snprintf(why, size, "source silent for %.1f s (threshold %.1f s)", (double)silent / 1000,
                 (double)m->silent_ms / 1000);
        return -1;
    }
    if (idle > m->stuck_ms) {
        snprintf(why, size, "processing stuck: no progress for %.1f s (%lld batches waiting)",
                 (double)idle / 1000, (long long)depth);
        return -1;
    }
    snprintf(why, size, "ok");
    return 0;
}

static void write_hist(const struct tp_metrics *m, enum tp_hist h, FILE *f) {
    struct hist *hs = (struct hist *)&m->h[h];
    const char *name = hist_info[h][0];
    fprintf(f, "# HELP %s %s\n# TYPE %s histogram\n", name, hist_info[h][1], name);
    int64_t cum = 0;
    for (int b = 0; b <= TP_HIST_BUCKETS; b++) {
        cum += atomic_load_explicit(&hs->counts[b], memory_order_relaxed);
        if (b < TP_HIST_BUCKETS)
            fprintf(f, "%s_bucket{le=\"%g\"} %lld\n", name, bucket_le[b], (long long)cum);
        else
            fprintf(f, "%s_bucket{le=\"+Inf\"} %lld\n", name, (long long)cum);
    }
    fprintf(f, "%s_sum %.6f\n%s_count %lld\n", name,
            (double)atomic_load_explicit(&hs->sum_us, memory_order_relaxed) / 1e6, name,
            (long long)cum);
}

static void write_rejected(const struct tp_metrics *m, FILE *f) {
    struct tp_metrics *mm = (struct tp_metrics *)m;
    fputs("# HELP tickpipe_rejected_total Frames rejected (sent to the dead-letter file), by reason.\n"
          "# TYPE tickpipe_rejected_total counter\n", f);
    for (int i = 0; i < MAX_REASONS; i++) {
        const char *name = atomic_load_explicit(&mm->reason_name[i], memory_order_acquire);
        if (!name)
            break;
        fprintf(f, "tickpipe_rejected_total{reason=\"");
        for (const char *c = name; *c; c++)   /* label escaping: \ " and newline */
            fprintf(f, *c == '\\' || *c == '"' ? "\\%c" : *c == '\n' ? "\\n" : "%c", *c);
        fprintf(f, "\"} %lld\n",
                (long long)atomic_load_explicit(&mm->reason_count[i], memory_order_relaxed));
    }
}

static void write_process(const struct tp_metrics *m, FILE *f) {
    long pages = 0, rss = 0;
    FILE *sf = fopen("/proc/self/statm", "r");
    if (sf) {
        if (fscanf(sf, "%ld %ld", &pages, &rss) != 2)
            rss = 0;
        fclose(sf);
    }
    fprintf(f, "# HELP process_start_time_seconds Start time of the process since the Unix epoch.\n"
               "# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds %.3f\n"
               "# HELP process_resident_memory_bytes Resident memory size.\n"
               "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes %lld\n",
            m->start_time, (long long)rss * sysconf(_SC_PAGESIZE));
}

void tp_metrics_write(const struct tp_metrics *m, FILE *f) {
    struct tp_metrics *mm = (struct tp_metrics *)m;
    for (int i = 0; i < TP_M_COUNT; i++) {
        if (info[i].help)
            fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", info[i].name, info[i].help, info[i].name,
                    info[i].type);
        fprintf(f, info[i].label ? "%s{%s} %lld\n" : "%s%s %lld\n", info[i].name,
                info[i].label ? info[i].label : "", (long long)tp_metrics_get(m, (enum tp_metric)i));
        if (i == TP_M_DUPLICATES)
            write_rejected(m, f);
    }
    fputs("# HELP tickpipe_kafka_consumer_lag Messages behind the partition's high watermark.\n"
          "# TYPE tickpipe_kafka_consumer_lag gauge\n", f);
    for (int p = 0; p < MAX_PARTITIONS; p++) {
        int64_t lag = atomic_load_explicit(&mm->lag[p], memory_order_relaxed);
        if (lag >= 0)
            fprintf(f, "tickpipe_kafka_consumer_lag{partition=\"%d\"} %lld\n", p, (long long)lag);
    }
    for (int h = 0; h < TP_H_COUNT; h++)
        write_hist(m, (enum tp_hist)h, f);
    write_process(m, f);
}
