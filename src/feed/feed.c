/*
 * feed.c - the feed server: a libwebsockets server replaying a frame file
 * like the Yahoo streamer (the server-side module that includes
 * libwebsockets.h).
 *
 * Threads: everything runs on the thread that called tp_feed_run(): the lws
 * service loop, its callbacks and the pacing timer. No locks.
 *
 * The stream is one timeline of logical positions (frame index plus laps
 * with --loop). With --speed X > 0 a timer releases positions whose
 * recorded time, divided by X, has passed since the first subscription;
 * with --speed 0 everything is released at once. A connection joins the
 * timeline at its first subscribe, at the release front (speed > 0) or at
 * the furthest position any connection has reached (speed 0), and from
 * there receives, in order and without gaps, every frame of the symbols it
 * subscribes to. Frames without a symbol (garbage in the recording) go to
 * every subscribed connection. Each connection writes as long as its socket
 * is not choked, so a slow client only slows itself.
 *
 * --log-sent records a frame, with the wall-clock time in microseconds,
 * once lws_write() has taken all of it; lws
 * sends a taken frame before anything else on that socket, and every close
 * feed initiates (--drop-every, SIGINT) is a close handshake that lws only
 * starts after the taken frames are out, so the peer gets every logged
 * frame. On SIGINT feed closes every connection that way (code 1001) and
 * waits up to SHUTDOWN_MS for the peers before it exits.
 */
#include "../core/tp_clock.h"
#include "tp_feed.h"

#include <libwebsockets.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
#include <string.h>
#include <time.h>

#include "../core/tp_error.h"
#include "../core/tp_log.h"
#include "../codec/tp_control.h"
#include "feed_replay.h"

#define STAGE "feed"
#define WRITES_PER_CALLBACK 64
#define SCAN_PER_CALLBACK 8192
#define CTRL_MAX 65536
#define SHUTDOWN_MS 5000

struct feed;

struct conn {
    struct feed *fd;
    struct conn *next, *prev;
    struct lws *wsi;
    int id, v2, started, closing;
    uint8_t *subs;              /* bitmap over symbol ids */
    int nsubs;
    uint64_t cur;               /* next logical position to consider */
    int64_t *snaps;             /* positions of snapshots still to send */
    int nsnap, snapcap;
    char *msg;                  /* control message being reassembled */
    size_t msg_len, msg_cap;
    uint64_t sent;
};

struct feed {
    const struct tp_feed_opts *o;
    struct feed_replay *r;
    struct lws_context *ctx;
    lws_sorted_usec_list_t sul;
    uint64_t limit;             /* positions in the stream (UINT64_MAX with --loop) */
    uint64_t released, front;
    int64_t t0_ms;              /* monotonic ms of the first subscribe; -1 before */
    int started, done_logged, next_id, nconn;
    struct conn *conns;
    unsigned char *wbuf;
    size_t wcap;
    FILE *sent_log;
    uint64_t sent, connections;
};

static int64_t wall_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static uint64_t avail(const struct feed *fd) {
    return fd->o->speed > 0 ? fd->released : fd->limit;
}

/* ---------- control messages ---------- */

static int push_snapshot(struct conn *c, int64_t pos) {
    if (c->nsnap == c->snapcap) {
        int ncap = c->snapcap ? c->snapcap * 2 : 16;
        int64_t *ns = realloc(c->snaps, (size_t)ncap * sizeof *ns);
        if (!ns)
            return -1;
        c->snaps = ns;
        c->snapcap = ncap;
    }
    c->snaps[c->nsnap++] = pos;
    return 0;
}

static void start_conn(struct conn *c) {
    struct feed *fd = c->fd;
    if (!fd->started) {
        fd->started = 1;
        fd->t0_ms = tp_mono_ms();
    }
    c->started = 1;
    c->cur = fd->o->speed > 0 ? fd->released : fd->front;
}

