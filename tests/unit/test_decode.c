/*
 * test_decode.c - the frame decoder against real Yahoo frames and crafted
 * malformed input: every field of every real frame, the zigzag trap, every
 * reject reason, truncation at every byte, unknown fields, skips, base64 and
 * protobuf round trips, and the JSON rendering of quotes.
 */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core/tp_clock.h"
#include "core/tp_fmt.h"
#include "codec/tp_decode.h"
#include "codec/tp_encode.h"
#include "tp_test.h"

#define MAXLINES 64

struct corpus {
    char *text[MAXLINES];
    size_t len[MAXLINES];
    json_t *expect[MAXLINES];
    int n;
};

static void load_corpus(struct corpus *c) {
    char path[4096];
    char *exp[MAXLINES];
    size_t explen[MAXLINES];
    snprintf(path, sizeof path, "%s/yahoo/frames.txt", tp_test_data());
    c->n = tp_test_read_lines(path, c->text, c->len, MAXLINES);
    snprintf(path, sizeof path, "%s/yahoo/frames.expected.jsonl", tp_test_data());
    int ne = tp_test_read_lines(path, exp, explen, MAXLINES);
    REQUIRE(c->n >= 10 && ne == c->n);
    for (int i = 0; i < ne; i++) {
        json_error_t err;
        c->expect[i] = json_loadb(exp[i], explen[i], 0, &err);
        REQUIRE(json_is_object(c->expect[i]));
        free(exp[i]);
    }
}

/* Compares one field of q with the expected JSON value (NULL = absent). */
static void check_field(const struct tp_quote *q, const uint8_t *pl, int f,
                        json_t *want, int line) {
    const char *name = tp_field_name(f);
    if (!want) {
        CHECKF(!tp_quote_has(q, f), "line %d: %s should be absent", line, name);
        return;
    }
    CHECKF(tp_quote_has(q, f), "line %d: %s missing", line, name);
    if (!tp_quote_has(q, f))
        return;
    switch (tp_field_type(f)) {
    case TP_FT_STRING:
        CHECKF(json_is_string(want) &&
                   json_string_length(want) == q->v[f].sv.len &&
                   memcmp(json_string_value(want), pl + q->v[f].sv.off,
                          q->v[f].sv.len) == 0,
               "line %d: %s", line, name);
        break;
    case TP_FT_FLOAT:
        CHECKF(json_is_number(want) && (double)q->v[f].f32 == json_number_value(want),
               "line %d: %s = %.17g, want %.17g", line, name, (double)q->v[f].f32,
               json_number_value(want));
        break;
    case TP_FT_DOUBLE:
        CHECKF(json_is_number(want) && q->v[f].f64 == json_number_value(want),
               "line %d: %s = %.17g", line, name, q->v[f].f64);
        break;
    case TP_FT_STRINGS:
        CHECKF(json_is_array(want) && json_array_size(want) == q->nindices,
               "line %d: %s", line, name);
        break;
    default:
        CHECKF(json_is_integer(want) && json_integer_value(want) == q->v[f].i64,
               "line %d: %s = %lld, want %lld", line, name, (long long)q->v[f].i64,
               (long long)json_integer_value(want));
    }
}

static void test_real_frames(const struct corpus *c) {
    uint8_t pl[TP_PAYLOAD_MAX];
    for (int i = 0; i < c->n; i++) {
        struct tp_quote q;
        size_t plen;
        const char *why = NULL;
        int rc = tp_decode_frame(c->text[i], c->len[i], pl, &plen, &q, &why);
        CHECKF(rc == TP_DECODE_OK, "line %d: rc %d (%s)", i + 1, rc, why ? why : "");
        CHECK(plen >= 20 && plen <= 200);
        for (int f = 1; f <= TP_QUOTE_NFIELDS; f++)
            check_field(&q, pl, f, json_object_get(c->expect[i], tp_field_name(f)), i + 1);
        /* Every expected key is one of the 47 names. */
        const char *key;
        json_t *val;
        json_object_foreach(c->expect[i], key, val) {
            int known = 0;
            for (int f = 1; f <= TP_QUOTE_NFIELDS; f++)
                known |= strcmp(key, tp_field_name(f)) == 0;
            CHECKF(known, "line %d: unknown expected key %s", i + 1, key);
        }
        CHECK(q.present >> TP_QUOTE_NFIELDS == 0);
    }
}

