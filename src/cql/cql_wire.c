/*
 * cql_wire.c - encoding requests and decoding responses of the CQL native
 * protocol v4 (apache/cassandra doc/native_protocol_v4.spec).
 *
 * Pure functions on byte buffers: no sockets, no session state, so the
 * response decoders can be unit-tested and fuzzed (fuzz/fuzz_cql.c).
 * Decoders treat every byte as untrusted: every length is checked against
 * what is left, counts are bounded by the bytes that could hold them, and
 * nested type options have a depth limit.
 *
 * Threads: any; no shared state.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "cql_int.h"
#include "../core/tp_error.h"

/* ------------------------------------------------------------ buffers */
void tp_cql_buf_put(struct tp_buf *b, const void *p, size_t n) {
    if (n == 0 || tp_buf_reserve(b, n) < 0)
        return;
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

void tp_cql_buf_u8(struct tp_buf *b, uint8_t x) { tp_cql_buf_put(b, &x, 1); }

void tp_cql_buf_u16(struct tp_buf *b, uint16_t x) {
    uint8_t p[2] = {(uint8_t)(x >> 8), (uint8_t)x};
    tp_cql_buf_put(b, p, 2);
}

void tp_cql_buf_u32(struct tp_buf *b, uint32_t x) {
    uint8_t p[4] = {(uint8_t)(x >> 24), (uint8_t)(x >> 16), (uint8_t)(x >> 8), (uint8_t)x};
    tp_cql_buf_put(b, p, 4);
}

void tp_cql_buf_u64(struct tp_buf *b, uint64_t x) {
    tp_cql_buf_u32(b, (uint32_t)(x >> 32));
    tp_cql_buf_u32(b, (uint32_t)x);
}

void tp_cql_buf_string(struct tp_buf *b, const char *s) {
    size_t n = strlen(s);
    tp_cql_buf_u16(b, (uint16_t)n);
    tp_cql_buf_put(b, s, n);
}

void tp_cql_buf_long_string(struct tp_buf *b, const char *s) {
    size_t n = strlen(s);
    tp_cql_buf_u32(b, (uint32_t)n);
    tp_cql_buf_put(b, s, n);
}

void tp_cql_buf_short_bytes(struct tp_buf *b, const uint8_t *p, uint16_t n) {
    tp_cql_buf_u16(b, n);
    tp_cql_buf_put(b, p, n);
}

void tp_cql_buf_free(struct tp_buf *b) {
    free(b->p);
    memset(b, 0, sizeof(*b));
}

void tp_cql_buf_header(struct tp_buf *b, int16_t stream, uint8_t opcode, uint32_t n) {
    tp_cql_buf_u8(b, 0x04);
    tp_cql_buf_u8(b, 0);
    tp_cql_buf_u16(b, (uint16_t)stream);
    tp_cql_buf_u8(b, opcode);
    tp_cql_buf_u32(b, n);
}

void tp_cql_buf_patch_len(struct tp_buf *b, size_t off) {
    if (b->oom || b->len < off + TP_CQL_HEADER_LEN)
        return;
    uint32_t n = (uint32_t)(b->len - off - TP_CQL_HEADER_LEN);
    uint8_t *p = b->p + off + 5;
    p[0] = (uint8_t)(n >> 24);
    p[1] = (uint8_t)(n >> 16);
    p[2] = (uint8_t)(n >> 8);
    p[3] = (uint8_t)n;
}

void tp_cql_buf_query_params(struct tp_buf *b, int consistency, const struct tp_cql_values *v,
                             int page_size, const uint8_t *paging_state, int32_t paging_len,
                             int64_t ts) {
    uint8_t flags = 0;
    if (v && v->n > 0)
        flags |= 0x01;
    if (page_size > 0)
        flags |= 0x04;
    if (paging_state)
        flags |= 0x08;
    if (ts > 0)
        flags |= 0x20;
    tp_cql_buf_u16(b, (uint16_t)consistency);
    tp_cql_buf_u8(b, flags);
    if (flags & 0x01) {
        tp_cql_buf_u16(b, (uint16_t)v->n);
        tp_cql_buf_put(b, v->buf, v->len);
    }
    if (flags & 0x04)
        tp_cql_buf_u32(b, (uint32_t)page_size);
    if (flags & 0x08) {
        tp_cql_buf_u32(b, (uint32_t)paging_len);
        tp_cql_buf_put(b, paging_state, (size_t)paging_len);
    }
    if (flags & 0x20)
        tp_cql_buf_u64(b, (uint64_t)ts);
}

/* ------------------------------------------------------------ values */
static void values_put(struct tp_cql_values *v, const void *p, size_t n, int32_t wire_len) {
    size_t need = v->len + 4 + n;
    if (v->oom)
        return;
    if (need > v->cap) {
        size_t cap = v->cap ? v->cap : 128;
        while (cap < need)
            cap *= 2;
        uint8_t *nb = realloc(v->buf, cap);
        if (!nb) {
            v->oom = 1;
            return;
        }
        v->buf = nb;
        v->cap = cap;
    }
    uint8_t *d = v->buf + v->len;
    uint32_t l = (uint32_t)wire_len;
    d[0] = (uint8_t)(l >> 24);
    d[1] = (uint8_t)(l >> 16);
    d[2] = (uint8_t)(l >> 8);
    d[3] = (uint8_t)l;
    if (n)
        memcpy(d + 4, p, n);
    v->len = need;
    v->n++;
}

void tp_cql_values_reset(struct tp_cql_values *v) {
    v->len = 0;
    v->n = 0;
    v->oom = 0;
}

void tp_cql_values_free(struct tp_cql_values *v) {
    free(v->buf);
    memset(v, 0, sizeof(*v));
}

void tp_cql_add_null(struct tp_cql_values *v) { values_put(v, NULL, 0, -1); }

void tp_cql_add_text(struct tp_cql_values *v, const char *s, size_t len) {
    values_put(v, s, len, (int32_t)len);
}

void tp_cql_add_blob(struct tp_cql_values *v, const void *p, size_t len) {
    values_put(v, p, len, (int32_t)len);
}

static void put_be(struct tp_cql_values *v, uint64_t x, int n) {
    uint8_t p[8];
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(x >> (8 * (n - 1 - i)));
    values_put(v, p, (size_t)n, n);
}

void tp_cql_add_bigint(struct tp_cql_values *v, int64_t x) { put_be(v, (uint64_t)x, 8); }
void tp_cql_add_int(struct tp_cql_values *v, int32_t x) { put_be(v, (uint32_t)x, 4); }

void tp_cql_add_double(struct tp_cql_values *v, double x) {
    uint64_t u;
    memcpy(&u, &x, 8);
    put_be(v, u, 8);
}

void tp_cql_add_uuid(struct tp_cql_values *v, const uint8_t uuid[16]) {
    values_put(v, uuid, 16, 16);
}

void tp_cql_add_date(struct tp_cql_values *v, int32_t days) {
    put_be(v, (uint32_t)days + 0x80000000u, 4);
}

/* ------------------------------------------------------------ decoding */
struct rd {
    const uint8_t *p;
    size_t len, off;
    int bad;
};

static const uint8_t *rd_take(struct rd *r, size_t n) {
    if (r->bad || r->len - r->off < n) {
        r->bad = 1;
        return NULL;
    }
    const uint8_t *p = r->p + r->off;
    r->off += n;
    return p;
}

static uint16_t rd_u16(struct rd *r) {
    const uint8_t *p = rd_take(r, 2);
    return p ? cql_rd16(p) : 0;
}

static int32_t rd_i32(struct rd *r) {
    const uint8_t *p = rd_take(r, 4);
    return p ? (int32_t)cql_rd32(p) : 0;
}

/* [string]: returns a pointer into the buffer and its length. */
static const uint8_t *rd_string(struct rd *r, uint16_t *n) {
    *n = rd_u16(r);
    return rd_take(r, *n);
}

/* [bytes]: length -1 (or any negative) is NULL. */
static const uint8_t *rd_bytes(struct rd *r, int32_t *n) {
    *n = rd_i32(r);
    if (*n < 0) {
        *n = -1;
        return NULL;
    }
    return rd_take(r, (size_t)*n);
}

/* Skips a type [option], returning its id. */
static uint16_t rd_option(struct rd *r, int depth) {
    uint16_t id = rd_u16(r), n, cnt;
    if (depth > 16) {
        r->bad = 1;
        return 0;
    }
    switch (id) {
    case 0x0000:
        rd_string(r, &n);
        break;
    case 0x0020:
    case 0x0022:
        rd_option(r, depth + 1);
        break;
    case 0x0021:
        rd_option(r, depth + 1);
        rd_option(r, depth + 1);
        break;
    case 0x0030:
        rd_string(r, &n);
        rd_string(r, &n);
        cnt = rd_u16(r);
        for (unsigned i = 0; i < cnt && !r->bad; i++) {
            rd_string(r, &n);
            rd_option(r, depth + 1);
        }
        break;
    case 0x0031:
        cnt = rd_u16(r);
        for (unsigned i = 0; i < cnt && !r->bad; i++)
            rd_option(r, depth + 1);
        break;
    default:
        break;
    }
    return id;
}

int tp_cql_parse_header(const uint8_t *p, size_t len, struct tp_cql_header *h) {
    if (len < TP_CQL_HEADER_LEN)
        return TP_EPARSE;
    h->version = p[0];
    h->flags = p[1];
    h->stream = (int16_t)cql_rd16(p + 2);
    h->opcode = p[4];
    h->length = cql_rd32(p + 5);
    if (h->version != 0x84 || h->length > TP_CQL_MAX_BODY)
        return TP_EPROTO;
    return 0;
}

/* Reads <metadata> of a Rows result into r. */
static int parse_metadata(struct rd *rd, struct tp_cql_result *r) {
    int32_t flags = rd_i32(rd);
    int32_t ncols = rd_i32(rd);
    uint16_t n;
    if (rd->bad || ncols < 0 || (size_t)ncols > rd->len)
        return TP_EPARSE;
    if (flags & 0x0002)
        r->paging_state = rd_bytes(rd, &r->paging_len);
    if (rd->bad)
        return TP_EPARSE;
    r->ncols = ncols;
    if (flags & 0x0004)
        return 0;   /* no_metadata: the caller knows the columns */
    if (flags & 0x0001) {
        rd_string(rd, &n);
        rd_string(rd, &n);
    }
    r->cols = calloc((size_t)ncols + 1, sizeof(*r->cols));
    if (!r->cols)
        return TP_ENOMEM;
    for (int i = 0; i < ncols && !rd->bad; i++) {
        if (!(flags & 0x0001)) {
            rd_string(rd, &n);
            rd_string(rd, &n);
        }
        r->cols[i].name = (const char *)rd_string(rd, &r->cols[i].name_len);
        r->cols[i].type = rd_option(rd, 0);
    }
    return rd->bad ? TP_EPARSE : 0;
}

static int parse_rows(struct rd *rd, struct tp_cql_result *r) {
    int rc = parse_metadata(rd, r);
    if (rc < 0)
        return rc;
    int32_t nrows = rd_i32(rd);
    if (rd->bad || nrows < 0 || (r->ncols == 0 && nrows > 0))
        return TP_EPARSE;   /* rows without columns would be free to claim */
    uint64_t cells = (uint64_t)nrows * (uint64_t)r->ncols;
    if (cells * 4 > rd->len - rd->off)
        return TP_EPARSE;
    r->nrows = nrows;
    r->vals = calloc(cells + 1, sizeof(*r->vals));
    r->lens = calloc(cells + 1, sizeof(*r->lens));
    if (!r->vals || !r->lens)
        return TP_ENOMEM;
    for (uint64_t i = 0; i < cells && !rd->bad; i++)
        r->vals[i] = rd_bytes(rd, &r->lens[i]);
    return rd->bad ? TP_EPARSE : 0;
}

int tp_cql_parse_result(uint8_t *body, size_t body_len, struct tp_cql_result **out) {
    struct rd rd = {body, body_len, 0, 0};
    struct tp_cql_result *r = calloc(1, sizeof(*r));
    int rc = 0;
    *out = NULL;
    if (!r) {
        free(body);
        return TP_ENOMEM;
    }
    r->body = body;
    r->body_len = body_len;
    r->kind = rd_i32(&rd);
    if (rd.bad) {
        rc = TP_EPARSE;
    } else if (r->kind == TP_CQL_RESULT_ROWS) {
        rc = parse_rows(&rd, r);
    } else if (r->kind == TP_CQL_RESULT_PREPARED) {
        r->prep_id = rd_string(&rd, &r->prep_id_len);
        rc = rd.bad ? TP_EPARSE : 0;
    } else if (r->kind < TP_CQL_RESULT_VOID || r->kind > TP_CQL_RESULT_SCHEMA_CHANGE) {
        rc = TP_EPARSE;
    }
    if (rc < 0) {
        tp_cql_result_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

void tp_cql_result_free(struct tp_cql_result *r) {
    if (!r)
        return;
    free(r->cols);
    free(r->vals);
    free(r->lens);
    free(r->body);
    free(r);
}

int tp_cql_parse_error(const uint8_t *body, size_t len, int32_t *code, char *msg,
                       size_t msgsize, const uint8_t **id, uint16_t *id_len) {
    struct rd rd = {body, len, 0, 0};
    uint16_t n;
    *code = rd_i32(&rd);
    const uint8_t *m = rd_string(&rd, &n);
    if (rd.bad)
        return TP_EPARSE;
    if (msg && msgsize) {
        size_t k = n < msgsize - 1 ? n : msgsize - 1;
        memcpy(msg, m, k);
        msg[k] = '\0';
    }
    if (id) {
        *id = NULL;
        *id_len = 0;
        if (*code == CQL_ERR_UNPREPARED) {
            *id = rd_string(&rd, id_len);
            if (rd.bad)
                return TP_EPARSE;
        }
    }
    return 0;
}

/* ------------------------------------------------------------ accessors */
static const uint8_t *cell(const struct tp_cql_result *r, int row, int col, int32_t *len) {
    if (row < 0 || row >= r->nrows || col < 0 || col >= r->ncols) {
        *len = -2;
        return NULL;
    }
    size_t i = (size_t)row * (size_t)r->ncols + (size_t)col;
    *len = r->lens[i];
    return r->vals[i];
}

int tp_cql_get_int64(const struct tp_cql_result *r, int row, int col, int64_t *out) {
    int32_t n;
    const uint8_t *p = cell(r, row, col, &n);
    if (n == -1)
        return TP_ENOTFOUND;
    if (!p || (n != 8 && n != 4 && n != 2 && n != 1))
        return TP_EPARSE;
    int64_t x = (int8_t)p[0];   /* sign-extend from the first byte */
    for (int32_t i = 1; i < n; i++)
        x = (int64_t)((uint64_t)x << 8 | p[i]);
    *out = x;
    return 0;
}

int tp_cql_get_double(const struct tp_cql_result *r, int row, int col, double *out) {
    int32_t n;
    const uint8_t *p = cell(r, row, col, &n);
    if (n == -1)
        return TP_ENOTFOUND;
    if (!p || (n != 8 && n != 4))
        return TP_EPARSE;
    if (n == 4) {
        uint32_t u = cql_rd32(p);
        float f;
        memcpy(&f, &u, 4);
        *out = f;
        return 0;
    }
    uint64_t u = (uint64_t)cql_rd32(p) << 32 | cql_rd32(p + 4);
    memcpy(out, &u, 8);
    return 0;
}

/* ------------------------------------------------------------ misc */
int tp_cql_consistency_parse(const char *name) {
    static const struct { const char *name; int cl; } t[] = {
        {"any", TP_CQL_ANY}, {"one", TP_CQL_ONE}, {"two", TP_CQL_TWO},
        {"three", TP_CQL_THREE}, {"quorum", TP_CQL_QUORUM}, {"all", TP_CQL_ALL},
        {"local_quorum", TP_CQL_LOCAL_QUORUM}, {"each_quorum", TP_CQL_EACH_QUORUM},
        {"local_one", TP_CQL_LOCAL_ONE}};
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (strcasecmp(name, t[i].name) == 0)
            return t[i].cl;
    return -1;
}

int tp_cql_error_retriable(int32_t code) {
    switch (code) {
    case CQL_ERR_UNAVAILABLE:
    case CQL_ERR_OVERLOADED:
    case CQL_ERR_BOOTSTRAPPING:
    case CQL_ERR_TRUNCATE:
    case CQL_ERR_WRITE_TIMEOUT:
    case CQL_ERR_READ_TIMEOUT:
    case CQL_ERR_READ_FAILURE:
    case CQL_ERR_WRITE_FAILURE:
        return 1;
    default:
        return 0;
    }
}

/* ------------------------------------------------------------ name-based UUIDs */
void tp_cql_uuid_v5(const uint8_t ns[16], const void *name, size_t len, uint8_t out[16]) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx && EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) == 1 &&
        EVP_DigestUpdate(ctx, ns, 16) == 1 && EVP_DigestUpdate(ctx, name, len) == 1)
        EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    if (mdlen < 16)
        memset(md, 0, 16);
    memcpy(out, md, 16);
    out[6] = (uint8_t)((out[6] & 0x0F) | 0x50);   /* version 5 */
    out[8] = (uint8_t)((out[8] & 0x3F) | 0x80);   /* RFC 4122 variant */
}
