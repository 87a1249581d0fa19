/*
 * test_cql_wire.c - the CQL v4 codec without a network: bound value
 * encoding, response headers, Rows/Prepared/Error bodies built by hand from
 * the spec, truncation at every byte, accessors, name-based UUIDs (checked
 * against Python's uuid.uuid5) and the calendar keys of the partitions.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/tp_civil.h"
#include "core/tp_error.h"
#include "cql/cql_int.h"
#include "sink/cql_store_int.h"
#include "cql/tp_cql.h"
#include "tp_test.h"

static void test_values(void) {
    struct tp_cql_values v = {0};
    tp_cql_add_bigint(&v, -2);
    tp_cql_add_null(&v);
    tp_cql_add_date(&v, 0);
    tp_cql_add_text(&v, "ab", 2);
    tp_cql_add_double(&v, 1.5);
    static const uint8_t want[] = {
        0, 0, 0, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
        0xff, 0xff, 0xff, 0xff,
        0, 0, 0, 4, 0x80, 0, 0, 0,
        0, 0, 0, 2, 'a', 'b',
        0, 0, 0, 8, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0};
    CHECK(v.n == 5);
    CHECKF(v.len == sizeof(want) && memcmp(v.buf, want, sizeof(want)) == 0, "len %zu", v.len);
    tp_cql_values_reset(&v);
    CHECK(v.n == 0 && v.len == 0);
    tp_cql_values_free(&v);
}

static void test_header(void) {
    struct tp_cql_header h;
    uint8_t ok[9] = {0x84, 0, 0x01, 0x02, 0x08, 0, 0, 0, 5};
    CHECK(tp_cql_parse_header(ok, 9, &h) == 0 && h.stream == 0x0102 && h.opcode == 8 &&
          h.length == 5);
    uint8_t neg[9] = {0x84, 0, 0xff, 0xff, 0x0c, 0, 0, 0, 0};
    CHECK(tp_cql_parse_header(neg, 9, &h) == 0 && h.stream == -1);
    uint8_t v3[9] = {0x83, 0, 0, 1, 8, 0, 0, 0, 0};
    CHECK(tp_cql_parse_header(v3, 9, &h) == TP_EPROTO);
    uint8_t big[9] = {0x84, 0, 0, 1, 8, 0x7f, 0xff, 0xff, 0xff};
    CHECK(tp_cql_parse_header(big, 9, &h) == TP_EPROTO);
    CHECK(tp_cql_parse_header(ok, 8, &h) == TP_EPARSE);
}

/* A Rows result: global spec ks.t, columns (s text, n bigint), paging
 * state "PS", rows ("x", 7) and (NULL, -1). */
static size_t rows_body(uint8_t *b) {
    struct tp_buf w = {0};
    tp_cql_buf_u32(&w, 2);
    tp_cql_buf_u32(&w, 0x0001 | 0x0002);
    tp_cql_buf_u32(&w, 2);
    tp_cql_buf_u32(&w, 2);
    tp_cql_buf_put(&w, "PS", 2);
    tp_cql_buf_string(&w, "ks");
    tp_cql_buf_string(&w, "t");
    tp_cql_buf_string(&w, "s");
    tp_cql_buf_u16(&w, TP_CQL_T_VARCHAR);
    tp_cql_buf_string(&w, "n");
    tp_cql_buf_u16(&w, TP_CQL_T_BIGINT);
    tp_cql_buf_u32(&w, 2);
    tp_cql_buf_u32(&w, 1);
    tp_cql_buf_put(&w, "x", 1);
    tp_cql_buf_u32(&w, 8);
    tp_cql_buf_put(&w, "\0\0\0\0\0\0\0\7", 8);
    tp_cql_buf_u32(&w, 0xffffffffu);
    tp_cql_buf_u32(&w, 8);
    tp_cql_buf_put(&w, "\xff\xff\xff\xff\xff\xff\xff\xff", 8);
    size_t n = w.len;
    memcpy(b, w.p, n);
    tp_cql_buf_free(&w);
    return n;
}

static struct tp_cql_result *parse_copy(const uint8_t *b, size_t n, int *rc) {
    uint8_t *body = malloc(n ? n : 1);
    struct tp_cql_result *r = NULL;
    memcpy(body, b, n);
    *rc = tp_cql_parse_result(body, n, &r);
    return r;
}