/* Decoders that forget zigzag report priceHint 4 and doubled volumes. */
static void test_zigzag_trap(const struct corpus *c) {
    uint8_t pl[TP_PAYLOAD_MAX];
    struct tp_quote q;
    size_t plen;
    const char *why;
    REQUIRE(tp_decode_frame(c->text[1], c->len[1], pl, &plen, &q, &why) == TP_DECODE_OK);
    CHECK(tp_quote_has(&q, TP_F_PRICE_HINT) && q.v[TP_F_PRICE_HINT].i64 == 2);
    CHECK(q.v[TP_F_DAY_VOLUME].i64 == 10460764);
    CHECK(q.v[TP_F_TIME].i64 == 1589554809000);
    CHECK(q.v[TP_F_QUOTE_TYPE].i64 == 8 && q.v[TP_F_MARKET_HOURS].i64 == 1);
}

/* Every prefix of every real payload and frame: no crash, OK or REJECT,
 * and a cut inside the last field is always a reject. */
static void test_truncation(const struct corpus *c) {
    uint8_t pl[TP_PAYLOAD_MAX], pl2[TP_PAYLOAD_MAX];
    for (int i = 0; i < c->n; i++) {
        struct tp_quote q;
        size_t plen, plen2;
        const char *why;
        REQUIRE(tp_decode_frame(c->text[i], c->len[i], pl, &plen, &q, &why) == TP_DECODE_OK);
        for (size_t k = 0; k <= plen; k++) {
            uint8_t *cut = malloc(k ? k : 1); /* exact size so ASan sees overreads */
            memcpy(cut, pl, k);
            why = NULL;
            int rc = tp_decode_pricing(cut, k, &q, &why);
            CHECK(rc == TP_DECODE_OK || (rc == TP_DECODE_REJECT && why));
            if (k == plen - 1)
                CHECKF(rc == TP_DECODE_REJECT, "line %d cut at %zu", i + 1, k);
            free(cut);
        }
        for (size_t k = 0; k < c->len[i]; k++) {
            char *cut = malloc(k ? k : 1);
            memcpy(cut, c->text[i], k);
            why = NULL;
            int rc = tp_decode_frame(cut, k, pl2, &plen2, &q, &why);
            CHECK(rc != TP_DECODE_SKIP || strcmp(why, "envelope type") == 0);
            CHECK(rc == TP_DECODE_OK || why != NULL);
            free(cut);
        }
    }
}

static const char *pricing_reason(const uint8_t *b, size_t n) {
    struct tp_quote q;
    const char *why = NULL;
    int rc = tp_decode_pricing(b, n, &q, &why);
    return rc == TP_DECODE_OK ? "ok" : why;
}

#define EXPECT_PB(want, ...)                                                 \
    do {                                                                     \
        const uint8_t b_[] = {__VA_ARGS__};                                  \
        const char *got_ = pricing_reason(b_, sizeof b_);                    \
        CHECKF(strcmp(got_, want) == 0, "got \"%s\", want \"%s\"", got_, want); \
    } while (0)

