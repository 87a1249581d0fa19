/*
 * store_loss - records a lost offset range in a store, as `process` does
 * when a Kafka partition's log start has moved past its checkpoint (an event
 * the librdkafka mock cluster cannot produce). For test_store_loss.
 * Usage: store_loss STORE KEY FROM TO REASON. Exit 0, or 1 with a message.
 */
#include <stdio.h>
#include <stdlib.h>

#include "sink/tp_store.h"

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: store_loss STORE KEY FROM TO REASON\n");
        return 2;
    }
    char err[512];
    struct tp_store *st = NULL;
    int64_t epoch = 0;
    if (tp_store_open(&st, argv[1], err, sizeof err) < 0) {
        fprintf(stderr, "store_loss: %s\n", err);
        return 1;
    }
    int rc = tp_store_claim(st, argv[2], "store_loss", &epoch, err, sizeof err);
    if (rc == 0)
        rc = tp_store_record_loss(st, argv[2], strtoll(argv[3], NULL, 10),
                                  strtoll(argv[4], NULL, 10), argv[5], err, sizeof err);
    if (rc < 0)
        fprintf(stderr, "store_loss: %s\n", err);
    tp_store_free(st);
    return rc < 0 ? 1 : 0;
}
