/*
 * tp_queue.h - the in-process bus: a bounded FIFO of pointers between one
 * producing stage and one consuming stage. A full queue blocks the
 * producer (the reader pauses; nothing is ever dropped); pauses and the
 * highest depth are counted. Ownership of a pushed pointer passes to the
 * consumer.
 *
 * Threads: any number of producers and consumers; one mutex, two condition
 * variables. Items are batches, so the lock is taken once per batch.
 */
#ifndef TP_QUEUE_H
#define TP_QUEUE_H

#include <stdint.h>

struct tp_queue;

struct tp_queue_stats {
    int64_t pushed, popped, pauses;   /* pauses: pushes that had to wait */
    int depth, max_depth, capacity;
};

/* Creates a queue holding at most capacity items. */
int tp_queue_new(struct tp_queue **out, int capacity);

/* Appends item, waiting while the queue is full. Returns TP_ECLOSED if the
 * queue was closed (the item is not taken). */
int tp_queue_push(struct tp_queue *q, void *item);

/* Takes the oldest item, waiting up to timeout_ms (-1 = forever). Returns 0,
 * TP_EAGAIN on timeout, or TP_ECLOSED once the queue is closed and empty. */
int tp_queue_pop(struct tp_queue *q, void **item, int timeout_ms);

/* No more pushes; consumers drain what is left, then get TP_ECLOSED. */
void tp_queue_close(struct tp_queue *q);

void tp_queue_stats(struct tp_queue *q, struct tp_queue_stats *s);

/* Frees the queue (not the items still in it); NULL is a no-op. */
void tp_queue_free(struct tp_queue *q);

#endif
