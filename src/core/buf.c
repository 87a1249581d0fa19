/*
 * buf.c - the growable byte buffer of tp_buf.h.
 */
#include "tp_buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tp_error.h"

int tp_buf_reserve(struct tp_buf *b, size_t n) {
    if (b->oom)
        return -1;
    if (b->len + n <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n)
        cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

int tp_array_grow(void *arr, size_t *cap, size_t n, size_t elem, size_t first) {
    if (n < *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : first;
    if (c < *cap || c > SIZE_MAX / elem)
        return TP_ENOMEM;
    void *p = realloc(*(void **)arr, c * elem);
    if (!p)
        return TP_ENOMEM;
    *(void **)arr = p;
    *cap = c;
    return 0;
}

int tp_bytes_cmp(const void *a, size_t alen, const void *b, size_t blen) {
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c ? c : (alen > blen) - (alen < blen);
}
