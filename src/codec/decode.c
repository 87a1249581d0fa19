/*
 * decode.c - the Yahoo frame decoder: frame text -> protobuf payload ->
 * struct tp_quote.
 *
 * This is the hot path of every mode (replay, live, Kafka ingest), so it is
 * hand-written and allocation-free: base64 16 characters at a time (SSSE3,
 * else a 256-entry table per position),
 * protobuf through a single forward scan with a one-byte varint fast path.
 * Only a version=2 JSON envelope that is not in the canonical two-member
 * shape {"type":"...","message":"..."} (escapes, extra members, odd
 * spacing is fine) falls back to jansson; the fast path accepts exactly the
 * inputs on which jansson would give the same answer.
 *
 * Pure functions over caller memory (the time guard keeps a per-thread
 * cache of the clock); any thread. Reasons are static strings
 * because the processor counts them by pointer/text and writes them to the
 * dead-letter file.
 */
#include "tp_decode.h"

#include <jansson.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "../core/tp_quote_fields.h"

/* Protobuf wire types. */
enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

/* What to do with a field key (field number << 3 | wire type): one entry
 * per key of fields 1..47, from the tp_quote_fields.h table. A known field
 * with its own wire type maps to its kind plus one; everything else (field
 * 0, unknown fields, a wrong wire type) is 0 and goes to odd_key(). One
 * lookup replaces the range check, the kind lookup and the wire check. */
#define WIRE_OF(type)                                                          \
    ((type) == TP_FT_FLOAT    ? WT_I32                                         \
     : (type) == TP_FT_DOUBLE ? WT_I64                                         \
     : (type) == TP_FT_SINT64 || (type) == TP_FT_ENUM ? WT_VARINT              \
                              : WT_LEN)
#define KEY_OP(num, name, type) [(num) * 8 + WIRE_OF(type)] = (type) + 1,
#define KEY_OPS ((TP_QUOTE_NFIELDS + 1) * 8)
static const uint8_t key_op[KEY_OPS] = {TP_QUOTE_FIELDS(KEY_OP)};

/* ---- protobuf ---------------------------------------------------------- */

static inline uint32_t load_le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static inline uint64_t load_le64(const uint8_t *p) {
    return (uint64_t)load_le32(p) | (uint64_t)load_le32(p + 4) << 32;
}

/* Reads a varint at *pp. Returns 0, or a static reason. */
static inline const char *read_varint(const uint8_t **pp, const uint8_t *end,
                                      uint64_t *v) {
    const uint8_t *p = *pp;
    if (p < end && *p < 0x80) {
        *v = *p;
        *pp = p + 1;
        return NULL;
    }
    uint64_t x = 0;
    if (end - p >= 10) { /* no bounds check per byte */
        for (int i = 0; i < 10; i++) {
            uint64_t b = p[i];
            x |= (b & 0x7f) << (7 * i);
            if (!(b & 0x80)) {
                *v = x;
                *pp = p + i + 1;
                return NULL;
            }
        }
        return "varint too long";
    }
    for (int i = 0; p + i < end; i++) { /* fewer than 10 bytes left */
        uint64_t b = p[i];
        x |= (b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *v = x;
            *pp = p + i + 1;
            return NULL;
        }
    }
    return "truncated varint";
}

/* Validates UTF-8 (no overlongs, surrogates or code points past U+10FFFF),
 * as proto3 requires of string fields and as every store needs of TEXT. */
static int utf8_valid(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        uint32_t cp;
        if (c >= 0xc2 && c <= 0xdf) { need = 1; cp = c & 0x1f; }
        else if (c >= 0xe0 && c <= 0xef) { need = 2; cp = c & 0x0f; }
        else if (c >= 0xf0 && c <= 0xf4) { need = 3; cp = c & 0x07; }
        else return 0;
        if (n - i <= need)
            return 0;
        for (size_t k = 1; k <= need; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += need + 1;
    }
    return 1;
}

/* Eight bytes at a time; the last 4..7 as two overlapping words. Reads
 * only s[0..n). */