static void test_malformed_protobuf(void) {
    EXPECT_PB("truncated varint", 0x18, 0x80);
    EXPECT_PB("truncated varint", 0x80);
    EXPECT_PB("truncated varint", 0xa0, 0x06, 0x80, 0x80);          /* field 100 */
    EXPECT_PB("varint too long", 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
              0xff, 0xff, 0xff, 0x01);
    EXPECT_PB("varint too long", 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
              0xff, 0xff, 0x01);
    EXPECT_PB("field number 0", 0x00, 0x00);
    EXPECT_PB("field number 0", 0x02, 0x00);
    EXPECT_PB("bad wire type", 0x0b);
    EXPECT_PB("bad wire type", 0x0c);
    EXPECT_PB("bad wire type", 0x0e, 0x00);
    EXPECT_PB("bad wire type", 0x0f, 0x00);
    EXPECT_PB("bad wire type", 0xa3, 0x06);                          /* field 100 */
    EXPECT_PB("length past end", 0x0a, 0x05, 'a');
    EXPECT_PB("length past end", 0xa2, 0x06, 0x05, 'a');
    EXPECT_PB("length past end", 0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f);
    EXPECT_PB("wrong wire type", 0x08, 0x01);                        /* id as varint */
    EXPECT_PB("wrong wire type", 0x10, 0x01);                        /* price as varint */
    EXPECT_PB("wrong wire type", 0x1d, 0, 0, 0, 0);                  /* time as fixed32 */
    EXPECT_PB("wrong wire type", 0x35, 0, 0, 0, 0);                  /* quoteType fixed32 */
    EXPECT_PB("truncated fixed32", 0x15, 0x00, 0x00);
    EXPECT_PB("truncated fixed32", 0xa5, 0x06, 0x00);
    EXPECT_PB("truncated fixed64", 0x81, 0x02, 0, 0, 0);             /* field 32 */
    EXPECT_PB("truncated fixed64", 0xa1, 0x06, 0, 0, 0);
    EXPECT_PB("invalid UTF-8", 0x0a, 0x02, 0xc3, 0x28);
    EXPECT_PB("invalid UTF-8", 0x0a, 0x03, 0xed, 0xa0, 0x80);         /* surrogate */
    EXPECT_PB("invalid UTF-8", 0x0a, 0x02, 0xc0, 0x80);              /* overlong */
    EXPECT_PB("bad field number", 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x00);
    EXPECT_PB("ok", 0x0a, 0x02, 0xc3, 0xa9);                         /* "é" */
    EXPECT_PB("ok");                                                  /* empty message */

    /* 33 indices: one too many. */
    uint8_t b[33 * 4];
    for (int i = 0; i < 33; i++)
        memcpy(b + 4 * i, (const uint8_t[]){0x9a, 0x02, 0x01, 'x'}, 4);
    CHECK(strcmp(pricing_reason(b, 32 * 4), "ok") == 0);
    CHECK(strcmp(pricing_reason(b, 33 * 4), "too many indices") == 0);
    uint8_t big[TP_PAYLOAD_MAX + 2] = {0};
    CHECK(strcmp(pricing_reason(big, sizeof big), "payload too large") == 0);
}

static const char *frame_reason(const char *text) {
    static uint8_t pl[TP_PAYLOAD_MAX];
    struct tp_quote q;
    size_t plen;
    const char *why = NULL;
    int rc = tp_decode_frame(text, strlen(text), pl, &plen, &q, &why);
    return rc == TP_DECODE_OK ? "ok" : why;
}

/* Encodes q (strings from s) as a bare base64 frame into out. */
static void frame_of(const struct tp_quote *q, const char *s, char *out) {
    uint8_t pb[512];
    long n = tp_encode_pricing(q, (const uint8_t *)s, pb, sizeof pb);
    REQUIRE(n >= 0);
    tp_base64_encode(pb, (size_t)n, out);
}

static void set_present(struct tp_quote *q, int f) { q->present |= 1ull << (f - 1); }

