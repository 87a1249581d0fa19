/*
 * feed_control.h - the control messages a feed client sends:
 * {"subscribe":["BTC-USD",...]} or {"unsubscribe":[...]}. Private to
 * src/feed/ (and its fuzzer). Pure functions; any thread.
 */
#ifndef TP_FEED_CONTROL_H
#define TP_FEED_CONTROL_H

#include <stddef.h>

struct feed_control {
    int subscribe;      /* 1 subscribe, 0 unsubscribe */
    size_t n;
    char **symbols;     /* n NUL-terminated names, owned */
    size_t *lens;       /* their lengths (a name may hold a NUL byte) */
};

/* Parses one message of len bytes (need not be NUL-terminated). Returns 0
 * with *fc filled (free it with tp_feed_control_free), or -1 when the message
 * is not exactly one "subscribe"/"unsubscribe" member holding an array of
 * strings, or on out of memory. */
int tp_feed_control_parse(const char *text, size_t len, struct feed_control *fc);

/* Frees what tp_feed_control_parse() filled; a zeroed fc is a no-op. */
void tp_feed_control_free(struct feed_control *fc);

#endif
