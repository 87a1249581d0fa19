/*
 * cql_session.c - the CQL session: nodes, request multiplexing, retries.
 *
 * Each node has at most one connection carrying up to max_in_flight requests,
 * each on its own stream id; responses are matched by stream id in whatever
 * order they come. A request lives in exactly one place: the pending queue
 * (not sent yet, maybe waiting out a backoff), a node's stream table (sent),
 * or a PREPARE's `then` link (waiting for a re-prepare). Every request ends
 * in complete(), which either hands a result to a synchronous caller or
 * counts an asynchronous write as done (remembering the first fatal error
 * for tp_cql_wait()).
 *
 * Retries: Overloaded, Unavailable, timeouts, read/write failures, dropped
 * connections and request timeouts are retried with exponential backoff and
 * jitter up to max_attempts (safe: all our statements are idempotent).
 * Unprepared triggers a PREPARE on the same node, then the request is resent.
 * Syntax, invalid, unauthorized and authentication errors are fatal.
 *
 * Threads: the caller's thread only; nothing here is shared.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cql_int.h"
#include "../core/tp_error.h"
#include "../core/tp_log.h"

#define CQL_MSG 512

struct tp_cql_prep {
    char *query;
    uint8_t id[256];
    uint16_t id_len;
    struct tp_cql_prep *next;
};

enum req_kind { REQ_QUERY, REQ_EXECUTE, REQ_BATCH, REQ_PREPARE };

struct batch_item {
    struct tp_cql_prep *p;
    size_t off, len;            /* this statement's values in the batch's buffer */
    int n;
};

struct tp_cql_batch {
    struct tp_cql_values v;
    struct batch_item *items;
    int n, cap;
};

struct req {
    enum req_kind kind;
    char *query;                /* QUERY, PREPARE */
    struct tp_cql_prep *prep;   /* EXECUTE; PREPARE: the statement to refresh */
    struct tp_cql_values v;
    struct batch_item *items;
    int nitems;
    int page_size;
    uint8_t *paging;
    int32_t paging_len;
    int attempts, reprepares;
    int64_t not_before, deadline, queued_at;
    int64_t ts;                 /* client timestamp (EXECUTE, BATCH); 0 none */
    int pin;                    /* node to send on, or -1 */
    struct req *then;           /* PREPARE: resend this afterwards */
    int sync, done, rc;
    int internal;               /* a re-prepare nobody waits for */
    struct tp_cql_result *res;
    char msg[CQL_MSG];
    struct req *next;
};

struct node {
    char host[64];
    int port;
    struct cql_conn *cn;
    struct req **streams;
    int16_t *free_ids;
    int nfree, in_flight;
    int64_t retry_at;
    int backoff_ms;
};

struct tp_cql {
    struct tp_cql_config cfg;
    char *hosts, *user, *password, *tls_ca;
    void *tls;
    struct node *nodes;
    int nnodes, cap_nodes, rr;
    struct req *q_head, *q_tail;
    int queued, async_open;
    int err_code;
    char err[CQL_MSG];
    struct tp_cql_prep *preps;
    uint64_t rng;
    int64_t write_ts;           /* tp_cql_set_timestamp; 0 none */
    struct tp_cql_stats st;
};

static int pump(struct tp_cql *c, int timeout_ms);

/* ------------------------------------------------------------ config */
void tp_cql_config_init(struct tp_cql_config *cfg) {
    memset(cfg, 0, sizeof(*cfg));
    cfg->default_port = 9042;
    cfg->connect_timeout_ms = 5000;
    cfg->request_timeout_ms = 12000;
    cfg->consistency = TP_CQL_LOCAL_QUORUM;
    cfg->max_in_flight = 1024;
    cfg->max_attempts = 10;
    cfg->discover_peers = 1;
}

/* ------------------------------------------------------------ queue */
static void enqueue(struct tp_cql *c, struct req *r, int front) {
    r->next = NULL;
    r->queued_at = tp_cql_now_ms();
    if (!c->q_head) {
        c->q_head = c->q_tail = r;
    } else if (front) {
        r->next = c->q_head;
        c->q_head = r;
    } else {
        c->q_tail->next = r;
        c->q_tail = r;
    }
    c->queued++;
}

static void req_free(struct req *r) {
    if (!r)
        return;
    free(r->query);
    tp_cql_values_free(&r->v);
    free(r->items);
    free(r->paging);
    tp_cql_result_free(r->res);
    free(r);
}

