/*
 * test_base64.c - tp_base64_decode() (SIMD blocks of 16 characters where the
 * CPU has SSSE3, a table per character otherwise and for the tail) against
 * a plain reference decoder (tests/b64_reference.h) for the verdict and the
 * bytes, and against OpenSSL's EVP_DecodeBlock for the bytes of every input
 * both accept. Inputs: random payloads of every length to 300 bytes at
 * every alignment, every byte value at every position of inputs that span
 * several SIMD blocks, padding in every place, random mixtures of alphabet
 * and non-alphabet bytes, output capacities at and below the result, and a
 * check that nothing past the result is written.
 */
#include <openssl/evp.h>
#include <string.h>

#include "b64_reference.h"
#include "codec/tp_decode.h"
#include "tp_test.h"

#define MAXLEN 600

static uint64_t rnd_state = 0x2545F4914F6CDD1DULL;
static uint64_t rnd(void) {
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Decodes text both ways; checks the verdicts, the bytes and that nothing
 * past the result was written. Returns the fast decoder's answer. */
static long check_one(const char *text, size_t len, size_t cap) {
    static uint8_t fast[MAXLEN + 64], ref[MAXLEN + 64];
    memset(fast, 0xa5, sizeof fast);
    long n = tp_base64_decode(text, len, fast, cap);
    long r = b64_ref_decode(text, len, ref, cap);
    CHECKF(n == r, "len %zu cap %zu: fast %ld reference %ld (%.*s)", len, cap, n, r, (int)len,
           text);
    if (n >= 0 && n == r)
        CHECKF(memcmp(fast, ref, (size_t)n) == 0, "len %zu: bytes differ", len);
    /* On success nothing past the result is touched (on failure the
     * buffer's contents are unspecified). */
    for (size_t i = (size_t)n; n >= 0 && i < sizeof fast; i++)
        if (fast[i] != 0xa5) {
            CHECKF(0, "len %zu cap %zu: byte %zu past the result was written", len, cap, i);
            break;
        }
    return n;
}

/* When the fast decoder accepts, OpenSSL gives the same bytes (it counts
 * padding as zero bytes, so its length is the whole quartets'). */
static void check_openssl(const char *text, size_t len) {
    static uint8_t fast[MAXLEN], ossl[MAXLEN];
    long n = tp_base64_decode(text, len, fast, sizeof fast);
    if (n < 0)
        return;
    int o = EVP_DecodeBlock(ossl, (const unsigned char *)text, (int)len);
    CHECKF(o == (int)(len / 4 * 3), "len %zu: OpenSSL %d", len, o);
    if (o >= n)
        CHECKF(memcmp(fast, ossl, (size_t)n) == 0, "len %zu: bytes differ from OpenSSL", len);
}

static void test_random_payloads(void) {
    static uint8_t in[300];
    static char text[MAXLEN + 32];
    for (size_t len = 0; len < 300; len++) {
        for (size_t i = 0; i < len; i++)
            in[i] = (uint8_t)rnd();
        for (size_t align = 0; align < 4; align++) {
            int tlen = EVP_EncodeBlock((unsigned char *)text + align, in, (int)len);
            REQUIRE(tlen == (int)(4 * ((len + 2) / 3)));
            long n = check_one(text + align, (size_t)tlen, MAXLEN);
            CHECKF(n == (long)len, "payload of %zu decoded to %ld", len, n);
            check_openssl(text + align, (size_t)tlen);
            /* Exactly enough room works, one byte less fails. */
            check_one(text + align, (size_t)tlen, len);
            if (len > 0)
                CHECK(check_one(text + align, (size_t)tlen, len - 1) == -1);
        }
    }
}

/* Every byte value at every position: the SIMD classification of each
 * lane, the scalar tail and the padding quartet all see every byte. */
static void test_every_byte_everywhere(void) {
    static const size_t lens[] = {4, 8, 12, 16, 20, 28, 32, 44, 48, 60, 64, 92, 128, 192};
    char text[MAXLEN];
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        size_t len = lens[k];
        for (int padded = 0; padded < 3; padded++) {
            for (size_t i = 0; i < len; i++)
                text[i] = alphabet[rnd() % 64];
            if (padded)
                memset(text + len - padded, '=', (size_t)padded);
            for (size_t pos = 0; pos < len; pos++) {
                char keep = text[pos];
                for (int c = 0; c < 256; c++) {
                    text[pos] = (char)c;
                    long n = check_one(text, len, MAXLEN);
                    check_openssl(text, len);
                    /* Inside the text OpenSSL trims nothing: a byte outside
                     * the alphabet and '=' is an error for both. */
                    if (b64_ref_value((uint8_t)c) < 0 && c != '=' && pos > 0 && pos + 1 < len) {
                        CHECK(n == -1);
                        CHECK(EVP_DecodeBlock((unsigned char[MAXLEN]){0},
                                              (const unsigned char *)text, (int)len) == -1);
                    }
                }
                text[pos] = keep;
            }
        }
    }
}

/* Padding and length corners. */
static void test_edges(void) {
    static const char *cases[] = {
        "", "=", "==", "===", "====", "A", "AA", "AAA", "A===", "AA==", "AAA=", "AAAA",
        "AA=A", "A=AA", "=AAA", "AAAA====", "AAAAAA==", "AAAAAAA=", "AAAA=AAA",
        "QR==", "QUR=", "////", "++++", "AAAAAAAAAAAAAAA=", "AAAAAAAAAAAAAAAA",
        "AAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAA=", "AAAAAAAAAAAAAAAAAA==",
        "AAAAAAAAAAAAAAA=AAAA", "AAAAAAAAAAAA====AAAA", "AAAAAAAAAAAAAAAAAAAAAAAAAAAA====",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len = strlen(cases[i]);
        check_one(cases[i], len, MAXLEN);
        check_openssl(cases[i], len);
    }
    /* A long run of every alphabet byte, each at each SIMD lane. */
    char text[MAXLEN];
    for (size_t i = 0; i < 16 * 64; i += 16) {
        for (size_t j = 0; j < 64 + 16; j++)
            text[j] = alphabet[(i / 16 + j) % 64];
        check_one(text, 80, MAXLEN);
        check_openssl(text, 80);
    }
}

/* Random mixtures, mostly alphabet with a few other bytes. */
static void test_random_mixtures(void) {
    char text[MAXLEN];
    for (int round = 0; round < 200000; round++) {
        size_t len = 4 * (rnd() % 60);
        unsigned bad_per_1000 = (unsigned)(rnd() % 4 == 0 ? rnd() % 50 : 0);
        for (size_t i = 0; i < len; i++)
            text[i] = rnd() % 1000 < bad_per_1000 ? (char)rnd() : alphabet[rnd() % 64];
        if (len && rnd() % 3 == 0)
            text[len - 1] = '=';
        if (len > 1 && rnd() % 3 == 0)
            text[len - 2] = '=';
        check_one(text, len, MAXLEN);
        check_openssl(text, len);
    }
}

int main(void) {
    test_edges();
    test_random_payloads();
    test_every_byte_everywhere();
    test_random_mixtures();
    return TP_TEST_DONE();
}
