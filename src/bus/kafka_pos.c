/*
 * kafka_pos.c - the position a frame of a replayed file carries through
 * the topic (tp_kafka.h): a protobuf field appended to the PricingData
 * bytes, and the header that topics written before carried instead.
 */
#include "tp_kafka.h"

#include <stdlib.h>
#include <string.h>

#include "kafka_int.h"

/* Field TP_KAFKA_POS_FIELD, wire type 2 (length-delimited), as a varint;
 * then the nested message's length and the tags of its two fixed64
 * fields (1 and 2, wire type 1). */
static const uint8_t pos_tag[3] = {0xc2, 0xa9, 0x07};
#define POS_BODY_LEN 18
#define POS_ID_TAG 0x09
#define POS_LINE_TAG 0x11

static void put_le64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

void tp_kafka_pos_write(uint8_t *dst, uint64_t id, int64_t line) {
    memcpy(dst, pos_tag, sizeof pos_tag);
    dst[3] = POS_BODY_LEN;
    dst[4] = POS_ID_TAG;
    put_le64(dst + 5, id);
    dst[13] = POS_LINE_TAG;
    put_le64(dst + 14, (uint64_t)line);
}

int tp_kafka_pos_read(const uint8_t *value, size_t len, uint64_t *id, int64_t *line) {
    if (len < TP_KAFKA_POS_LEN)
        return 0;
    const uint8_t *p = value + len - TP_KAFKA_POS_LEN;
    if (memcmp(p, pos_tag, sizeof pos_tag) != 0 || p[3] != POS_BODY_LEN || p[4] != POS_ID_TAG ||
        p[13] != POS_LINE_TAG)
        return 0;
    uint64_t i = get_le64(p + 5);
    int64_t l = (int64_t)get_le64(p + 14);
    if (i == 0 || l <= 0)
        return 0;
    *id = i;
    *line = l;
    return 1;
}

int tp_kafka_pos_header(const void *v, size_t len, uint64_t *id, int64_t *line) {
    char hdr[64], *end;
    if (len < 18 || len >= sizeof hdr)
        return 0;
    memcpy(hdr, v, len);
    hdr[len] = '\0';
    if (hdr[16] != ':')
        return 0;
    hdr[16] = '\0';
    uint64_t i = strtoull(hdr, &end, 16);
    if (*end || i == 0)
        return 0;
    int64_t l = strtoll(hdr + 17, &end, 10);
    if (*end || l <= 0)
        return 0;
    *id = i;
    *line = l;
    return 1;
}
