/*
 * test_kafka_pos.c - the position a replayed frame carries through Kafka
 * (tp_kafka_pos_write/_read): it round-trips for ids and lines of every
 * size; appended to each real captured frame it is skipped by our
 * PricingData decoder as an unknown field (the quote is the one without
 * it); and a value that merely looks like it (too short, one byte off, id
 * or line 0) is not taken for one. Python's protobuf-style reading of the
 * field is checked in tests/integration/test_kafka_pipeline.py.
 */
#include <string.h>

#include "bus/tp_kafka.h"
#include "codec/tp_decode.h"
#include "core/tp_quote.h"
#include "tp_test.h"

static void test_round_trip(void) {
    static const uint64_t ids[] = {1, 0x8000000000000001ULL, 0xcbf29ce484222325ULL, ~0ULL};
    static const int64_t lines[] = {1, 127, 128, 1LL << 31, INT64_MAX};
    uint8_t buf[TP_KAFKA_POS_LEN + 8];
    for (size_t i = 0; i < sizeof ids / sizeof *ids; i++)
        for (size_t j = 0; j < sizeof lines / sizeof *lines; j++) {
            memset(buf, 0xAA, sizeof buf);
            memcpy(buf, "\x0a\x03X", 3);
            tp_kafka_pos_write(buf + 3, ids[i], lines[j]);
            CHECK(buf[3 + TP_KAFKA_POS_LEN] == 0xAA);   /* nothing written past it */
            uint64_t id = 0;
            int64_t line = 0;
            CHECK(tp_kafka_pos_read(buf, 3 + TP_KAFKA_POS_LEN, &id, &line) == 1);
            CHECKF(id == ids[i] && line == lines[j], "id %llx line %lld",
                   (unsigned long long)id, (long long)line);
            CHECK(tp_kafka_pos_read(buf + 3, TP_KAFKA_POS_LEN, &id, &line) == 1);
        }
}

static void test_not_a_position(void) {
    uint8_t buf[TP_KAFKA_POS_LEN];
    uint64_t id = 7;
    int64_t line = 7;
    tp_kafka_pos_write(buf, 42, 9);
    CHECK(tp_kafka_pos_read(buf, TP_KAFKA_POS_LEN - 1, &id, &line) == 0);
    CHECK(tp_kafka_pos_read(buf + 1, TP_KAFKA_POS_LEN - 1, &id, &line) == 0);
    /* Each framing byte changed in turn (tag, lengths, inner tags). */
    static const int framing[] = {0, 1, 2, 3, 4, 13};
    for (size_t k = 0; k < sizeof framing / sizeof *framing; k++) {
        uint8_t t[TP_KAFKA_POS_LEN];
        memcpy(t, buf, sizeof t);
        t[framing[k]] ^= 0x01;
        CHECKF(tp_kafka_pos_read(t, sizeof t, &id, &line) == 0, "byte %d", framing[k]);
    }
    tp_kafka_pos_write(buf, 0, 9);
    CHECK(tp_kafka_pos_read(buf, sizeof buf, &id, &line) == 0);
    tp_kafka_pos_write(buf, 42, 0);
    CHECK(tp_kafka_pos_read(buf, sizeof buf, &id, &line) == 0);
    tp_kafka_pos_write(buf, 42, -5);
    CHECK(tp_kafka_pos_read(buf, sizeof buf, &id, &line) == 0);
    CHECK(id == 7 && line == 7);   /* untouched when there is none */
}

/* Every real frame, with and without the field: same quote, and no real
 * frame is taken for one that carries a position. */
static void test_real_frames(void) {
    char path[4096];
    REQUIRE(snprintf(path, sizeof path, "%s/yahoo/frames.txt", tp_test_data()) <
            (int)sizeof path);
    static char *lines[64];
    static size_t lens[64];
    int nlines = tp_test_read_lines(path, lines, lens, 64);
    int n = 0;
    static uint8_t payload[TP_PAYLOAD_MAX + TP_KAFKA_POS_LEN];
    for (int k = 0; k < nlines; k++) {
        const char *text = lines[k];
        size_t got = lens[k];
        size_t plen = 0;
        struct tp_quote a, b;
        const char *reason = NULL;
        if (tp_decode_frame(text, got, payload, &plen, &a, &reason) != TP_DECODE_OK)
            continue;
        uint64_t id;
        int64_t line;
        CHECK(tp_kafka_pos_read(payload, plen, &id, &line) == 0);
        REQUIRE(tp_decode_pricing(payload, plen, &a, &reason) == TP_DECODE_OK);
        tp_kafka_pos_write(payload + plen, 0x1234567890abcdefULL, n + 1);
        CHECKF(tp_decode_pricing(payload, plen + TP_KAFKA_POS_LEN, &b, &reason) == TP_DECODE_OK,
               "frame %d: %s", n, reason);
        CHECK(a.present == b.present && a.nindices == b.nindices);
        for (int f = 1; f <= TP_QUOTE_NFIELDS; f++)
            CHECKF(!tp_quote_has(&a, f) || memcmp(&a.v[f], &b.v[f], sizeof a.v[f]) == 0,
                   "frame %d: field %d decodes differently", n, f);
        CHECK(tp_kafka_pos_read(payload, plen + TP_KAFKA_POS_LEN, &id, &line) == 1);
        CHECK(id == 0x1234567890abcdefULL && line == n + 1);
        n++;
    }
    for (int k = 0; k < nlines; k++)
        free(lines[k]);
    CHECKF(n >= 10, "only %d frames decoded", n);
}

int main(void) {
    test_round_trip();
    test_not_a_position();
    test_real_frames();
    return TP_TEST_DONE();
}
