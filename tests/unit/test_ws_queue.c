/*
 * test_ws_queue.c - the bounded frame queue between the WebSocket thread and
 * the reader: order, the soft limit that asks the producer to pause (never
 * dropping), the resume signal below half, timeouts, and a two-thread run.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "source/ws_queue.h"
#include "tp_test.h"

#define N_THREADED 200000

static void *producer(void *arg) {
    struct tp_wsq *q = arg;
    char buf[32];
    for (int i = 0; i < N_THREADED; i++) {
        int n = snprintf(buf, sizeof buf, "%d", i);
        if (tp_wsq_push(q, buf, (size_t)n, i) < 0)
            break;
    }
    return NULL;
}

int main(void) {
    struct tp_wsq *q;
    int rc = tp_wsq_new(&q, 4, 1 << 20);
    REQUIRE(rc == 0);
    int resume = 7;
    CHECK(tp_wsq_pop(q, 0, &resume) == NULL && resume == 0);
    CHECK(tp_wsq_pop(q, 30, &resume) == NULL);
    CHECK(tp_wsq_push(q, "a", 1, 1) == 0);
    CHECK(tp_wsq_push(q, "bb", 2, 2) == 0);
    CHECK(tp_wsq_push(q, "ccc", 3, 3) == 0);
    CHECKF(tp_wsq_push(q, "dddd", 4, 4) == 1, "the 4th frame reaches the limit: pause");
    CHECKF(tp_wsq_push(q, "eeeee", 5, 5) == 1, "over the limit still accepts (never drops)");
    size_t depth;
    uint64_t fulls;
    tp_wsq_stats(q, &depth, &fulls);
    CHECK(depth == 5 && fulls == 2);
    CHECK(!tp_wsq_has_room(q));
    const char *want[] = {"a", "bb", "ccc", "dddd", "eeeee"};
    int resumes = 0;
    for (int i = 0; i < 5; i++) {
        struct tp_wsq_frame *f = tp_wsq_pop(q, 100, &resume);
        REQUIRE(f != NULL);
        CHECKF(f->len == strlen(want[i]) && memcmp(f->data, want[i], f->len) == 0 &&
               f->data[f->len] == '\0' && f->recv_ms == i + 1, "frame %d in order", i);
        resumes += resume;
        free(f);
    }
    CHECKF(resumes == 1, "exactly one resume signal when crossing below half, got %d", resumes);
    CHECK(tp_wsq_has_room(q));
    tp_wsq_wake(q);
    CHECKF(tp_wsq_pop(q, 5000, &resume) == NULL, "wake returns an empty pop at once");
    tp_wsq_free(q);

    rc = tp_wsq_new(&q, 64, 1 << 20);
    REQUIRE(rc == 0);
    pthread_t th;
    int started = pthread_create(&th, NULL, producer, q); /* REQUIRE evaluates twice */
    REQUIRE(started == 0);
    int next = 0, bad = 0;
    while (next < N_THREADED) {
        struct tp_wsq_frame *f = tp_wsq_pop(q, 2000, &resume);
        if (!f)
            break;
        char buf[32];
        int n = snprintf(buf, sizeof buf, "%d", next);
        if (f->len != (size_t)n || memcmp(f->data, buf, f->len) != 0) {
            if (!bad)
                fprintf(stderr, "first mismatch at %d: got %s len %zu recv %lld\n", next, f->data, f->len, (long long)f->recv_ms);
            bad++;
        }
        next++;
        free(f);
    }
    pthread_join(th, NULL);
    CHECKF(next == N_THREADED && bad == 0, "threaded: %d of %d frames in order, %d wrong", next,
           N_THREADED, bad);
    tp_wsq_free(q);
    tp_wsq_free(NULL);
    return TP_TEST_DONE();
}