static void complete(struct tp_cql *c, struct req *r, int rc, const char *msg) {
    if (r->then)   /* a failed re-prepare fails the request waiting for it */
        complete(c, r->then, rc, msg);
    r->then = NULL;
    if (r->internal) {
        req_free(r);
        return;
    }
    if (r->sync) {
        r->done = 1;
        r->rc = rc;
        if (rc < 0)
            snprintf(r->msg, sizeof(r->msg), "%s", msg);
        return;
    }
    if (rc < 0 && c->err_code == 0) {
        c->err_code = rc;
        snprintf(c->err, sizeof(c->err), "%s", msg);
    }
    c->async_open--;
    req_free(r);
}

static uint64_t rnd(struct tp_cql *c) {
    c->rng ^= c->rng << 13;
    c->rng ^= c->rng >> 7;
    c->rng ^= c->rng << 17;
    return c->rng;
}

/* Schedules another attempt with exponential backoff and jitter, or fails
 * the request when its attempts are used up. */
static void retry(struct tp_cql *c, struct req *r, const char *why) {
    if (++r->attempts >= c->cfg.max_attempts) {
        char msg[CQL_MSG];
        snprintf(msg, sizeof(msg), "cassandra: gave up after %d attempts: %s", r->attempts, why);
        complete(c, r, TP_EAGAIN, msg);
        return;
    }
    int base = 10 << (r->attempts < 7 ? r->attempts : 7);   /* 20 ms .. 1.28 s */
    r->not_before = tp_cql_now_ms() + base / 2 + (int64_t)(rnd(c) % (uint64_t)base);
    r->pin = -1;
    c->st.retries++;
    tp_debug("cassandra", "retrying (attempt %d): %s", r->attempts + 1, why);
    enqueue(c, r, 0);
}

/* ------------------------------------------------------------ nodes */
static int node_add(struct tp_cql *c, const char *host, int port) {
    for (int i = 0; i < c->nnodes; i++)
        if (c->nodes[i].port == port && strcmp(c->nodes[i].host, host) == 0)
            return i;
    if (c->nnodes == c->cap_nodes) {
        int cap = c->cap_nodes ? c->cap_nodes * 2 : 4;
        struct node *n = realloc(c->nodes, (size_t)cap * sizeof(*n));
        if (!n)
            return TP_ENOMEM;
        c->nodes = n;
        c->cap_nodes = cap;
    }
    struct node *nd = &c->nodes[c->nnodes];
    memset(nd, 0, sizeof(*nd));
    snprintf(nd->host, sizeof(nd->host), "%s", host);
    nd->port = port;
    nd->streams = calloc((size_t)c->cfg.max_in_flight, sizeof(*nd->streams));
    nd->free_ids = calloc((size_t)c->cfg.max_in_flight, sizeof(*nd->free_ids));
    if (!nd->streams || !nd->free_ids) {
        free(nd->streams);
        free(nd->free_ids);
        return TP_ENOMEM;
    }
    return c->nnodes++;
}

static int node_connect(struct tp_cql *c, struct node *nd, char *errbuf, size_t errsize) {
    int rc = tp_cql_conn_open(&nd->cn, nd->host, nd->port, &c->cfg, c->tls, errbuf, errsize);
    if (rc < 0) {
        nd->backoff_ms = nd->backoff_ms ? (nd->backoff_ms * 2 > 5000 ? 5000 : nd->backoff_ms * 2)
                                        : 100;
        nd->retry_at = tp_cql_now_ms() + nd->backoff_ms;
        return rc;
    }
    nd->backoff_ms = 0;
    nd->nfree = c->cfg.max_in_flight;
    for (int i = 0; i < nd->nfree; i++)
        nd->free_ids[i] = (int16_t)(nd->nfree - 1 - i);
    nd->in_flight = 0;
    return 0;
}

/* Closes a node's connection; its in-flight requests are retried. */
static void node_down(struct tp_cql *c, struct node *nd, const char *why) {
    tp_warn("cassandra", "connection to %s:%d lost (%s); retrying its requests", nd->host,
            nd->port, why);
    tp_cql_conn_close(nd->cn);
    nd->cn = NULL;
    nd->retry_at = tp_cql_now_ms() + 50;
    c->st.reconnects++;
    for (int i = 0; i < c->cfg.max_in_flight; i++) {
        struct req *r = nd->streams[i];
        nd->streams[i] = NULL;
        if (r)
            retry(c, r, why);
    }
    nd->in_flight = 0;
}

