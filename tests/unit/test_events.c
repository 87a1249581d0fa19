/*
 * test_events.c - the /stream event ring and its JSON: order, a reader
 * that falls a whole ring behind is told (never handed an overwritten
 * event), a producer and a reader on two threads see every event exactly
 * once in order, and conflation keeps the newest event per key. Also the
 * Prometheus text of tp_metrics (one HELP/TYPE per family, cumulative
 * histogram buckets, escaped reasons).
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/tp_error.h"
#include "core/tp_events.h"
#include "core/tp_metrics.h"
#include "http/http_int.h"
#include "tp_test.h"

#define N_THREADED 2000000

static struct tp_event tick(const char *sym, int64_t seq) {
    struct tp_event e;
    memset(&e, 0, sizeof e);
    e.kind = TP_EV_TICK;
    snprintf(e.symbol, sizeof e.symbol, "%s", sym);
    e.seq = seq;
    e.time = 1736509141000 + seq;
    e.price = 100.25;
    e.change = NAN;
    e.cum_avg = 100.5;
    return e;
}

static void *producer(void *arg) {
    struct tp_events *ev = arg;
    struct tp_event batch[64];
    for (int64_t i = 0; i < N_THREADED; i += 64) {
        for (int k = 0; k < 64; k++)
            batch[k] = tick("T", i + k);
        tp_events_publish(ev, batch, 64);
    }
    return NULL;
}

static void threaded(void) {
    struct tp_events *ev = tp_events_new(16);
    REQUIRE(ev);
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, producer, ev) == 0);
    uint64_t cur = 0;
    int64_t next = 0, lost = 0;
    struct tp_event e;
    while (cur < N_THREADED) {
        int err = tp_events_read(ev, cur, &e);
        if (err == TP_EAGAIN)
            continue;
        if (err == TP_EFULL) {     /* fell behind: start again at the head, as a new client */
            lost++;
            cur = tp_events_head(ev);
            next = -1;
            continue;
        }
        if (next >= 0)
            CHECKF(e.seq == next, "event %llu: seq %lld, expected %lld", (unsigned long long)cur,
                   (long long)e.seq, (long long)next);
        next = e.seq + 1;
        cur++;
    }
    pthread_join(th, NULL);
    fprintf(stderr, "threaded: %d events, reader restarted %lld times\n", N_THREADED, (long long)lost);
    tp_events_free(ev);
}

static void ring_and_json(void) {
    struct tp_events *ev = tp_events_new(3);   /* 8 events */
    REQUIRE(ev);
    struct tp_event e[12];
    for (int i = 0; i < 12; i++)
        e[i] = tick(i % 2 ? "B\"x" : "A", i + 1);
    tp_events_publish(ev, e, 3);
    char buf[4096];
    uint64_t cur = 0;
    int n = tp_http_render_events(ev, &cur, 2, buf, sizeof buf);
    REQUIRE(n > 0);
    buf[n] = '\0';
    CHECKF(strcmp(buf, "[{\"type\":\"tick\",\"symbol\":\"A\",\"time\":1736509141001,\"seq\":1,"
                       "\"price\":100.25,\"change\":null,\"cumAvgPrice\":100.5},"
                       "{\"type\":\"tick\",\"symbol\":\"B\\u0022x\",\"time\":1736509141002,\"seq\":2,"
                       "\"price\":100.25,\"change\":null,\"cumAvgPrice\":100.5}]") == 0, "%s", buf);
    CHECK(cur == 2);
    CHECK(tp_http_render_events(ev, &cur, 10, buf, sizeof buf) > 0 && cur == 3);
    CHECK(tp_http_render_events(ev, &cur, 10, buf, sizeof buf) == 0);
    tp_events_publish(ev, e + 3, 9);           /* 12 published: 0..3 overwritten */
    cur = 2;
    CHECK(tp_http_render_events(ev, &cur, 10, buf, sizeof buf) == TP_EFULL);
    struct tp_event out;
    CHECK(tp_events_read(ev, 3, &out) == TP_EFULL);
    CHECK(tp_events_read(ev, 4, &out) == 0 && out.seq == 5);
    CHECK(tp_events_read(ev, 12, &out) == TP_EAGAIN);
    tp_events_free(ev);
}

