/*
 * decode.c - the Yahoo frame decoder: frame text -> protobuf payload ->
 * struct tp_quote.
 *
 * This is the hot path of every mode (replay, live, Kafka ingest), so it is
 * hand-written and allocation-free: base64 through a 256-entry table,
 * protobuf through a single forward scan with a one-byte varint fast path.
 * Only a version=2 JSON envelope that is not in the canonical two-member
 * shape {"type":"...","message":"..."} (escapes, extra members, odd
 * spacing is fine) falls back to jansson; the fast path accepts exactly the
 * inputs on which jansson would give the same answer.
 *
 * Pure functions over caller memory; any thread. Reasons are static strings
 * because the processor counts them by pointer/text and writes them to the
 * dead-letter file.
 */
#include "tp_decode.h"

#include <jansson.h>
#include <string.h>

/* Protobuf wire types. */
enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

/* Storage kind per field number, mirroring tp_field_type() (a unit test
 * checks that the two agree); kept here so the hot loop needs no call. */
static const uint8_t field_kind[TP_QUOTE_NFIELDS + 1] = {
    [TP_F_ID] = TP_FT_STRING, [TP_F_PRICE] = TP_FT_FLOAT,
    [TP_F_TIME] = TP_FT_SINT64, [TP_F_CURRENCY] = TP_FT_STRING,
    [TP_F_EXCHANGE] = TP_FT_STRING, [TP_F_QUOTE_TYPE] = TP_FT_ENUM,
    [TP_F_MARKET_HOURS] = TP_FT_ENUM, [TP_F_CHANGE_PERCENT] = TP_FT_FLOAT,
    [TP_F_DAY_VOLUME] = TP_FT_SINT64, [TP_F_DAY_HIGH] = TP_FT_FLOAT,
    [TP_F_DAY_LOW] = TP_FT_FLOAT, [TP_F_CHANGE] = TP_FT_FLOAT,
    [TP_F_SHORT_NAME] = TP_FT_STRING, [TP_F_EXPIRE_DATE] = TP_FT_SINT64,
    [TP_F_OPEN_PRICE] = TP_FT_FLOAT, [TP_F_PREVIOUS_CLOSE] = TP_FT_FLOAT,
    [TP_F_STRIKE_PRICE] = TP_FT_FLOAT, [TP_F_UNDERLYING_SYMBOL] = TP_FT_STRING,
    [TP_F_OPEN_INTEREST] = TP_FT_SINT64, [TP_F_OPTIONS_TYPE] = TP_FT_SINT64,
    [TP_F_MINI_OPTION] = TP_FT_SINT64, [TP_F_LAST_SIZE] = TP_FT_SINT64,
    [TP_F_BID] = TP_FT_FLOAT, [TP_F_BID_SIZE] = TP_FT_SINT64,
    [TP_F_ASK] = TP_FT_FLOAT, [TP_F_ASK_SIZE] = TP_FT_SINT64,
    [TP_F_PRICE_HINT] = TP_FT_SINT64, [TP_F_VOL_24HR] = TP_FT_SINT64,
    [TP_F_VOL_ALL_CURRENCIES] = TP_FT_SINT64, [TP_F_FROMCURRENCY] = TP_FT_STRING,
    [TP_F_LAST_MARKET] = TP_FT_STRING, [TP_F_CIRCULATING_SUPPLY] = TP_FT_DOUBLE,
    [TP_F_MARKETCAP] = TP_FT_DOUBLE, [TP_F_COMPONENTS] = TP_FT_STRING,
    [TP_F_INDICES] = TP_FT_STRINGS, [TP_F_CMC_RANK] = TP_FT_SINT64,
    [TP_F_UNDERLYING_SHORTNAME] = TP_FT_STRING,
    [TP_F_FIFTY_TWO_WEEK_CHANGE] = TP_FT_FLOAT,
    [TP_F_FIFTY_TWO_WEEK_CHANGE_PERCENT] = TP_FT_FLOAT,
    [TP_F_LATEST_AMOUNT_RAISED] = TP_FT_FLOAT,
    [TP_F_LATEST_FUNDING_DATE] = TP_FT_SINT64,
    [TP_F_LATEST_SHARE_CLASS] = TP_FT_STRING,
    [TP_F_LATEST_IMPLIED_VALUATION] = TP_FT_FLOAT,
    [TP_F_YTD_RETURN] = TP_FT_FLOAT, [TP_F_QTD_RETURN] = TP_FT_FLOAT,
    [TP_F_FULL_DAY_CHANGE] = TP_FT_FLOAT,
    [TP_F_FULL_DAY_CHANGE_PERCENT] = TP_FT_FLOAT,
};

