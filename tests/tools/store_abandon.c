/*
 * store_abandon - what a `process` member does when librdkafka reports its
 * partitions lost in the middle of a batch: it claims a partition, applies
 * a tick of symbol OLD, then frees its processor without committing (the
 * batch must be abandoned) and carries on with a fresh processor on the same
 * store handle, which applies a tick of NEW and commits. For
 * test_store_abandon, which reads both stores back with their own readers:
 * nothing of OLD may be there. The timing that leads `process` here (a
 * member resumed after its session expired) cannot be forced on the mock
 * cluster.
 * Usage: store_abandon STORE. Exit 0, or 1 with a message.
 */
#include <stdio.h>
#include <string.h>

#include "codec/tp_decode.h"
#include "codec/tp_encode.h"
#include "core/tp_intervals.h"
#include "process/tp_processor.h"
#include "sink/tp_store.h"

static const char *const key = "kafka:ticks:0";

/* A processor on st, its position fenced with epoch; NULL with err set. */
static struct tp_processor *member(struct tp_store *st, int64_t epoch, int *slot, char *err,
                                   size_t errsize) {
    struct tp_processor_opts o = {.lateness_ms = 10000};
    struct tp_processor *p = NULL;
    int64_t pos = 0, line = 0;
    o.nbars = tp_parse_bars("1m", o.bar_ms, TP_MAX_BARS, err, errsize);
    if (o.nbars <= 0 || tp_processor_new(&p, st, &o, err, errsize) < 0)
        return NULL;
    *slot = tp_processor_position(p, key, &pos, &line);
    if (*slot < 0 || tp_processor_fence(p, *slot, key, epoch) < 0) {
        snprintf(err, errsize, "registering %s: %s", key, tp_processor_last_error(p));
        tp_processor_free(p);
        return NULL;
    }
    return p;
}

/* Applies a real PricingData tick of sym as message `offset` of the partition. */
static int apply(struct tp_processor *p, int slot, const char *sym, float price, int64_t time,
                 int64_t offset) {
    struct tp_quote q;
    memset(&q, 0, sizeof q);
    size_t n = strlen(sym);
    q.present = 1u << (TP_F_ID - 1) | 1u << (TP_F_PRICE - 1) | 1u << (TP_F_TIME - 1);
    q.v[TP_F_ID].sv = (tp_sv){0, (uint16_t)n};
    q.v[TP_F_PRICE].f32 = price;
    q.v[TP_F_TIME].i64 = time;
    uint8_t payload[128];
    long len = tp_encode_pricing(&q, (const uint8_t *)sym, payload, sizeof payload);
    struct tp_quote dq;
    const char *reason = NULL;
    if (len <= 0 || tp_decode_pricing(payload, (size_t)len, &dq, &reason) != TP_DECODE_OK)
        return -1;
    struct tp_item it = {.kind = TP_ITEM_TICK, .q = &dq, .payload = payload,
                         .payload_len = (size_t)len, .pos_slot = slot, .pos = offset + 1,
                         .line = offset + 1};
    return tp_processor_apply(p, &it);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: store_abandon STORE\n");
        return 2;
    }
    char err[512] = "";
    struct tp_store *st = NULL;
    int64_t epoch = 0;
    int slot = -1, rc = -1;
    if (tp_store_open(&st, argv[1], err, sizeof err) < 0 ||
        tp_store_claim(st, key, "store_abandon", &epoch, err, sizeof err) < 0)
        goto out;
    struct tp_processor *p = member(st, epoch, &slot, err, sizeof err);
    if (!p)
        goto out;
    if (apply(p, slot, "OLD", 10.5f, 1736500000000, 0) < 0) {
        snprintf(err, sizeof err, "apply OLD: %s", tp_processor_last_error(p));
        tp_processor_free(p);
        goto out;
    }
    tp_processor_free(p);   /* the assignment was lost: give the batch up */
    if (!(p = member(st, epoch, &slot, err, sizeof err)))
        goto out;
    rc = apply(p, slot, "NEW", 20.5f, 1736500001000, 0);
    if (rc == 0)
        rc = tp_processor_finish(p);
    if (rc < 0)
        snprintf(err, sizeof err, "apply and commit NEW: %s", tp_processor_last_error(p));
    tp_processor_free(p);
out:
    if (rc < 0)
        fprintf(stderr, "store_abandon: %s\n", err);
    tp_store_free(st);
    return rc < 0 ? 1 : 0;
}
