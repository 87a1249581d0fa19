/*
 * tp_encode.h - the inverse of tp_decode_pricing(): a struct tp_quote back to
 * PricingData protobuf bytes. Used by the synthetic market and by tests.
 * Pure functions; any thread.
 */
#ifndef TP_ENCODE_H
#define TP_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "../core/tp_quote.h"

/* Encodes every present field of q in ascending field-number order (sint64
 * zigzag, enums as plain int32 varints, floats/doubles little-endian), the
 * indices of field 35 in order. String views in q are (off, len) into
 * strings. Writes to out (cap bytes) and returns the encoded length, or -1
 * when cap is too small. */
long tp_encode_pricing(const struct tp_quote *q, const uint8_t *strings,
                       uint8_t *out, size_t cap);

#endif
