/*
 * quote_json.c - a decoded quote as JSON members, for the jsonl store, the
 * dead-letter file and tests.
 *
 * Numbers: integers exactly; floats as the exact double value of the
 * float32 on the wire, doubles as they are, both through tp_fmt_double()
 * (shortest round-trip, null for non-finite values). Strings were checked
 * to be UTF-8 by the decoder; here they are only escaped. Any thread.
 *
 * Most float fields of a symbol repeat from one tick to the next (open,
 * previous close, day high and low; often the price too), so the text of
 * recently formatted float32 values is kept per thread in a small
 * direct-mapped cache keyed by the value's bits: a repeat is one lookup and
 * one copy instead of a conversion. The text is a function of the bits
 * alone, so the output is the same with or without the cache.
 */
#include "tp_decode.h"

#include "../core/tp_fmt.h"
#include "../core/tp_quote_fields.h"

/* Per field: its JSON key with quotes and colon (in a fixed array, so it
 * can be copied as one 32-byte block), its length and its type. */
struct key {
    char text[32];
    uint8_t len;
    uint8_t type;
};
#define KEY(num, name, type) [num] = {"\"" name "\":", sizeof(name) + 2, type},
static const struct key keys[TP_QUOTE_NFIELDS + 1] = {TP_QUOTE_FIELDS(KEY)};

#include <string.h>

/* One cached text: len 0 marks an empty slot (no value prints as ""). The
 * longest text of a float32 ("-1.4012984643248171e-45") is 23 bytes. */
struct f32_text {
    uint32_t bits;
    uint8_t len;
    char text[27];
};
#define F32_CACHE_BITS 11 /* 2048 slots of 32 bytes per thread */
static _Thread_local struct f32_text f32_cache[1u << F32_CACHE_BITS];

/* Writes the float32 x as tp_fmt_double((double)x) would, at p, which must
 * have 32 bytes free. Returns the length. */
static int put_f32(char *p, float x) {
    uint32_t bits;
    memcpy(&bits, &x, sizeof bits);
    struct f32_text *e = &f32_cache[(bits * 0x9E3779B1u) >> (32 - F32_CACHE_BITS)];
    if (e->len && e->bits == bits) {
        memcpy(p, e->text, sizeof e->text);
        return e->len;
    }
    int n = tp_fmt_double(p, 32, (double)x);
    if (n > 0 && (size_t)n <= sizeof e->text) {
        e->bits = bits;
        e->len = (uint8_t)n;
        memcpy(e->text, p, (size_t)n);
    }
    return n;
}

/* Output cursor; on overflow ok becomes 0 and writes stop. */
struct out {
    char *p, *end;
    int ok;
};

static void put(struct out *o, const char *s, size_t n) {
    if (!o->ok || (size_t)(o->end - o->p) < n) {
        o->ok = 0;
        return;
    }
    memcpy(o->p, s, n);
    o->p += n;
}

/* Writes v in decimal to buf (at least 21 bytes); returns the length. */

static void put_string(struct out *o, const uint8_t *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    put(o, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        put(o, (const char *)s + run, i - run);
        run = i + 1;
        char esc[6] = {'\\', (char)c, 0, 0, 0, 0};
        size_t en = 2;
        if (c == '\n') esc[1] = 'n';
        else if (c == '\t') esc[1] = 't';
        else if (c == '\r') esc[1] = 'r';
        else if (c < 0x20) {
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            en = 6;
        }
        put(o, esc, en);
    }
    put(o, (const char *)s + run, n - run);
    put(o, "\"", 1);
}

static void put_value(struct out *o, const struct tp_quote *q,
                      const uint8_t *payload, int f) {
    char num[32];
    switch (keys[f].type) {
    case TP_FT_STRING:
        put_string(o, payload + q->v[f].sv.off, q->v[f].sv.len);
        return;
    case TP_FT_STRINGS:
        put(o, "[", 1);
        for (uint32_t i = 0; i < q->nindices; i++) {
            if (i)
                put(o, ",", 1);
            put_string(o, payload + q->indices[i].off, q->indices[i].len);
        }
        put(o, "]", 1);
        return;
    case TP_FT_FLOAT:
        put(o, num, (size_t)put_f32(num, q->v[f].f32));
        return;
    case TP_FT_DOUBLE:
        put(o, num, (size_t)tp_fmt_double(num, sizeof num, q->v[f].f64));
        return;
    default:
        put(o, num, tp_fmt_i64(num, q->v[f].i64));
        return;
    }
}

/* Writes a numeric member at o->p without bounds checks; the caller made
 * sure that NUMERIC_ROOM bytes are free. */
#define NUMERIC_ROOM (1 + 32 + 32)
static void put_numeric(struct out *o, const struct tp_quote *q, int f, int comma) {
    char *p = o->p;
    *p = ',';
    p += comma;
    memcpy(p, keys[f].text, 32);
    p += keys[f].len;
    if (keys[f].type == TP_FT_FLOAT)
        p += put_f32(p, q->v[f].f32);
    else if (keys[f].type == TP_FT_DOUBLE)
        p += tp_fmt_double(p, 32, q->v[f].f64);
    else
        p += tp_fmt_i64(p, q->v[f].i64);
    o->p = p;
}

int tp_quote_json_fields(const struct tp_quote *q, const uint8_t *payload,
                         char *out, size_t cap) {
    if (cap == 0)
        return -1;
    struct out o = {out, out + cap - 1, 1};
    int first = 1;
    for (uint64_t bits = q->present; bits && o.ok; bits &= bits - 1) {
        int f = __builtin_ctzll(bits) + 1;
        if (f > TP_QUOTE_NFIELDS)
            break;
        int t = keys[f].type;
        if (t != TP_FT_STRING && t != TP_FT_STRINGS && o.end - o.p >= NUMERIC_ROOM) {
            put_numeric(&o, q, f, !first);
        } else {
            if (!first)
                put(&o, ",", 1);
            put(&o, keys[f].text, keys[f].len);
            put_value(&o, q, payload, f);
        }
        first = 0;
    }
    if (!o.ok)
        return -1;
    *o.p = '\0';
    return (int)(o.p - out);
}
