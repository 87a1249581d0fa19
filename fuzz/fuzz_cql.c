/*
 * fuzz_cql.c - libFuzzer target for the CQL v4 response parser: the input is
 * read as a stream of response frames, as a connection would deliver them.
 * Each frame's body is decoded as a RESULT or an ERROR by its opcode (and,
 * for coverage, the other way round too). Invariants beyond "no crash":
 * every cell, column name, paging state and prepared id points inside the
 * body, NULL cells have length -1, and the accessors accept every cell.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cql/tp_cql.h"

static void inside(const struct tp_cql_result *r, const void *p, int64_t len) {
    const uint8_t *b = r->body, *q = p;
    if (len < 0)
        return;
    if (q < b || q + len > b + r->body_len)
        abort();
}

static void check_result(const struct tp_cql_result *r) {
    for (int c = 0; r->cols && c < r->ncols; c++)
        inside(r, r->cols[c].name, r->cols[c].name_len);
    for (int64_t i = 0; i < (int64_t)r->nrows * r->ncols; i++) {
        if (r->lens[i] < 0 && (r->lens[i] != -1 || r->vals[i] != NULL))
            abort();
        inside(r, r->vals[i], r->lens[i]);
    }
    for (int row = 0; row < r->nrows; row++)
        for (int c = 0; c < r->ncols; c++) {
            int64_t x;
            double d;
            tp_cql_get_int64(r, row, c, &x);
            tp_cql_get_double(r, row, c, &d);
        }
    if (r->paging_state)
        inside(r, r->paging_state, r->paging_len);
    if (r->prep_id)
        inside(r, r->prep_id, r->prep_id_len);
}

static void body(uint8_t opcode, const uint8_t *p, size_t n) {
    char msg[128];
    int32_t code;
    const uint8_t *id;
    uint16_t idlen;
    if (tp_cql_parse_error(p, n, &code, msg, sizeof(msg), &id, &idlen) == 0 && id &&
        (id < p || id + idlen > p + n))
        abort();
    uint8_t *copy = malloc(n ? n : 1);
    if (!copy)
        return;
    memcpy(copy, p, n);
    struct tp_cql_result *r = NULL;
    if (tp_cql_parse_result(copy, n, &r) == 0)
        check_result(r);
    tp_cql_result_free(r);
    (void)opcode;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    size_t off = 0;
    while (size - off >= TP_CQL_HEADER_LEN) {
        struct tp_cql_header h;
        if (tp_cql_parse_header(data + off, size - off, &h) < 0) {
            /* still exercise the body decoders on whatever follows */
            body(0x08, data + off + TP_CQL_HEADER_LEN, size - off - TP_CQL_HEADER_LEN);
            return 0;
        }
        off += TP_CQL_HEADER_LEN;
        size_t n = h.length < size - off ? h.length : size - off;
        body(h.opcode, data + off, n);
        off += n;
    }
    return 0;
}
