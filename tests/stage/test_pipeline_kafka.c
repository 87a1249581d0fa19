/*
 * test_pipeline_kafka.c - the Kafka pipeline in one process, through
 * src/pipeline/: replay source -> decode -> tp_kafka_ingest -> topic on
 * librdkafka's mock cluster (in this process) -> tp_kafka_process ->
 * processor -> SQLite store. The stored ticks, bars and latest must equal
 * those of the in-process run pipeline (tp_run) on the same vendored
 * frames: one symbol stays in one partition, in order, so sequence
 * numbers, averages and bars come out the same.
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipeline/tp_kafka_ingest.h"
#include "pipeline/tp_kafka_process.h"
#include "pipeline/tp_run.h"
#include "tp_test.h"

static volatile sig_atomic_t stop_flag;

static void bars(struct tp_processor_opts *po) {
    char err[256];
    *po = (struct tp_processor_opts){.lateness_ms = 10000};
    po->nbars = tp_parse_bars("1m,5m", po->bar_ms, TP_MAX_BARS, err, sizeof err);
    REQUIRE(po->nbars == 2);
}

/* The reference: the run pipeline from the replay into sqlite:db. */
static void run_reference(const char *frames, const char *db) {
    char err[512] = "", spec[4300];
    struct tp_source *src = NULL;
    struct tp_store *st = NULL;
    struct tp_processor *p = NULL;
    struct tp_run *run = NULL;
    struct tp_source_opts so = {.stop = &stop_flag};
    struct tp_processor_opts po;
    bars(&po);
    snprintf(spec, sizeof spec, "replay:%s", frames);
    REQUIRE(tp_source_open(&src, spec, &so, err, sizeof err) == 0);
    snprintf(spec, sizeof spec, "sqlite:%s", db);
    REQUIRE(tp_store_open(&st, spec, err, sizeof err) == 0);
    REQUIRE(tp_processor_new(&p, st, &po, err, sizeof err) == 0);
    struct tp_run_opts o = {.stop = &stop_flag};
    int finite = 0;
    REQUIRE(tp_run_new(&run, src, st, p, &o, err, sizeof err) == 0);
    REQUIRE(tp_run_start(run, err, sizeof err) == 0);
    CHECKF(tp_run_process(run, err, sizeof err) == 0, "%s", err);
    CHECKF(tp_run_join(run, err, sizeof err) == 0, "%s", err);
    CHECKF(tp_run_finish(run, &finite, err, sizeof err) == 0, "%s", err);
    tp_run_free(run);
    tp_processor_free(p);
    tp_store_free(st);
    tp_source_free(src);
}

/* ingest: the replay onto the topic; every frame delivered. */
static void ingest(const char *bootstrap, const char *frames) {
    char err[512] = "", spec[4300];
    struct tp_kafka_producer *prod = NULL;
    struct tp_source *src = NULL;
    struct tp_kafka_ingest *in = NULL;
    struct tp_source_opts so = {.stop = &stop_flag};
    REQUIRE(tp_kafka_producer_new(&prod, bootstrap, NULL, 0, err, sizeof err) == 0);
    REQUIRE(tp_kafka_producer_check(prod, "ticks", 30000, err, sizeof err) == 0);
    snprintf(spec, sizeof spec, "replay:%s", frames);
    REQUIRE(tp_source_open(&src, spec, &so, err, sizeof err) == 0);
    struct tp_kafka_ingest_opts o = {.topic = "ticks", .source_name = spec, .stop = &stop_flag};
    REQUIRE(tp_kafka_ingest_new(&in, prod, src, &o, err, sizeof err) == 0);
    CHECKF(tp_kafka_ingest_run(in, err, sizeof err) == 0, "%s", err);
    CHECKF(tp_kafka_ingest_flush(in, 30000, err, sizeof err) == 0, "%s", err);
    struct tp_kafka_ingest_stats s;
    tp_kafka_ingest_stats(in, &s);
    CHECKF(s.frames == 15 && s.produced == 15 && s.rejected == 0 && s.skipped == 0 &&
           s.delivered == 15 && s.undelivered == 0, "ingest: frames=%lld produced=%lld "
           "delivered=%lld", (long long)s.frames, (long long)s.produced, (long long)s.delivered);
    tp_kafka_ingest_free(in);
    tp_source_free(src);
    tp_kafka_producer_free(prod);
}

