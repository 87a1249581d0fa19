/*
 * fuzz_decode.c - libFuzzer target for the Yahoo frame decoder: the input is
 * fed to tp_decode_frame() as frame text and to tp_decode_pricing() as
 * protobuf bytes. Invariants checked beyond "no crash": string views stay
 * inside the payload, SKIP/REJECT carry a reason, OK quotes have id, time
 * and price, a decoded quote re-encodes to a payload that decodes to the
 * same presence bits, and its JSON rendering fits a bounded buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec/tp_decode.h"
#include "codec/tp_encode.h"

static void check_views(const struct tp_quote *q, size_t len) {
    for (int f = 1; f <= TP_QUOTE_NFIELDS; f++)
        if (tp_quote_has(q, f) && tp_field_type(f) == TP_FT_STRING &&
            (size_t)q->v[f].sv.off + q->v[f].sv.len > len)
            abort();
    for (uint32_t i = 0; i < q->nindices; i++)
        if ((size_t)q->indices[i].off + q->indices[i].len > len)
            abort();
}

static void check_reencode(const struct tp_quote *q, const uint8_t *pl) {
    static uint8_t out[TP_PAYLOAD_MAX * 2];
    static char json[TP_PAYLOAD_MAX * 8];
    struct tp_quote q2;
    const char *why;
    long n = tp_encode_pricing(q, pl, out, sizeof out);
    if (n < 0)
        abort();
    if (n <= TP_PAYLOAD_MAX) {
        uint64_t want = q->present;
        if (q->nindices == 0)
            want &= ~(1ull << (TP_F_INDICES - 1));
        if (tp_decode_pricing(out, (size_t)n, &q2, &why) != TP_DECODE_OK || q2.present != want)
            abort();
    }
    if (tp_quote_json_fields(q, pl, json, sizeof json) < 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static uint8_t payload[TP_PAYLOAD_MAX];
    struct tp_quote q;
    size_t plen = 0;
    const char *why = NULL;
    int rc = tp_decode_frame((const char *)data, size, payload, &plen, &q, &why);
    if (rc != TP_DECODE_OK && !why)
        abort();
    if (rc == TP_DECODE_OK) {
        if (!tp_quote_has(&q, TP_F_ID) || !tp_quote_has(&q, TP_F_TIME) ||
            !tp_quote_has(&q, TP_F_PRICE))
            abort();
        check_views(&q, plen);
        check_reencode(&q, payload);
    }
    why = NULL;
    rc = tp_decode_pricing(data, size, &q, &why);
    if (rc == TP_DECODE_OK) {
        check_views(&q, size);
        check_reencode(&q, data);
    } else if (rc != TP_DECODE_REJECT || !why) {
        abort();
    }
    return 0;
}