static void test_rows(void) {
    uint8_t b[256];
    size_t n = rows_body(b);
    int rc;
    struct tp_cql_result *r = parse_copy(b, n, &rc);
    REQUIRE(rc == 0 && r != NULL);
    CHECK(r->kind == TP_CQL_RESULT_ROWS && r->ncols == 2 && r->nrows == 2);
    CHECK(r->cols[0].name_len == 1 && r->cols[0].name[0] == 's' &&
          r->cols[1].type == TP_CQL_T_BIGINT);
    CHECK(r->paging_len == 2 && memcmp(r->paging_state, "PS", 2) == 0);
    int64_t x = 0;
    CHECK(tp_cql_get_int64(r, 0, 1, &x) == 0 && x == 7);
    CHECK(tp_cql_get_int64(r, 1, 1, &x) == 0 && x == -1);
    CHECK(r->lens[2] == -1 && r->vals[2] == NULL);
    CHECK(tp_cql_get_int64(r, 2, 1, &x) == TP_EPARSE);
    double d;
    CHECK(tp_cql_get_double(r, 0, 0, &d) == TP_EPARSE);
    tp_cql_result_free(r);
    for (size_t cut = 0; cut < n; cut++) {
        r = parse_copy(b, cut, &rc);
        CHECKF(rc == TP_EPARSE && r == NULL, "truncated at %zu: rc %d", cut, rc);
    }
    /* A row count far beyond the bytes present is refused before allocating. */
    uint8_t huge[256];
    memcpy(huge, b, n);
    size_t off = n - (4 + 1 + 4 + 8 + 4 + 4 + 8) - 4;
    huge[off] = 0x7f;
    r = parse_copy(huge, n, &rc);
    CHECK(rc == TP_EPARSE && r == NULL);
    /* Found by fuzz_cql: rows without columns cost no bytes, so any count
     * could be claimed and every reader would loop over it. */
    struct tp_buf w = {0};
    tp_cql_buf_u32(&w, 2);
    tp_cql_buf_u32(&w, 0x0004);
    tp_cql_buf_u32(&w, 0);
    tp_cql_buf_u32(&w, 0x7fffffff);
    r = parse_copy(w.p, w.len, &rc);
    CHECK(rc == TP_EPARSE && r == NULL);
    tp_cql_buf_free(&w);
}

static void test_prepared_and_error(void) {
    struct tp_buf w = {0};
    int rc;
    tp_cql_buf_u32(&w, 4);
    tp_cql_buf_short_bytes(&w, (const uint8_t *)"\1\2\3", 3);
    struct tp_cql_result *r = parse_copy(w.p, w.len, &rc);
    CHECK(rc == 0 && r && r->prep_id_len == 3 && memcmp(r->prep_id, "\1\2\3", 3) == 0);
    tp_cql_result_free(r);
    tp_cql_buf_free(&w);

    tp_cql_buf_u32(&w, 0x2500);
    tp_cql_buf_string(&w, "Prepared query not found");
    tp_cql_buf_short_bytes(&w, (const uint8_t *)"\xaa\xbb", 2);
    int32_t code;
    char msg[16];
    const uint8_t *id;
    uint16_t idlen;
    CHECK(tp_cql_parse_error(w.p, w.len, &code, msg, sizeof(msg), &id, &idlen) == 0);
    CHECK(code == 0x2500 && strcmp(msg, "Prepared query ") == 0 && idlen == 2 && id[0] == 0xaa);
    CHECK(tp_cql_parse_error(w.p, w.len - 1, &code, msg, sizeof(msg), &id, &idlen) == TP_EPARSE);
    tp_cql_buf_free(&w);
    CHECK(tp_cql_error_retriable(0x1001) && tp_cql_error_retriable(0x1100) &&
          !tp_cql_error_retriable(0x2000) && !tp_cql_error_retriable(0x0100));
    tp_cql_buf_u32(&w, 9);     /* an unknown result kind */
    r = parse_copy(w.p, w.len, &rc);
    CHECK(rc == TP_EPARSE && r == NULL);
    tp_cql_buf_free(&w);
}