/* Applies one valid control message; returns 0 or -1 on out of memory. */
static int apply_control(struct conn *c, const struct tp_control *fc) {
    struct feed *fd = c->fd;
    int sub = fc->subscribe;
    if (sub && !c->started)
        start_conn(c);
    for (size_t i = 0; i < fc->n; i++) {
        int id = tp_feed_replay_symbol(fd->r, fc->symbols[i], fc->lens[i]);
        if (id < 0)
            continue;
        uint8_t bit = (uint8_t)(1u << (id & 7));
        if (sub) {
            if (!(c->subs[id >> 3] & bit))
                c->nsubs++;
            c->subs[id >> 3] |= bit;
            int64_t snap = tp_feed_replay_snapshot(fd->r, id, c->cur, fd->o->loop);
            if (snap >= 0 && push_snapshot(c, snap))
                return -1;
        } else if (c->subs[id >> 3] & bit) {
            c->subs[id >> 3] &= (uint8_t)~bit;
            c->nsubs--;
        }
    }
    return 0;
}

/* Returns 0, or -1 when the message is malformed (the socket is closed). */
static int on_control(struct conn *c, const char *text, size_t len) {
    struct tp_control fc;
    int rc = -1;
    if (tp_control_parse(text, len, &fc) == 0)
        rc = apply_control(c, &fc);
    else
        tp_info(STAGE, "connection %d: malformed control message; closing", c->id);
    tp_control_free(&fc);
    if (!rc)
        lws_callback_on_writable(c->wsi);
    return rc;
}

static int on_receive(struct conn *c, const char *in, size_t len) {
    struct lws *wsi = c->wsi;
    if (lws_frame_is_binary(wsi))
        return -1;
    if (lws_is_first_fragment(wsi))
        c->msg_len = 0;
    if (c->msg_len + len > CTRL_MAX)
        return -1;
    if (c->msg_len + len > c->msg_cap) {
        size_t cap = c->msg_len + len + 256;
        char *m = realloc(c->msg, cap);
        if (!m)
            return -1;
        c->msg = m;
        c->msg_cap = cap;
    }
    memcpy(c->msg + c->msg_len, in, len);
    c->msg_len += len;
    if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
        return 0;
    size_t total = c->msg_len;
    c->msg_len = 0;
    return on_control(c, c->msg, total);
}

/* ---------- sending ---------- */

static int send_text(struct conn *c, const struct feed_frame *f) {
    struct feed *fd = c->fd;
    const char *text = (const char *)fd->r->text.p + (c->v2 ? f->env_off : f->bare_off);
    size_t len = c->v2 ? f->env_len : f->bare_len;
    if (len == 0)
        return 0;
    if (LWS_PRE + len > fd->wcap) {
        unsigned char *nb = realloc(fd->wbuf, LWS_PRE + len);
        if (!nb)
            return -1;
        fd->wbuf = nb;
        fd->wcap = LWS_PRE + len;
    }
    memcpy(fd->wbuf + LWS_PRE, text, len);
    if (lws_write(c->wsi, fd->wbuf + LWS_PRE, len, LWS_WRITE_TEXT) < (int)len)
        return -1;
    c->sent++;
    fd->sent++;
    if (fd->sent_log)
        fprintf(fd->sent_log, "%d\t%s\t%lld\t%.*s\n", c->id,
                f->sym >= 0 ? fd->r->syms[f->sym] : "-", (long long)wall_us(), (int)len, text);
    return 1;
}

static int wants(const struct conn *c, const struct feed_frame *f) {
    if (f->sym < 0)
        return c->nsubs > 0;
    return (c->subs[f->sym >> 3] >> (f->sym & 7)) & 1;
}

static int dropping(const struct conn *c) {
    int64_t every = c->fd->o->drop_every;
    return every > 0 && c->sent >= (uint64_t)every;
}

/* A burst of frames goes out corked: the kernel packs them into full
 * segments and sends them when the burst ends, instead of one segment (and
 * one wake-up of the reader) per frame. Returns 1 when the socket is corked. */
static int cork(struct conn *c, int on) {
    lws_sockfd_type fdn = lws_get_socket_fd(c->wsi);
    return fdn >= 0 && setsockopt(fdn, IPPROTO_TCP, TCP_CORK, &on, sizeof on) == 0;
}