static void test_frame_rules(void) {
    char fr[1024], buf[2048];
    struct tp_quote q = {0};
    const char *s = "BTC-USD";
    set_present(&q, TP_F_ID);
    q.v[TP_F_ID].sv = (tp_sv){0, 7};
    set_present(&q, TP_F_TIME);
    q.v[TP_F_TIME].i64 = 1736509140000;
    frame_of(&q, s, fr);
    CHECK(strcmp(frame_reason(fr), "missing price") == 0);
    set_present(&q, TP_F_QUOTE_TYPE);
    q.v[TP_F_QUOTE_TYPE].i64 = 7;
    frame_of(&q, s, fr);
    CHECK(strcmp(frame_reason(fr), "heartbeat") == 0);
    q.present = 0;
    set_present(&q, TP_F_QUOTE_TYPE); /* a heartbeat with nothing else */
    frame_of(&q, s, fr);
    CHECK(strcmp(frame_reason(fr), "heartbeat") == 0);
    q.v[TP_F_QUOTE_TYPE].i64 = 41;
    set_present(&q, TP_F_PRICE);
    q.v[TP_F_PRICE].f32 = 1.5f;
    set_present(&q, TP_F_TIME);
    frame_of(&q, s, fr);
    CHECK(strcmp(frame_reason(fr), "missing id") == 0);
    q.present &= ~(1ull << (TP_F_TIME - 1));
    set_present(&q, TP_F_ID);
    frame_of(&q, s, fr);
    CHECK(strcmp(frame_reason(fr), "missing time") == 0);
    set_present(&q, TP_F_TIME);
    frame_of(&q, s, fr);
    CHECK(strcmp(frame_reason(fr), "ok") == 0);

    /* Envelopes: fast path, reordered, escaped (jansson), non-pricing. */
    snprintf(buf, sizeof buf, "{\"type\":\"pricing\",\"message\":\"%s\"}", fr);
    CHECK(strcmp(frame_reason(buf), "ok") == 0);
    snprintf(buf, sizeof buf, "  { \"message\" : \"%s\" , \"type\" : \"pricing\" }\r", fr);
    CHECK(strcmp(frame_reason(buf), "ok") == 0);
    snprintf(buf, sizeof buf, "{\"type\":\"pri\\u0063ing\",\"message\":\"%s\",\"x\":[1]}", fr);
    CHECK(strcmp(frame_reason(buf), "ok") == 0);
    snprintf(buf, sizeof buf, "{\"type\":\"news\",\"message\":\"%s\"}", fr);
    CHECK(strcmp(frame_reason(buf), "envelope type") == 0);
    CHECK(strcmp(frame_reason("{\"type\": \"heartbeat\", \"n\": 3}"), "envelope type") == 0);
    /* A raw control character makes the envelope invalid JSON, whatever its type. */
    CHECK(strcmp(frame_reason("{\"type\":\"news\",\"message\":\"a\x01\"}"), "bad JSON envelope") == 0);
    CHECK(strcmp(frame_reason("{\"type\":\"pricing\",\"message\":\"QUJD\x01\"}"), "bad JSON envelope") == 0);
    CHECK(strcmp(frame_reason("{\"type\":\"pricing\",\"message\":\"!!!!\"}"), "bad base64") == 0);
    const char *bad_env[] = {"{", "{}", "{\"type\":1}", "{\"message\":\"AAAA\"}", "{1}",
                             "{\"type\":\"pricing\"}", "{\"type\":\"pricing\",\"message\":5}",
                             "{\"type\":\"pricing\",\"message\":\"AAAA\"} x",
                             "{\"type\":\"pricing\",\"type\":\"pricing\",\"message\":\"\"}"};
    for (size_t i = 0; i < sizeof bad_env / sizeof *bad_env; i++)
        CHECKF(strcmp(frame_reason(bad_env[i]), "bad JSON envelope") == 0, "%s", bad_env[i]);

    CHECK(strcmp(frame_reason(""), "empty frame") == 0);
    CHECK(strcmp(frame_reason("  \t"), "empty frame") == 0);
    const char *bad_b64[] = {"abc", "ab!d", "a===", "ab=c", "====", "QQ==QQ==", "Q Q="};
    for (size_t i = 0; i < sizeof bad_b64 / sizeof *bad_b64; i++)
        CHECKF(strcmp(frame_reason(bad_b64[i]), "bad base64") == 0, "%s", bad_b64[i]);
    char *huge = malloc(100001);
    memset(huge, 'A', 100000);
    huge[100000] = '\0';
    CHECK(strcmp(frame_reason(huge), "payload too large") == 0);
    free(huge);
}

/* A real frame whose base64 has '/' also decodes when the slashes are JSON
 * escaped (jansson path) and equals the bare decode. */
static void test_escaped_envelope(const struct corpus *c) {
    for (int i = 0; i < c->n; i++) {
        if (c->text[i][0] == '{' || !strchr(c->text[i], '/'))
            continue;
        char env[2048];
        size_t o = (size_t)snprintf(env, sizeof env, "{\"type\":\"pricing\",\"message\":\"");
        for (size_t k = 0; k < c->len[i]; k++) {
            if (c->text[i][k] == '/')
                env[o++] = '\\';
            env[o++] = c->text[i][k];
        }
        snprintf(env + o, sizeof env - o, "\"}");
        uint8_t a[TP_PAYLOAD_MAX], b[TP_PAYLOAD_MAX];
        size_t na, nb;
        struct tp_quote q;
        const char *why;
        CHECK(tp_decode_frame(c->text[i], c->len[i], a, &na, &q, &why) == TP_DECODE_OK);
        CHECK(tp_decode_frame(env, strlen(env), b, &nb, &q, &why) == TP_DECODE_OK);
        CHECK(na == nb && memcmp(a, b, na) == 0);
        return;
    }
    CHECKF(0, "no real frame with '/' in its base64");
}

