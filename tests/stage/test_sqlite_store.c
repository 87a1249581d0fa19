/*
 * test_sqlite_store.c - the SQLite store through the store contract
 * (sink/tp_store.h) alone: open (and what it refuses), every put, commit,
 * state and checkpoints read back (also from a second handle and after a
 * reopen), rollback of an uncommitted batch, query callbacks, the read-only
 * open that never creates a file, the failure sentence reaching errbuf,
 * and the processor refusing a store made with other settings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec/tp_decode.h"
#include "core/tp_error.h"
#include "process/tp_processor.h"
#include "sink/tp_store.h"
#include "tp_test.h"

static char dir[] = "/tmp/tp_test_sqlite_store.XXXXXX";
static char spec[300];
static char why[256];
#define WHY why, sizeof why

/* A query callback that appends each row as "v1|v2|...;" to a buffer. */
struct rows { char text[4096]; int n; };
static int collect(void *opaque, int ncols, const char *const *names, const char *const *values,
                   const int *types) {
    struct rows *r = opaque;
    (void)names;
    (void)types;
    size_t used = strlen(r->text);
    for (int i = 0; i < ncols; i++)
        used += (size_t)snprintf(r->text + used, sizeof r->text - used, "%s%s", i ? "|" : "",
                                 values[i] ? values[i] : "NULL");
    snprintf(r->text + used, sizeof r->text - used, ";");
    r->n++;
    return 0;
}

static int query(struct tp_store *st, enum tp_query_kind kind, struct rows *r) {
    struct tp_query qr = {kind, NULL, NULL, INT64_MIN, INT64_MAX};
    memset(r, 0, sizeof *r);
    return tp_store_query(st, &qr, collect, r, WHY);
}

/* A real frame of the vendored capture, decoded. */
static void first_frame(uint8_t *payload, size_t *plen, struct tp_quote *q) {
    char path[4200], line[8192];
    snprintf(path, sizeof path, "%s/yahoo/frames.txt", tp_test_data());
    FILE *f = fopen(path, "r");
    REQUIRE(f && fgets(line, sizeof line, f));
    fclose(f);
    const char *reason = NULL;
    REQUIRE(tp_decode_frame(line, strcspn(line, "\n"), payload, plen, q, &reason) ==
            TP_DECODE_OK);
}

static void contract(void) {
    struct tp_store *st = NULL;
    char err[256];
    REQUIRE(tp_store_open(&st, spec, err, sizeof err) == 0);
    CHECK(strcmp(tp_store_name(st), "sqlite") == 0);
    CHECK(tp_store_has_state(st) == 1 && tp_store_keeps_gaps(st) == 1);
    CHECK(tp_store_prepares_ticks(st) == 0);
    char out[16];
    CHECK(tp_store_prepare_tick(st, NULL, NULL, out, sizeof out) == 0);

    /* Nothing stored yet. */
    void *blob = NULL;
    size_t len = 0;
    struct tp_checkpoint c = {.key = "replay:/x"};
    CHECK(tp_store_get_state(st, "AAA", &blob, &len, WHY) == TP_ENOTFOUND);
    CHECK(tp_store_get_checkpoint(st, &c, WHY) == TP_ENOTFOUND);

    uint8_t payload[TP_PAYLOAD_MAX];
    size_t plen = 0;
    struct tp_quote q;
    first_frame(payload, &plen, &q);
    const char *sym = (const char *)payload + q.v[TP_F_ID].sv.off;
    size_t sym_len = q.v[TP_F_ID].sv.len;
    char symbol[64];
    snprintf(symbol, sizeof symbol, "%.*s", (int)sym_len, sym);
    int64_t t = q.v[TP_F_TIME].i64;

    struct tp_tick_row tick = {symbol, sym_len, &q, payload, plen, t, 1, 2.5, NULL, 0};
    struct tp_bar_row bar = {symbol, "1m", 60000, 1, 2, 0.5, 1.5, 10, 1.25, 1, 3, 1,
                             strlen(symbol), 2};
    struct tp_latest_row latest = {symbol, t, 1.5, 2.5, 1};
    struct tp_gap_row gap = {symbol, 1000, 2000, "silent"};
    struct tp_checkpoint ck = {.key = "replay:/x", .pos = 123, .line = 4, .aux = 99};
    CHECK(tp_store_begin(st, WHY) == 0);
    CHECK(tp_store_put_tick(st, &tick, WHY) == 0);
    CHECK(tp_store_put_bar(st, &bar, WHY) == 0);
    CHECK(tp_store_put_latest(st, &latest, WHY) == 0);
    CHECK(tp_store_put_state(st, symbol, "state-bytes", 11, WHY) == 0);
    CHECK(tp_store_put_gap(st, &gap, WHY) == 0);
    CHECK(tp_store_put_checkpoint(st, &ck, WHY) == 0);
    CHECKF(tp_store_commit(st, WHY) == 0, "%s", why);

    /* Read back on this handle... */
    CHECK(tp_store_get_state(st, symbol, &blob, &len, WHY) == 0 && len == 11 &&
          memcmp(blob, "state-bytes", 11) == 0);
    free(blob);
    CHECK(tp_store_get_checkpoint(st, &c, WHY) == 0 && c.pos == 123 && c.line == 4 &&
          c.aux == 99);
    struct rows r;
    CHECK(query(st, TP_QUERY_TICKS, &r) == 0 && r.n == 1);
    CHECK(query(st, TP_QUERY_BARS, &r) == 0 && r.n == 1);
    CHECKF(strstr(r.text, "|1m|") && strstr(r.text, "|1.25|"), "%s", r.text);
    CHECK(query(st, TP_QUERY_LATEST, &r) == 0 && r.n == 1);
    CHECK(query(st, TP_QUERY_GAPS, &r) == 0 && r.n == 1 && strstr(r.text, "silent"));

    /* ...and on a second one, as a reader beside the writer. */
    struct tp_store *rd = NULL;
    REQUIRE(tp_store_open_reader(&rd, spec, err, sizeof err) == 0);
    CHECK(query(rd, TP_QUERY_TICKS, &r) == 0 && r.n == 1);
    tp_store_free(rd);

    /* An uncommitted batch is rolled back when the store is freed. */
    struct tp_checkpoint moved = {.key = "replay:/x", .pos = 456, .line = 9};
    CHECK(tp_store_begin(st, WHY) == 0);
    CHECK(tp_store_put_checkpoint(st, &moved, WHY) == 0);
    CHECK(tp_store_put_latest(st, &latest, WHY) == 0);
    tp_store_free(st);
    REQUIRE(tp_store_open(&st, spec, err, sizeof err) == 0);
    memset(&c, 0, sizeof c);
    c.key = "replay:/x";
    CHECK(tp_store_get_checkpoint(st, &c, WHY) == 0 && c.pos == 123 && c.line == 4);

    /* A failure's sentence reaches errbuf: claims go in their own
     * transaction, never inside an open write transaction (a gap row opens
     * one; ticks, bars and latest rows are held until the commit). */
    why[0] = '\0';
    struct tp_gap_row gap2 = {"AAPL", 3000, 4000, "silent"};
    CHECK(tp_store_begin(st, WHY) == 0 && tp_store_put_latest(st, &latest, WHY) == 0 &&
          tp_store_put_gap(st, &gap2, WHY) == 0);
    int64_t epoch = -1;
    CHECK(tp_store_claim(st, "kafka:t:0", "me", &epoch, WHY) == TP_EINVAL && epoch == 0);
    CHECKF(strstr(why, "inside a batch") != NULL, "%s", why);
    CHECK(tp_store_commit(st, WHY) == 0);
    CHECK(tp_store_claim(st, "kafka:t:0", "me", &epoch, WHY) == 0 && epoch == 1);
    tp_store_free(st);
}

