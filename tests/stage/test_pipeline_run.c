/*
 * test_pipeline_run.c - the whole `run` pipeline in one process, through
 * src/pipeline/tp_run.h: replay source -> decode (reader thread) -> bus ->
 * processor -> SQLite store, on the vendored Yahoo frames (tests/data).
 * Checks the summary counters, that every distinct frame became exactly
 * one tick with the decoder reference's symbol, time and price, that bars
 * and latest agree with the ticks, and that a second run on the same store
 * resumes after the last line (nothing applied twice). Then the commit
 * policy: a source that always has the next frame at once (unpaced sim) is
 * committed every batch or every second, not each time the processor
 * catches up with a reader still decoding.
 */
#include <signal.h>
#include <stdint.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pipeline/tp_run.h"
#include "process/tp_processor.h"
#include "sink/tp_store.h"
#include "source/tp_source.h"
#include "tp_test.h"

static volatile sig_atomic_t stop_flag;

/* Runs source spec (a replay: "replay:FILE") into the store at db; fills *s. */
static void run_spec(const char *source, const char *db, const char *dl,
                     struct tp_processor_stats *s) {
    char err[512] = "", spec[600];
    struct tp_source *src = NULL;
    struct tp_store *st = NULL;
    struct tp_processor *p = NULL;
    struct tp_run *run = NULL;
    struct tp_source_opts so = {.stop = &stop_flag};
    REQUIRE(tp_source_open(&src, source, &so, err, sizeof err) == 0);
    snprintf(spec, sizeof spec, "sqlite:%s", db);
    REQUIRE(tp_store_open(&st, spec, err, sizeof err) == 0);
    struct tp_processor_opts po = {.lateness_ms = 10000, .deadletter_path = dl};
    po.nbars = tp_parse_bars("1m,5m", po.bar_ms, TP_MAX_BARS, err, sizeof err);
    REQUIRE(po.nbars == 2);
    REQUIRE(tp_processor_new(&p, st, &po, err, sizeof err) == 0);
    struct tp_run_opts o = {.stop = &stop_flag};
    REQUIRE(tp_run_new(&run, src, st, p, &o, err, sizeof err) == 0);
    REQUIRE(tp_run_start(run, err, sizeof err) == 0);
    CHECKF(tp_run_process(run, err, sizeof err) == 0, "%s", err);
    CHECKF(tp_run_join(run, err, sizeof err) == 0, "%s", err);
    int finite = 0;
    CHECKF(tp_run_finish(run, &finite, err, sizeof err) == 0, "%s", err);
    CHECK(finite == 1);
    tp_processor_stats(p, s);
    tp_run_free(run);
    tp_processor_free(p);
    tp_store_free(st);
    tp_source_free(src);
}

static void run_once(const char *frames, const char *db, const char *dl,
                     struct tp_processor_stats *s) {
    char spec[4200];
    snprintf(spec, sizeof spec, "replay:%s", frames);
    run_spec(spec, db, dl, s);
}

static double mono_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 60,000 frames that are always there at once: a commit per full batch
 * (the processor's default, 8,192 ticks: 7), one per second of the run and
 * the final one; not one each time the bus runs dry for a moment. Before,
 * this gave 13 in 0.35 s. */
static void check_commits_of_a_backlog(const char *dir) {
    char db[300], dl[300];
    snprintf(db, sizeof db, "%s/backlog.db", dir);
    snprintf(dl, sizeof dl, "%s/backlog-dl.jsonl", dir);
    struct tp_processor_stats s;
    double t0 = mono_s();
    run_spec("sim:count=60000,symbols=50,seed=3", db, dl, &s);
    double secs = mono_s() - t0;
    CHECKF(s.frames == 60000, "frames=%lld", (long long)s.frames);
    CHECKF(s.commits <= 60000 / 8192 + 1 + (int64_t)secs, "%lld commits in %.2f s of a run that never waits "
           "on its source", (long long)s.commits, secs);
}

static int64_t scalar(sqlite3 *db, const char *sql) {
    sqlite3_stmt *q = NULL;
    int64_t v = -1;
    REQUIRE(sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK);
    if (sqlite3_step(q) == SQLITE_ROW)
        v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return v;
}

/* The value after "key": in one line of the reference JSON, or NULL. */
static const char *field(const char *line, const char *key) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    const char *v = strstr(line, pat);
    return v ? v + strlen(pat) : NULL;
}

/* One reference line's symbol, time and price. */
struct ref {
    char sym[64];
    int64_t time;
    double price;
    int repeat;   /* the same line as an earlier one: a duplicate */
};

static void parse_ref(const char *line, struct ref *r) {
    const char *id = field(line, "id"), *t = field(line, "time"), *pr = field(line, "price");
    REQUIRE(id && t && pr && *id == '"');
    REQUIRE(sscanf(id + 1, "%63[^\"]", r->sym) == 1);
    r->time = strtoll(t, NULL, 10);
    r->price = strtod(pr, NULL);
}

