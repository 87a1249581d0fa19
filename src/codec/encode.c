/*
 * encode.c - PricingData protobuf encoder (see tp_encode.h). Writes fields in
 * ascending order, the canonical form Yahoo sends, so that a decode/encode
 * round trip of a real frame reproduces its bytes. Pure; any thread.
 */
#include "tp_encode.h"

#include <string.h>

/* Output cursor; ok drops to 0 on overflow and writes stop. */
struct enc {
    uint8_t *p, *end;
    int ok;
};

static void put_bytes(struct enc *e, const void *s, size_t n) {
    if (!e->ok || (size_t)(e->end - e->p) < n) {
        e->ok = 0;
        return;
    }
    memcpy(e->p, s, n);
    e->p += n;
}

static void put_varint(struct enc *e, uint64_t v) {
    uint8_t b[10];
    size_t n = 0;
    while (v >= 0x80) {
        b[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    b[n++] = (uint8_t)v;
    put_bytes(e, b, n);
}

static void put_le(struct enc *e, uint64_t v, size_t n) {
    uint8_t b[8];
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    put_bytes(e, b, n);
}

static void put_string(struct enc *e, int f, const uint8_t *strings, tp_sv sv) {
    put_varint(e, (uint64_t)f << 3 | 2);
    put_varint(e, sv.len);
    put_bytes(e, strings + sv.off, sv.len);
}

static void put_field(struct enc *e, const struct tp_quote *q,
                      const uint8_t *strings, int f) {
    uint32_t u32;
    uint64_t u64;
    int64_t i;
    switch (tp_field_type(f)) {
    case TP_FT_STRING:
        put_string(e, f, strings, q->v[f].sv);
        break;
    case TP_FT_STRINGS:
        for (uint32_t k = 0; k < q->nindices; k++)
            put_string(e, f, strings, q->indices[k]);
        break;
    case TP_FT_FLOAT:
        memcpy(&u32, &q->v[f].f32, 4);
        put_varint(e, (uint64_t)f << 3 | 5);
        put_le(e, u32, 4);
        break;
    case TP_FT_DOUBLE:
        memcpy(&u64, &q->v[f].f64, 8);
        put_varint(e, (uint64_t)f << 3 | 1);
        put_le(e, u64, 8);
        break;
    case TP_FT_ENUM:
        put_varint(e, (uint64_t)f << 3);
        put_varint(e, (uint64_t)(int64_t)(int32_t)q->v[f].i64);
        break;
    case TP_FT_SINT64:
        i = q->v[f].i64;
        put_varint(e, (uint64_t)f << 3);
        put_varint(e, ((uint64_t)i << 1) ^ (uint64_t)(i >> 63));
        break;
    }
}

long tp_encode_pricing(const struct tp_quote *q, const uint8_t *strings,
                       uint8_t *out, size_t cap) {
    struct enc e = {out, out + cap, 1};
    for (int f = 1; f <= TP_QUOTE_NFIELDS; f++)
        if (tp_quote_has(q, f))
            put_field(&e, q, strings, f);
    return e.ok ? (long)(e.p - out) : -1;
}
