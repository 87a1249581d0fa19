/*
 * cql_store_query.c - `tickpipe query` on the Cassandra store: the same
 * columns, order and value formatting as the SQLite store (ticks by symbol,
 * time, seq; bars by symbol, interval, start; latest by symbol), read page
 * by page.
 *
 * Ticks and bars live in bounded partitions ((symbol, day) and (symbol,
 * interval, month)), so a query first lists the partitions it needs: when
 * the symbol (and interval) and both time bounds are given they are
 * enumerated; otherwise SELECT DISTINCT lists the partition keys, which are
 * filtered and sorted here. Then each partition is read with a clustering
 * range on time/start.
 *
 * Threads: the caller's.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/tp_civil.h"
#include "../core/tp_error.h"
#include "../core/tp_fmt.h"
#include "../codec/tp_decode.h"
#include "cql_store_int.h"

#define PAGE 1000
#define DAY_MS 86400000LL
#define MAXCOLS 32

struct part {
    char symbol[128];
    char interval[16];
    int64_t key;                /* day number, or yyyymm */
};

struct parts {
    struct part *p;
    size_t n, cap;
};

struct qctx {
    struct cas *s;
    const struct tp_query *qr;
    tp_query_cb cb;
    void *opaque;
    char *space;
    size_t cap;
    int stopped;
    struct parts parts;
    int64_t lo, hi;             /* partition key bounds */
};

typedef int (*page_cb)(struct qctx *q, const struct tp_cql_result *r);

/* Runs a prepared SELECT page by page, calling fn for each page. */
static int paged(struct qctx *q, int which, const struct tp_cql_values *v, page_cb fn,
                 char *errbuf, size_t errsize) {
    struct tp_cql_result *r = NULL, *prev = NULL;
    int rc;
    do {
        rc = tp_cql_select(q->s->c, q->s->prep[which], v, PAGE, prev ? prev->paging_state : NULL,
                           prev ? prev->paging_len : 0, &r, errbuf, errsize);
        tp_cql_result_free(prev);
        prev = NULL;
        if (rc < 0)
            return TP_ESTORE;
        rc = fn(q, r);
        prev = r;
    } while (rc == 0 && !q->stopped && prev->paging_state);
    tp_cql_result_free(prev);
    return rc;
}

/* ------------------------------------------------------------ rows */
static size_t fmt_cell(const struct tp_cql_result *r, int row, int col, char *dst, size_t room,
                       int *type) {
    size_t i = (size_t)row * (size_t)r->ncols + (size_t)col;
    int64_t x;
    double d;
    switch (r->cols[col].type) {
    case TP_CQL_T_BIGINT:
    case TP_CQL_T_INT:
        *type = 1;
        tp_cql_get_int64(r, row, col, &x);
        return (size_t)snprintf(dst, room, "%" PRId64, x);
    case TP_CQL_T_DOUBLE:
    case TP_CQL_T_FLOAT:
        *type = 2;
        tp_cql_get_double(r, row, col, &d);
        return (size_t)tp_fmt_double(dst, room, d);
    case TP_CQL_T_BLOB:
        *type = 3;
        if ((size_t)(4 * ((r->lens[i] + 2) / 3) + 1) > room)
            return room;
        return tp_base64_encode(r->vals[i], (size_t)r->lens[i], dst);
    default:
        *type = 0;
        return (size_t)snprintf(dst, room, "%.*s", (int)r->lens[i], (const char *)r->vals[i]);
    }
}

static int emit(struct qctx *q, const struct tp_cql_result *r, int row) {
    const char *names[MAXCOLS], *vals[MAXCOLS];
    int types[MAXCOLS], n = r->ncols < MAXCOLS ? r->ncols : MAXCOLS;
    size_t used = 0;
    for (int i = 0; i < n; i++) {
        char *dst = q->space + used;
        names[i] = dst;
        used += (size_t)snprintf(dst, q->cap - used, "%.*s", (int)r->cols[i].name_len,
                                 r->cols[i].name) + 1;
    }
    for (int i = 0; i < n; i++) {
        types[i] = 0;
        if (r->lens[(size_t)row * (size_t)r->ncols + (size_t)i] < 0) {
            vals[i] = NULL;
            continue;
        }
        if (used + 64 > q->cap)
            return TP_ENOMEM;
        vals[i] = q->space + used;
        used += fmt_cell(r, row, i, q->space + used, q->cap - used, &types[i]) + 1;
        if (used > q->cap)
            return TP_ENOMEM;
    }
    if (q->cb(q->opaque, n, names, vals, types))
        q->stopped = 1;
    return 0;
}

static int emit_page(struct qctx *q, const struct tp_cql_result *r) {
    int rc = 0;
    if (!r->cols)
        return TP_EPROTO;
    for (int i = 0; i < r->nrows && rc == 0 && !q->stopped; i++)
        rc = emit(q, r, i);
    return rc;
}

