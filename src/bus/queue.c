/*
 * queue.c - bounded blocking FIFO (see tp_queue.h). A ring of pointers
 * guarded by one mutex; producers wait on not_full, consumers on not_empty.
 */
#include "tp_queue.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "../core/tp_error.h"

struct tp_queue {
    pthread_mutex_t mu;
    pthread_cond_t not_full, not_empty;
    void **ring;
    int cap, head, len, closed;
    struct tp_queue_stats st;
};

int tp_queue_new(struct tp_queue **out, int capacity) {
    *out = NULL;
    if (capacity < 1)
        return TP_EINVAL;
    struct tp_queue *q = calloc(1, sizeof *q);
    if (!q || !(q->ring = calloc((size_t)capacity, sizeof *q->ring))) {
        free(q);
        return TP_ENOMEM;
    }
    pthread_mutex_init(&q->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&q->not_full, &ca);
    pthread_cond_init(&q->not_empty, &ca);
    pthread_condattr_destroy(&ca);
    q->cap = capacity;
    q->st.capacity = capacity;
    *out = q;
    return 0;
}

int tp_queue_push(struct tp_queue *q, void *item) {
    pthread_mutex_lock(&q->mu);
    if (q->len == q->cap && !q->closed)
        q->st.pauses++;
    while (q->len == q->cap && !q->closed)
        pthread_cond_wait(&q->not_full, &q->mu);
    if (q->closed) {
        pthread_mutex_unlock(&q->mu);
        return TP_ECLOSED;
    }
    q->ring[(q->head + q->len) % q->cap] = item;
    q->len++;
    q->st.pushed++;
    if (q->len > q->st.max_depth)
        q->st.max_depth = q->len;
    pthread_cond_signal(&q->not_empty);
    pthread_mutex_unlock(&q->mu);
    return 0;
}

int tp_queue_pop(struct tp_queue *q, void **item, int timeout_ms) {
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    if (timeout_ms > 0) {
        dl.tv_sec += timeout_ms / 1000;
        dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (dl.tv_nsec >= 1000000000L) {
            dl.tv_sec++;
            dl.tv_nsec -= 1000000000L;
        }
    }
    pthread_mutex_lock(&q->mu);
    while (q->len == 0 && !q->closed) {
        if (timeout_ms < 0) {
            pthread_cond_wait(&q->not_empty, &q->mu);
        } else if (timeout_ms == 0 ||
                   pthread_cond_timedwait(&q->not_empty, &q->mu, &dl) == ETIMEDOUT) {
            if (q->len == 0 && !q->closed) {
                pthread_mutex_unlock(&q->mu);
                return TP_EAGAIN;
            }
        }
    }
    if (q->len == 0) {
        pthread_mutex_unlock(&q->mu);
        return TP_ECLOSED;
    }
    *item = q->ring[q->head];
    q->head = (q->head + 1) % q->cap;
    q->len--;
    q->st.popped++;
    pthread_cond_signal(&q->not_full);
    pthread_mutex_unlock(&q->mu);
    return 0;
}

void tp_queue_close(struct tp_queue *q) {
    pthread_mutex_lock(&q->mu);
    q->closed = 1;
    pthread_cond_broadcast(&q->not_full);
    pthread_cond_broadcast(&q->not_empty);
    pthread_mutex_unlock(&q->mu);
}

void tp_queue_stats(struct tp_queue *q, struct tp_queue_stats *s) {
    pthread_mutex_lock(&q->mu);
    *s = q->st;
    s->depth = q->len;
    pthread_mutex_unlock(&q->mu);
}

void tp_queue_free(struct tp_queue *q) {
    if (!q)
        return;
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->not_full);
    pthread_cond_destroy(&q->not_empty);
    free(q->ring);
    free(q);
}
