/*
 * tp_processor.h - the aggregation stage: duplicates, per-symbol seq,
 * cumulative average, OHLCV bars, lateness and latest, exactly as
 * ../shared/DESIGN.md defines them, written to a store batch by batch with
 * the source positions and the processor state in the same commit.
 *
 * Threads: a processor and its store are used by one thread only.
 */
#ifndef TP_PROCESSOR_H
#define TP_PROCESSOR_H

#include <stddef.h>
#include <stdint.h>

#include "../core/tp_quote.h"
#include "../core/tp_intervals.h"
#include "../sink/tp_store.h"

#define TP_MAX_BARS 12

struct tp_processor_opts {
    int64_t bar_ms[TP_MAX_BARS];   /* intervals, ascending, in ms */
    int nbars;                     /* 0 = one bar of 1m */
    int64_t lateness_ms;           /* default 10000 when negative */
    const char *deadletter_path;   /* NULL: no dead-letter file */
    int batch_ticks;               /* commit after this many items; 0 = 8192 */
    int ticks_only_commits;        /* 1: while every input is positioned (the frames
                                      after a checkpoint can be read again) and not
                                      live, the batch_ticks commits write ticks and
                                      closed bars only; symbol rows and positions go
                                      with tp_processor_commit() and _finish() */
};

/* What one item from the bus is. */
enum tp_item_kind {
    TP_ITEM_TICK,
    TP_ITEM_SKIP,
    TP_ITEM_REJECT,
    TP_ITEM_REDELIVERED,  /* a frame delivered again (an ingest restart): counted as a
                             duplicate, its position advances, nothing else changes */
    TP_ITEM_GAP           /* a live source was not receiving gap->symbol: stored as a
                             gaps row; not a frame */
};

struct tp_item {
    enum tp_item_kind kind;
    const struct tp_quote *q;      /* TICK: decoded quote (views into payload) */
    const uint8_t *payload;        /* TICK: protobuf bytes */
    size_t payload_len;
    const char *reason;            /* SKIP/REJECT: static reason string */
    const char *raw;               /* REJECT: the raw line, for the dead-letter file */
    size_t raw_len;
    int pos_slot;                  /* from tp_processor_position(); -1 = none */
    int64_t pos, line;             /* position after this item (checkpointed) */
    const char *prepared;          /* TICK: optional, see struct tp_tick_row */
    size_t prepared_len;
    const struct tp_gap_row *gap;  /* GAP */
};

/* Counters of the summary line, since the processor was created. */
struct tp_processor_stats {
    int64_t frames, applied, duplicates, rejected, skipped, late;
    int64_t commits, symbols;
};

struct tp_processor;

/* Creates a processor writing into st (borrowed; must outlive it). Fills
 * errbuf on a bad option. */
int tp_processor_new(struct tp_processor **out, struct tp_store *st,
                     const struct tp_processor_opts *o, char *errbuf, size_t errsize);

/* Registers a positioned input (replay path, "kafka:topic:partition") and
 * returns its slot (>= 0) or a TP_E* code. *pos and *line receive the stored
 * checkpoint, or 0 when there is none: the caller resumes from there. */
int tp_processor_position(struct tp_processor *p, const char *key,
                          int64_t *pos, int64_t *line);

/* The fingerprint stored with slot's checkpoint (0 = none), and the one
 * to store with its next checkpoints (a replay: its first line's hash, to
 * recognise a replaced file). */
int64_t tp_processor_position_aux(const struct tp_processor *p, int slot);
void tp_processor_set_position_aux(struct tp_processor *p, int slot, int64_t aux);

/* For a live capture into a store with state: from now on every commit
 * also records the wall-clock time as the capture's last moment of
 * receiving. Returns that time as left by the previous live run (0 when
 * none), the start of its "not running" gap. */
int64_t tp_processor_live(struct tp_processor *p);

/* Stores a gaps row in the current batch (a no-op for stores without a
 * gaps table). 0 or a fatal TP_E* code. */
int tp_processor_gap(struct tp_processor *p, const struct tp_gap_row *g);

/* Applies one item. May commit a batch when batch_ticks is reached. Returns
 * 0 or a fatal TP_E* code (store failure; message via
 * tp_processor_last_error()). */
int tp_processor_apply(struct tp_processor *p, const struct tp_item *it);

/* Optional, for a caller holding ticks in an array: says that a tick of
 * symbol[0..len) reaches tp_processor_apply() TP_PROCESSOR_LOOKAHEAD ticks
 * from now (call it once per tick, that far ahead). Over the following
 * calls the processor has that symbol's entry and state loaded into the
 * cache, which at thousands of symbols a tick would otherwise wait for.
 * Changes no result. */
#define TP_PROCESSOR_LOOKAHEAD 12
void tp_processor_hint(struct tp_processor *p, const char *symbol, size_t len);

/* Moves position slot to (pos, line) in the current batch, committed with
 * it: for a second position an item advances (the source line behind a
 * Kafka message). Returns 0 or TP_EINVAL for an unknown slot. */
int tp_processor_advance(struct tp_processor *p, int slot, int64_t pos, int64_t line);

/* Fences position slot: its checkpoint is only committed while the
 * store's ownership epoch of fence is still epoch (tp_store.h, claim), and
 * never moves backwards; otherwise the commit fails with TP_EFENCED and
 * nothing of the batch is written. fence NULL removes the fence. Returns
 * 0, TP_EINVAL for an unknown slot or TP_ENOMEM. */
int tp_processor_fence(struct tp_processor *p, int slot, const char *fence, int64_t epoch);

/* Writes everything pending (ticks, dirty bars, latest, state, positions)
 * in one store commit. No-op when nothing is pending. */
int tp_processor_commit(struct tp_processor *p);

/* End of a finite input: writes every open bar, then commits. */
int tp_processor_finish(struct tp_processor *p);

void tp_processor_stats(const struct tp_processor *p, struct tp_processor_stats *s);
/* The counters as of the last successful commit: what the store holds of
 * this processor's work (a batch given up later is not in them). */
void tp_processor_committed_stats(const struct tp_processor *p, struct tp_processor_stats *s);
const char *tp_processor_last_error(const struct tp_processor *p);

/* Frees the processor without committing: the store abandons whatever the
 * processor put since its last commit (tp_store_abort), so the next
 * processor on the same store starts clean. NULL is a no-op. */
void tp_processor_free(struct tp_processor *p);

#endif