static inline int ascii_only(const uint8_t *s, size_t n) {
    uint64_t acc = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        acc |= w;
    }
    if (n - i >= 4) {
        uint32_t a, b;
        memcpy(&a, s + i, 4);
        memcpy(&b, s + n - 4, 4);
        acc |= a | b;
    } else {
        for (; i < n; i++)
            acc |= s[i];
    }
    return !(acc & 0x8080808080808080ULL);
}

/* Skips the value of an unknown field. Returns NULL or a reason. */
static const char *skip_value(const uint8_t **pp, const uint8_t *end, int wt) {
    uint64_t v;
    const char *err;
    switch (wt) {
    case WT_VARINT:
        return read_varint(pp, end, &v);
    case WT_I64:
        if (end - *pp < 8)
            return "truncated fixed64";
        *pp += 8;
        return NULL;
    case WT_I32:
        if (end - *pp < 4)
            return "truncated fixed32";
        *pp += 4;
        return NULL;
    case WT_LEN:
        if ((err = read_varint(pp, end, &v)))
            return err;
        if (v > (uint64_t)(end - *pp))
            return "length past end";
        *pp += v;
        return NULL;
    default:
        return "bad wire type";
    }
}

/* Decodes the value of known field f (wire type already checked) into q.
 * Returns NULL or a reason. */
static inline const char *read_field(const uint8_t **pp, const uint8_t *base,
                                     const uint8_t *end, int f, int kind,
                                     struct tp_quote *q) {
    const uint8_t *p = *pp;
    uint64_t v;
    const char *err;
    switch (kind) {
    case TP_FT_FLOAT: {
        if (end - p < 4)
            return "truncated fixed32";
        uint32_t bits = load_le32(p);
        q->v[f].i64 = 0;   /* all 8 bytes of a present value are defined */
        memcpy(&q->v[f].f32, &bits, 4);
        *pp = p + 4;
        return NULL;
    }
    case TP_FT_DOUBLE: {
        if (end - p < 8)
            return "truncated fixed64";
        uint64_t bits = load_le64(p);
        memcpy(&q->v[f].f64, &bits, 8);
        *pp = p + 8;
        return NULL;
    }
    case TP_FT_SINT64:
        if ((err = read_varint(pp, end, &v)))
            return err;
        q->v[f].i64 = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
        return NULL;
    case TP_FT_ENUM:
        if ((err = read_varint(pp, end, &v)))
            return err;
        q->v[f].i64 = (int32_t)(uint32_t)v; /* enums are int32 on the wire */
        return NULL;
    default: { /* TP_FT_STRING, TP_FT_STRINGS */
        if ((err = read_varint(&p, end, &v)))
            return err;
        if (v > (uint64_t)(end - p))
            return "length past end";
        if (!ascii_only(p, v) && !utf8_valid(p, v))
            return "invalid UTF-8";
        tp_sv sv = {(uint16_t)(p - base), (uint16_t)v};
        if (f == TP_F_INDICES) {
            if (q->nindices >= TP_QUOTE_MAX_INDICES)
                return "too many indices";
            q->indices[q->nindices++] = sv;
        } else {
            q->v[f].i64 = 0;
            q->v[f].sv = sv;
        }
        *pp = p + v;
        return NULL;
    }
    }
}

/* The rare cases of a field key: field 0, wire types 3/4/6/7, a known
 * field with another wire type, unknown fields (skipped). Returns NULL to
 * go on or a reason. */
static const char *odd_key(const uint8_t **pp, const uint8_t *end, uint64_t key) {
    uint64_t f = key >> 3;
    int wt = (int)(key & 7);
    if (f == 0)
        return "field number 0";
    if (f > 536870911u)
        return "bad field number";
    if (wt == 3 || wt == 4 || wt == 6 || wt == 7)
        return "bad wire type";
    if (f <= TP_QUOTE_NFIELDS)
        return "wrong wire type";
    return skip_value(pp, end, wt);
}

