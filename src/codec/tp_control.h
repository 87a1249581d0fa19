/*
 * tp_control.h - the control messages a Yahoo streamer client sends:
 * {"subscribe":["BTC-USD",...]} or {"unsubscribe":[...]}, as `feed`
 * receives them. Pure functions; any thread.
 */
#ifndef TP_CONTROL_H
#define TP_CONTROL_H

#include <stddef.h>

struct tp_control {
    int subscribe;      /* 1 subscribe, 0 unsubscribe */
    size_t n;
    char **symbols;     /* n NUL-terminated names, owned */
    size_t *lens;       /* their lengths (a name may hold a NUL byte) */
};

/* Parses one message of len bytes (need not be NUL-terminated). Returns 0
 * with *fc filled (free it with tp_control_free), TP_EPARSE when the
 * message is not exactly one "subscribe"/"unsubscribe" member holding an
 * array of strings, TP_ENOMEM; on failure *fc is left empty. */
int tp_control_parse(const char *text, size_t len, struct tp_control *fc);

/* Frees what tp_control_parse() filled; a zeroed fc is a no-op. */
void tp_control_free(struct tp_control *fc);

#endif
