/*
 * test_queue.c - the in-process bus (tp_queue): FIFO order, a full queue
 * blocks its producer (counted as a pause, never a drop), pop deadlines,
 * close semantics, and two real threads moving many items with nothing
 * lost, duplicated or reordered.
 */
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "bus/tp_queue.h"
#include "core/tp_error.h"
#include "tp_test.h"

#define N_ITEMS 200000

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *producer(void *arg) {
    struct tp_queue *q = arg;
    for (uintptr_t i = 1; i <= N_ITEMS; i++)
        if (tp_queue_push(q, (void *)i) != 0)
            return (void *)1;
    tp_queue_close(q);
    return NULL;
}

static void test_fifo_and_bounds(void) {
    struct tp_queue *q;
    CHECK(tp_queue_new(&q, 0) == TP_EINVAL && q == NULL);
    REQUIRE(tp_queue_new(&q, 3) == 0);
    for (uintptr_t i = 1; i <= 3; i++)
        CHECK(tp_queue_push_nowait(q, (void *)i) == 0);
    CHECK(tp_queue_push_nowait(q, (void *)4) == TP_EFULL);
    void *item = NULL;
    for (uintptr_t i = 1; i <= 3; i++) {
        CHECK(tp_queue_pop(q, &item, 0) == 0);
        CHECK(item == (void *)i);
    }
    int64_t t0 = now_ms();
    CHECK(tp_queue_pop(q, &item, 50) == TP_EAGAIN);
    CHECK(now_ms() - t0 >= 45); /* the deadline was waited for */
    struct tp_queue_stats st;
    tp_queue_stats(q, &st);
    CHECK(st.pushed == 3 && st.popped == 3 && st.depth == 0 && st.max_depth == 3);
    CHECK(st.capacity == 3 && st.pauses == 0);
    /* Closed: what is left is drained, then TP_ECLOSED; pushes are refused. */
    CHECK(tp_queue_push(q, (void *)7) == 0);
    tp_queue_close(q);
    CHECK(tp_queue_push(q, (void *)8) == TP_ECLOSED);
    CHECK(tp_queue_push_nowait(q, (void *)8) == TP_ECLOSED);
    CHECK(tp_queue_pop(q, &item, -1) == 0 && item == (void *)7);
    CHECK(tp_queue_pop(q, &item, -1) == TP_ECLOSED);
    tp_queue_free(q);
    tp_queue_free(NULL);
}

/* A tiny queue between two threads: the producer must pause often, and
 * the consumer must see 1..N exactly once, in order. */
static void test_two_threads(void) {
    struct tp_queue *q;
    REQUIRE(tp_queue_new(&q, 4) == 0);
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, producer, q) == 0);
    uintptr_t want = 1;
    int rc;
    void *item;
    long bad = 0;
    while ((rc = tp_queue_pop(q, &item, 5000)) == 0) {
        if ((uintptr_t)item != want)
            bad++;
        want = (uintptr_t)item + 1;
    }
    void *res;
    pthread_join(th, &res);
    CHECK(res == NULL);
    CHECKF(rc == TP_ECLOSED, "pop ended with %d", rc);
    CHECKF(bad == 0 && want == N_ITEMS + 1, "out of order %ld, next %lu", bad,
           (unsigned long)want);
    struct tp_queue_stats st;
    tp_queue_stats(q, &st);
    CHECK(st.pushed == N_ITEMS && st.popped == N_ITEMS && st.max_depth <= 4);
    CHECKF(st.pauses > 0, "a 4-slot queue under a fast producer never paused");
    tp_queue_free(q);
}

int main(void) {
    test_fifo_and_bounds();
    test_two_threads();
    return TP_TEST_DONE();
}
