/*
 * tp_civil.h - the proleptic Gregorian calendar as day numbers (days since
 * 1970-01-01, negative before), and FNV-1a: the two pieces of arithmetic
 * that the time parser, the Cassandra store's partition keys, the replay
 * fingerprint and the Kafka source ids share. Pure functions; any thread.
 */
#ifndef TP_CIVIL_H
#define TP_CIVIL_H

#include <stddef.h>
#include <stdint.h>

/* a / b rounded towards minus infinity (b != 0): -1 / 86400000 is -1. */
int64_t tp_floor_div(int64_t a, int64_t b);

/* The day number of y-m-d (m 1..12, d 1..31; not checked). */
int64_t tp_days_from_civil(int64_t y, int m, int d);

/* The date of day number z; inverse of tp_days_from_civil(). */
void tp_civil_from_days(int64_t z, int64_t *y, int *m, int *d);

/* The standard 64-bit FNV-1a offset basis. */
#define TP_FNV1A_BASIS 14695981039346656037ull

/* FNV-1a of len bytes of data, continuing from h (TP_FNV1A_BASIS to start).
 * Inline: the processor hashes every tick's symbol with it. */
static inline uint64_t tp_fnv1a(uint64_t h, const void *data, size_t len) {
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

#endif
