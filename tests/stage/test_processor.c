/*
 * test_processor.c - every DESIGN.md rule of the processor, checked on the
 * real processor writing into a real SQLite store: duplicates, seq,
 * cumulative average, bars with ties, lateness (at the exact boundary),
 * volume increments and baseline resets, vwap NULL, absent fields NULL,
 * empty bars, several intervals, latest, resume from saved state, the
 * dead-letter file, and the jsonl store.
 */
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "process/tp_processor.h"
#include "sink/tp_store.h"
#include "codec/tp_decode.h"
#include "codec/tp_encode.h"
#include "tp_test.h"

/* A tick to feed: fields set when the value is not the "absent" marker. */
struct tk {
    const char *sym;
    double price;
    int64_t time;
    int64_t day_volume;   /* -1 = absent */
    const char *currency; /* NULL = absent */
};

struct fx {
    char dir[256];
    char db[300], dl[300];
    struct tp_store *st;
    struct tp_processor *p;
};

static void fx_open_opts(struct fx *f, const char *bars, int64_t lateness, int fresh,
                         int batch_ticks, int ticks_only_commits) {
    if (fresh) {
        snprintf(f->dir, sizeof f->dir, "/tmp/tp_test_proc_XXXXXX");
        REQUIRE(mkdtemp(f->dir) != NULL);
        snprintf(f->db, sizeof f->db, "%s/t.db", f->dir);
        snprintf(f->dl, sizeof f->dl, "%s/dl.jsonl", f->dir);
    }
    char err[256];
    char spec[320];
    snprintf(spec, sizeof spec, "sqlite:%s", f->db);
    REQUIRE(tp_store_open(&f->st, spec, err, sizeof err) == 0);
    struct tp_processor_opts o = {.lateness_ms = lateness, .deadletter_path = f->dl,
                                  .batch_ticks = batch_ticks,
                                  .ticks_only_commits = ticks_only_commits};
    o.nbars = tp_parse_bars(bars, o.bar_ms, TP_MAX_BARS, err, sizeof err);
    REQUIRE(o.nbars > 0);
    REQUIRE(tp_processor_new(&f->p, f->st, &o, err, sizeof err) == 0);
}

static void fx_open(struct fx *f, const char *bars, int64_t lateness, int fresh) {
    fx_open_opts(f, bars, lateness, fresh, 0, 0);
}

static void fx_close(struct fx *f) {
    tp_processor_free(f->p);
    tp_store_free(f->st);
    f->p = NULL;
    f->st = NULL;
}

/* Encodes t as a real PricingData payload and applies it, as the frame at
 * position pos of source slot (-1: no position). */
static void feed_at(struct fx *f, const struct tk *t, int slot, int64_t pos) {
    struct tp_quote q;
    memset(&q, 0, sizeof q);
    uint8_t strings[64];
    size_t n = strlen(t->sym);
    memcpy(strings, t->sym, n);
    q.present |= 1u << (TP_F_ID - 1);
    q.v[TP_F_ID].sv = (tp_sv){0, (uint16_t)n};
    q.present |= 1u << (TP_F_PRICE - 1);
    q.v[TP_F_PRICE].f32 = (float)t->price;
    q.present |= 1u << (TP_F_TIME - 1);
    q.v[TP_F_TIME].i64 = t->time;
    if (t->day_volume >= 0) {
        q.present |= 1u << (TP_F_DAY_VOLUME - 1);
        q.v[TP_F_DAY_VOLUME].i64 = t->day_volume;
    }
    if (t->currency) {
        size_t c = strlen(t->currency);
        memcpy(strings + n, t->currency, c);
        q.present |= 1u << (TP_F_CURRENCY - 1);
        q.v[TP_F_CURRENCY].sv = (tp_sv){(uint16_t)n, (uint16_t)c};
    }
    uint8_t payload[256];
    long len = tp_encode_pricing(&q, strings, payload, sizeof payload);
    REQUIRE(len > 0);
    /* Round-trip through the decoder, as the pipeline does. */
    struct tp_quote dq;
    const char *reason = NULL;
    REQUIRE(tp_decode_pricing(payload, (size_t)len, &dq, &reason) == TP_DECODE_OK);
    struct tp_item it = {.kind = TP_ITEM_TICK, .q = &dq, .payload = payload,
                         .payload_len = (size_t)len, .pos_slot = slot, .pos = pos, .line = pos};
    REQUIRE(tp_processor_apply(f->p, &it) == 0);
}

