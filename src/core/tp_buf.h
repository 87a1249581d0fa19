/*
 * tp_buf.h - a growable byte buffer whose allocation failure sticks: once
 * a reserve fails, oom stays set and every later one fails too, so a writer
 * appends without checking each step and looks at oom once at the end. The
 * owner frees p.
 */
#ifndef TP_BUF_H
#define TP_BUF_H

#include <stddef.h>
#include <stdint.h>

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

#endif
