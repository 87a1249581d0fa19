/*
 * tp_decode.h - the Yahoo frame decoder: one line of a frame file (or one
 * WebSocket text message) to a PricingData quote.
 *
 * Accepts bare base64 of a PricingData message and the version=2 JSON envelope
 * {"type":"pricing","message":"<base64>"}. Pure functions; any thread.
 */
#ifndef TP_DECODE_H
#define TP_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "../core/tp_quote.h"

/* Outcome of decoding one frame. */
enum tp_decode_status {
    TP_DECODE_OK = 0,     /* quote decoded and carries id, time and price */
    TP_DECODE_SKIP = 1,   /* heartbeat (quoteType 7) or non-pricing envelope */
    TP_DECODE_REJECT = 2  /* malformed or missing id/time/price; see reason */
};

/* Decodes a protobuf PricingData message of len bytes into *q: its
 * presence bits, indices and the value of every present field (all 8 bytes
 * of each defined); values of absent fields are unspecified, so read a
 * field only after tp_quote_has().
 * On failure returns TP_DECODE_REJECT and sets *reason to a static string
 * such as "truncated varint"; on success returns TP_DECODE_OK without
 * checking required fields. String views in *q point into buf. */
int tp_decode_pricing(const uint8_t *buf, size_t len, struct tp_quote *q,
                      const char **reason);

/* Decodes one frame (text, len bytes, no trailing newline; need not be
 * NUL-terminated). On OK or on a heartbeat SKIP, the protobuf payload is
 * written to payload (capacity TP_PAYLOAD_MAX) with its length in
 * *payload_len, and *q describes it with views into payload. Rejects frames
 * lacking id, time or price after the heartbeat/envelope skip rules, and
 * (rule 1 guards) a price that is not finite ("price not finite") or a time
 * before 1990 or more than a day ahead of the wall clock ("time out of
 * range"); the latter reads the real-time clock.
 * *reason is a static string for SKIP ("heartbeat", "envelope type") and
 * REJECT (for example "bad base64", "bad JSON envelope", "missing price"). */
int tp_decode_frame(const char *text, size_t len, uint8_t *payload,
                    size_t *payload_len, struct tp_quote *q, const char **reason);

/* Splits an optional "<unix ms>\t" receive-time prefix off a frame-file
 * line. Returns the receive time or -1 when there is none, and points
 * *frame and *frame_len at the rest of the line. */
int64_t tp_decode_split_recv_time(const char *line, size_t len,
                                  const char **frame, size_t *frame_len);

/* Base64 (standard alphabet, '=' padding required to a multiple of 4).
 * Returns the decoded length, or -1 on bad input or when out_cap is too
 * small. On success nothing past the decoded length is written; on failure
 * out's contents are unspecified. Decodes 16 characters at a time where the
 * CPU has SSSE3. */
long tp_base64_decode(const char *in, size_t len, uint8_t *out, size_t out_cap);

/* Encodes len bytes; out must hold 4 * ((len + 2) / 3) + 1 bytes; writes a
 * NUL terminator and returns the encoded length. */
size_t tp_base64_encode(const uint8_t *in, size_t len, char *out);

/* Writes a quote as JSON members (no braces): "id":"X","price":... for each
 * present field in field-number order, names from tp_field_name(). Floats
 * print the exact double value of the float32 with enough digits to
 * round-trip. Returns bytes written (excluding NUL) or -1 when cap is too
 * small. */
int tp_quote_json_fields(const struct tp_quote *q, const uint8_t *payload,
                         char *out, size_t cap);

#endif
