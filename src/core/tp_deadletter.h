/*
 * tp_deadletter.h - the one format of a dead-letter line (DESIGN.md):
 *   {"reason":"...","source":"...","line":N,"raw":"..."}
 * Strings are JSON-escaped; bytes below 0x20 or above 0x7e become \u00XX,
 * so a line is valid JSON whatever the raw frame held. Any thread.
 */
#ifndef TP_DEADLETTER_H
#define TP_DEADLETTER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Appends one dead-letter line to f. Returns 0, or -1 on a write error. */
int tp_deadletter_write(FILE *f, const char *reason, const char *source, int64_t line,
                        const char *raw, size_t raw_len);

#endif
