/*
 * fuzz_feed_control.c - libFuzzer target for the control messages a feed
 * client sends ({"subscribe":[...]}/{"unsubscribe":[...]}). Invariants
 * beyond "no crash": on success every name is NUL-terminated at its
 * length and no longer than the input; a failure leaves the result empty.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec/tp_control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct tp_control fc;
    if (tp_control_parse((const char *)data, size, &fc) != 0) {
        if (fc.n || fc.symbols || fc.lens)
            abort();
        return 0;
    }
    if (fc.subscribe != 0 && fc.subscribe != 1)
        abort();
    for (size_t i = 0; i < fc.n; i++)
        if (fc.symbols[i][fc.lens[i]] != '\0' || fc.lens[i] > size)
            abort();
    tp_control_free(&fc);
    return 0;
}