/* Unknown fields of every wire type, before and after the known ones. */
static void test_unknown_fields(const struct corpus *c) {
    static const uint8_t unk[] = {
        0x80, 0x03, 0x96, 0x01,                    /* 48 varint */
        0xa1, 0x06, 1, 2, 3, 4, 5, 6, 7, 8,        /* 100 fixed64 */
        0xa2, 0x06, 0x03, 'a', 'b', 'c',           /* 100 bytes */
        0x85, 0xa4, 0xe8, 0x03, 1, 2, 3, 4,        /* 1000000 fixed32 */
        0xf8, 0xff, 0xff, 0xff, 0x0f, 0x01,        /* 536870911 varint */
    };
    uint8_t pl[TP_PAYLOAD_MAX], mixed[TP_PAYLOAD_MAX];
    struct tp_quote q, q2;
    size_t plen;
    const char *why;
    REQUIRE(tp_decode_frame(c->text[0], c->len[0], pl, &plen, &q, &why) == TP_DECODE_OK);
    size_t n = 0;
    memcpy(mixed + n, unk, sizeof unk), n += sizeof unk;
    memcpy(mixed + n, pl, plen), n += plen;
    memcpy(mixed + n, unk, sizeof unk), n += sizeof unk;
    REQUIRE(tp_decode_pricing(mixed, n, &q2, &why) == TP_DECODE_OK);
    CHECK(q2.present == q.present);
    for (int f = 1; f <= TP_QUOTE_NFIELDS; f++) {
        if (!tp_quote_has(&q, f))
            continue;
        if (tp_field_type(f) == TP_FT_STRING)
            CHECK(q2.v[f].sv.len == q.v[f].sv.len &&
                  memcmp(mixed + q2.v[f].sv.off, pl + q.v[f].sv.off, q.v[f].sv.len) == 0);
        else
            CHECK(memcmp(&q2.v[f], &q.v[f], sizeof q.v[f]) == 0);
    }
}

