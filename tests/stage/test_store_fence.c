/*
 * test_store_fence.c - ownership fencing of the SQLite store, with two
 * writers (two handles, as two `process` members) on one real file:
 * claim moves a partition's epoch forward; a commit fenced with an older
 * epoch, or moving a checkpoint backwards, is refused whole (TP_EFENCED)
 * and leaves the store as it was; rows put between commits hold no write
 * lock, so the other writer commits meanwhile without waiting.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/tp_clock.h"
#include "core/tp_error.h"
#include "sink/tp_store.h"
#include "tp_test.h"

static const char *const key = "kafka:ticks:0";
static char why[256];   /* the sentence of the last store failure */
#define WHY why, sizeof why

static int64_t stored_pos(struct tp_store *st) {
    struct tp_checkpoint c = {.key = key};
    return tp_store_get_checkpoint(st, &c, WHY) == 0 ? c.pos : -1;
}

static int commit_at(struct tp_store *st, int64_t pos, int64_t epoch) {
    struct tp_latest_row l = {"AAA", 1000 + pos, 1.5, 1.5, pos};
    struct tp_checkpoint c = {.key = key, .pos = pos, .line = pos, .fence = key, .epoch = epoch};
    int err = tp_store_begin(st, WHY);
    if (!err)
        err = tp_store_put_latest(st, &l, WHY);
    if (!err)
        err = tp_store_put_checkpoint(st, &c, WHY);
    if (!err)
        err = tp_store_commit(st, WHY);
    else
        tp_store_abort(st);
    return err;
}

static int count_row(void *opaque, int ncols, const char *const *names,
                     const char *const *values, const int *types) {
    (void)ncols, (void)names, (void)values, (void)types;
    ++*(int *)opaque;
    return 0;
}

int main(void) {
    char dir[] = "/tmp/tp-fence-XXXXXX", spec[128], errbuf[256];
    REQUIRE(mkdtemp(dir) != NULL);
    snprintf(spec, sizeof spec, "sqlite:%s/s.db", dir);
    struct tp_store *a = NULL, *b = NULL;
    REQUIRE(tp_store_open(&a, spec, errbuf, sizeof errbuf) == 0);
    REQUIRE(tp_store_open(&b, spec, errbuf, sizeof errbuf) == 0);

    int64_t ea = 0, eb = 0, now = 0;
    CHECK(tp_store_claim(a, key, "A", &ea, WHY) == 0 && ea == 1);
    CHECK(commit_at(a, 10, ea) == 0);
    CHECK(stored_pos(b) == 10);

    /* B takes the partition over: A's next commit is refused, whole. */
    CHECK(tp_store_claim(b, key, "B", &eb, WHY) == 0 && eb == 2);
    CHECK(tp_store_get_epoch(a, key, &now, WHY) == 0 && now == 2);
    why[0] = '\0';
    CHECK(commit_at(a, 20, ea) == TP_EFENCED);
    CHECKF(strstr(why, "epoch") || strstr(why, "fence") || strstr(why, "own"),
           "the refusal's sentence reaches errbuf: '%s'", why);
    CHECK(stored_pos(b) == 10);
    CHECK(commit_at(b, 15, eb) == 0);
    CHECK(stored_pos(a) == 15);

    /* A checkpoint never moves backwards, even for its owner. */
    CHECK(commit_at(b, 12, eb) == TP_EFENCED);
    CHECK(stored_pos(a) == 15);

    /* Bars put between commits hold no lock: B commits at once meanwhile. */
    struct tp_bar_row bar = {"AAA", "1m", 60000, 1, 2, 0.5, 1.5, 10, 1.2, 1, 3, 0, 3, 2};
    CHECK(tp_store_begin(a, WHY) == 0 && tp_store_put_bar(a, &bar, WHY) == 0);
    int64_t t0 = tp_mono_ms();
    CHECK(commit_at(b, 16, eb) == 0);
    CHECKF(tp_mono_ms() - t0 < 2000, "B waited %lld ms for A's lock",
           (long long)(tp_mono_ms() - t0));
    /* A's later commit of that batch is refused: A no longer owns it. */
    struct tp_checkpoint c = {.key = key, .pos = 30, .line = 30, .fence = key, .epoch = ea};
    CHECK(tp_store_put_checkpoint(a, &c, WHY) == TP_EFENCED);
    CHECK(tp_store_commit(a, WHY) == 0);
    CHECK(stored_pos(b) == 16);

    /* An abandoned batch is never written, not even by the next commit. */
    struct tp_latest_row l = {"ZZZ", 5, 2.5, 2.5, 1};
    c = (struct tp_checkpoint){.key = key, .pos = 50, .line = 50, .fence = key, .epoch = eb};
    CHECK(tp_store_begin(b, WHY) == 0 && tp_store_put_bar(b, &bar, WHY) == 0 &&
          tp_store_put_latest(b, &l, WHY) == 0 && tp_store_put_checkpoint(b, &c, WHY) == 0);
    tp_store_abort(b);
    CHECK(tp_store_begin(b, WHY) == 0 && tp_store_commit(b, WHY) == 0);
    CHECK(stored_pos(a) == 16);
    struct tp_query qr = {.kind = TP_QUERY_LATEST, .from = INT64_MIN, .to = INT64_MAX};
    int latest_rows = 0;
    CHECK(tp_store_query(a, &qr, count_row, &latest_rows, WHY) == 0);
    CHECKF(latest_rows == 1, "latest holds %d rows, want AAA's only", latest_rows);

    /* Losses are recorded outside any batch. */
    CHECK(tp_store_record_loss(b, key, 16, 40, "test", WHY) == 0);

    tp_store_free(a);
    tp_store_free(b);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    return TP_TEST_DONE();
}
