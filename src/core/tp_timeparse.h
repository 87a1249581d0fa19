/*
 * tp_timeparse.h - durations and points in time written by people: the
 * parsers behind every --lateness, --from/--to, bar interval and duration
 * option of a store URI. Pure functions; any thread.
 */
#ifndef TP_TIMEPARSE_H
#define TP_TIMEPARSE_H

#include <stdint.h>

/* Parses a duration ("500ms", "10s", "5m", "1h", "1d", or bare ms) into ms.
 * Returns 0 or TP_EINVAL (*ms is then untouched). */
int tp_parse_duration(const char *s, int64_t *ms);

/* Parses a time: Unix ms or ISO-8601 UTC ("2025-01-10T11:39:00Z",
 * "2025-01-10T11:39:00.250Z", "2025-01-10"). Returns 0 or TP_EINVAL (*ms
 * is then untouched). */
int tp_parse_time(const char *s, int64_t *ms);

#endif