/* process: the topic into sqlite:db until every partition is at its end. */
static void process(const char *bootstrap, const char *db) {
    char err[512] = "", spec[4300];
    struct tp_store *st = NULL;
    struct tp_kafka_process *kp = NULL;
    const char *conf[] = {"session.timeout.ms=6000", "heartbeat.interval.ms=500"};
    snprintf(spec, sizeof spec, "sqlite:%s", db);
    REQUIRE(tp_store_open(&st, spec, err, sizeof err) == 0);
    struct tp_kafka_process_opts o = {
        .brokers = bootstrap, .topic = "ticks", .group = "stage", .store_spec = spec,
        .conf = conf, .nconf = 2, .exit_at_end = 1, .commit_ms = 200, .lag_ms = 60000,
        .grace_ms = 500, .stop = &stop_flag};
    bars(&o.po);
    REQUIRE(tp_kafka_process_new(&kp, st, &o, err, sizeof err) == 0);
    CHECKF(tp_kafka_process_run(kp, err, sizeof err) == 0, "%s", err);
    CHECKF(tp_kafka_process_close(kp, 0, err, sizeof err) == 0, "%s", err);
    struct tp_kafka_process_stats s;
    tp_kafka_process_stats(kp, &s);
    CHECKF(s.p.frames == 15 && s.p.applied + s.p.duplicates == 15 && s.lost == 0 &&
           s.fenced == 0, "process: frames=%lld applied=%lld lost=%lld fenced=%lld",
           (long long)s.p.frames, (long long)s.p.applied, (long long)s.lost,
           (long long)s.fenced);
    tp_kafka_process_free(kp);
    tp_store_free(st);
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

/* Rows of table in one store and not in the other, both ways. */
static int64_t differing(sqlite3 *db, const char *table) {
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT (SELECT count(*) FROM (SELECT * FROM main.%s EXCEPT "
             "SELECT * FROM r.%s)) + (SELECT count(*) FROM (SELECT * FROM r.%s EXCEPT "
             "SELECT * FROM main.%s))", table, table, table, table);
    return scalar(db, sql);
}

int main(void) {
    char dir[] = "/tmp/tp_test_pipeline_kafka_XXXXXX", kdb[300], rdb[300], frames[4200];
    char errstr[512];
    REQUIRE(mkdtemp(dir) != NULL);
    snprintf(kdb, sizeof kdb, "%s/kafka.db", dir);
    snprintf(rdb, sizeof rdb, "%s/run.db", dir);
    snprintf(frames, sizeof frames, "%s/yahoo/frames.txt", tp_test_data());

    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    REQUIRE(rk != NULL);
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, 1);
    REQUIRE(mc != NULL);
    REQUIRE(rd_kafka_mock_topic_create(mc, "ticks", 3, 1) == RD_KAFKA_RESP_ERR_NO_ERROR);
    const char *bootstrap = rd_kafka_mock_cluster_bootstraps(mc);

    ingest(bootstrap, frames);
    process(bootstrap, kdb);
    run_reference(frames, rdb);

    sqlite3 *h = NULL;
    char attach[400];
    REQUIRE(sqlite3_open(kdb, &h) == SQLITE_OK);
    snprintf(attach, sizeof attach, "ATTACH '%s' AS r", rdb);
    REQUIRE(sqlite3_exec(h, attach, NULL, NULL, NULL) == SQLITE_OK);
    CHECK(scalar(h, "SELECT count(*) FROM main.ticks") > 0);
    CHECK(scalar(h, "SELECT count(*) FROM main.ticks") == scalar(h, "SELECT count(*) FROM r.ticks"));
    CHECK(scalar(h, "SELECT count(*) FROM main.bars") == scalar(h, "SELECT count(*) FROM r.bars"));
    CHECKF(differing(h, "ticks") == 0, "%lld ticks differ", (long long)differing(h, "ticks"));
    CHECKF(differing(h, "bars") == 0, "%lld bars differ", (long long)differing(h, "bars"));
    CHECKF(differing(h, "latest") == 0, "%lld latest rows differ",
           (long long)differing(h, "latest"));
    sqlite3_close(h);

    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    return TP_TEST_DONE();
}