static uint64_t rnd_state = 42;
static uint64_t rnd(void) {
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

static void test_base64_roundtrip(const struct corpus *c) {
    uint8_t in[300], back[300];
    char text[500];
    for (size_t len = 0; len < 300; len++) {
        for (size_t i = 0; i < len; i++)
            in[i] = (uint8_t)rnd();
        size_t n = tp_base64_encode(in, len, text);
        CHECK(n == 4 * ((len + 2) / 3) && text[n] == '\0');
        CHECK(tp_base64_decode(text, n, back, sizeof back) == (long)len);
        CHECK(memcmp(in, back, len) == 0);
        if (len > 0)
            CHECK(tp_base64_decode(text, n, back, len - 1) == -1);
    }
    /* Real frames: decode then encode gives the line back. */
    for (int i = 0; i < c->n; i++) {
        if (c->text[i][0] == '{')
            continue;
        uint8_t pl[TP_PAYLOAD_MAX];
        long n = tp_base64_decode(c->text[i], c->len[i], pl, sizeof pl);
        REQUIRE(n > 0);
        tp_base64_encode(pl, (size_t)n, text);
        CHECK(strcmp(text, c->text[i]) == 0);
    }
}

/* Decode then encode reproduces every real payload byte for byte; random
 * quotes of every field survive encode then decode. */
static void test_protobuf_roundtrip(const struct corpus *c) {
    uint8_t pl[TP_PAYLOAD_MAX], out[TP_PAYLOAD_MAX];
    for (int i = 0; i < c->n; i++) {
        struct tp_quote q;
        size_t plen;
        const char *why;
        REQUIRE(tp_decode_frame(c->text[i], c->len[i], pl, &plen, &q, &why) == TP_DECODE_OK);
        long n = tp_encode_pricing(&q, pl, out, sizeof out);
        CHECKF(n == (long)plen && memcmp(out, pl, plen) == 0, "line %d", i + 1);
        CHECK(tp_encode_pricing(&q, pl, out, plen - 1) == -1);
    }
    static const char strs[] = "AAPLNMSé\"\\\n";
    for (int round = 0; round < 2000; round++) {
        struct tp_quote q = {0}, q2;
        for (int f = 1; f <= TP_QUOTE_NFIELDS; f++) {
            if (rnd() % 2)
                continue;
            set_present(&q, f);
            uint64_t r = rnd();
            switch (tp_field_type(f)) {
            case TP_FT_STRING: q.v[f].sv = (tp_sv){(uint16_t)(r % 3), (uint16_t)(r % 5)}; break;
            case TP_FT_STRINGS:
                q.nindices = (uint32_t)(r % 4);
                for (uint32_t k = 0; k < q.nindices; k++)
                    q.indices[k] = (tp_sv){(uint16_t)k, (uint16_t)(3 + k)};
                break;
            case TP_FT_FLOAT: q.v[f].f32 = (float)((int64_t)r % 100000) / 7.0f; break;
            case TP_FT_DOUBLE: q.v[f].f64 = (double)(int64_t)r / 3.0; break;
            case TP_FT_ENUM: q.v[f].i64 = (int32_t)r % 50 - 3; break;
            case TP_FT_SINT64: q.v[f].i64 = round % 3 ? (int64_t)r : (int64_t)(r % 200) - 100; break;
            }
        }
        long n = tp_encode_pricing(&q, (const uint8_t *)strs, out, sizeof out);
        REQUIRE(n >= 0);
        const char *why;
        REQUIRE(tp_decode_pricing(out, (size_t)n, &q2, &why) == TP_DECODE_OK);
        if (!(q.present & (1ull << (TP_F_INDICES - 1))))
            q.nindices = 0;
        if (q.nindices == 0) /* an empty repeated field leaves no trace */
            q.present &= ~(1ull << (TP_F_INDICES - 1));
        CHECK(q2.present == q.present && q2.nindices == q.nindices);
        for (int f = 1; f <= TP_QUOTE_NFIELDS; f++) {
            if (!tp_quote_has(&q, f))
                continue;
            enum tp_ftype t = tp_field_type(f);
            if (t == TP_FT_STRING)
                CHECK(q2.v[f].sv.len == q.v[f].sv.len &&
                      memcmp(out + q2.v[f].sv.off, strs + q.v[f].sv.off, q.v[f].sv.len) == 0);
            else if (t == TP_FT_FLOAT)
                CHECK(q2.v[f].f32 == q.v[f].f32);
            else if (t == TP_FT_DOUBLE)
                CHECK(q2.v[f].f64 == q.v[f].f64);
            else if (t != TP_FT_STRINGS)
                CHECKF(q2.v[f].i64 == q.v[f].i64, "field %d", f);
        }
    }
}

static json_t *render(const struct tp_quote *q, const uint8_t *pl) {
    char buf[8192];
    buf[0] = '{';
    int n = tp_quote_json_fields(q, pl, buf + 1, sizeof buf - 2);
    REQUIRE(n >= 0);
    CHECK((size_t)n == strlen(buf + 1));
    /* Too small a buffer fails cleanly at every size. */
    for (int cap = 0; cap <= n; cap += 7)
        CHECK(tp_quote_json_fields(q, pl, buf + 1, (size_t)cap) == -1);
    n = tp_quote_json_fields(q, pl, buf + 1, sizeof buf - 2);
    buf[n + 1] = '}';
    json_error_t err;
    json_t *j = json_loadb(buf, (size_t)n + 2, 0, &err);
    CHECKF(j != NULL, "%s: %s", buf, err.text);
    return j;
}

static void test_json_fields(const struct corpus *c) {
    uint8_t pl[TP_PAYLOAD_MAX];
    for (int i = 0; i < c->n; i++) {
        struct tp_quote q;
        size_t plen;
        const char *why;
        REQUIRE(tp_decode_frame(c->text[i], c->len[i], pl, &plen, &q, &why) == TP_DECODE_OK);
        json_t *j = render(&q, pl);
        CHECKF(json_equal(j, c->expect[i]), "line %d", i + 1);
        json_decref(j);
    }
    /* Escapes, non-ASCII, indices, odd floats. */
    static const char s[] = "a\"b\\c\nd\x01" "\xc3\xa9" "XY";
    struct tp_quote q = {0};
    set_present(&q, TP_F_SHORT_NAME);
    q.v[TP_F_SHORT_NAME].sv = (tp_sv){0, 10};
    set_present(&q, TP_F_INDICES);
    q.nindices = 2;
    q.indices[0] = (tp_sv){10, 1};
    q.indices[1] = (tp_sv){11, 1};
    set_present(&q, TP_F_PRICE);
    q.v[TP_F_PRICE].f32 = NAN;
    set_present(&q, TP_F_CHANGE);
    q.v[TP_F_CHANGE].f32 = -0.0f;
    set_present(&q, TP_F_MARKETCAP);
    q.v[TP_F_MARKETCAP].f64 = 1e300;
    set_present(&q, TP_F_DAY_LOW);
    q.v[TP_F_DAY_LOW].f32 = 1e-30f;
    set_present(&q, TP_F_DAY_HIGH);
    q.v[TP_F_DAY_HIGH].f32 = 3e38f;
    set_present(&q, TP_F_TIME);
    q.v[TP_F_TIME].i64 = INT64_MIN;
    json_t *j = render(&q, (const uint8_t *)s);
    REQUIRE(j);
    CHECK(strcmp(json_string_value(json_object_get(j, "shortName")), "a\"b\\c\nd\x01\xc3\xa9") == 0);
    CHECK(json_array_size(json_object_get(j, "indices")) == 2);
    CHECK(json_is_null(json_object_get(j, "price")));
    CHECK(json_is_real(json_object_get(j, "change")));
    CHECK(json_real_value(json_object_get(j, "marketcap")) == 1e300);
    CHECK(json_real_value(json_object_get(j, "dayLow")) == (double)1e-30f);
    CHECK(json_real_value(json_object_get(j, "dayHigh")) == (double)3e38f);
    CHECK(json_integer_value(json_object_get(j, "time")) == INT64_MIN);
    json_decref(j);
}

/* Float members through the per-thread text cache: values drawn from a
 * pool larger than the cache (so slots are shared and overwritten), repeats,
 * both zeros, NaN and infinities, each compared with tp_fmt_double(). */
static void test_json_float_cache(void) {
    static float pool[5000];
    for (int i = 0; i < 5000; i++) {
        uint32_t bits = (uint32_t)rnd();
        memcpy(&pool[i], &bits, 4);
    }
    pool[0] = 0.0f;
    pool[1] = -0.0f;
    pool[2] = NAN;
    pool[3] = INFINITY;
    pool[4] = 177.42f;
    int bad = 0;
    for (int round = 0; round < 200000; round++) {
        struct tp_quote q = {0};
        float x = pool[rnd() % 5000];
        q.present = 1ull << (TP_F_PRICE - 1) | 1ull << (TP_F_DAY_HIGH - 1);
        q.v[TP_F_PRICE].f32 = x;
        q.v[TP_F_DAY_HIGH].f32 = pool[round % 5];
        char got[128], want[128], a[32], b[32];
        tp_fmt_double(a, sizeof a, (double)x);
        tp_fmt_double(b, sizeof b, (double)pool[round % 5]);
        snprintf(want, sizeof want, "\"price\":%s,\"dayHigh\":%s", a, b);
        int n = tp_quote_json_fields(&q, (const uint8_t *)"", got, sizeof got);
        if ((n < 0 || strcmp(got, want) != 0) && bad++ < 5)
            CHECKF(0, "got %s want %s", n < 0 ? "(error)" : got, want);
    }
    CHECK(bad == 0);
}

static void test_field_table(void) {
    static const char *names[] = {"id", "price", "time", "vol_24hr", "fromcurrency",
                                  "circulatingSupply", "fullDayChangePercent"};
    static const int nums[] = {1, 2, 3, 28, 30, 32, 47};
    for (size_t i = 0; i < sizeof nums / sizeof *nums; i++)
        CHECK(strcmp(tp_field_name(nums[i]), names[i]) == 0);
    for (int a = 1; a <= TP_QUOTE_NFIELDS; a++) {
        CHECK(tp_field_name(a)[0] != '\0');
        for (int b = a + 1; b <= TP_QUOTE_NFIELDS; b++)
            CHECK(strcmp(tp_field_name(a), tp_field_name(b)) != 0);
    }
    CHECK(tp_field_type(6) == TP_FT_ENUM && tp_field_type(7) == TP_FT_ENUM);
    CHECK(tp_field_type(32) == TP_FT_DOUBLE && tp_field_type(33) == TP_FT_DOUBLE);
    CHECK(tp_field_type(35) == TP_FT_STRINGS && tp_field_type(27) == TP_FT_SINT64);
}

static void test_recv_prefix(void) {
    const char *fr;
    size_t n;
    CHECK(tp_decode_split_recv_time("1736509141234\tQUJD", 18, &fr, &n) == 1736509141234);
    CHECK(n == 4 && memcmp(fr, "QUJD", 4) == 0);
    CHECK(tp_decode_split_recv_time("QUJD", 4, &fr, &n) == -1 && n == 4);
    CHECK(tp_decode_split_recv_time("\tQUJD", 5, &fr, &n) == -1 && n == 5);
    CHECK(tp_decode_split_recv_time("12a\tQ", 5, &fr, &n) == -1);
    CHECK(tp_decode_split_recv_time("123", 3, &fr, &n) == -1 && n == 3);
    CHECK(tp_decode_split_recv_time("0\t", 2, &fr, &n) == 0 && n == 0);
}

/* Rule 1 guards: a price that is not finite, a time before 1990 or more
 * than a day ahead of the wall clock. */
static void test_value_guards(void) {
    char fr[1024];
    struct tp_quote q = {0};
    set_present(&q, TP_F_ID);
    q.v[TP_F_ID].sv = (tp_sv){0, 3};
    set_present(&q, TP_F_PRICE);
    set_present(&q, TP_F_TIME);
    const float prices[] = {NAN, INFINITY, -INFINITY};
    q.v[TP_F_TIME].i64 = 1736509140000;
    for (int i = 0; i < 3; i++) {
        q.v[TP_F_PRICE].f32 = prices[i];
        frame_of(&q, "AAA", fr);
        CHECKF(strcmp(frame_reason(fr), "price not finite") == 0, "price %d: %s", i, frame_reason(fr));
    }
    q.v[TP_F_PRICE].f32 = 1.0f;
    const int64_t bad[] = {0, 631151999999, -1, INT64_MIN, INT64_MAX, tp_wall_ms() + 2 * 86400000LL};
    for (int i = 0; i < 6; i++) {
        q.v[TP_F_TIME].i64 = bad[i];
        frame_of(&q, "AAA", fr);
        CHECKF(strcmp(frame_reason(fr), "time out of range") == 0, "time %d: %s", i, frame_reason(fr));
    }
    const int64_t good[] = {631152000000, tp_wall_ms(), tp_wall_ms() + 86400000LL - 60000};
    for (int i = 0; i < 3; i++) {
        q.v[TP_F_TIME].i64 = good[i];
        frame_of(&q, "AAA", fr);
        CHECKF(strcmp(frame_reason(fr), "ok") == 0, "time %d: %s", i, frame_reason(fr));
    }
}

int main(void) {
    struct corpus c;
    load_corpus(&c);
    test_field_table();
    test_real_frames(&c);
    test_zigzag_trap(&c);
    test_truncation(&c);
    test_malformed_protobuf();
    test_frame_rules();
    test_value_guards();
    test_escaped_envelope(&c);
    test_unknown_fields(&c);
    test_base64_roundtrip(&c);
    test_protobuf_roundtrip(&c);
    test_json_fields(&c);
    test_json_float_cache();
    test_recv_prefix();
    for (int i = 0; i < c.n; i++) {
        free(c.text[i]);
        json_decref(c.expect[i]);
    }
    return TP_TEST_DONE();
}