int tp_decode_pricing(const uint8_t *buf, size_t len, struct tp_quote *q,
                      const char **reason) {
    /* Only the presence bits and the count of indices are reset: values of
     * absent fields are left as they were (zeroing all 528 bytes was a
     * fifth of this function's time, for ingest a `rep stos` per frame). */
    q->present = 0;
    q->nindices = 0;
    if (len > TP_PAYLOAD_MAX) {
        *reason = "payload too large";
        return TP_DECODE_REJECT;
    }
    const uint8_t *p = buf, *end = buf + len;
    const char *err = NULL;
    uint64_t present = 0;
    while (p < end) {
        /* Keys of fields 1..15 take one byte, of fields 16..47 two. */
        uint64_t key = p[0];
        if (key < 0x80) {
            p++;
        } else if (end - p >= 2 && p[1] < 0x80) {
            key = (key & 0x7f) | (uint64_t)p[1] << 7;
            p += 2;
        } else if ((err = read_varint(&p, end, &key))) {
            break;
        }
        int op = key < KEY_OPS ? key_op[key] : 0;
        if (op) { /* hot path: a known field with its own wire type */
            int f = (int)(key >> 3);
            if ((err = read_field(&p, buf, end, f, op - 1, q)))
                break;
            present |= 1ull << (f - 1);
        } else if ((err = odd_key(&p, end, key))) {
            break;
        }
    }
    q->present = present;
    if (err) {
        *reason = err;
        return TP_DECODE_REJECT;
    }
    *reason = NULL;
    return TP_DECODE_OK;
}

/* ---- base64 ------------------------------------------------------------ */

/* Decoding tables, one per position in a quartet: the 6-bit value of an
 * alphabet byte pre-shifted into place, or B64_BAD for every other byte
 * ('=' included). One OR of four lookups gives the 24 bits of a quartet and,
 * in bit 24 and above, whether any byte was bad. Built by the preprocessor
 * so they are read-only data. */
#define B64_BAD 0xff000000u
#define B64V(c)                                                                \
    ((c) >= 'A' && (c) <= 'Z'   ? (c) - 'A'                                    \
     : (c) >= 'a' && (c) <= 'z' ? (c) - 'a' + 26                               \
     : (c) >= '0' && (c) <= '9' ? (c) - '0' + 52                               \
     : (c) == '+'               ? 62                                           \
     : (c) == '/'               ? 63                                           \
                                : -1)
#define B64T1(c, sh) (B64V(c) < 0 ? B64_BAD : (uint32_t)B64V(c) << (sh))
#define B64T4(c, sh) B64T1(c, sh), B64T1((c) + 1, sh), B64T1((c) + 2, sh), B64T1((c) + 3, sh)
#define B64T16(c, sh) B64T4(c, sh), B64T4((c) + 4, sh), B64T4((c) + 8, sh), B64T4((c) + 12, sh)
#define B64T64(c, sh) B64T16(c, sh), B64T16((c) + 16, sh), B64T16((c) + 32, sh), B64T16((c) + 48, sh)
#define B64T256(sh) B64T64(0, sh), B64T64(64, sh), B64T64(128, sh), B64T64(192, sh)
static const uint32_t b64_d0[256] = {B64T256(18)};
static const uint32_t b64_d1[256] = {B64T256(12)};
static const uint32_t b64_d2[256] = {B64T256(6)};
static const uint32_t b64_d3[256] = {B64T256(0)};

static inline uint32_t b64_quad(const uint8_t *t) {
    return b64_d0[t[0]] | b64_d1[t[1]] | b64_d2[t[2]] | b64_d3[t[3]];
}

/* 16 characters at a time with SSSE3 (x86 only; chosen at run time).
 *
 * Validity: a byte is in the alphabet when its low nibble is allowed for its
 * high nibble. The high nibble picks one class bit (0x2_: '+' '/'; 0x3_:
 * digits; 0x4_/0x6_: letters from 1; 0x5_/0x7_: letters up to 0xA; any other
 * high nibble: nothing), the low nibble picks the classes in which it is NOT
 * allowed, and a byte is bad when the two share a bit. Values: each class
 * adds one offset to the byte ('/' shares the high nibble of '+', so it
 * looks one entry lower). Packing: two multiply-adds join four 6-bit values
 * into 24 bits per 32-bit lane, and a shuffle writes the three bytes of each
 * lane in order. tests/unit/test_base64.c checks every byte value in every
 * lane against OpenSSL and the scalar path. */
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <tmmintrin.h>
#define B64_SIMD 1

