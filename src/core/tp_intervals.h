/*
 * tp_intervals.h - bar intervals: the twelve allowed lengths, their names,
 * parsing a list of them and remembering a list as a bit set. Pure; any
 * thread.
 */
#ifndef TP_INTERVALS_H
#define TP_INTERVALS_H

#include <stddef.h>
#include <stdint.h>

/* Parses "1m,5m" into ascending ms intervals (duplicates removed). Returns
 * the count or TP_EINVAL with errbuf naming the bad interval. */
int tp_parse_bars(const char *list, int64_t *bar_ms, int max, char *errbuf, size_t errsize);

/* The canonical name of an interval in ms ("1m"); NULL if not one of
 * 1s 5s 10s 15s 30s 1m 5m 15m 30m 1h 4h 1d. */
const char *tp_interval_name(int64_t ms);

/* A bar list as a bit set over the allowed intervals (bit i = i-th of
 * 1s..1d), and back to "1m,5m". For remembering settings in a store. */
int64_t tp_bars_mask(const int64_t *bar_ms, int n);
void tp_bars_format(int64_t mask, char *out, size_t cap);

#endif