/* ------------------------------------------------------------ partitions */
static int parts_add(struct parts *ps, const char *sym, size_t sl, const char *iv, size_t il,
                     int64_t key) {
    if (ps->n == ps->cap) {
        size_t cap = ps->cap ? ps->cap * 2 : 64;
        struct part *p = realloc(ps->p, cap * sizeof(*p));
        if (!p)
            return TP_ENOMEM;
        ps->p = p;
        ps->cap = cap;
    }
    struct part *p = &ps->p[ps->n++];
    snprintf(p->symbol, sizeof(p->symbol), "%.*s", (int)sl, sym);
    snprintf(p->interval, sizeof(p->interval), "%.*s", (int)il, iv);
    p->key = key;
    return 0;
}

static int part_cmp(const void *a, const void *b) {
    const struct part *x = a, *y = b;
    int c = strcmp(x->symbol, y->symbol);
    if (!c)
        c = strcmp(x->interval, y->interval);
    return c ? c : (x->key > y->key) - (x->key < y->key);
}

static int str_eq(const char *want, const uint8_t *p, int32_t len) {
    return !want || (len >= 0 && strlen(want) == (size_t)len && memcmp(want, p, (size_t)len) == 0);
}

/* A big-endian 32-bit value as CQL encodes an int. */
static uint32_t rd_be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A page of SELECT DISTINCT: keeps the partitions the query wants. */
static int collect_parts(struct qctx *q, const struct tp_cql_result *r) {
    int bars = q->qr->kind == TP_QUERY_BARS;
    for (int i = 0; i < r->nrows; i++) {
        const uint8_t *const *v = r->vals + (size_t)i * (size_t)r->ncols;
        const int32_t *l = r->lens + (size_t)i * (size_t)r->ncols;
        int kc = bars ? 2 : 1;
        int64_t key = 0;
        if (l[0] < 0 || l[kc] != 4)
            continue;
        key = bars ? (int32_t)rd_be32(v[kc]) : (int64_t)rd_be32(v[kc]) - 0x80000000LL;
        if (!str_eq(q->qr->symbol, v[0], l[0]) || key < q->lo || key > q->hi)
            continue;
        if (bars && (l[1] < 0 || !str_eq(q->qr->interval, v[1], l[1])))
            continue;
        if (parts_add(&q->parts, (const char *)v[0], (size_t)l[0], bars ? (const char *)v[1] : "",
                      bars ? (size_t)l[1] : 0, key) < 0)
            return TP_ENOMEM;
    }
    return 0;
}

static int list_parts(struct qctx *q, char *errbuf, size_t errsize) {
    const struct tp_query *qr = q->qr;
    int bars = qr->kind == TP_QUERY_BARS;
    /* Days are clamped to +-10 million (27,000 years) so months stay in int32. */
    int64_t d0 = tp_floor_div(qr->from, DAY_MS), d1 = tp_floor_div(qr->to, DAY_MS);
    d0 = d0 < -10000000 ? -10000000 : d0 > 10000000 ? 10000000 : d0;
    d1 = d1 < -10000000 ? -10000000 : d1 > 10000000 ? 10000000 : d1;
    q->lo = bars ? tp_cas_month_of_day(d0) : d0;
    q->hi = bars ? tp_cas_month_of_day(d1) : d1;
    int bounded = qr->from != INT64_MIN && qr->to != INT64_MAX && qr->symbol &&
                  (!bars || qr->interval) && d1 - d0 <= 3660;
    if (bounded) {
        for (int64_t k = q->lo; k <= q->hi; k = bars ? tp_cas_next_month((int32_t)k) : k + 1)
            if (parts_add(&q->parts, qr->symbol, strlen(qr->symbol), bars ? qr->interval : "",
                          bars ? strlen(qr->interval) : 0, k) < 0)
                return TP_ENOMEM;
        return 0;
    }
    int rc = paged(q, bars ? P_Q_BAR_PARTS : P_Q_TICK_PARTS, NULL, collect_parts, errbuf, errsize);
    if (rc == 0)
        qsort(q->parts.p, q->parts.n, sizeof(*q->parts.p), part_cmp);
    return rc;
}

static int query_parts(struct qctx *q, char *errbuf, size_t errsize) {
    int bars = q->qr->kind == TP_QUERY_BARS;
    struct tp_cql_values v = {0};
    int rc = list_parts(q, errbuf, errsize);
    for (size_t i = 0; rc == 0 && i < q->parts.n && !q->stopped; i++) {
        const struct part *p = &q->parts.p[i];
        tp_cql_values_reset(&v);
        tp_cql_add_text(&v, p->symbol, strlen(p->symbol));
        if (bars) {
            tp_cql_add_text(&v, p->interval, strlen(p->interval));
            tp_cql_add_int(&v, (int32_t)p->key);
        } else {
            tp_cql_add_date(&v, (int32_t)p->key);
        }
        tp_cql_add_bigint(&v, q->qr->from);
        tp_cql_add_bigint(&v, q->qr->to);
        rc = paged(q, bars ? P_Q_BARS : P_Q_TICKS, &v, emit_page, errbuf, errsize);
    }
    tp_cql_values_free(&v);
    return rc;
}

/* ------------------------------------------------------------ latest */
static int latest_in_range(const struct qctx *q, const struct tp_cql_result *r, int row) {
    int64_t t;
    if (tp_cql_get_int64(r, row, 1, &t) < 0)
        return 0;
    return t >= q->qr->from && t <= q->qr->to;
}