static int on_writeable(struct conn *c) {
    struct feed *fd = c->fd;
    const struct feed_replay *r = fd->r;
    int writes = 0, scanned = 0, rc;
    int si = 0;
    if (c->closing) {
        /* lws sends what it holds, then the close frame, then waits for
         * the peer's close before it closes the socket */
        lws_close_reason(c->wsi, LWS_CLOSE_STATUS_GOINGAWAY, (unsigned char *)"shutdown", 8);
        return -1;
    }
    /* one poll() per callback: after it, a write the kernel did not take
     * whole is kept by lws (lws_partial_buffered), which ends the burst */
    int choked = lws_send_pipe_choked(c->wsi);
    uint64_t end = c->started ? avail(fd) : 0;
    int corked = !choked && c->nsnap + (end - c->cur) > 1 && cork(c, 1);
    for (; si < c->nsnap && writes < WRITES_PER_CALLBACK && !dropping(c) && !choked; si++) {
        if ((rc = send_text(c, &r->f[(uint64_t)c->snaps[si] % r->n])) < 0)
            return -1;
        writes += rc;
        choked = lws_partial_buffered(c->wsi);
    }
    if (si) {
        memmove(c->snaps, c->snaps + si, (size_t)(c->nsnap - si) * sizeof *c->snaps);
        c->nsnap -= si;
    }
    while (c->cur < end && writes < WRITES_PER_CALLBACK && scanned < SCAN_PER_CALLBACK &&
           !dropping(c) && !choked) {
        const struct feed_frame *f = &r->f[c->cur % r->n];
        scanned++;
        if (wants(c, f)) {
            if ((rc = send_text(c, f)) < 0)
                return -1;
            writes += rc;
            choked = lws_partial_buffered(c->wsi);
        }
        c->cur++;
    }
    if (corked)
        cork(c, 0);
    if (c->cur > fd->front)
        fd->front = c->cur;
    if (dropping(c)) {
        tp_info(STAGE, "connection %d: dropping after %llu frames (--drop-every)", c->id,
                (unsigned long long)c->sent);
        lws_close_reason(c->wsi, LWS_CLOSE_STATUS_GOINGAWAY, (unsigned char *)"drop", 4);
        return -1;
    }
    if (c->nsnap || (c->started && c->cur < end))
        lws_callback_on_writable(c->wsi);
    return 0;
}

/* ---------- connections ---------- */

static int on_established(struct conn *c, struct lws *wsi, struct feed *fd) {
    char arg[32];
    memset(c, 0, sizeof *c);
    c->fd = fd;
    c->wsi = wsi;
    c->id = ++fd->next_id;
    const char *v = lws_get_urlarg_by_name(wsi, "version=", arg, (int)sizeof arg);
    c->v2 = v && strcmp(v, "2") == 0;
    c->subs = calloc((size_t)fd->r->nsym / 8 + 1, 1);
    if (!c->subs)
        return -1;
    c->next = fd->conns;
    if (fd->conns)
        fd->conns->prev = c;
    fd->conns = c;
    fd->nconn++;
    fd->connections++;
    tp_info(STAGE, "connection %d opened (%s)", c->id, c->v2 ? "version=2 envelope" : "bare base64");
    return 0;
}

static void on_closed(struct conn *c) {
    struct feed *fd = c->fd;
    if (!fd)
        return;
    if (c->prev)
        c->prev->next = c->next;
    else
        fd->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    fd->nconn--;
    tp_info(STAGE, "connection %d closed after %llu frames", c->id, (unsigned long long)c->sent);
    free(c->subs);
    free(c->snaps);
    free(c->msg);
    c->fd = NULL;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len) {
    struct conn *c = user;
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        return on_established(c, wsi, lws_context_user(lws_get_context(wsi)));
    case LWS_CALLBACK_RECEIVE:
        if (on_receive(c, in, len) == 0)
            return 0;
        lws_close_reason(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, (unsigned char *)"bad request", 11);
        return -1;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return c && c->fd ? on_writeable(c) : 0;
    case LWS_CALLBACK_CLOSED:
        if (c)
            on_closed(c);
        return 0;
    default:
        return 0;
    }
}

static const struct lws_protocols protocols[] = {
    {"tp-feed", callback, sizeof(struct conn), 4096, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0}
};

/* ---------- pacing timer ---------- */

/* True when the whole stream is released and every subscribed connection
 * has been sent all of it. */
static int caught_up(const struct feed *fd) {
    if (avail(fd) < fd->limit || fd->front < fd->limit)
        return 0;
    for (const struct conn *c = fd->conns; c; c = c->next)
        if (c->started && (c->cur < fd->limit || c->nsnap))
            return 0;
    return 1;
}