__attribute__((target("ssse3"))) static int b64_blocks_ssse3(const uint8_t *s, uint8_t *o,
                                                            size_t blocks) {
    const __m128i lut_hi = _mm_setr_epi8(0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08, 0x10,
                                         0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10);
    const __m128i lut_lo = _mm_setr_epi8(0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
                                         0x11, 0x13, 0x1a, 0x1b, 0x1b, 0x1b, 0x1a);
    const __m128i lut_add = _mm_setr_epi8(0, 16, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m128i nib = _mm_set1_epi8(0x0f), slash = _mm_set1_epi8('/'), zero = _mm_setzero_si128();
    const __m128i join2 = _mm_set1_epi32(0x01400140), join4 = _mm_set1_epi32(0x00011000);
    const __m128i order = _mm_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1);
    for (size_t b = 0; b < blocks; b++, s += 16, o += 12) {
        __m128i in = _mm_loadu_si128((const __m128i *)(const void *)s);
        __m128i hi = _mm_and_si128(_mm_srli_epi32(in, 4), nib);
        __m128i lo = _mm_and_si128(in, nib);
        __m128i bad = _mm_and_si128(_mm_shuffle_epi8(lut_lo, lo), _mm_shuffle_epi8(lut_hi, hi));
        if (_mm_movemask_epi8(_mm_cmpeq_epi8(bad, zero)) != 0xffff)
            return -1;
        __m128i idx = _mm_add_epi8(hi, _mm_cmpeq_epi8(in, slash));
        __m128i v = _mm_add_epi8(in, _mm_shuffle_epi8(lut_add, idx));
        __m128i w = _mm_madd_epi16(_mm_maddubs_epi16(v, join2), join4);
        _mm_storeu_si128((__m128i *)(void *)o, _mm_shuffle_epi8(w, order));
    }
    return 0;
}
#endif

long tp_base64_decode(const char *in, size_t len, uint8_t *out, size_t out_cap) {
    if (len % 4)
        return -1;
    if (len == 0)
        return 0;
    const uint8_t *s = (const uint8_t *)in;
    size_t pad = s[len - 1] == '=' ? 1 + (s[len - 2] == '=') : 0;
    size_t n = len / 4 * 3 - pad;
    if (n > out_cap)
        return -1;
    size_t full = pad ? len - 4 : len;  /* quartets without padding */
    uint8_t *o = out;
    size_t i = 0;
#ifdef B64_SIMD
    /* Each block writes 16 bytes for its 12: only blocks whose 16 bytes stay
     * within the n bytes of the result, so nothing past it is touched. */
    if (full >= 16 && n >= 16 && __builtin_cpu_supports("ssse3")) {
        size_t blocks = full / 16, room = (n - 16) / 12 + 1;
        if (blocks > room)
            blocks = room;
        if (b64_blocks_ssse3(s, o, blocks))
            return -1;
        i = blocks * 16;
        o += blocks * 12;
    }
#endif
    for (; i < full; i += 4) {
        uint32_t w = b64_quad(s + i);
        if (w & B64_BAD)
            return -1;
        o[0] = (uint8_t)(w >> 16);
        o[1] = (uint8_t)(w >> 8);
        o[2] = (uint8_t)w;
        o += 3;
    }
    if (pad) {
        const uint8_t *t = s + len - 4;
        uint32_t w = b64_d0[t[0]] | b64_d1[t[1]] | (pad == 1 ? b64_d2[t[2]] : 0);
        if (w & B64_BAD)
            return -1;
        *o++ = (uint8_t)(w >> 16);
        if (pad == 1)
            *o++ = (uint8_t)(w >> 8);
    }
    return (long)(o - out);
}

size_t tp_base64_encode(const uint8_t *in, size_t len, char *out) {
    static const char abc[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *o = out;
    size_t i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t w = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        o[0] = abc[w >> 18];
        o[1] = abc[(w >> 12) & 63];
        o[2] = abc[(w >> 6) & 63];
        o[3] = abc[w & 63];
        o += 4;
    }
    if (i < len) {
        uint32_t w = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);
        o[0] = abc[w >> 18];
        o[1] = abc[(w >> 12) & 63];
        o[2] = i + 1 < len ? abc[(w >> 6) & 63] : '=';
        o[3] = '=';
        o += 4;
    }
    *o = '\0';
    return (size_t)(o - out);
}

