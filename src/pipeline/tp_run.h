/*
 * tp_run.h - the loop of `tickpipe run`: every stage in one process.
 *
 *   reader thread:  source -> decode -> batches of items -> bus (tp_queue)
 *   caller thread:  bus -> processor -> store (commits batches)
 *
 * Use: tp_run_new() (resumes a positioned source from its checkpoint),
 * tp_run_start() (the reader thread), tp_run_process() (the caller's loop
 * until the reader is done or the processor fails), tp_run_join() (the
 * reader's own outcome), tp_run_finish() (the end of the input), then
 * tp_run_free(). The design is at the top of run.c.
 *
 * Errors: 0 or a negative TP_E* code with errbuf filled (possibly empty
 * when there is nothing to add to the code, e.g. out of memory); nothing
 * here prints an error or decides an exit status (the command does).
 *
 * Threads: every function is called from one thread, the one that owns
 * the processor; the handle runs the reader thread between _start() and
 * _join(). With metrics set, counters go to the HTTP thread as relaxed
 * atomics.
 */
#ifndef TP_RUN_H
#define TP_RUN_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/tp_metrics.h"
#include "../process/tp_processor.h"
#include "../sink/tp_store.h"
#include "../source/tp_source.h"

/* What the progress hook sees, every 5 s. */
struct tp_run_progress {
    int64_t frames, applied, rejected;
    double frames_per_s;    /* since the previous report */
    int depth, capacity;    /* batches on the bus */
};

struct tp_run_opts {
    int live;                 /* a live source: it reports gaps, and a store with state
                                 records the time since the last live run as "not running" */
    const char *symbols;      /* with live: the symbols of that "not running" gap */
    struct tp_metrics *m;     /* NULL: publish nothing */
    struct tp_store *tap;     /* the measuring tap the store is wrapped in, or NULL */
    const volatile sig_atomic_t *stop;   /* required: non-zero stops the reader */
    /* Called on the caller's thread every 5 s while processing; NULL: none. */
    void (*progress)(void *opaque, const struct tp_run_progress *pg);
    void *opaque;
};

struct tp_run;

/* Prepares a run of src into p, which writes into st (all borrowed: they
 * must outlive the handle). A positioned source is registered with the
 * processor and seeked to its checkpoint when st keeps state (from its
 * start when the file was replaced since). 0 or a runtime error code. */
int tp_run_new(struct tp_run **out, struct tp_source *src, struct tp_store *st,
               struct tp_processor *p, const struct tp_run_opts *o, char *errbuf,
               size_t errsize);

/* Starts the reader thread. 0 or TP_EFATAL. */
int tp_run_start(struct tp_run *run, char *errbuf, size_t errsize);

/* Applies the batches the reader hands over and commits them (when the
 * bus runs dry, and at least every second) until the reader closes the
 * bus. 0, or the processor's fatal code (errbuf: why); the reader is then
 * told to stop and the bus is drained. */
int tp_run_process(struct tp_run *run, char *errbuf, size_t errsize);

/* Waits for the reader thread. 0, or the source's fatal code (errbuf:
 * why). */
int tp_run_join(struct tp_run *run, char *errbuf, size_t errsize);

/* After a successful process and join: a finite source that ended writes
 * every open bar and commits (*finite = 1); a stopped or live one only
 * commits (*finite = 0). Publishes the final counters. 0 or the
 * processor's fatal code. */
int tp_run_finish(struct tp_run *run, int *finite, char *errbuf, size_t errsize);

/* Frees the queues and the batches; not the source, store or processor.
 * The reader must have been joined. NULL is a no-op. */
void tp_run_free(struct tp_run *run);

#endif
