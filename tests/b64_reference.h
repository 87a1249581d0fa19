/*
 * b64_reference.h - a plain base64 decoder, one character at a time, with
 * the same contract as tp_base64_decode() (standard alphabet, length a
 * multiple of 4, '=' only as one or two final padding characters, extra
 * bits of the last character ignored). The unit test and the fuzz target
 * compare the fast decoder against it, and both against OpenSSL's
 * EVP_DecodeBlock for the bytes.
 */
#ifndef B64_REFERENCE_H
#define B64_REFERENCE_H

#include <stddef.h>
#include <stdint.h>

static int b64_ref_value(uint8_t c) {
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Returns the decoded length, or -1 on bad input or when it exceeds cap. */
static long b64_ref_decode(const char *in, size_t len, uint8_t *out, size_t cap) {
    const uint8_t *s = (const uint8_t *)in;
    if (len % 4)
        return -1;
    if (len == 0)
        return 0;
    size_t pad = s[len - 1] == '=' ? (s[len - 2] == '=' ? 2 : 1) : 0;
    size_t n = len / 4 * 3 - pad;
    if (n > cap)
        return -1;
    uint32_t acc = 0;
    size_t bits = 0, k = 0;
    for (size_t i = 0; i < len - pad; i++) {
        int v = b64_ref_value(s[i]);
        if (v < 0)
            return -1;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[k++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    return (long)k;
}

#endif
