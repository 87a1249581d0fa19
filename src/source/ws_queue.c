/*
 * ws_queue.c - a mutex/condvar linked-list frame queue with a soft bound.
 *
 * Threads: tp_wsq_push() runs on the WebSocket service thread, tp_wsq_pop()
 * on the reader thread; every function takes q->mu. Invariant: frames and
 * bytes count exactly what is linked between head and tail.
 */
#include "ws_queue.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/tp_error.h"

struct tp_wsq {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct tp_wsq_frame *head, *tail;
    size_t frames, bytes, max_frames, max_bytes;
    uint64_t fulls;
    int woken;
};

int tp_wsq_new(struct tp_wsq **out, size_t max_frames, size_t max_bytes) {
    struct tp_wsq *q = calloc(1, sizeof *q);
    *out = NULL;
    if (!q)
        return TP_ENOMEM;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, &ca);
    pthread_condattr_destroy(&ca);
    q->max_frames = max_frames ? max_frames : 1;
    q->max_bytes = max_bytes ? max_bytes : 1;
    *out = q;
    return 0;
}

void tp_wsq_free(struct tp_wsq *q) {
    if (!q)
        return;
    for (struct tp_wsq_frame *f = q->head, *n; f; f = n) {
        n = f->next;
        free(f);
    }
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
    free(q);
}

static int over_limit(const struct tp_wsq *q) {
    return q->frames >= q->max_frames || q->bytes >= q->max_bytes;
}

static int below_half(const struct tp_wsq *q) {
    return q->frames < q->max_frames / 2 + 1 && q->bytes < q->max_bytes / 2 + 1;
}

int tp_wsq_push(struct tp_wsq *q, const char *data, size_t len, int64_t recv_ms) {
    struct tp_wsq_frame *f = malloc(sizeof *f + len + 1);
    if (!f)
        return TP_ENOMEM;
    f->next = NULL;
    f->recv_ms = recv_ms;
    f->len = len;
    memcpy(f->data, data, len);
    f->data[len] = '\0';
    pthread_mutex_lock(&q->mu);
    if (q->tail)
        q->tail->next = f;
    else
        q->head = f;
    q->tail = f;
    q->frames++;
    q->bytes += len;
    int full = over_limit(q);
    if (full)
        q->fulls++;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
    return full;
}

static void deadline_after(struct timespec *ts, int ms) {
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

struct tp_wsq_frame *tp_wsq_pop(struct tp_wsq *q, int timeout_ms, int *resume) {
    struct timespec dl;
    deadline_after(&dl, timeout_ms > 0 ? timeout_ms : 0);
    *resume = 0;
    pthread_mutex_lock(&q->mu);
    while (!q->head && !q->woken && timeout_ms > 0)
        if (pthread_cond_timedwait(&q->cv, &q->mu, &dl) == ETIMEDOUT)
            break;
    q->woken = 0;
    struct tp_wsq_frame *f = q->head;
    if (f) {
        int was_full = !below_half(q);
        q->head = f->next;
        if (!q->head)
            q->tail = NULL;
        q->frames--;
        q->bytes -= f->len;
        f->next = NULL;
        *resume = was_full && below_half(q);
    }
    pthread_mutex_unlock(&q->mu);
    return f;
}

int tp_wsq_has_room(struct tp_wsq *q) {
    pthread_mutex_lock(&q->mu);
    int r = below_half(q);
    pthread_mutex_unlock(&q->mu);
    return r;
}

void tp_wsq_wake(struct tp_wsq *q) {
    pthread_mutex_lock(&q->mu);
    q->woken = 1;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

void tp_wsq_stats(struct tp_wsq *q, size_t *frames, uint64_t *fulls) {
    pthread_mutex_lock(&q->mu);
    if (frames)
        *frames = q->frames;
    if (fulls)
        *fulls = q->fulls;
    pthread_mutex_unlock(&q->mu);
}