static void feed(struct fx *f, const struct tk *t) {
    feed_at(f, t, -1, 0);
}

static sqlite3 *db_of(struct fx *f) {
    sqlite3 *db;
    REQUIRE(sqlite3_open(f->db, &db) == SQLITE_OK);
    return db;
}

/* Runs a query that returns one row of one value, as text ("NULL" for NULL). */
static const char *q1(sqlite3 *db, const char *sql) {
    static char buf[256];
    sqlite3_stmt *st;
    REQUIRE(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK);
    if (sqlite3_step(st) != SQLITE_ROW)
        snprintf(buf, sizeof buf, "<no row>");
    else if (sqlite3_column_type(st, 0) == SQLITE_NULL)
        snprintf(buf, sizeof buf, "NULL");
    else if (sqlite3_column_type(st, 0) == SQLITE_FLOAT)
        snprintf(buf, sizeof buf, "%.17g", sqlite3_column_double(st, 0));
    else
        snprintf(buf, sizeof buf, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return buf;
}

#define CHECK_Q(db, sql, want)                                                         \
    do {                                                                               \
        const char *got_ = q1((db), (sql));                                            \
        CHECKF(strcmp(got_, (want)) == 0, "%s -> %s, want %s", (sql), got_, (want)); \
    } while (0)

/* Checks that stores a and b hold the same ticks, bars, latest, state and
 * checkpoints (but the dead-letter file's, whose key names its own path),
 * and that a's dump is more than min_lines lines; dumps go to dir. */
static void same_tables(const char *a, const char *b, const char *dir, int min_lines,
                        const char *when) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "d() { for t in ticks bars latest; do sqlite3 $1 \"SELECT * FROM $t ORDER BY 1,2,3\"; done;"
             " sqlite3 $1 \"SELECT symbol, hex(state) FROM tp_state ORDER BY 1\";"
             " sqlite3 $1 \"SELECT key, pos, line FROM tp_checkpoint"
             " WHERE key NOT LIKE 'deadletter:%%' ORDER BY 1\"; }; "
             "d %s > %s/a.txt && d %s > %s/b.txt && test $(wc -l < %s/a.txt) -gt %d && "
             "cmp -s %s/a.txt %s/b.txt",
             a, dir, b, dir, dir, min_lines, dir, dir);
    CHECKF(system(cmd) == 0, "tables differ %s: %s", when, cmd);
}

static void test_dups_seq_avg(void) {
    struct fx f;
    fx_open(&f, "1m", 10000, 1);
    struct tk a = {"AAA", 10, 1000, -1, "USD"}, b = {"AAA", 20, 2000, -1, NULL};
    feed(&f, &a);
    feed(&f, &a);   /* duplicate of the last applied */
    feed(&f, &b);
    feed(&f, &a);   /* equal to an earlier frame, not the last applied: applied */
    feed(&f, &a);   /* duplicate again */
    REQUIRE(tp_processor_finish(f.p) == 0);
    struct tp_processor_stats s;
    tp_processor_stats(f.p, &s);
    CHECK(s.frames == 5 && s.applied == 3 && s.duplicates == 2);
    sqlite3 *db = db_of(&f);
    CHECK_Q(db, "SELECT group_concat(seq) FROM (SELECT seq FROM ticks ORDER BY seq)", "1,2,3");
    CHECK_Q(db, "SELECT cum_avg_price FROM ticks WHERE seq=2", "15");
    CHECK_Q(db, "SELECT cum_avg_price FROM ticks WHERE seq=3", "13.333333333333334");
    CHECK_Q(db, "SELECT currency FROM ticks WHERE seq=2", "NULL");      /* absent is NULL */
    CHECK_Q(db, "SELECT currency FROM ticks WHERE seq=1", "USD");
    CHECK_Q(db, "SELECT day_volume FROM ticks WHERE seq=1", "NULL");
    CHECK_Q(db, "SELECT count FROM latest WHERE symbol='AAA'", "3");
    CHECK_Q(db, "SELECT cum_avg_price FROM latest WHERE symbol='AAA'", "13.333333333333334");
    /* latest: largest time, latest arrival on ties (seq 3 has time 1000 < 2000) */
    CHECK_Q(db, "SELECT time || ' ' || price FROM latest", "2000 20.0");
    sqlite3_close(db);
    fx_close(&f);
}