static void tick(lws_sorted_usec_list_t *sul) {
    struct feed *fd = lws_container_of(sul, struct feed, sul);
    int64_t wait_ms = 50;
    if (*fd->o->stop) {
        lws_sul_schedule(fd->ctx, 0, &fd->sul, tick, 20 * 1000);   /* wakes the shutdown loop */
        return;
    }
    if (fd->started && fd->o->speed > 0) {
        double elapsed = (double)(tp_mono_ms() - fd->t0_ms) * fd->o->speed;
        uint64_t before = fd->released;
        while (fd->released < fd->limit && (double)tp_feed_replay_due(fd->r, fd->released) <= elapsed)
            fd->released++;
        if (fd->released != before)
            lws_callback_on_writable_all_protocol(fd->ctx, &protocols[0]);
        if (fd->released < fd->limit) {
            double w = ((double)tp_feed_replay_due(fd->r, fd->released) - elapsed) / fd->o->speed;
            wait_ms = w < 1 ? 1 : w > 50 ? 50 : (int64_t)w;
        }
    }
    if (!fd->done_logged && fd->limit != UINT64_MAX && caught_up(fd)) {
        fd->done_logged = 1;
        if (fd->o->on_replay_done) {
            struct tp_feed_stats s = {fd->limit, fd->connections, fd->sent};
            fd->o->on_replay_done(fd->o->opaque, &s);
        }
    }
    if (fd->sent_log)
        fflush(fd->sent_log);
    lws_sul_schedule(fd->ctx, 0, &fd->sul, tick, wait_ms * 1000);
}

/* ---------- setup ---------- */

/* Splits "HOST:PORT", ":PORT", "PORT" or "[V6]:PORT" into iface and port. */
static int parse_listen(const char *s, char *host, size_t hcap, int *port, char *errbuf,
                        size_t errsize) {
    const char *colon = strrchr(s, ':');
    const char *ps = colon ? colon + 1 : s;
    size_t hl = colon ? (size_t)(colon - s) : 0;
    const char *h = s;
    if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') {
        h = s + 1;
        hl -= 2;
    }
    char *end;
    long p = strtol(ps, &end, 10);
    if (!*ps || *end || p < 0 || p > 65535 || hl >= hcap)
        return tp_errf(errbuf, errsize, TP_EINVAL,
                       "--listen %s: expected HOST:PORT, :PORT or PORT (port 0 picks a free one)", s);
    memcpy(host, h, hl);
    host[hl] = '\0';
    if (strcmp(host, "localhost") == 0)
        snprintf(host, hcap, "127.0.0.1");
    *port = (int)p;
    return 0;
}

/* libwebsockets listens on every interface when it cannot find iface:
 * check first that host is an address of this machine, by binding a
 * throw-away socket to it. Returns 0 or TP_EIO. */