static int nodes_up(const struct tp_cql *c) {
    int n = 0;
    for (int i = 0; i < c->nnodes; i++)
        n += c->nodes[i].cn != NULL;
    return n;
}

/* ------------------------------------------------------------ encoding */
static void encode(struct tp_cql *c, struct req *r, struct tp_buf *b, int16_t stream) {
    static const uint8_t opcode[] = {CQL_OP_QUERY, CQL_OP_EXECUTE, CQL_OP_BATCH, CQL_OP_PREPARE};
    size_t off = b->len;
    tp_cql_buf_header(b, stream, opcode[r->kind], 0);
    switch (r->kind) {
    case REQ_QUERY:
        tp_cql_buf_long_string(b, r->query);
        tp_cql_buf_query_params(b, c->cfg.consistency, &r->v, r->page_size, r->paging,
                                r->paging_len, 0);
        break;
    case REQ_EXECUTE:
        tp_cql_buf_short_bytes(b, r->prep->id, r->prep->id_len);
        tp_cql_buf_query_params(b, c->cfg.consistency, &r->v, r->page_size, r->paging,
                                r->paging_len, r->ts);
        break;
    case REQ_BATCH:
        tp_cql_buf_u8(b, 1);   /* unlogged */
        tp_cql_buf_u16(b, (uint16_t)r->nitems);
        for (int i = 0; i < r->nitems; i++) {
            const struct batch_item *it = &r->items[i];
            tp_cql_buf_u8(b, 1);
            tp_cql_buf_short_bytes(b, it->p->id, it->p->id_len);
            tp_cql_buf_u16(b, (uint16_t)it->n);
            tp_cql_buf_put(b, r->v.buf + it->off, it->len);
        }
        tp_cql_buf_u16(b, (uint16_t)c->cfg.consistency);
        tp_cql_buf_u8(b, r->ts > 0 ? 0x20 : 0);    /* with default timestamp */
        if (r->ts > 0)
            tp_cql_buf_u64(b, (uint64_t)r->ts);
        break;
    case REQ_PREPARE:
        tp_cql_buf_long_string(b, r->prep ? r->prep->query : r->query);
        break;
    }
    tp_cql_buf_patch_len(b, off);
}

/* Picks a node with a free stream: the pinned one, else round robin. */
static struct node *pick(struct tp_cql *c, int pin) {
    if (pin >= 0) {
        struct node *nd = &c->nodes[pin];
        return nd->cn && nd->nfree > 0 ? nd : NULL;
    }
    for (int k = 0; k < c->nnodes; k++) {
        struct node *nd = &c->nodes[(c->rr + k) % c->nnodes];
        if (nd->cn && nd->nfree > 0) {
            c->rr = (c->rr + k + 1) % c->nnodes;
            return nd;
        }
    }
    return NULL;
}

static void send_req(struct tp_cql *c, struct node *nd, struct req *r) {
    int16_t stream = nd->free_ids[--nd->nfree];
    nd->streams[stream] = r;
    nd->in_flight++;
    if (nd->in_flight > c->st.max_in_flight)
        c->st.max_in_flight = nd->in_flight;
    r->deadline = tp_cql_now_ms() + c->cfg.request_timeout_ms;
    c->st.requests++;
    encode(c, r, tp_cql_conn_out(nd->cn), stream);
}

/* Moves due requests from the queue onto connections. Returns the time of
 * the next backoff expiry (or INT64_MAX). */
static int64_t dispatch(struct tp_cql *c) {
    int64_t now = tp_cql_now_ms(), next = INT64_MAX;
    struct req **pp = &c->q_head, *prev = NULL;
    int up = nodes_up(c);
    while (*pp) {
        struct req *r = *pp;
        struct node *nd = NULL;
        if (r->not_before > now) {
            next = r->not_before < next ? r->not_before : next;
        } else if (r->pin >= 0 && !c->nodes[r->pin].cn) {
            r->pin = -1;    /* its node went away: any node will do */
            continue;
        } else if (!up && now - r->queued_at > c->cfg.request_timeout_ms) {
            *pp = r->next;
            c->queued--;
            complete(c, r, TP_EIO, "cassandra: no node reachable within request-timeout");
            continue;
        } else {
            nd = pick(c, r->pin);
        }
        if (!nd) {
            prev = r;
            pp = &r->next;
            continue;
        }
        *pp = r->next;
        c->queued--;
        send_req(c, nd, r);
    }
    c->q_tail = prev;
    if (c->q_tail)
        while (c->q_tail->next)
            c->q_tail = c->q_tail->next;
    return next;
}

