/*
 * http_int.h - shared by the files of src/http/ only. Service thread only.
 */
#ifndef TP_HTTP_INT_H
#define TP_HTTP_INT_H

#include <stddef.h>
#include <stdint.h>

#include "../core/tp_events.h"

/* Renders the events from *cursor on as one JSON array (at most max
 * events, at most cap bytes) into buf and advances *cursor. Returns the
 * length (0 when nothing is new) or TP_EFULL when the events at *cursor
 * were overwritten: the client fell behind. */
int tp_http_render_events(const struct tp_events *ev, uint64_t *cursor, int max, char *buf,
                          size_t cap);

/* Conflation for /stream?conflate=MS: the newest tick per symbol and the
 * newest state per bar, folded between two messages. */
struct tp_conflate;
struct tp_conflate *tp_conflate_new(void);   /* NULL when out of memory */
void tp_conflate_free(struct tp_conflate *cf);
/* Folds the events from *cursor on (advancing it) until none is left or
 * the table is full. TP_EFULL when the client fell a ring behind. */
int tp_conflate_pull(struct tp_conflate *cf, const struct tp_events *ev, uint64_t *cursor);
int tp_conflate_pending(const struct tp_conflate *cf);
/* Renders the folded events as one JSON array and empties the table. */
int tp_conflate_render(struct tp_conflate *cf, char *buf, size_t cap);

/* Answers one /api/ request into a malloc'ed body. what: "latest",
 * "bars", "ticks", "gaps"; get(name) returns a URL parameter or NULL.
 * Returns the HTTP status; *body is JSON (rows or {"error": ...}). */
struct tp_store;
int tp_http_api(struct tp_store **reader, const char *store_spec, const char *what,
                const char *(*get)(void *ctx, const char *name), void *ctx, char **body,
                size_t *len);

#endif
