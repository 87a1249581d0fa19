/*
 * ws_queue.h - the bounded frame queue between the WebSocket service thread
 * (producer) and the source reader thread (consumer). Private to
 * src/source/.
 *
 * The bound is soft: a push always succeeds (a frame already read from a
 * socket is never dropped) but reports when the queue has reached its limit,
 * so the producer pauses reading until the consumer has drained it below
 * half the limit. One producer thread and one consumer thread.
 */
#ifndef TP_WS_QUEUE_H
#define TP_WS_QUEUE_H

#include <stddef.h>
#include <stdint.h>

/* One received message; owned by whoever popped it, freed with free(). */
struct tp_wsq_frame {
    struct tp_wsq_frame *next;
    int64_t recv_ms;
    size_t len;
    char data[];     /* len bytes plus a NUL */
};

struct tp_wsq;

/* Creates a queue that reports "full" at max_frames frames or max_bytes
 * bytes, whichever comes first. Returns 0 or TP_ENOMEM. */
int tp_wsq_new(struct tp_wsq **out, size_t max_frames, size_t max_bytes);

/* Frees the queue and any frames still in it; NULL is a no-op. */
void tp_wsq_free(struct tp_wsq *q);

/* Appends a copy of data. Returns 0, 1 when the queue is now at or over its
 * limit (the producer should pause), or TP_ENOMEM. */
int tp_wsq_push(struct tp_wsq *q, const char *data, size_t len, int64_t recv_ms);

/* Waits up to timeout_ms for a frame. Returns it (caller frees) or NULL on
 * timeout or after tp_wsq_wake(). *resume is set to 1 when this pop took
 * the queue below half its limit, so a paused producer may resume. */
struct tp_wsq_frame *tp_wsq_pop(struct tp_wsq *q, int timeout_ms, int *resume);

/* Returns 1 when the queue is below half its limit. */
int tp_wsq_has_room(struct tp_wsq *q);

/* Wakes a consumer blocked in tp_wsq_pop() (used on stop and fatal errors). */
void tp_wsq_wake(struct tp_wsq *q);

/* Frames currently queued and the number of times push reported full. */
void tp_wsq_stats(struct tp_wsq *q, size_t *frames, uint64_t *fulls);

#endif