static void test_bars_ties_volume(void) {
    struct fx f;
    fx_open(&f, "1m,5m", 10000, 1);
    struct tk t[] = {
        {"V", 5, 60000, 100, NULL},   /* first: baseline only, inc 0 */
        {"V", 7, 61000, 110, NULL},   /* inc 10 */
        {"V", 6, 61000, 130, NULL},   /* tie on time: close = latest arrival; inc 20 */
        {"V", 4, 60000, 120, NULL},   /* tie with the open time: open stays the first; drop: inc 0, baseline 120 */
        {"V", 9, 62000, 125, NULL},   /* inc 5 */
        {"V", 8, 63000, -1, NULL},    /* no dayVolume: no inc */
        {"V", 3, 185000, 125, NULL},  /* bar 3m..4m; inc 0 (equal) */
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        feed(&f, &t[i]);
    REQUIRE(tp_processor_finish(f.p) == 0);
    sqlite3 *db = db_of(&f);
    CHECK_Q(db,
            "SELECT open||' '||high||' '||low||' '||close||' '||volume||' '||count FROM bars "
            "WHERE symbol='V' AND interval='1m' AND start=60000",
            "5.0 9.0 4.0 8.0 35 6");
    CHECK_Q(db, "SELECT vwap FROM bars WHERE interval='1m' AND start=60000",
            "6.7142857142857144"); /* (7*10 + 6*20 + 9*5) / 35 */
    CHECK_Q(db, "SELECT vwap FROM bars WHERE interval='1m' AND start=180000", "NULL");
    CHECK_Q(db, "SELECT volume FROM bars WHERE interval='1m' AND start=180000", "0");
    CHECK_Q(db, "SELECT count(*) FROM bars WHERE interval='1m'", "2"); /* no empty bars */
    CHECK_Q(db, "SELECT open||' '||close||' '||count||' '||volume FROM bars WHERE interval='5m'",
            "5.0 3.0 7 35");
    sqlite3_close(db);
    fx_close(&f);
}

static void test_lateness(void) {
    struct fx f;
    fx_open(&f, "1m", 10000, 1);
    struct tk t[] = {
        {"L", 1, 0, 1000, NULL},
        {"L", 2, 69999, 1010, NULL},  /* max 69999 < 0+60000+10000: bar 0 still open */
        {"L", 3, 30000, 1030, NULL},  /* not late: inc 20 into bar 0 */
        {"L", 4, 70000, 1040, NULL},  /* max reaches 70000: bar 0 now closed */
        {"L", 5, 59999, 5000, NULL},  /* late: stored, averaged, no bar, no baseline */
        {"L", 6, 71000, 1050, NULL},  /* inc 10 from 1040 (the late 5000 was ignored) */
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        feed(&f, &t[i]);
    REQUIRE(tp_processor_finish(f.p) == 0);
    struct tp_processor_stats s;
    tp_processor_stats(f.p, &s);
    CHECK(s.late == 1 && s.applied == 6);
    sqlite3 *db = db_of(&f);
    CHECK_Q(db, "SELECT close||' '||count||' '||volume FROM bars WHERE start=0", "3.0 2 20");
    CHECK_Q(db, "SELECT open||' '||count||' '||volume FROM bars WHERE start=60000",
            "2.0 3 30");
    CHECK_Q(db, "SELECT count(*) FROM ticks", "6");
    CHECK_Q(db, "SELECT cum_avg_price FROM ticks WHERE seq=5", "3");
    CHECK_Q(db, "SELECT cum_avg_price FROM latest", "3.5");
    CHECK_Q(db, "SELECT time FROM latest", "71000");
    sqlite3_close(db);
    fx_close(&f);
}

/* Feeding in two processor lifetimes over one store equals one lifetime. */
static void test_resume_equals_one_run(void) {
    struct tk t[40];
    for (int i = 0; i < 40; i++)
        t[i] = (struct tk){i % 2 ? "R1" : "R2", 100 + (i * 7) % 13, 1000LL * (i * 5 - (i % 3) * 17),
                           i % 5 ? 1000 + i * 3 - (i == 20) * 500 : -1, "USD"};
    struct fx a, b;
    fx_open(&a, "1s,1m", 10000, 1);
    for (int i = 0; i < 40; i++)
        feed(&a, &t[i]);
    REQUIRE(tp_processor_finish(a.p) == 0);
    fx_close(&a);
    fx_open(&b, "1s,1m", 10000, 1);
    for (int i = 0; i < 17; i++)
        feed(&b, &t[i]);
    REQUIRE(tp_processor_commit(b.p) == 0);
    fx_close(&b);
    fx_open(&b, "1s,1m", 10000, 0);
    for (int i = 17; i < 40; i++)
        feed(&b, &t[i]);
    REQUIRE(tp_processor_finish(b.p) == 0);
    fx_close(&b);
    same_tables(a.db, b.db, a.dir, 0, "after resume");
}

/* Hints (tp_processor_hint) only fetch memory: the same ticks with and
 * without them, past the symbol count where hints start working, with
 * duplicates, late ticks, a commit and a restart from the saved state in
 * between, leave identical tables. Under ASan this also checks that a
 * hint reads only live memory. */
static void feed_all(struct fx *f, const struct tk *t, int from, int to, int n, int hints) {
    for (int i = from; i < to; i++) {
        if (hints && i + TP_PROCESSOR_LOOKAHEAD < n)
            tp_processor_hint(f->p, t[i + TP_PROCESSOR_LOOKAHEAD].sym,
                              strlen(t[i + TP_PROCESSOR_LOOKAHEAD].sym));
        if (hints && i % 97 == 0)
            tp_processor_hint(f->p, "NOT-SEEN", 8);   /* a symbol the table lacks */
        feed(f, &t[i]);
    }
}

static void test_hints_change_nothing(void) {
    enum { NS = 3000, NT = 4 * NS };
    static char names[NS][8];
    static struct tk t[NT];
    for (int s = 0; s < NS; s++)
        snprintf(names[s], sizeof names[s], "H%04d", s);
    for (int i = 0; i < NT; i++) {
        if (i >= NS && i % 13 == 0) {   /* the same symbol's previous tick: a duplicate */
            t[i] = t[i - NS];
            continue;
        }
        int64_t time = i >= NS && i % 11 == 0 ? t[i - NS].time - 70000   /* late */
                                               : 1000LL * (i / 3);
        t[i] = (struct tk){names[(i * 7919) % NS], 10 + i % 17, time, i % 4 ? 100 + i : -1,
                           "USD"};
    }
    struct fx a, b;
    const char *dbs[2];
    struct fx *fs[2] = {&a, &b};
    for (int hints = 0; hints < 2; hints++) {
        struct fx *f = fs[hints];
        fx_open(f, "1s,1m", 10000, 1);
        feed_all(f, t, 0, NT / 2, NT, hints);
        REQUIRE(tp_processor_commit(f->p) == 0);
        fx_close(f);
        fx_open(f, "1s,1m", 10000, 0);
        feed_all(f, t, NT / 2, NT, NT, hints);
        REQUIRE(tp_processor_finish(f->p) == 0);
        struct tp_processor_stats st;
        tp_processor_stats(f->p, &st);
        CHECKF(st.duplicates > 0 && st.late > 0, "duplicates %lld late %lld",
               (long long)st.duplicates, (long long)st.late);
        fx_close(f);
        dbs[hints] = f->db;
    }
    same_tables(dbs[0], dbs[1], a.dir, NT, "with hints");
}

/* ticks_only_commits: a run that dies after some ticks-only commits (ticks
 * beyond its last checkpoint are in the store) and is re-run from that
 * checkpoint leaves the same tables, state and position as one clean run. */
static void test_ticks_only_commits_crash(void) {
    /* FULL_AT is a multiple of BATCH: the caller's commit comes right after
     * a ticks-only one, with no batch open, and must still checkpoint */
    enum { N = 900, FULL_AT = 256, CRASH_AT = 700, BATCH = 64 };
    static struct tk t[N];
    static const char *const names[] = {"C0", "C1", "C2", "C3", "C4", "C5", "C6"};
    for (int i = 0; i < N; i++) {
        t[i] = (struct tk){names[i % 7], 50 + (i * 13) % 29, 400LL * i - (i % 17 == 0) * 30000,
                           i % 3 ? 1000 + i : -1, "EUR"};
        if (i >= 7 && i % 19 == 0)
            t[i] = t[i - 7];   /* the symbol's previous tick again: a duplicate */
    }
    struct fx a, b;
    int64_t pos, line;
    fx_open_opts(&a, "1s,1m", 10000, 1, BATCH, 1);
    int slot = tp_processor_position(a.p, "test:frames", &pos, &line);
    REQUIRE(slot >= 0 && pos == 0);
    for (int i = 0; i < N; i++) {
        feed_at(&a, &t[i], slot, i + 1);
        if (i + 1 == FULL_AT)
            REQUIRE(tp_processor_commit(a.p) == 0);
    }
    REQUIRE(tp_processor_finish(a.p) == 0);
    fx_close(&a);

    fx_open_opts(&b, "1s,1m", 10000, 1, BATCH, 1);
    slot = tp_processor_position(b.p, "test:frames", &pos, &line);
    for (int i = 0; i < CRASH_AT; i++) {
        feed_at(&b, &t[i], slot, i + 1);
        if (i + 1 == FULL_AT)
            REQUIRE(tp_processor_commit(b.p) == 0);
    }
    fx_close(&b);   /* a crash: the open batch is lost, nothing more is committed */
    sqlite3 *db = db_of(&b);
    CHECK_Q(db, "SELECT pos FROM tp_checkpoint WHERE key = 'test:frames'", "256");
    CHECK_Q(db, "SELECT count(*) FROM latest", "7");
    CHECK_Q(db, "SELECT count(*) > 256 + 256 FROM ticks", "1");   /* ticks past the checkpoint */
    sqlite3_close(db);
    fx_open_opts(&b, "1s,1m", 10000, 0, BATCH, 1);
    slot = tp_processor_position(b.p, "test:frames", &pos, &line);
    REQUIRE(slot >= 0 && pos == FULL_AT);
    for (int i = (int)pos; i < N; i++)
        feed_at(&b, &t[i], slot, i + 1);
    REQUIRE(tp_processor_finish(b.p) == 0);
    fx_close(&b);
    same_tables(a.db, b.db, a.dir, N, "after a crash between ticks-only commits");
}

/* Counts the lines of a file (0 when it does not exist). */
static int count_lines(const char *path) {
    FILE *fp = fopen(path, "r");
    int n = 0, c;
    if (!fp)
        return 0;
    while ((c = fgetc(fp)) != EOF)
        n += c == '\n';
    fclose(fp);
    return n;
}

/* A processor freed with its batch open (a Kafka member that lost its
 * partitions rebuilds its processor this way) abandons that batch: the next
 * processor on the same store handle commits only its own rows, and the
 * abandoned batch's rejections leave the dead-letter file, which the next
 * processor's own rejections follow. Twice: before any commit (no
 * dead-letter checkpoint yet) and after one. */
static void abandon_once(struct fx *f, const char *stale_sym, const char *new_sym, int64_t t,
                         int dl_before) {
    struct tk stale = {stale_sym, 10, t, 100, "USD"}, mine = {new_sym, 20, t + 1000, 100, "USD"};
    struct tp_item rej = {.kind = TP_ITEM_REJECT, .reason = "bad base64", .raw = "@@",
                          .raw_len = 2, .pos_slot = -1, .line = 1};
    feed(f, &stale);
    REQUIRE(tp_processor_apply(f->p, &rej) == 0);
    tp_processor_free(f->p);
    CHECKF(count_lines(f->dl) == dl_before, "the abandoned rejection is still in %s (%d lines)",
           f->dl, count_lines(f->dl));
    char err[256];
    struct tp_processor_opts o = {.lateness_ms = 10000, .deadletter_path = f->dl};
    o.nbars = tp_parse_bars("1m", o.bar_ms, TP_MAX_BARS, err, sizeof err);
    REQUIRE(tp_processor_new(&f->p, f->st, &o, err, sizeof err) == 0);
    feed(f, &mine);
    REQUIRE(tp_processor_apply(f->p, &rej) == 0);
    REQUIRE(tp_processor_commit(f->p) == 0);
    CHECK(count_lines(f->dl) == dl_before + 1);
}

static void test_abandoned_batch(void) {
    struct fx f;
    fx_open(&f, "1m", 10000, 1);
    abandon_once(&f, "OLD", "NEW", 1000, 0);
    abandon_once(&f, "OLD2", "NEW2", 100000, 1);
    sqlite3 *db = db_of(&f);
    CHECK_Q(db, "SELECT group_concat(symbol) FROM (SELECT symbol FROM ticks ORDER BY 1)",
            "NEW,NEW2");
    CHECK_Q(db, "SELECT group_concat(symbol) FROM (SELECT symbol FROM latest ORDER BY 1)",
            "NEW,NEW2");
    CHECK_Q(db, "SELECT group_concat(symbol) FROM (SELECT symbol FROM tp_state ORDER BY 1)",
            "NEW,NEW2");
    CHECK_Q(db, "SELECT group_concat(DISTINCT symbol) FROM (SELECT symbol FROM bars ORDER BY 1)",
            "NEW,NEW2");
    sqlite3_close(db);
    fx_close(&f);
}

static void test_dead_letter_and_skip(void) {
    struct fx f;
    fx_open(&f, "1m", 10000, 1);
    struct tp_item rej = {.kind = TP_ITEM_REJECT, .reason = "bad base64", .raw = "@@\"x",
                          .raw_len = 4, .pos_slot = -1, .line = 7};
    struct tp_item skip = {.kind = TP_ITEM_SKIP, .reason = "heartbeat", .pos_slot = -1};
    REQUIRE(tp_processor_apply(f.p, &rej) == 0);
    REQUIRE(tp_processor_apply(f.p, &skip) == 0);
    REQUIRE(tp_processor_finish(f.p) == 0);
    struct tp_processor_stats s;
    tp_processor_stats(f.p, &s);
    CHECK(s.frames == 2 && s.rejected == 1 && s.skipped == 1 && s.applied == 0);
    fx_close(&f);
    FILE *dl = fopen(f.dl, "r");
    REQUIRE(dl);
    char line[512] = "";
    CHECK(fgets(line, sizeof line, dl) != NULL);
    fclose(dl);
    CHECKF(strcmp(line, "{\"reason\":\"bad base64\",\"source\":\"-\",\"line\":7,\"raw\":\"@@\\\"x\"}\n") == 0,
           "dead-letter line: %s", line);
}

static void test_jsonl(void) {
    char path[] = "/tmp/tp_test_jsonl_XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    close(fd);
    char spec[64], err[256];
    snprintf(spec, sizeof spec, "jsonl:%s", path);
    struct tp_store *st;
    REQUIRE(tp_store_open(&st, spec, err, sizeof err) == 0);
    CHECK(tp_store_has_state(st) == 0);
    struct tp_processor *p;
    struct tp_processor_opts o = {.lateness_ms = 0};
    REQUIRE(tp_processor_new(&p, st, &o, err, sizeof err) == 0);
    struct fx f = {.st = st, .p = p};
    struct tk a = {"J", 1.5, 1000, 10, "USD"}, b = {"J", 2.5, 61000, 30, NULL};
    feed(&f, &a);
    feed(&f, &b);   /* closes bar 0 (lateness 0) */
    REQUIRE(tp_processor_finish(p) == 0);
    tp_processor_free(p);
    tp_store_free(st);
    FILE *in = fopen(path, "r");
    REQUIRE(in);
    char lines[4][512] = {{0}};
    int n = 0;
    while (n < 4 && fgets(lines[n], sizeof lines[n], in))
        n++;
    fclose(in);
    unlink(path);
    CHECKF(n == 4, "%d lines", n);
    CHECKF(strcmp(lines[0], "{\"kind\":\"tick\",\"id\":\"J\",\"price\":1.5,\"time\":1000,\"currency\":\"USD\","
                            "\"dayVolume\":10,\"seq\":1,\"cumAvgPrice\":1.5}\n") == 0, "%s", lines[0]);
    CHECKF(strstr(lines[2], "\"kind\":\"bar\",\"symbol\":\"J\",\"interval\":\"1m\",\"start\":0,"
                            "\"open\":1.5,\"high\":1.5,\"low\":1.5,\"close\":1.5,\"volume\":0,"
                            "\"vwap\":null,\"count\":1}") != NULL, "%s", lines[2]);
    CHECKF(strstr(lines[3], "\"start\":60000") != NULL, "%s", lines[3]);
}

int main(void) {
    test_dups_seq_avg();
    test_bars_ties_volume();
    test_lateness();
    test_resume_equals_one_run();
    test_hints_change_nothing();
    test_ticks_only_commits_crash();
    test_abandoned_batch();
    test_dead_letter_and_skip();
    test_jsonl();
    return TP_TEST_DONE();
}