static void conflation(void) {
    struct tp_events *ev = tp_events_new(6);
    struct tp_conflate *cf = tp_conflate_new();
    REQUIRE(ev && cf);
    struct tp_event e[30];
    for (int i = 0; i < 30; i++)
        e[i] = tick(i % 3 == 0 ? "A" : i % 3 == 1 ? "B" : "C", i + 1);
    e[29].kind = TP_EV_BAR;
    snprintf(e[29].interval, sizeof e[29].interval, "1m");
    tp_events_publish(ev, e, 30);
    uint64_t cur = 0;
    CHECK(tp_conflate_pull(cf, ev, &cur) == 0 && cur == 30);
    CHECK(tp_conflate_pending(cf) == 4);       /* ticks of A, B, C and one bar of C */
    char buf[4096];
    int n = tp_conflate_render(cf, buf, sizeof buf);
    REQUIRE(n > 0);
    buf[n] = '\0';
    CHECKF(strstr(buf, "\"symbol\":\"A\",\"time\":1736509141028,\"seq\":28") &&
           strstr(buf, "\"symbol\":\"B\",\"time\":1736509141029,\"seq\":29") &&
           strstr(buf, "\"symbol\":\"C\",\"time\":1736509141027,\"seq\":27") &&
           strstr(buf, "\"type\":\"bar\",\"symbol\":\"C\",\"interval\":\"1m\""), "%s", buf);
    CHECK(tp_conflate_pending(cf) == 0);
    tp_conflate_free(cf);
    tp_events_free(ev);
}

static void metrics_text(void) {
    struct tp_metrics *m = tp_metrics_new();
    REQUIRE(m);
    tp_metrics_set(m, TP_M_FRAMES, 42);
    tp_metrics_add(m, TP_M_ROWS_BARS, 3);
    tp_metrics_reject(m, "bad \"base64\"", 2);
    tp_metrics_reject(m, "bad \"base64\"", 1);
    tp_metrics_observe(m, TP_H_COMMIT_SECONDS, 0.003, 2);
    tp_metrics_observe(m, TP_H_COMMIT_SECONDS, 20, 1);
    tp_metrics_lag(m, 3, 17);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    tp_metrics_write(m, f);
    fclose(f);
    CHECK(strstr(text, "\ntickpipe_frames_total 42\n") != NULL);
    CHECK(strstr(text, "tickpipe_rejected_total{reason=\"bad \\\"base64\\\"\"} 3\n") != NULL);
    CHECK(strstr(text, "tickpipe_store_rows_total{table=\"bars\"} 3\n") != NULL);
    const char *fam = strstr(text, "# TYPE tickpipe_store_rows_total counter");
    CHECK(fam && !strstr(fam + 1, "# TYPE tickpipe_store_rows_total"));
    CHECK(strstr(text, "tickpipe_store_commit_duration_seconds_bucket{le=\"0.0025\"} 0\n") != NULL);
    CHECK(strstr(text, "tickpipe_store_commit_duration_seconds_bucket{le=\"0.005\"} 2\n") != NULL);
    CHECK(strstr(text, "tickpipe_store_commit_duration_seconds_bucket{le=\"10\"} 2\n") != NULL);
    CHECK(strstr(text, "tickpipe_store_commit_duration_seconds_bucket{le=\"+Inf\"} 3\n") != NULL);
    CHECK(strstr(text, "tickpipe_store_commit_duration_seconds_count 3\n") != NULL);
    CHECK(strstr(text, "tickpipe_store_commit_duration_seconds_sum 20.006000\n") != NULL);
    CHECK(strstr(text, "tickpipe_kafka_consumer_lag{partition=\"3\"} 17\n") != NULL);
    CHECK(strstr(text, "partition=\"0\"") == NULL);
    free(text);
    tp_metrics_free(m);
}

int main(void) {
    ring_and_json();
    conflation();
    metrics_text();
    threaded();
    return TP_TEST_DONE();
}
