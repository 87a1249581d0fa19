/*
 * tp_buf.h - a growable byte buffer whose allocation failure sticks: once
 * a reserve fails, oom stays set and every later one fails too, so a writer
 * appends without checking each step and looks at oom once at the end. The
 * owner frees p. Also: growing arrays, and byte strings in key order.
 */
#ifndef TP_BUF_H
#define TP_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct tp_buf {
    uint8_t *p;
    size_t len, cap;
    int oom;
};

/* Makes room for n more bytes (capacity doubles from 256): 0, or -1 with
 * oom set. */
int tp_buf_reserve(struct tp_buf *b, size_t n);

/* Makes room in the array *arr (n elements of elem bytes, capacity *cap)
 * for one more: the capacity starts at first and doubles. 0, or TP_ENOMEM
 * with the array as it was. */
int tp_array_grow(void *arr, size_t *cap, size_t n, size_t elem, size_t first);

/* Byte strings in SQLite's BINARY order: bytes first, the shorter first on
 * a common prefix. <0, 0 or >0. */
int tp_bytes_cmp(const void *a, size_t alen, const void *b, size_t blen);

/* The first 8 bytes of s, big-endian, 0-padded: two strings' prefixes
 * order them as tp_bytes_cmp() does, or are equal. The first 4 bytes are
 * the top 32 bits. */
static inline uint64_t tp_bytes_prefix(const void *s, size_t len) {
    uint8_t b[8] = {0};
    memcpy(b, s, len < 8 ? len : 8);
    return (uint64_t)b[0] << 56 | (uint64_t)b[1] << 48 | (uint64_t)b[2] << 40 |
           (uint64_t)b[3] << 32 | (uint64_t)b[4] << 24 | (uint64_t)b[5] << 16 |
           (uint64_t)b[6] << 8 | b[7];
}

#endif