static const uint8_t kind_wire[] = {
    [TP_FT_STRING] = WT_LEN, [TP_FT_FLOAT] = WT_I32, [TP_FT_DOUBLE] = WT_I64,
    [TP_FT_SINT64] = WT_VARINT, [TP_FT_ENUM] = WT_VARINT, [TP_FT_STRINGS] = WT_LEN,
};

/* ---- protobuf ---------------------------------------------------------- */

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
    for (int i = 0; i < 10; i++) {
        if (p + i >= end)
            return "truncated varint";
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

static inline int ascii_only(const uint8_t *s, size_t n) {
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= s[i];
    return acc < 0x80;
}

static inline uint32_t load_le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static inline uint64_t load_le64(const uint8_t *p) {
    return (uint64_t)load_le32(p) | (uint64_t)load_le32(p + 4) << 32;
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
static const char *read_field(const uint8_t **pp, const uint8_t *base,
                              const uint8_t *end, int f, struct tp_quote *q) {
    const uint8_t *p = *pp;
    uint64_t v;
    const char *err;
    switch (field_kind[f]) {
    case TP_FT_FLOAT: {
        if (end - p < 4)
            return "truncated fixed32";
        uint32_t bits = load_le32(p);
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
            q->v[f].sv = sv;
        }
        *pp = p + v;
        return NULL;
    }
    }
}

int tp_decode_pricing(const uint8_t *buf, size_t len, struct tp_quote *q,
                      const char **reason) {
    memset(q, 0, sizeof *q);
    if (len > TP_PAYLOAD_MAX) {
        *reason = "payload too large";
        return TP_DECODE_REJECT;
    }
    const uint8_t *p = buf, *end = buf + len;
    const char *err = NULL;
    while (p < end) {
        uint64_t key;
        if ((err = read_varint(&p, end, &key)))
            break;
        uint64_t f = key >> 3;
        int wt = (int)(key & 7);
        if (f == 0) {
            err = "field number 0";
            break;
        }
        if (f > 536870911u) {
            err = "bad field number";
            break;
        }
        if (wt == 3 || wt == 4 || wt == 6 || wt == 7) {
            err = "bad wire type";
            break;
        }
        if (f > TP_QUOTE_NFIELDS) {
            if ((err = skip_value(&p, end, wt)))
                break;
            continue;
        }
        if (kind_wire[field_kind[f]] != wt) {
            err = "wrong wire type";
            break;
        }
        if ((err = read_field(&p, buf, end, (int)f, q)))
            break;
        q->present |= 1ull << (f - 1);
    }
    if (err) {
        *reason = err;
        return TP_DECODE_REJECT;
    }
    *reason = NULL;
    return TP_DECODE_OK;
}

/* ---- base64 ------------------------------------------------------------ */

/* 0..63 for alphabet characters, 64 for '=', 0xff for everything else. */
static const uint8_t b64_val[256] = {
    ['A'] = 0,  ['B'] = 1,  ['C'] = 2,  ['D'] = 3,  ['E'] = 4,  ['F'] = 5,
    ['G'] = 6,  ['H'] = 7,  ['I'] = 8,  ['J'] = 9,  ['K'] = 10, ['L'] = 11,
    ['M'] = 12, ['N'] = 13, ['O'] = 14, ['P'] = 15, ['Q'] = 16, ['R'] = 17,
    ['S'] = 18, ['T'] = 19, ['U'] = 20, ['V'] = 21, ['W'] = 22, ['X'] = 23,
    ['Y'] = 24, ['Z'] = 25, ['a'] = 26, ['b'] = 27, ['c'] = 28, ['d'] = 29,
    ['e'] = 30, ['f'] = 31, ['g'] = 32, ['h'] = 33, ['i'] = 34, ['j'] = 35,
    ['k'] = 36, ['l'] = 37, ['m'] = 38, ['n'] = 39, ['o'] = 40, ['p'] = 41,
    ['q'] = 42, ['r'] = 43, ['s'] = 44, ['t'] = 45, ['u'] = 46, ['v'] = 47,
    ['w'] = 48, ['x'] = 49, ['y'] = 50, ['z'] = 51, ['0'] = 52, ['1'] = 53,
    ['2'] = 54, ['3'] = 55, ['4'] = 56, ['5'] = 57, ['6'] = 58, ['7'] = 59,
    ['8'] = 60, ['9'] = 61, ['+'] = 62, ['/'] = 63, ['='] = 64,
};

/* The table above leaves 0 for non-alphabet bytes, which collides with 'A';
 * this marks which bytes are really in the alphabet (or '='). */
static const uint8_t b64_ok[256] = {
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1,
    ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1,
    ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1,
    ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1, ['a'] = 1, ['b'] = 1,
    ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1,
    ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1,
    ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1,
    ['x'] = 1, ['y'] = 1, ['z'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1,
    ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1, ['+'] = 1,
    ['/'] = 1,
};

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
    for (size_t i = 0; i < full; i += 4) {
        uint8_t a = s[i], b = s[i + 1], c = s[i + 2], d = s[i + 3];
        if (!(b64_ok[a] & b64_ok[b] & b64_ok[c] & b64_ok[d]))
            return -1;
        uint32_t w = (uint32_t)b64_val[a] << 18 | (uint32_t)b64_val[b] << 12 |
                     (uint32_t)b64_val[c] << 6 | b64_val[d];
        o[0] = (uint8_t)(w >> 16);
        o[1] = (uint8_t)(w >> 8);
        o[2] = (uint8_t)w;
        o += 3;
    }
    if (pad) {
        const uint8_t *t = s + len - 4;
        if (!b64_ok[t[0]] || !b64_ok[t[1]] || (pad == 1 && !b64_ok[t[2]]))
            return -1;
        uint32_t w = (uint32_t)b64_val[t[0]] << 18 | (uint32_t)b64_val[t[1]] << 12 |
                     (pad == 1 ? (uint32_t)b64_val[t[2]] << 6 : 0);
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

/* Reads a JSON string with no escapes or control characters at *pp (which
 * points at the opening quote). Returns 0, or -1 when the string is not of
 * that simple kind (the caller then falls back to jansson). */
static int simple_string(const char **pp, const char *end, const char **s, size_t *n) {
    const char *p = *pp + 1;
    const char *start = p;
    while (p < end && *p != '"') {
        if (*p == '\\' || (unsigned char)*p < 0x20)
            return -1;
        p++;
    }
    if (p >= end)
        return -1;
    *s = start;
    *n = (size_t)(p - start);
    *pp = p + 1;
    return 0;
}

static const char *skip_ws(const char *p, const char *end) {
    while (p < end && is_ws(*p))
        p++;
    return p;
}

/* The fast path: an object of exactly the members "type" and "message"
 * (either order) whose values are escape-free ASCII strings. On such input
 * jansson would return the same strings, so answering here is equivalent.
 * Anything else (escapes, non-ASCII bytes that jansson would check as UTF-8,
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
    if (p != end || !ascii_only((const uint8_t *)type, type_len) ||
        !ascii_only((const uint8_t *)msg, msg_len))
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
    *reason = NULL;
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
        if (envelope_fast(text, end, &e) == 0) {
            if (!e.is_pricing) {
                *reason = "envelope type";
                return TP_DECODE_SKIP;
            }
            if (base64_payload(e.msg, e.msg_len, payload, &n, reason))
                return TP_DECODE_REJECT;
        } else {
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
