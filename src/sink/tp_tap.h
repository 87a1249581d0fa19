/*
 * tp_tap.h - a store that wraps another store and reports what passes
 * through it: commits, rows by table, errors and commit durations into
 * tp_metrics, the received-to-committed latency of each tick, and, after
 * each successful commit, the committed ticks and bar updates as events
 * for /stream. Results are exactly those of the wrapped store.
 *
 * Threads: like every store, one thread at a time (the processing thread).
 */
#ifndef TP_TAP_H
#define TP_TAP_H

#include "../core/tp_events.h"
#include "../core/tp_metrics.h"
#include "tp_store.h"

/* Wraps inner (ownership passes to the tap: tp_store_free() of the tap
 * frees inner). m and ev are borrowed and may be NULL. Returns 0 or
 * TP_ENOMEM (then inner is freed too). */
int tp_store_tap_new(struct tp_store **out, struct tp_store *inner, struct tp_metrics *m,
                     struct tp_events *ev);

/* The monotonic time (tp_metrics_now_us) at which the frames of the items
 * about to be applied were received; ticks put after this call carry it. */
void tp_store_tap_received(struct tp_store *tap, int64_t recv_us);

#endif