struct lrow {
    const struct tp_cql_result *r;
    int row;
};

static int lrow_cmp(const void *a, const void *b) {
    const struct lrow *x = a, *y = b;
    size_t i = (size_t)x->row * (size_t)x->r->ncols, j = (size_t)y->row * (size_t)y->r->ncols;
    int32_t lx = x->r->lens[i], ly = y->r->lens[j];
    int c = memcmp(x->r->vals[i], y->r->vals[j], (size_t)(lx < ly ? lx : ly));
    return c ? c : (lx > ly) - (lx < ly);
}

/* gaps: overlapping [from, to], ordered by symbol then start */
static int gap_in_range(const struct qctx *q, const struct tp_cql_result *r, int row) {
    int64_t start, stop;
    if (tp_cql_get_int64(r, row, 1, &start) < 0 || tp_cql_get_int64(r, row, 2, &stop) < 0)
        return 0;
    return stop >= q->qr->from && start <= q->qr->to;
}

static int grow_cmp(const void *a, const void *b) {
    int c = lrow_cmp(a, b);
    if (c)
        return c;
    const struct lrow *x = a, *y = b;
    int64_t sx = 0, sy = 0;
    tp_cql_get_int64(x->r, x->row, 1, &sx);
    tp_cql_get_int64(y->r, y->row, 1, &sy);
    return (sx > sy) - (sx < sy);
}

/* Tables read whole (latest, gaps: one small row per symbol or per
 * outage): every page is kept, rows in range are sorted, then emitted. */
static int query_small(struct qctx *q, int which, int (*in_range)(const struct qctx *, const struct tp_cql_result *, int),
                       int (*cmp)(const void *, const void *), char *errbuf, size_t errsize) {
    struct tp_cql_values v = {0};
    struct tp_cql_result *r = NULL, *prev = NULL;
    struct lrow *rows = NULL;
    struct tp_cql_result **pages = NULL;
    size_t nrows = 0, npages = 0;
    int rc = 0;
    if (q->qr->symbol)
        tp_cql_add_text(&v, q->qr->symbol, strlen(q->qr->symbol));
    do {    /* every page is kept: the rows are sorted by symbol at the end */
        rc = tp_cql_select(q->s->c, q->s->prep[which], &v, PAGE, prev ? prev->paging_state : NULL,
                           prev ? prev->paging_len : 0, &r, errbuf, errsize);
        if (rc < 0)
            break;
        struct tp_cql_result **np = realloc(pages, (npages + 1) * sizeof(*np));
        struct lrow *nr = realloc(rows, (nrows + (size_t)r->nrows + 1) * sizeof(*nr));
        if (np)
            pages = np;
        if (nr)
            rows = nr;
        if (!np || !nr || !r->cols) {
            tp_cql_result_free(r);
            rc = TP_ENOMEM;
            break;
        }
        pages[npages++] = r;
        for (int i = 0; i < r->nrows; i++)
            if (in_range(q, r, i))
                rows[nrows++] = (struct lrow){r, i};
        prev = r;
    } while (prev->paging_state);
    if (rc == 0) {
        qsort(rows, nrows, sizeof(*rows), cmp);
        for (size_t i = 0; i < nrows && rc == 0 && !q->stopped; i++)
            rc = emit(q, rows[i].r, rows[i].row);
    }
    for (size_t i = 0; i < npages; i++)
        tp_cql_result_free(pages[i]);
    free(pages);
    free(rows);
    tp_cql_values_free(&v);
    return rc < 0 ? TP_ESTORE : 0;
}

int tp_cas_query(struct tp_store *b, const struct tp_query *qr, tp_query_cb cb, void *opaque,
              char *errbuf, size_t errsize) {
    struct qctx q = {(struct cas *)b, qr, cb, opaque, NULL, 1 << 18, 0, {0}, 0, 0};
    q.space = malloc(q.cap);
    if (!q.space)
        return tp_errf(errbuf, errsize, TP_ENOMEM, "cassandra query: out of memory");
    int one = qr->symbol != NULL, rc;
    if (qr->kind == TP_QUERY_GAPS && !q.s->prep[P_Q_GAPS_ALL]) {
        free(q.space);
        return 0;   /* a keyspace from before the gaps table: no gap was recorded */
    }
    if (qr->kind == TP_QUERY_LATEST)
        rc = query_small(&q, one ? P_Q_LATEST1 : P_Q_LATEST_ALL, latest_in_range, lrow_cmp, errbuf,
                         errsize);
    else if (qr->kind == TP_QUERY_GAPS)
        rc = query_small(&q, one ? P_Q_GAPS1 : P_Q_GAPS_ALL, gap_in_range, grow_cmp, errbuf,
                         errsize);
    else
        rc = query_parts(&q, errbuf, errsize);
    free(q.space);
    free(q.parts.p);
    if (rc == TP_ENOMEM)
        tp_errf(errbuf, errsize, rc, "cassandra query: out of memory");
    return rc < 0 ? rc : 0;
}