static void test_misc(void) {
    uint8_t id[16];
    static const uint8_t want[16] = {0x89, 0x2b, 0xbe, 0xca, 0x59, 0x60, 0x5d, 0x13,
                                     0x8f, 0x5b, 0x1f, 0x56, 0xec, 0x22, 0xed, 0x3e};
    const char *name = "BTC-USD|1736509141234|7";
    tp_cql_uuid_v5(TP_CQL_SEED_NAMESPACE, name, strlen(name), id);
    CHECK(memcmp(id, want, 16) == 0);   /* Python: uuid.uuid5(ns, name) */
    CHECK(tp_cas_month_of_day(0) == 197001 && tp_cas_month_of_day(-1) == 196912);
    CHECK(tp_cas_month_of_day(20098) == 202501 && tp_cas_month_of_day(11017) == 200003);
    CHECK(tp_cas_day_of_month(202501) == 20089 && tp_cas_day_of_month(200003) == 11017);
    CHECK(tp_cas_next_month(202412) == 202501 && tp_cas_next_month(202501) == 202502);
    CHECK(tp_floor_div(-1, 86400000) == -1 && tp_floor_div(86399999, 86400000) == 0);
    CHECK(tp_cql_consistency_parse("LOCAL_QUORUM") == TP_CQL_LOCAL_QUORUM &&
          tp_cql_consistency_parse("one") == TP_CQL_ONE && tp_cql_consistency_parse("x") == -1);
}

static void test_uri(void) {
    struct cas_opts o;
    char err[256];
    CHECK(tp_cas_opts_parse(&o, "cassandra://u%40x:p%3Aw@h1:9043,h2/ks_1?consistency=one&ttl=7d"
                         "&replication=dc1:3,dc2:2&tls-ca=/tmp/ca.pem", err, sizeof(err)) == 0);
    CHECK(strcmp(o.user, "u@x") == 0 && strcmp(o.password, "p:w") == 0);
    CHECK(strcmp(o.hosts, "h1:9043,h2") == 0 && strcmp(o.keyspace, "ks_1") == 0);
    CHECK(o.consistency == TP_CQL_ONE && o.ttl_ms == 7 * 86400000LL && o.tls == 1);
    tp_cas_opts_free(&o);
    CHECK(tp_cas_opts_parse(&o, "cassandra://h/", err, sizeof(err)) == 0 &&
          strcmp(o.keyspace, "streams") == 0 && o.user == NULL);
    tp_cas_opts_free(&o);
    CHECK(tp_cas_opts_parse(&o, "cassandra://h/ks?colour=red", err, sizeof(err)) == TP_EINVAL &&
          strstr(err, "colour") != NULL);
    tp_cas_opts_free(&o);
    CHECK(tp_cas_opts_parse(&o, "cassandra://h/ks;drop", err, sizeof(err)) == TP_EINVAL);
    tp_cas_opts_free(&o);
    CHECK(tp_cas_opts_parse(&o, "cassandra://h/ks?replication=x'y:1", err, sizeof(err)) ==
          TP_EINVAL);
    tp_cas_opts_free(&o);
    CHECK(tp_cas_opts_parse(&o, "cassandra:///ks", err, sizeof(err)) == TP_EINVAL);
    tp_cas_opts_free(&o);
}

/* <query_parameters> with and without the default timestamp (flag 0x20,
 * an 8-byte big-endian [long] after the other fields, spec section 4.1.4). */
static void test_query_params(void) {
    struct tp_cql_values v = {0};
    struct tp_buf b = {0};
    tp_cql_add_int(&v, 7);
    tp_cql_buf_query_params(&b, TP_CQL_LOCAL_QUORUM, &v, 0, NULL, 0, 0);
    static const uint8_t plain[] = {0, 6, 0x01, 0, 1, 0, 0, 0, 4, 0, 0, 0, 7};
    CHECKF(b.len == sizeof(plain) && memcmp(b.p, plain, sizeof(plain)) == 0, "len %zu", b.len);
    b.len = 0;
    tp_cql_buf_query_params(&b, TP_CQL_LOCAL_QUORUM, &v, 0, NULL, 0, 0x0102030405060708LL);
    static const uint8_t stamped[] = {0, 6, 0x21, 0, 1, 0, 0, 0, 4, 0, 0, 0, 7,
                                      1, 2, 3, 4, 5, 6, 7, 8};
    CHECKF(b.len == sizeof(stamped) && memcmp(b.p, stamped, sizeof(stamped)) == 0, "len %zu",
           b.len);
    tp_cql_buf_free(&b);
    tp_cql_values_free(&v);
}

int main(void) {
    test_values();
    test_query_params();
    test_header();
    test_rows();
    test_prepared_and_error();
    test_misc();
    test_uri();
    return tp_test_done("test_cql_wire");
}