static void opens(void) {
    char err[256], path[400], s[420];
    struct tp_store *st = (struct tp_store *)1;
    /* A read-only open never creates the file. */
    snprintf(path, sizeof path, "%s/missing.db", dir);
    snprintf(s, sizeof s, "sqlite:%s", path);
    CHECK(tp_store_open_readonly(&st, s, err, sizeof err) == TP_ENOTFOUND && st == NULL);
    CHECKF(strstr(err, "no such store") != NULL, "%s", err);
    CHECK(access(path, F_OK) != 0);
    /* Not a database, a directory that does not exist, an unknown scheme. */
    snprintf(path, sizeof path, "%s/junk.db", dir);
    FILE *f = fopen(path, "w");
    REQUIRE(f != NULL);
    fputs("this is not an SQLite database, just forty-odd bytes of text\n", f);
    fclose(f);
    snprintf(s, sizeof s, "sqlite:%s", path);
    CHECK(tp_store_open(&st, s, err, sizeof err) == TP_ESTORE && st == NULL);
    CHECKF(strstr(err, path) != NULL, "%s", err);
    CHECK(tp_store_open(&st, "sqlite:/nonexistent/dir/x.db", err, sizeof err) == TP_ESTORE);
    CHECK(tp_store_open(&st, "mysql:x", err, sizeof err) == TP_EINVAL);
    CHECK(tp_store_open(&st, "sqlite:", err, sizeof err) == TP_EINVAL);
    CHECK(tp_store_open_reader(&st, "jsonl:-", err, sizeof err) == TP_EINVAL);
    unlink(path);
}

/* The store remembers the bar intervals and lateness of its results; a
 * processor with others is refused (bad usage), with both named. */
static void settings_refusal(void) {
    char err[512];
    struct tp_store *st = NULL;
    struct tp_processor *p = NULL;
    struct tp_processor_opts o = {.lateness_ms = 10000};
    o.nbars = tp_parse_bars("1m,5m", o.bar_ms, TP_MAX_BARS, err, sizeof err);
    REQUIRE(o.nbars == 2);
    REQUIRE(tp_store_open(&st, spec, err, sizeof err) == 0);
    REQUIRE(tp_processor_new(&p, st, &o, err, sizeof err) == 0);
    REQUIRE(tp_processor_commit(p) == 0 && tp_processor_finish(p) == 0);
    tp_processor_free(p);
    p = NULL;
    /* The same settings again: accepted. */
    CHECKF(tp_processor_new(&p, st, &o, err, sizeof err) == 0, "%s", err);
    tp_processor_free(p);
    p = NULL;
    struct tp_processor_opts other = o;
    other.nbars = tp_parse_bars("1m", other.bar_ms, TP_MAX_BARS, err, sizeof err);
    CHECK(tp_processor_new(&p, st, &other, err, sizeof err) == TP_EINVAL && p == NULL);
    CHECKF(strstr(err, "1m,5m") != NULL, "%s", err);
    other = o;
    other.lateness_ms = 5000;
    CHECK(tp_processor_new(&p, st, &other, err, sizeof err) == TP_EINVAL && p == NULL);
    CHECKF(strstr(err, "10s") != NULL && strstr(err, "5s") != NULL, "%s", err);
    tp_store_free(st);
}

int main(void) {
    REQUIRE(mkdtemp(dir) != NULL);
    snprintf(spec, sizeof spec, "sqlite:%s/s.db", dir);
    contract();
    opens();
    snprintf(spec, sizeof spec, "sqlite:%s/settings.db", dir);
    settings_refusal();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    return TP_TEST_DONE();
}
