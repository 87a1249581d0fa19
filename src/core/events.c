/*
 * events.c - the broadcast ring behind /stream (tp_events.h).
 *
 * A per-slot sequence lock: the producer marks a slot busy (odd stamp),
 * copies the event, then stamps it with 2 * (index + 1). A reader copies
 * the slot and accepts it only when the stamp was that same value before
 * and after the copy. One producer, readers on any thread; no locks.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "tp_error.h"
#include "tp_events.h"

struct slot {
    _Atomic uint64_t stamp;
    struct tp_event e;
};

struct tp_events {
    uint64_t mask;
    _Atomic uint64_t head;
    _Atomic int listeners;
    struct slot *slots;
};

struct tp_events *tp_events_new(int order) {
    struct tp_events *ev = calloc(1, sizeof *ev);
    if (!ev)
        return NULL;
    ev->mask = (1ull << order) - 1;
    ev->slots = calloc(ev->mask + 1, sizeof *ev->slots);
    if (!ev->slots) {
        free(ev);
        return NULL;
    }
    return ev;
}

void tp_events_free(struct tp_events *ev) {
    if (ev)
        free(ev->slots);
    free(ev);
}

void tp_events_publish(struct tp_events *ev, const struct tp_event *e, int n) {
    uint64_t h = atomic_load_explicit(&ev->head, memory_order_relaxed);
    for (int i = 0; i < n; i++, h++) {
        struct slot *s = &ev->slots[h & ev->mask];
        atomic_store_explicit(&s->stamp, 2 * h + 1, memory_order_relaxed);
        atomic_thread_fence(memory_order_release);
        memcpy(&s->e, &e[i], sizeof s->e);
        atomic_store_explicit(&s->stamp, 2 * (h + 1), memory_order_release);
    }
    atomic_store_explicit(&ev->head, h, memory_order_release);
}

uint64_t tp_events_head(const struct tp_events *ev) {
    return atomic_load_explicit(&((struct tp_events *)ev)->head, memory_order_acquire);
}

int tp_events_read(const struct tp_events *ev, uint64_t idx, struct tp_event *out) {
    uint64_t head = tp_events_head(ev);
    if (idx >= head)
        return TP_EAGAIN;
    if (head - idx > ev->mask + 1)
        return TP_EFULL;
    struct slot *s = &ev->slots[idx & ev->mask];
    uint64_t want = 2 * (idx + 1);
    if (atomic_load_explicit(&s->stamp, memory_order_acquire) != want)
        return TP_EFULL;
    memcpy(out, &s->e, sizeof *out);
    atomic_thread_fence(memory_order_acquire);
    if (atomic_load_explicit(&s->stamp, memory_order_relaxed) != want)
        return TP_EFULL;
    return 0;
}

uint64_t tp_events_capacity(const struct tp_events *ev) {
    return ev->mask + 1;
}

void tp_events_listeners_add(struct tp_events *ev, int delta) {
    atomic_fetch_add(&ev->listeners, delta);
}

int tp_events_listeners(const struct tp_events *ev) {
    return atomic_load_explicit(&((struct tp_events *)ev)->listeners, memory_order_relaxed);
}