/* ---- frames and the JSON envelope -------------------------------------- */

static inline int is_ws(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* What an envelope said: its type and, for "pricing", the base64 text. */
struct envelope {
    int is_pricing;
    const char *msg;
    size_t msg_len;
};

/* Reads a JSON string with no escapes at *pp (which points at the opening
 * quote). Returns 0, or -1 when the string has escapes or no end (the caller
 * then falls back to jansson). Control and non-ASCII bytes are the caller's
 * concern. */
static int simple_string(const char **pp, const char *end, const char **s, size_t *n) {
    const char *p = *pp + 1;
    const char *q = memchr(p, '"', (size_t)(end - p));
    if (!q || memchr(p, '\\', (size_t)(q - p)))
        return -1;
    *s = p;
    *n = (size_t)(q - p);
    *pp = q + 1;
    return 0;
}

static int printable_ascii(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return 0;
    return 1;
}

static const char *skip_ws(const char *p, const char *end) {
    while (p < end && is_ws(*p))
        p++;
    return p;
}

/* The fast path: an object of exactly the members "type" and "message"
 * (either order) whose values are strings without escapes, the type in
 * printable ASCII. On such input jansson would return the same type string;
 * the caller trusts the message only if it decodes as base64 (which admits
 * only alphabet bytes, so jansson would have returned it unchanged) or, for
 * a skipped type, is printable ASCII (so the document was valid JSON); else
 * it asks jansson for the exact verdict. Anything else (escapes,
 * other members, duplicates) returns -1 and goes to jansson. */
static int envelope_fast(const char *p, const char *end, struct envelope *e) {
    const char *type = NULL, *msg = NULL;
    size_t type_len = 0, msg_len = 0;
    p = skip_ws(p + 1, end);
    for (int i = 0; i < 2; i++) {
        const char *k, *v;
        size_t kn, vn;
        if (p >= end || *p != '"' || simple_string(&p, end, &k, &kn))
            return -1;
        p = skip_ws(p, end);
        if (p >= end || *p != ':')
            return -1;
        p = skip_ws(p + 1, end);
        if (p >= end || *p != '"' || simple_string(&p, end, &v, &vn))
            return -1;
        if (kn == 4 && memcmp(k, "type", 4) == 0 && !type) {
            type = v;
            type_len = vn;
        } else if (kn == 7 && memcmp(k, "message", 7) == 0 && !msg) {
            msg = v;
            msg_len = vn;
        } else {
            return -1;
        }
        p = skip_ws(p, end);
        if (p >= end || *p != (i == 0 ? ',' : '}'))
            return -1;
        p = skip_ws(p + 1, end);
    }
    if (p != end || !printable_ascii(type, type_len))
        return -1;
    e->is_pricing = type_len == 7 && memcmp(type, "pricing", 7) == 0;
    e->msg = msg;
    e->msg_len = msg_len;
    return 0;
}

/* Decodes the base64 of a frame into payload. Returns a decode status. */
static int base64_payload(const char *b64, size_t len, uint8_t *payload, long *n,
                          const char **reason) {
    *n = tp_base64_decode(b64, len, payload, TP_PAYLOAD_MAX);
    if (*n >= 0)
        return TP_DECODE_OK;
    *reason = len % 4 == 0 && len / 4 * 3 > TP_PAYLOAD_MAX + 2 ? "payload too large"
                                                              : "bad base64";
    return TP_DECODE_REJECT;
}

/* The general path through jansson. Decodes the message into payload while
 * the parsed document is alive. Returns a decode status. */
static int envelope_jansson(const char *text, size_t len, uint8_t *payload,
                            long *n, const char **reason) {
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    int rc = TP_DECODE_REJECT;
    *reason = "bad JSON envelope";
    if (!root || !json_is_object(root))
        goto out;
    json_t *type = json_object_get(root, "type");
    if (!json_is_string(type))
        goto out;
    if (strcmp(json_string_value(type), "pricing") != 0 ||
        json_string_length(type) != 7) {
        *reason = "envelope type";
        rc = TP_DECODE_SKIP;
        goto out;
    }
    json_t *msg = json_object_get(root, "message");
    if (!json_is_string(msg))
        goto out;
    rc = base64_payload(json_string_value(msg), json_string_length(msg),
                        payload, n, reason);
out:
    json_decref(root);
    return rc;
}

/* 1990-01-01T00:00:00Z in Unix ms, and how far ahead of the wall clock a
 * tick may be dated: anything outside is a corrupt or hostile time. */
#define TIME_MIN_MS 631152000000LL
#define TIME_AHEAD_MS 86400000LL

/* Rule 1 guards on a quote that has id, time and price: values that would
 * poison an average or a bar forever. Returns NULL or a reason. */
static const char *guard_values(const struct tp_quote *q) {
    if (!isfinite(q->v[TP_F_PRICE].f32))
        return "price not finite";
    int64_t t = q->v[TP_F_TIME].i64;
    if (t < TIME_MIN_MS)
        return "time out of range";
    /* The latest allowed time only grows: a per-thread cache of it spares
     * the clock read on the hot path, and is refreshed before refusing. */
    static _Thread_local int64_t max_ok;
    if (t <= max_ok)
        return NULL;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    max_ok = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + TIME_AHEAD_MS;
    return t > max_ok ? "time out of range" : NULL;
}

static int decoded_quote(const uint8_t *payload, size_t n, struct tp_quote *q,
                         const char **reason) {
    if (tp_decode_pricing(payload, n, q, reason) != TP_DECODE_OK)
        return TP_DECODE_REJECT;
    if (tp_quote_has(q, TP_F_QUOTE_TYPE) &&
        q->v[TP_F_QUOTE_TYPE].i64 == TP_QUOTE_TYPE_HEARTBEAT) {
        *reason = "heartbeat";
        return TP_DECODE_SKIP;
    }
    const uint64_t need = 1ull << (TP_F_ID - 1) | 1ull << (TP_F_TIME - 1) |
                          1ull << (TP_F_PRICE - 1);
    if ((q->present & need) != need) {
        *reason = !tp_quote_has(q, TP_F_ID)     ? "missing id"
                  : !tp_quote_has(q, TP_F_TIME) ? "missing time"
                                                : "missing price";
        return TP_DECODE_REJECT;
    }
    if ((*reason = guard_values(q)))
        return TP_DECODE_REJECT;
    return TP_DECODE_OK;
}

int tp_decode_frame(const char *text, size_t len, uint8_t *payload,
                    size_t *payload_len, struct tp_quote *q, const char **reason) {
    const char *end = text + len;
    text = skip_ws(text, end);
    while (end > text && is_ws(end[-1]))
        end--;
    len = (size_t)(end - text);
    *payload_len = 0;
    q->present = 0;
    q->nindices = 0;
    if (len == 0) {
        *reason = "empty frame";
        return TP_DECODE_REJECT;
    }
    long n;
    if (text[0] == '{') {
        struct envelope e;
        int fast = envelope_fast(text, end, &e) == 0;
        if (fast && !e.is_pricing && printable_ascii(e.msg, e.msg_len)) {
            *reason = "envelope type";
            return TP_DECODE_SKIP;
        }
        if (!fast || !e.is_pricing ||
            (n = tp_base64_decode(e.msg, e.msg_len, payload, TP_PAYLOAD_MAX)) < 0) {
            int rc = envelope_jansson(text, len, payload, &n, reason);
            if (rc != TP_DECODE_OK)
                return rc;
        }
    } else if (base64_payload(text, len, payload, &n, reason)) {
        return TP_DECODE_REJECT;
    }
    int rc = decoded_quote(payload, (size_t)n, q, reason);
    if (rc != TP_DECODE_REJECT)
        *payload_len = (size_t)n;
    return rc;
}

int64_t tp_decode_split_recv_time(const char *line, size_t len,
                                  const char **frame, size_t *frame_len) {
    int64_t ms = 0;
    size_t i = 0;
    while (i < len && i < 18 && line[i] >= '0' && line[i] <= '9')
        ms = ms * 10 + (line[i++] - '0');
    if (i == 0 || i >= len || line[i] != '\t') {
        *frame = line;
        *frame_len = len;
        return -1;
    }
    *frame = line + i + 1;
    *frame_len = len - i - 1;
    return ms;
}
