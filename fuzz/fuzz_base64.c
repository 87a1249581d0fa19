/*
 * fuzz_base64.c - libFuzzer target: tp_base64_decode() (SSSE3 blocks and
 * the table path) against the plain reference decoder of
 * tests/b64_reference.h for the verdict and the bytes, and against OpenSSL's
 * EVP_DecodeBlock for the bytes of every accepted input; nothing past the
 * decoded length may be written. The first input byte picks the output
 * capacity (so short buffers are tried too); the rest is the text.
 */
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/b64_reference.h"
#include "codec/tp_decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static uint8_t fast[1 << 17], ref[1 << 17], ossl[1 << 17];
    if (size < 1 || size > (1 << 16))
        return 0;
    size_t len = size - 1, cap = data[0] == 0xff ? len : data[0] * len / 255;
    const char *text = (const char *)data + 1;
    memset(fast, 0xa5, len + 64);
    long n = tp_base64_decode(text, len, fast, cap);
    long r = b64_ref_decode(text, len, ref, cap);
    if (n != r || (n > 0 && memcmp(fast, ref, (size_t)n) != 0))
        abort();
    if (n < 0)
        return 0;
    for (size_t i = (size_t)n; i < len + 64; i++)
        if (fast[i] != 0xa5)
            abort();
    int o = EVP_DecodeBlock(ossl, (const unsigned char *)text, (int)len);
    if (o != (int)(len / 4 * 3) || memcmp(fast, ossl, (size_t)n) != 0)
        abort();
    return 0;
}
