/*
 * quote_json.c - a decoded quote as JSON members, for the jsonl store, the
 * dead-letter file and tests.
 *
 * Numbers: integers exactly; floats as the exact double value of the
 * float32 on the wire, with the fewest digits that parse back to the same
 * double (like Python's repr, so our output and a Python reference agree
 * when parsed), with ".0" on integral values; non-finite values (possible
 * only on corrupt or hostile input) become null, because JSON has no
 * spelling for them. Strings were checked to be UTF-8 by the decoder; here
 * they are only escaped. Pure functions; any thread.
 */
#include "tp_decode.h"
#include "../core/tp_fmt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
static size_t fmt_i64(int64_t v, char *buf) {
    char tmp[24];
    size_t n = 0, len = 0;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        buf[len++] = '-';
    while (n)
        buf[len++] = tmp[--n];
    return len;
}

static size_t fmt_double(double v, char *buf) {
    return (size_t)tp_fmt_double(buf, 32, v);
}

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
    char num[40];
    switch (tp_field_type(f)) {
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
        put(o, num, fmt_double((double)q->v[f].f32, num));
        return;
    case TP_FT_DOUBLE:
        put(o, num, fmt_double(q->v[f].f64, num));
        return;
    default:
        put(o, num, fmt_i64(q->v[f].i64, num));
        return;
    }
}

int tp_quote_json_fields(const struct tp_quote *q, const uint8_t *payload,
                         char *out, size_t cap) {
    if (cap == 0)
        return -1;
    struct out o = {out, out + cap - 1, 1};
    int first = 1;
    for (uint64_t bits = q->present; bits; bits &= bits - 1) {
        int f = __builtin_ctzll(bits) + 1;
        if (f > TP_QUOTE_NFIELDS)
            break;
        if (!first)
            put(&o, ",", 1);
        first = 0;
        const char *name = tp_field_name(f);
        put(&o, "\"", 1);
        put(&o, name, strlen(name));
        put(&o, "\":", 2);
        put_value(&o, q, payload, f);
    }
    if (!o.ok)
        return -1;
    *o.p = '\0';
    return (int)(o.p - out);
}