/* Every distinct reference line is one tick: as many ticks carry a
 * symbol, time and price as distinct lines do. Returns how many lines
 * repeat an earlier one. */
static int check_ticks(sqlite3 *db, const char *expected) {
    static char lines[64][4096];
    struct ref refs[64];
    int n = 0, repeats = 0;
    FILE *f = fopen(expected, "r");
    REQUIRE(f != NULL);
    while (n < 64 && fgets(lines[n], sizeof lines[n], f)) {
        parse_ref(lines[n], &refs[n]);
        refs[n].repeat = 0;
        for (int i = 0; i < n; i++)
            refs[n].repeat |= strcmp(lines[i], lines[n]) == 0;
        repeats += refs[n++].repeat;
    }
    fclose(f);
    CHECK(n == 15);
    sqlite3_stmt *q = NULL;
    REQUIRE(sqlite3_prepare_v2(db, "SELECT count(*) FROM ticks WHERE symbol = ? AND time = ? "
                               "AND price = ?", -1, &q, NULL) == SQLITE_OK);
    for (int i = 0; i < n; i++) {
        int want = 0;
        for (int j = 0; j < n; j++)
            want += !refs[j].repeat && strcmp(refs[j].sym, refs[i].sym) == 0 &&
                    refs[j].time == refs[i].time && refs[j].price == refs[i].price;
        sqlite3_reset(q);
        sqlite3_bind_text(q, 1, refs[i].sym, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(q, 2, refs[i].time);
        sqlite3_bind_double(q, 3, refs[i].price);
        REQUIRE(sqlite3_step(q) == SQLITE_ROW);
        CHECKF(sqlite3_column_int64(q, 0) == want, "%s at %lld: %lld ticks, want %d",
               refs[i].sym, (long long)refs[i].time, (long long)sqlite3_column_int64(q, 0), want);
    }
    sqlite3_finalize(q);
    return repeats;
}

int main(void) {
    char dir[] = "/tmp/tp_test_pipeline_XXXXXX", db[300], dl[300], frames[4096],
         expected[4096];
    REQUIRE(mkdtemp(dir) != NULL);
    snprintf(db, sizeof db, "%s/t.db", dir);
    snprintf(dl, sizeof dl, "%s/dl.jsonl", dir);
    snprintf(frames, sizeof frames, "%s/yahoo/frames.txt", tp_test_data());
    snprintf(expected, sizeof expected, "%s/yahoo/frames.expected.jsonl", tp_test_data());

    struct tp_processor_stats s;
    run_once(frames, db, dl, &s);
    CHECKF(s.frames == 15 && s.rejected == 0 && s.skipped == 0, "frames=%lld rejected=%lld "
           "skipped=%lld", (long long)s.frames, (long long)s.rejected, (long long)s.skipped);
    CHECK(s.applied + s.duplicates == 15);

    sqlite3 *h = NULL;
    REQUIRE(sqlite3_open(db, &h) == SQLITE_OK);
    int repeats = check_ticks(h, expected);
    CHECKF(s.duplicates == repeats, "duplicates=%lld, repeated lines %d",
           (long long)s.duplicates, repeats);
    CHECK(scalar(h, "SELECT count(*) FROM ticks") == s.applied);
    /* Each interval's bars hold every tick that was not late for it. */
    CHECK(scalar(h, "SELECT sum(count) FROM bars WHERE interval = '1m'") == s.applied - s.late);
    CHECK(scalar(h, "SELECT count(*) FROM bars WHERE NOT (low <= open AND open <= high AND "
                    "low <= close AND close <= high)") == 0);
    CHECK(scalar(h, "SELECT count(*) FROM bars b WHERE high > (SELECT max(price) FROM ticks t "
                    "WHERE t.symbol = b.symbol AND t.time >= b.start)") == 0);
    /* latest: one row per symbol, counting its ticks, at its newest time. */
    CHECK(scalar(h, "SELECT count(*) FROM latest") ==
          scalar(h, "SELECT count(DISTINCT symbol) FROM ticks"));
    CHECK(scalar(h, "SELECT count(*) FROM latest l WHERE l.count != (SELECT count(*) FROM "
                    "ticks t WHERE t.symbol = l.symbol)") == 0);
    int64_t ticks = scalar(h, "SELECT count(*) FROM ticks"), bars =
                    scalar(h, "SELECT count(*) FROM bars");
    sqlite3_close(h);

    /* Again on the same store: resumed after the last line. */
    run_once(frames, db, dl, &s);
    CHECKF(s.frames == 0 && s.applied == 0, "second run: frames=%lld applied=%lld",
           (long long)s.frames, (long long)s.applied);
    REQUIRE(sqlite3_open(db, &h) == SQLITE_OK);
    CHECK(scalar(h, "SELECT count(*) FROM ticks") == ticks);
    CHECK(scalar(h, "SELECT count(*) FROM bars") == bars);
    sqlite3_close(h);

    check_commits_of_a_backlog(dir);

    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    return TP_TEST_DONE();
}
