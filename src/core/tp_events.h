/*
 * tp_events.h - a broadcast ring of committed ticks and bar updates, from
 * the processing thread to the /stream clients of the HTTP thread.
 *
 * One producer (the thread that commits to the store) writes events after
 * each commit and never waits: when the ring is full it overwrites the
 * oldest events. Readers (all on the HTTP thread) each keep their own
 * position; a reader that falls a whole ring behind sees TP_EFULL and is
 * dropped by its owner. So the pipeline never slows for a slow client, and
 * every client that keeps up receives every event exactly once.
 *
 * tp_events_publish() runs only while someone listens
 * (tp_events_listeners() > 0), so an unwatched pipeline pays nothing.
 */
#ifndef TP_EVENTS_H
#define TP_EVENTS_H

#include <stdint.h>

enum tp_event_kind { TP_EV_TICK = 1, TP_EV_BAR = 2 };

/* A tick: time, seq, price, change (NaN when absent), cum_avg.
 * A bar: interval, time = start, open/high/low/close, volume, vwap (NaN when
 * NULL), count, closed. */
struct tp_event {
    uint8_t kind;
    uint8_t closed;
    char symbol[30];
    char interval[4];
    int64_t time;
    int64_t seq;            /* tick seq or bar count */
    int64_t volume;
    double price, change, cum_avg;   /* bar: close, unused, vwap */
    double open, high, low;
};

struct tp_events;

/* Creates a ring of 2^order events. NULL when out of memory. _free(NULL)
 * is a no-op. */
struct tp_events *tp_events_new(int order);
void tp_events_free(struct tp_events *ev);

/* Producer: appends n events (copies them). */
void tp_events_publish(struct tp_events *ev, const struct tp_event *e, int n);

/* Index the next published event will get. */
uint64_t tp_events_head(const struct tp_events *ev);

/* Reader: copies event idx into *out. Returns 0, TP_EAGAIN when idx is not
 * published yet, TP_EFULL when it was overwritten (the reader fell behind). */
int tp_events_read(const struct tp_events *ev, uint64_t idx, struct tp_event *out);

/* Capacity in events. */
uint64_t tp_events_capacity(const struct tp_events *ev);

void tp_events_listeners_add(struct tp_events *ev, int delta);
int tp_events_listeners(const struct tp_events *ev);

#endif