static int check_local(const char *host, const char *listen, char *errbuf, size_t errsize) {
    struct addrinfo hints = {.ai_flags = AI_PASSIVE, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    if (getaddrinfo(host, "0", &hints, &ai) != 0 || !ai)
        return tp_errf(errbuf, errsize, TP_EIO, "--listen %s: unknown host '%s'", listen, host);
    int ok = 0;
    for (struct addrinfo *a = ai; a && !ok; a = a->ai_next) {
        int s = socket(a->ai_family, a->ai_socktype, 0);
        ok = s >= 0 && bind(s, a->ai_addr, a->ai_addrlen) == 0;
        if (s >= 0)
            close(s);
    }
    freeaddrinfo(ai);
    return ok ? 0 : tp_errf(errbuf, errsize, TP_EIO,
                            "--listen %s: %s is not an address of this machine", listen, host);
}

static void lws_log_emit(int level, const char *line) {
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    tp_debug("lws", "%s%.*s", level == LLL_ERR ? "error: " : "", (int)n, line);
}

static int create_server(struct feed *fd, char *errbuf, size_t errsize) {
    const struct tp_feed_opts *o = fd->o;
    char host[128];
    int port = 0, rc;
    if ((rc = parse_listen(o->listen ? o->listen : "127.0.0.1:8765", host, sizeof host, &port,
                           errbuf, errsize)))
        return rc;
    int any = !host[0] || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "*") == 0;
    if (!any && (rc = check_local(host, o->listen, errbuf, errsize)))
        return rc;
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = port;
    info.iface = any ? NULL : host;
    info.protocols = protocols;
    info.gid = -1;
    info.uid = -1;
    info.user = fd;
    if (o->tls_cert) {
        info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = o->tls_cert;
        info.ssl_private_key_filepath = o->tls_key;
    }
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_emit);
    fd->ctx = lws_create_context(&info);
    if (!fd->ctx)
        return tp_errf(errbuf, errsize, TP_EIO,
                       "--listen %s: cannot listen there (address in use, not local, or bad "
                       "--tls-cert/--tls-key)", o->listen);
    struct lws_vhost *vh = lws_get_vhost_by_name(fd->ctx, "default");
    int bound = vh ? lws_get_vhost_listen_port(vh) : -1;
    if (bound <= 0)
        return tp_errf(errbuf, errsize, TP_EIO, "--listen %s: cannot bind the address", o->listen);
    int v6 = strchr(host, ':') != NULL;
    fprintf(o->announce ? o->announce : stdout,
            "tickpipe feed: listening on %s://%s%s%s:%d/ (%llu frames, %d symbols)\n",
            o->tls_cert ? "wss" : "ws", v6 ? "[" : "", any ? "127.0.0.1" : host, v6 ? "]" : "",
            bound, (unsigned long long)fd->r->n, fd->r->nsym);
    fflush(o->announce ? o->announce : stdout);
    return 0;
}

/* Closes every connection the way Yahoo goes away (close frame 1001, after
 * everything already written and logged), waiting up to SHUTDOWN_MS for
 * the peers to answer; connections still open then are cut. */
static void shut_down(struct feed *fd) {
    for (struct conn *c = fd->conns; c; c = c->next) {
        c->closing = 1;
        lws_callback_on_writable(c->wsi);
    }
    int64_t deadline = tp_mono_ms() + SHUTDOWN_MS;
    while (fd->nconn > 0 && tp_mono_ms() < deadline)
        if (lws_service(fd->ctx, 0) < 0)
            break;
    if (fd->nconn > 0)
        tp_warn(STAGE, "%d connection(s) did not answer the close within %d ms; cutting them",
                fd->nconn, SHUTDOWN_MS);
}

static int check_opts(const struct tp_feed_opts *o, char *errbuf, size_t errsize) {
    if (!o->replay)
        return tp_errf(errbuf, errsize, TP_EINVAL, "--replay FILE is required");
    if (!o->tls_cert != !o->tls_key)
        return tp_errf(errbuf, errsize, TP_EINVAL, "--tls-cert and --tls-key go together");
    if (o->speed < 0)
        return tp_errf(errbuf, errsize, TP_EINVAL, "--speed must be 0 or more");
    return 0;
}

int tp_feed_run(const struct tp_feed_opts *o, struct tp_feed_stats *st, char *errbuf,
                size_t errsize) {
    struct feed fd;
    memset(&fd, 0, sizeof fd);
    fd.o = o;
    fd.t0_ms = -1;
    int rc = check_opts(o, errbuf, errsize);
    if (!rc)
        rc = tp_feed_replay_load(&fd.r, o->replay, errbuf, errsize);
    if (!rc && o->log_sent && !(fd.sent_log = fopen(o->log_sent, "a")))
        rc = tp_errf(errbuf, errsize, TP_EINVAL, "--log-sent %s: cannot open for appending",
                     o->log_sent);
    if (!rc) {
        fd.limit = !o->loop ? fd.r->n : o->laps > 0 ? (uint64_t)o->laps * fd.r->n : UINT64_MAX;
        rc = create_server(&fd, errbuf, errsize);
    }
    if (!rc) {
        lws_sul_schedule(fd.ctx, 0, &fd.sul, tick, 1000);
        while (!*o->stop)
            if (lws_service(fd.ctx, 0) < 0)
                break;
        shut_down(&fd);
    }
    if (st)
        *st = (struct tp_feed_stats){fd.limit, fd.connections, fd.sent};
    if (fd.ctx)
        lws_context_destroy(fd.ctx);
    if (fd.sent_log)
        fclose(fd.sent_log);
    tp_feed_replay_free(fd.r);
    free(fd.wbuf);
    return rc;
}