/* ------------------------------------------------------------ responses */
static struct tp_cql_prep *prep_by_id(struct req *r, const uint8_t *id, uint16_t len) {
    if (r->kind == REQ_EXECUTE)
        return r->prep;
    for (int i = 0; i < r->nitems; i++)
        if (r->items[i].p->id_len == len && memcmp(r->items[i].p->id, id, len) == 0)
            return r->items[i].p;
    return r->nitems ? r->items[0].p : NULL;
}

static void on_unprepared(struct tp_cql *c, struct node *nd, struct req *r, const uint8_t *id,
                          uint16_t id_len, const char *msg) {
    struct tp_cql_prep *p = prep_by_id(r, id, id_len);
    struct req *pr = p && r->reprepares < 5 ? calloc(1, sizeof(*pr)) : NULL;
    if (!pr) {
        complete(c, r, TP_ESTORE, msg);
        return;
    }
    r->reprepares++;
    c->st.reprepares++;
    pr->kind = REQ_PREPARE;
    pr->prep = p;
    pr->then = r;
    pr->pin = (int)(nd - c->nodes);
    pr->internal = 1;   /* owned by the chain, never counted as a write */
    enqueue(c, pr, 1);
}

static void on_error(struct tp_cql *c, struct node *nd, struct req *r, uint8_t *body,
                     size_t len) {
    int32_t code = 0;
    char msg[CQL_MSG - 160], full[CQL_MSG];
    const uint8_t *id = NULL;
    uint16_t id_len = 0;
    if (tp_cql_parse_error(body, len, &code, msg, sizeof(msg), &id, &id_len) < 0)
        snprintf(msg, sizeof(msg), "malformed ERROR response");
    snprintf(full, sizeof(full), "cassandra: %s:%d: error 0x%04x: %s", nd->host, nd->port, code,
             msg);
    if (code == CQL_ERR_UNPREPARED)
        on_unprepared(c, nd, r, id, id_len, full);
    else if (tp_cql_error_retriable(code))
        retry(c, r, full);
    else
        complete(c, r, code == CQL_ERR_AUTH || code == CQL_ERR_UNAUTHORIZED ? TP_EAUTH
                       : TP_ESTORE, full);
}

static void on_prepared(struct tp_cql *c, struct req *r, struct tp_cql_result *res) {
    struct tp_cql_prep *p = r->prep;
    if (p) {
        p->id_len = res->prep_id_len;
        memcpy(p->id, res->prep_id, res->prep_id_len);
    }
    if (r->then) {
        struct req *t = r->then;
        r->then = NULL;
        t->pin = r->pin;
        t->not_before = 0;
        enqueue(c, t, 1);
    }
    if (r->internal) {
        tp_cql_result_free(res);
        req_free(r);
        return;
    }
    r->res = res;
    complete(c, r, 0, "");
}

static void on_result(struct tp_cql *c, struct req *r, uint8_t *body, size_t len) {
    struct tp_cql_result *res = NULL;
    int rc = tp_cql_parse_result(body, len, &res);
    if (rc < 0) {
        complete(c, r, TP_EPROTO, "cassandra: malformed RESULT response");
        return;
    }
    if (r->kind == REQ_PREPARE) {
        if (res->kind != TP_CQL_RESULT_PREPARED || res->prep_id_len > sizeof(r->prep->id)) {
            tp_cql_result_free(res);
            complete(c, r, TP_EPROTO, "cassandra: PREPARE did not return a prepared id");
            return;
        }
        on_prepared(c, r, res);
        return;
    }
    if (r->sync)
        r->res = res;
    else
        tp_cql_result_free(res);
    complete(c, r, 0, "");
}

struct frame_ctx {
    struct tp_cql *c;
    struct node *nd;
};

