/*
 * bar_hold.h - bars held between a store's commits, handed back in the bars
 * table's key order (symbol, interval, start; both names compared as bytes,
 * shorter first on a common prefix, as SQLite's BINARY collation does).
 *
 * Bars are kept per (symbol, interval): a processor closes the bars of one
 * pair in start order, so each pair's bars are already in order and only the
 * pairs are sorted, not every bar (bench/RESULTS.md, issue 12). Used by the
 * SQLite store only, on its processor thread; not thread-safe.
 */
#ifndef TP_BAR_HOLD_H
#define TP_BAR_HOLD_H

#include <stddef.h>

#include "tp_store.h"

struct tp_bar_hold;

/* NULL when out of memory. tp_bar_hold_free(NULL) is a no-op. */
struct tp_bar_hold *tp_bar_hold_new(void);
void tp_bar_hold_free(struct tp_bar_hold *h);

/* Copies r, its symbol and interval included. A bar put again with the key
 * of one already held replaces it. 0, or TP_ENOMEM with nothing held. */
int tp_bar_hold_put(struct tp_bar_hold *h, const struct tp_bar_row *r);

/* Puts the held bars in key order and rewinds tp_bar_hold_next() to the
 * first. 0 or TP_ENOMEM. */
int tp_bar_hold_order(struct tp_bar_hold *h);

/* Copies up to max of the ordered bars into out, from where the last call
 * stopped, and returns how many (fewer than max only at the end). Their
 * symbol and interval point into h and live until the next put or clear. */
size_t tp_bar_hold_next(struct tp_bar_hold *h, struct tp_bar_row *out, size_t max);

/* Forgets every held bar, keeping the memory for the next batch. A no-op
 * for NULL. */
void tp_bar_hold_clear(struct tp_bar_hold *h);

#endif