static int on_frame(void *opaque, const struct tp_cql_header *h, uint8_t *body, size_t len) {
    struct frame_ctx *fc = opaque;
    struct node *nd = fc->nd;
    if (h->stream < 0 || h->stream >= fc->c->cfg.max_in_flight || !nd->streams[h->stream]) {
        free(body);     /* an EVENT, or an answer to a request we gave up on */
        return 0;
    }
    struct req *r = nd->streams[h->stream];
    nd->streams[h->stream] = NULL;
    nd->free_ids[nd->nfree++] = h->stream;
    nd->in_flight--;
    if (h->opcode == CQL_OP_RESULT) {
        on_result(fc->c, r, body, len);
        return 0;
    }
    if (h->opcode == CQL_OP_ERROR)
        on_error(fc->c, nd, r, body, len);
    else
        complete(fc->c, r, TP_EPROTO, "cassandra: unexpected response opcode");
    free(body);
    return 0;
}

/* ------------------------------------------------------------ the loop */
static void reconnect_due(struct tp_cql *c) {
    int64_t now = tp_cql_now_ms();
    for (int i = 0; i < c->nnodes; i++) {
        struct node *nd = &c->nodes[i];
        char err[CQL_MSG];
        if (nd->cn || nd->retry_at > now)
            continue;
        if (node_connect(c, nd, err, sizeof(err)) < 0)
            tp_warn("cassandra", "%s", err);
        else
            tp_info("cassandra", "reconnected to %s:%d", nd->host, nd->port);
    }
}

static void check_timeouts(struct tp_cql *c) {
    int64_t now = tp_cql_now_ms();
    for (int i = 0; i < c->nnodes; i++) {
        struct node *nd = &c->nodes[i];
        for (int s = 0; nd->cn && nd->in_flight && s < c->cfg.max_in_flight; s++) {
            if (nd->streams[s] && nd->streams[s]->deadline < now) {
                c->st.timeouts++;
                node_down(c, nd, "request-timeout passed");
            }
        }
    }
}

static int pump(struct tp_cql *c, int timeout_ms) {
    struct pollfd pfd[64];
    int idx[64], n = 0;
    reconnect_due(c);
    int64_t next = dispatch(c), now = tp_cql_now_ms();
    for (int i = 0; i < c->nnodes && n < 64; i++) {
        struct node *nd = &c->nodes[i];
        if (!nd->cn)
            continue;
        if (tp_cql_conn_flush(nd->cn) < 0) {
            node_down(c, nd, "write failed");
            continue;
        }
        pfd[n].fd = tp_cql_conn_fd(nd->cn);
        pfd[n].events = (short)(POLLIN | (tp_cql_conn_want_write(nd->cn) ? POLLOUT : 0));
        idx[n++] = i;
    }
    int64_t wait = timeout_ms;
    if (next != INT64_MAX && next - now < wait)
        wait = next - now > 0 ? next - now : 0;
    if (n == 0 && c->queued)
        wait = wait > 20 ? 20 : wait;
    poll(pfd, (nfds_t)n, (int)wait);
    for (int k = 0; k < n; k++) {
        struct node *nd = &c->nodes[idx[k]];
        struct frame_ctx fc = {c, nd};
        if (!nd->cn || !(pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        int rc = tp_cql_conn_read(nd->cn, on_frame, &fc);
        if (rc < 0)
            node_down(c, nd, rc == TP_ECLOSED ? "closed by server" : tp_strerror(rc));
    }
    check_timeouts(c);
    return 0;
}

/* Runs a request to completion; the caller owns r afterwards. */
static int run_sync(struct tp_cql *c, struct req *r, char *errbuf, size_t errsize) {
    r->sync = 1;
    r->pin = -1;
    enqueue(c, r, 0);
    while (!r->done)
        pump(c, 50);
    if (r->rc < 0)
        tp_errf(errbuf, errsize, r->rc, "%s", r->msg);
    return r->rc;
}

/* ------------------------------------------------------------ public API */
int tp_cql_query(struct tp_cql *c, const char *cql, struct tp_cql_result **res,
                 char *errbuf, size_t errsize) {
    struct req *r = calloc(1, sizeof(*r));
    if (!r || !(r->query = strdup(cql))) {
        free(r);
        return tp_errf(errbuf, errsize, TP_ENOMEM, "cassandra: out of memory");
    }
    r->kind = REQ_QUERY;
    int rc = run_sync(c, r, errbuf, errsize);
    if (rc == 0 && res) {
        *res = r->res;
        r->res = NULL;
    }
    req_free(r);
    return rc;
}

int tp_cql_prepare(struct tp_cql *c, const char *cql, struct tp_cql_prep **out,
                   char *errbuf, size_t errsize) {
    struct tp_cql_prep *p = calloc(1, sizeof(*p));
    struct req *r = calloc(1, sizeof(*r));
    if (!p || !r || !(p->query = strdup(cql))) {
        free(p);
        free(r);
        return tp_errf(errbuf, errsize, TP_ENOMEM, "cassandra: out of memory");
    }
    r->kind = REQ_PREPARE;
    r->prep = p;
    int rc = run_sync(c, r, errbuf, errsize);
    req_free(r);
    if (rc < 0) {
        free(p->query);
        free(p);
        return rc;
    }
    p->next = c->preps;
    c->preps = p;
    *out = p;
    return 0;
}

static int copy_values(struct tp_cql_values *dst, const struct tp_cql_values *v) {
    if (!v || v->n == 0)
        return 0;
    if (v->oom)
        return TP_ENOMEM;
    dst->buf = malloc(v->len);
    if (!dst->buf)
        return TP_ENOMEM;
    memcpy(dst->buf, v->buf, v->len);
    dst->len = dst->cap = v->len;
    dst->n = v->n;
    return 0;
}

int tp_cql_select(struct tp_cql *c, struct tp_cql_prep *p, const struct tp_cql_values *v,
                  int page_size, const uint8_t *paging_state, int32_t paging_len,
                  struct tp_cql_result **res, char *errbuf, size_t errsize) {
    struct req *r = calloc(1, sizeof(*r));
    if (!r || copy_values(&r->v, v) < 0 ||
        (paging_state && !(r->paging = malloc((size_t)paging_len + 1)))) {
        req_free(r);
        return tp_errf(errbuf, errsize, TP_ENOMEM, "cassandra: out of memory");
    }
    r->kind = REQ_EXECUTE;
    r->prep = p;
    r->page_size = page_size;
    if (paging_state) {
        memcpy(r->paging, paging_state, (size_t)paging_len);
        r->paging_len = paging_len;
    }
    int rc = run_sync(c, r, errbuf, errsize);
    if (rc == 0) {
        *res = r->res;
        r->res = NULL;
    }
    req_free(r);
    return rc;
}

/* Keeps at most about one connection's worth of requests queued. */
void tp_cql_set_timestamp(struct tp_cql *c, int64_t us) { c->write_ts = us > 0 ? us : 0; }

static void submit_async(struct tp_cql *c, struct req *r) {
    r->pin = -1;
    if (r->kind == REQ_EXECUTE || r->kind == REQ_BATCH)
        r->ts = c->write_ts;
    c->async_open++;
    enqueue(c, r, 0);
    dispatch(c);
    while (c->queued > c->cfg.max_in_flight)
        pump(c, 50);
}

int tp_cql_execute_async(struct tp_cql *c, struct tp_cql_prep *p,
                         const struct tp_cql_values *v) {
    struct req *r = calloc(1, sizeof(*r));
    if (!r || copy_values(&r->v, v) < 0) {
        req_free(r);
        return TP_ENOMEM;
    }
    r->kind = REQ_EXECUTE;
    r->prep = p;
    submit_async(c, r);
    return 0;
}

struct tp_cql_batch *tp_cql_batch_new(void) { return calloc(1, sizeof(struct tp_cql_batch)); }

void tp_cql_batch_free(struct tp_cql_batch *b) {
    if (!b)
        return;
    tp_cql_values_free(&b->v);
    free(b->items);
    free(b);
}

int tp_cql_batch_add(struct tp_cql_batch *b, struct tp_cql_prep *p,
                     const struct tp_cql_values *v) {
    if (v->oom || b->v.oom)
        return TP_ENOMEM;
    if (b->n == b->cap) {
        int cap = b->cap ? b->cap * 2 : 16;
        struct batch_item *it = realloc(b->items, (size_t)cap * sizeof(*it));
        if (!it)
            return TP_ENOMEM;
        b->items = it;
        b->cap = cap;
    }
    struct batch_item *it = &b->items[b->n];
    it->p = p;
    it->off = b->v.len;
    it->len = v->len;
    it->n = v->n;
    size_t need = b->v.len + v->len;
    if (need > b->v.cap) {
        size_t cap = b->v.cap ? b->v.cap : 1024;
        while (cap < need)
            cap *= 2;
        uint8_t *nb = realloc(b->v.buf, cap);
        if (!nb)
            return TP_ENOMEM;
        b->v.buf = nb;
        b->v.cap = cap;
    }
    memcpy(b->v.buf + b->v.len, v->buf, v->len);
    b->v.len = need;
    b->n++;
    return 0;
}

size_t tp_cql_batch_bytes(const struct tp_cql_batch *b) { return b->v.len; }
int tp_cql_batch_count(const struct tp_cql_batch *b) { return b->n; }

int tp_cql_batch_async(struct tp_cql *c, struct tp_cql_batch *b) {
    if (b->n == 0)
        return 0;
    struct req *r = calloc(1, sizeof(*r));
    if (!r)
        return TP_ENOMEM;
    r->kind = REQ_BATCH;
    r->v = b->v;                /* hand the buffers over; b starts afresh */
    r->items = b->items;
    r->nitems = b->n;
    memset(b, 0, sizeof(*b));
    submit_async(c, r);
    return 0;
}

int tp_cql_wait(struct tp_cql *c, char *errbuf, size_t errsize) {
    while (c->async_open > 0)
        pump(c, 50);
    int rc = c->err_code;
    if (rc < 0)
        tp_errf(errbuf, errsize, rc, "%s", c->err);
    c->err_code = 0;
    return rc;
}

void tp_cql_get_stats(const struct tp_cql *c, struct tp_cql_stats *s) {
    *s = c->st;
    s->nodes = c->nnodes;
    s->nodes_up = nodes_up(c);
}

/* ------------------------------------------------------------ connect */
static int parse_hosts(struct tp_cql *c, char *errbuf, size_t errsize) {
    char *save = NULL;
    for (char *h = strtok_r(c->hosts, ",", &save); h; h = strtok_r(NULL, ",", &save)) {
        char host[64];
        int port = c->cfg.default_port;
        char *colon = strrchr(h, ':');
        if (h[0] == '[') {          /* [v6]:port */
            char *end = strchr(h, ']');
            if (!end)
                return tp_errf(errbuf, errsize, TP_EINVAL, "cassandra: bad host '%s'", h);
            snprintf(host, sizeof(host), "%.*s", (int)(end - h - 1), h + 1);
            colon = end[1] == ':' ? end + 1 : NULL;
        } else {
            snprintf(host, sizeof(host), "%.*s", colon ? (int)(colon - h) : (int)strlen(h), h);
        }
        if (colon) {
            char *e;
            long v = strtol(colon + 1, &e, 10);
            if (*e || v < 1 || v > 65535)
                return tp_errf(errbuf, errsize, TP_EINVAL, "cassandra: bad port in '%s'", h);
            port = (int)v;
        }
        if (!host[0])
            return tp_errf(errbuf, errsize, TP_EINVAL, "cassandra: empty host in '%s'",
                           c->cfg.hosts);
        if (node_add(c, host, port) < 0)
            return tp_errf(errbuf, errsize, TP_ENOMEM, "cassandra: out of memory");
    }
    if (c->nnodes == 0)
        return tp_errf(errbuf, errsize, TP_EINVAL, "cassandra: no hosts given");
    return 0;
}

static void inet_str(const uint8_t *p, int32_t len, char *out, size_t size) {
    if (len == 4)
        snprintf(out, size, "%u.%u.%u.%u", p[0], p[1], p[2], p[3]);
    else if (len == 16)
        snprintf(out, size, "%x:%x:%x:%x:%x:%x:%x:%x", cql_rd16(p), cql_rd16(p + 2),
                 cql_rd16(p + 4), cql_rd16(p + 6), cql_rd16(p + 8), cql_rd16(p + 10),
                 cql_rd16(p + 12), cql_rd16(p + 14));
    else
        out[0] = '\0';
}

/* Adds the peers of the connected node: system.peers_v2 gives ports too,
 * older nodes only have system.peers (same port as the contact point). */
static void discover_peers(struct tp_cql *c, int port) {
    struct tp_cql_result *res = NULL;
    char err[CQL_MSG];
    int v2 = tp_cql_query(c, "SELECT native_address, native_port FROM system.peers_v2",
                          &res, err, sizeof(err)) == 0;
    if (!v2 && tp_cql_query(c, "SELECT rpc_address FROM system.peers", &res, err,
                            sizeof(err)) < 0) {
        tp_warn("cassandra", "cannot read system.peers: %s", err);
        return;
    }
    for (int i = 0; i < res->nrows; i++) {
        char host[64];
        int64_t p = port;
        size_t k = (size_t)i * (size_t)res->ncols;
        inet_str(res->vals[k], res->lens[k], host, sizeof(host));
        if (v2 && res->ncols > 1)
            tp_cql_get_int64(res, i, 1, &p);
        if (!host[0] || strcmp(host, "0.0.0.0") == 0 || p < 1 || p > 65535)
            continue;
        int before = c->nnodes;
        int idx = node_add(c, host, (int)p);
        if (idx >= before && node_connect(c, &c->nodes[idx], err, sizeof(err)) < 0)
            tp_warn("cassandra", "peer %s:%d: %s", host, (int)p, err);
    }
    tp_cql_result_free(res);
}

static int dup_config(struct tp_cql *c, const struct tp_cql_config *cfg) {
    c->cfg = *cfg;
    c->hosts = strdup(cfg->hosts ? cfg->hosts : "");
    c->user = cfg->user ? strdup(cfg->user) : NULL;
    c->password = cfg->password ? strdup(cfg->password) : NULL;
    c->tls_ca = cfg->tls_ca ? strdup(cfg->tls_ca) : NULL;
    c->cfg.user = c->user;
    c->cfg.password = c->password;
    c->cfg.tls_ca = c->tls_ca;
    c->cfg.hosts = NULL;
    if (c->cfg.max_in_flight < 1 || c->cfg.max_in_flight > 32768)
        c->cfg.max_in_flight = 1024;
    if (c->cfg.max_attempts < 1)
        c->cfg.max_attempts = 1;
    c->rng = 0x9E3779B97F4A7C15ull ^ (uint64_t)tp_cql_now_ms();
    return !c->hosts || (cfg->user && !c->user) || (cfg->password && !c->password) ||
           (cfg->tls_ca && !c->tls_ca) ? TP_ENOMEM : 0;
}

int tp_cql_connect(struct tp_cql **out, const struct tp_cql_config *cfg, char *errbuf,
                   size_t errsize) {
    struct tp_cql *c = calloc(1, sizeof(*c));
    int rc, up = -1;
    *out = NULL;
    if (!c || dup_config(c, cfg) < 0) {
        tp_cql_free(c);
        return tp_errf(errbuf, errsize, TP_ENOMEM, "cassandra: out of memory");
    }
    rc = parse_hosts(c, errbuf, errsize);
    if (rc == 0 && cfg->tls && !(c->tls = tp_cql_tls_ctx_new(c->tls_ca, errbuf, errsize)))
        rc = TP_EINVAL;
    for (int i = 0; rc == 0 && i < c->nnodes; i++) {
        char err[CQL_MSG];
        int r = node_connect(c, &c->nodes[i], err, sizeof(err));
        if (r == 0 && up < 0)
            up = i;
        else if (r < 0)
            tp_errf(errbuf, errsize, r, "%s", err);
        if (r == TP_EAUTH || (r < 0 && cfg->tls && strstr(err, "TLS")))
            rc = r;     /* wrong credentials or certificate: no use trying others */
    }
    if (rc == 0 && up < 0)
        rc = TP_EIO;    /* errbuf holds the last node's error */
    if (rc < 0) {
        tp_cql_free(c);
        return rc;
    }
    if (c->cfg.discover_peers)
        discover_peers(c, c->nodes[up].port);
    *out = c;
    return 0;
}

/* At free time no caller waits in run_sync, so every request left is ours. */
static void free_chain(struct req *r) {
    while (r) {
        struct req *t = r->then;
        req_free(r);
        r = t;
    }
}

void tp_cql_free(struct tp_cql *c) {
    if (!c)
        return;
    for (int i = 0; i < c->nnodes; i++) {
        struct node *nd = &c->nodes[i];
        for (int s = 0; nd->streams && s < c->cfg.max_in_flight; s++)
            free_chain(nd->streams[s]);
        tp_cql_conn_close(nd->cn);
        free(nd->streams);
        free(nd->free_ids);
    }
    while (c->q_head) {
        struct req *r = c->q_head;
        c->q_head = r->next;
        free_chain(r);
    }
    while (c->preps) {
        struct tp_cql_prep *p = c->preps;
        c->preps = p->next;
        free(p->query);
        free(p);
    }
    tp_cql_tls_ctx_free(c->tls);
    free(c->nodes);
    free(c->hosts);
    free(c->user);
    free(c->password);
    free(c->tls_ca);
    free(c);
}
