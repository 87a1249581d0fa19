/*
 * yahoo.c - the live Yahoo Finance source: WebSocket client(s) to the
 * streamer, with sharded subscriptions, pings, reconnects and staleness
 * reporting. The only client-side module that includes libwebsockets.h.
 *
 * Threads: one service thread owns the lws context and every ws_sock; all
 * lws callbacks and the housekeeping timer run there. The reader thread
 * only calls yahoo_next(), which pops from the bounded queue (ws_queue.c)
 * and may call lws_cancel_service() (the one thread-safe lws call) to ask
 * the service thread to resume paused sockets. y->mu guards the fatal
 * error text and the list of closed gaps; y->quit, y->ended and the
 * counters in y->st are atomics.
 *
 * Silence: pings keep a socket open even when the server has forgotten
 * its subscription, so a socket that delivers nothing for silent_ms sends
 * its subscription again, and one still silent silent_ms after that is
 * closed and reconnected. Every interval in which a socket was down or
 * silent past silent_ms becomes one gap per symbol of its shard, reported
 * (tp_source_gaps) when data flows again.
 *
 * Invariants: a socket is in exactly one state; only OPEN sockets have a
 * wsi; a socket whose frame made the queue full is paused (rx flow control
 * off) until the queue drains below half; frames are never dropped here.
 * Every (re)connect subscribes the socket's whole shard again.
 *
 * Tuning for tests (environment, milliseconds): TP_WS_PING_MS (15000),
 * TP_WS_PONG_MS (10000), TP_WS_STALE_MS (60000), TP_WS_BACKOFF_MIN_MS (500),
 * TP_WS_BACKOFF_MAX_MS (30000); TP_WS_STALE_MS defaults to the silent timeout
 * when --silent-timeout is given.
 */
#include "../core/tp_clock.h"
#include "source_int.h"

#include <libwebsockets.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "../core/tp_error.h"
#include "../core/tp_log.h"
#include "../core/tp_metrics.h"
#include "../codec/tp_decode.h"
#include "ws_queue.h"

#define STAGE "yahoo"
#define DEFAULT_URL "wss://streamer.finance.yahoo.com/?version=2"
#define DEFAULT_SYMBOLS "BTC-USD,ETH-USD"
#define TICK_US 100000          /* housekeeping period */
#define QUEUE_FRAMES 8192
#define QUEUE_BYTES (8u << 20)
#define MSG_MAX (1u << 20)      /* larger messages are a protocol violation */

enum sock_state { SOCK_WAIT, SOCK_CONNECTING, SOCK_OPEN };

struct yahoo;

struct ws_sock {
    struct yahoo *y;
    int idx;
    int sym0, nsyms;            /* shard: y->sym[sym0 .. sym0+nsyms) */
    enum sock_state state;
    struct lws *wsi;
    int64_t next_connect_ms, backoff_ms;
    int64_t opened_ms, last_rx_ms, ping_sent_ms, last_ping_ms;
    int sub_pending, ping_due, awaiting_pong, paused, stale_logged, got_data;
    const char *close_why;      /* why we are closing it ourselves, or NULL */
    const char *tls_err;        /* certificate verification failure (static text) */
    char *msg;                  /* message being reassembled from fragments */
    size_t msg_len, msg_cap;
    uint64_t frames, connects;
    int64_t resub_ms;           /* when the subscription was re-sent to a silent socket; 0 none */
    int64_t last_rx_wall;       /* wall ms of the last frame */
    int64_t gap_start;          /* wall ms a gap began (down or silent); 0 none */
    const char *gap_reason;
};

struct tuning {
    int64_t ping_ms, pong_ms, stale_ms, bo_min_ms, bo_max_ms, silent_ms;
};

struct yahoo {
    struct tp_source base;
    char url[512];
    char host[256], path[256];
    int port, tls;
    char *tls_ca;
    char **sym;                 /* subscribed symbols, in shard order */
    int nsym;
    int *sorted;                /* indices into sym, sorted by name */
    int64_t *sym_last_ms;       /* last frame seen per symbol (service thread) */
    int nstale_logged, all_silent_logged;
    int64_t started_ms, next_stale_check_ms;
    struct ws_sock *socks;
    int nsock;
    struct tuning tune;
    struct lws_context *ctx;
    lws_sorted_usec_list_t sul;
    pthread_t thr;
    int thr_started;
    struct tp_wsq *q;
    atomic_int quit, ended, any_paused;
    const volatile int *stop;
    struct tp_metrics *m;       /* --http counters; NULL without --http */
    pthread_mutex_t mu;
    char fatal[1024];           /* guarded by mu; non-empty = fatal error */
    struct tp_gap *gaps;        /* guarded by mu: closed gaps not yet taken */
    int ngaps, capgaps;
    atomic_ullong resubscribes, silent_reconnects, reconnects;
    atomic_int silent_sockets, open_sockets;
    int ever_connected;
    uint64_t rng;
    struct tp_wsq_frame *cur;   /* frame handed out by the last next() */
    uint8_t payload[TP_PAYLOAD_MAX];
};

static uint64_t next_rand(struct yahoo *y) {
    y->rng ^= y->rng << 13;
    y->rng ^= y->rng >> 7;
    y->rng ^= y->rng << 17;
    return y->rng;
}

static int64_t env_ms(const char *name, int64_t def) {
    const char *v = getenv(name);
    if (!v || !*v)
        return def;
    long long x = atoll(v);
    return x > 0 ? x : def;
}

/* ---------- setup: URL, symbols, shards ---------- */

static int parse_url(struct yahoo *y, const char *url, char *errbuf, size_t errsize) {
    const char *p;
    if (strlen(url) >= sizeof y->url)
        return tp_errf(errbuf, errsize, TP_EINVAL, "--source yahoo:%s: URL too long", url);
    snprintf(y->url, sizeof y->url, "%s", url);
    if (strncmp(url, "wss://", 6) == 0) {
        y->tls = 1;
        p = url + 6;
    } else if (strncmp(url, "ws://", 5) == 0) {
        p = url + 5;
    } else {
        return tp_errf(errbuf, errsize, TP_EINVAL,
                       "--source yahoo:%s: the URL must start with ws:// or wss://", url);
    }
    size_t hl = strcspn(p, ":/?");
    if (*p == '[') {
        const char *rb = strchr(p, ']');
        hl = rb ? (size_t)(rb - p) + 1 : 0;
    }
    if (hl == 0 || hl >= sizeof y->host)
        return tp_errf(errbuf, errsize, TP_EINVAL, "--source yahoo:%s: no host in URL", url);
    memcpy(y->host, p, hl);
    y->host[hl] = '\0';
    p += hl;
    y->port = y->tls ? 443 : 80;
    if (*p == ':') {
        char *end;
        long port = strtol(p + 1, &end, 10);
        if (end == p + 1 || port < 1 || port > 65535 || (*end && *end != '/' && *end != '?'))
            return tp_errf(errbuf, errsize, TP_EINVAL, "--source yahoo:%s: bad port", url);
        y->port = (int)port;
        p = end;
    }
    if (strlen(p) + 2 > sizeof y->path)
        return tp_errf(errbuf, errsize, TP_EINVAL, "--source yahoo:%s: path too long", url);
    snprintf(y->path, sizeof y->path, "%s%s", *p == '/' ? "" : "/", p);
    return 0;
}

static int sym_cmp_ctx(const struct yahoo *y, int a, int b) {
    return strcmp(y->sym[a], y->sym[b]);
}

/* Insertion-sorts the index (symbol lists are small and set up once). */
static void sort_symbols(struct yahoo *y) {
    for (int i = 0; i < y->nsym; i++)
        y->sorted[i] = i;
    for (int i = 1; i < y->nsym; i++) {
        int v = y->sorted[i], j = i - 1;
        while (j >= 0 && sym_cmp_ctx(y, y->sorted[j], v) > 0) {
            y->sorted[j + 1] = y->sorted[j];
            j--;
        }
        y->sorted[j + 1] = v;
    }
}

static int find_symbol(const struct yahoo *y, const char *s, size_t len) {
    int lo = 0, hi = y->nsym - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        const char *m = y->sym[y->sorted[mid]];
        int c = strncmp(m, s, len);
        if (c == 0 && m[len] != '\0')
            c = 1;
        if (c == 0)
            return y->sorted[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

static int valid_symbol(const char *s) {
    for (; *s; s++)
        if ((unsigned char)*s < 0x21 || *s == '"' || *s == '\\' || (unsigned char)*s >= 0x7f)
            return 0;
    return 1;
}

/* Splits the comma list into y->sym, trimming blanks and dropping repeats. */
static int parse_symbols(struct yahoo *y, const char *list, char *errbuf, size_t errsize) {
    size_t n = 1;
    for (const char *p = list; *p; p++)
        n += *p == ',';
    y->sym = calloc(n, sizeof *y->sym);
    y->sorted = calloc(n, sizeof *y->sorted);
    y->sym_last_ms = calloc(n, sizeof *y->sym_last_ms);
    if (!y->sym || !y->sorted || !y->sym_last_ms)
        return tp_errf(errbuf, errsize, TP_ENOMEM, "out of memory for %zu symbols", n);
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ",");
        const char *s = p;
        size_t l = len;
        while (l && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
            s++, l--;
        while (l && (s[l - 1] == ' ' || s[l - 1] == '\t' || s[l - 1] == '\n' || s[l - 1] == '\r'))
            l--;
        p += len + (p[len] == ',');
        if (!l)
            continue;
        char *sym = strndup(s, l);
        if (!sym)
            return tp_errf(errbuf, errsize, TP_ENOMEM, "out of memory");
        if (!valid_symbol(sym)) {
            int rc = tp_errf(errbuf, errsize, TP_EINVAL,
                             "--symbols: '%s' is not a valid symbol (no quotes, backslashes, "
                             "spaces or control characters)", sym);
            free(sym);
            return rc;
        }
        int dup = 0;
        for (int i = 0; i < y->nsym && !dup; i++)
            dup = strcmp(y->sym[i], sym) == 0;
        if (dup)
            free(sym);
        else
            y->sym[y->nsym++] = sym;
    }
    if (y->nsym == 0)
        return tp_errf(errbuf, errsize, TP_EINVAL, "--symbols: no symbols given");
    sort_symbols(y);
    return 0;
}

/* Spreads the symbols evenly over ceil(n / per) sockets. */
static int make_shards(struct yahoo *y, int per, char *errbuf, size_t errsize) {
    y->nsock = (y->nsym + per - 1) / per;
    y->socks = calloc((size_t)y->nsock, sizeof *y->socks);
    if (!y->socks)
        return tp_errf(errbuf, errsize, TP_ENOMEM, "out of memory");
    int base = y->nsym / y->nsock, extra = y->nsym % y->nsock, at = 0;
    for (int i = 0; i < y->nsock; i++) {
        struct ws_sock *k = &y->socks[i];
        k->y = y;
        k->idx = i;
        k->sym0 = at;
        k->nsyms = base + (i < extra);
        k->state = SOCK_WAIT;
        k->next_connect_ms = 0;
        at += k->nsyms;
    }
    return 0;
}

/* Checks the extra CA file now, because lws only logs a bad one. */
static int check_ca_file(const char *path, char *errbuf, size_t errsize) {
    FILE *f = fopen(path, "r");
    if (!f)
        return tp_errf(errbuf, errsize, TP_EINVAL, "--tls-ca %s: cannot open the file", path);
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (!x)
        return tp_errf(errbuf, errsize, TP_EINVAL,
                       "--tls-ca %s: no PEM certificate in the file", path);
    X509_free(x);
    return 0;
}

/* ---------- service thread: connection state machine ---------- */

static void set_fatal(struct yahoo *y, const char *fmt, const char *arg) {
    pthread_mutex_lock(&y->mu);
    if (!y->fatal[0])
        snprintf(y->fatal, sizeof y->fatal, fmt, arg);
    pthread_mutex_unlock(&y->mu);
    atomic_store(&y->quit, 1);
    tp_wsq_wake(y->q);
}

static void schedule_retry(struct ws_sock *k, const char *why) {
    struct yahoo *y = k->y;
    if (k->state == SOCK_OPEN) {
        atomic_fetch_sub(&y->open_sockets, 1);
        atomic_fetch_add(&y->reconnects, 1);
        if (!k->gap_start) {
            k->gap_start = tp_wall_ms();
            k->gap_reason = "disconnected";
        }
    }
    if (k->resub_ms)
        atomic_fetch_sub(&y->silent_sockets, 1);
    k->resub_ms = 0;
    int64_t bo = k->backoff_ms ? k->backoff_ms * 2 : y->tune.bo_min_ms;
    if (bo > y->tune.bo_max_ms)
        bo = y->tune.bo_max_ms;
    k->backoff_ms = bo;
    int64_t delay = bo / 2 + (int64_t)(next_rand(y) % (uint64_t)(bo / 2 + 1));
    k->state = SOCK_WAIT;
    k->wsi = NULL;
    k->paused = 0;
    k->msg_len = 0;
    k->next_connect_ms = tp_mono_ms() + delay;
    if (!atomic_load(&y->quit))
        tp_warn(STAGE, "socket %d: %s; reconnecting in %.1fs", k->idx, why, (double)delay / 1000);
}

static void sock_connect(struct ws_sock *k) {
    struct yahoo *y = k->y;
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = y->ctx;
    ci.address = y->host;
    ci.port = y->port;
    ci.path = y->path;
    ci.host = y->host;
    ci.origin = "https://finance.yahoo.com";
    ci.ssl_connection = y->tls ? LCCSCF_USE_SSL : 0;
    ci.alpn = "http/1.1";
    ci.protocol = NULL;
    ci.local_protocol_name = "tp-yahoo";
    ci.userdata = k;
    ci.pwsi = &k->wsi;
    k->state = SOCK_CONNECTING;
    k->tls_err = NULL;
    k->connects++;
    tp_debug(STAGE, "socket %d: connecting to %s", k->idx, y->url);
    if (!lws_client_connect_via_info(&ci) && k->state == SOCK_CONNECTING) {
        char why[600];
        snprintf(why, sizeof why, "cannot connect to %s (host lookup or connection failed: offline?)",
                 y->url);
        schedule_retry(k, why);
    }
}

static int is_cert_error(const char *why) {
    return why && (strcasestr(why, "cert") || strcasestr(why, "x509") ||
                   strcasestr(why, "verify"));
}

static void on_connect_error(struct ws_sock *k, const char *why) {
    struct yahoo *y = k->y;
    char msg[640];
    snprintf(msg, sizeof msg, "cannot connect to %.200s: %.180s", y->url, why && *why ? why : "error");
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    if (k->tls_err)
        snprintf(msg, sizeof msg, "cannot connect to %.200s: server certificate rejected: %.180s",
                 y->url, k->tls_err);
    if (y->tls && (k->tls_err || is_cert_error(why)) && !y->ever_connected) {
        set_fatal(y, "%s (TLS certificate verification failed; if the server uses a private CA, "
                     "pass it with --tls-ca FILE)", msg);
        k->state = SOCK_WAIT;
        k->wsi = NULL;
        return;
    }
    schedule_retry(k, msg);
}

static void on_established(struct ws_sock *k) {
    struct yahoo *y = k->y;
    int64_t now = tp_mono_ms();
    k->state = SOCK_OPEN;
    atomic_fetch_add(&y->open_sockets, 1);
    tp_metrics_add(y->m, TP_M_WS_CONNECTS, 1);
    if (k->opened_ms)
        tp_metrics_add(y->m, TP_M_WS_RECONNECTS, 1);
    k->opened_ms = k->last_rx_ms = k->last_ping_ms = now;
    k->sub_pending = 1;
    k->ping_due = k->awaiting_pong = k->stale_logged = k->got_data = 0;
    k->close_why = NULL;
    k->msg_len = 0;
    if (!y->ever_connected)
        tp_info(STAGE, "connected to %s", y->url);
    y->ever_connected = 1;
    tp_info(STAGE, "socket %d: open, subscribing %d symbols (connect #%llu)", k->idx, k->nsyms,
            (unsigned long long)k->connects);
    lws_callback_on_writable(k->wsi);
}

/* Writes {"subscribe":[...]} for the socket's shard. */
static int send_subscribe(struct ws_sock *k) {
    struct yahoo *y = k->y;
    size_t need = LWS_PRE + 32;
    for (int i = 0; i < k->nsyms; i++)
        need += strlen(y->sym[k->sym0 + i]) + 3;
    unsigned char *buf = malloc(need);
    if (!buf)
        return -1;
    char *p = (char *)buf + LWS_PRE, *start = p;
    p += sprintf(p, "{\"subscribe\":[");
    for (int i = 0; i < k->nsyms; i++)
        p += sprintf(p, "%s\"%s\"", i ? "," : "", y->sym[k->sym0 + i]);
    p += sprintf(p, "]}");
    int len = (int)(p - start);
    int n = lws_write(k->wsi, (unsigned char *)start, (size_t)len, LWS_WRITE_TEXT);
    free(buf);
    return n < len ? -1 : 0;
}

static int on_writeable(struct ws_sock *k) {
    if (k->sub_pending) {
        k->sub_pending = 0;
        if (send_subscribe(k))
            return -1;
        if (k->ping_due)
            lws_callback_on_writable(k->wsi);
        return 0;
    }
    if (k->ping_due) {
        unsigned char buf[LWS_PRE + 4];
        k->ping_due = 0;
        k->awaiting_pong = 1;
        k->ping_sent_ms = tp_mono_ms();
        if (lws_write(k->wsi, buf + LWS_PRE, 0, LWS_WRITE_PING) < 0)
            return -1;
    }
    return 0;
}

/* Marks the frame's symbol as seen, for per-symbol staleness. */
static void note_symbol(struct yahoo *y, const char *data, size_t len, int64_t now) {
    struct tp_quote q;
    size_t plen = 0;
    const char *reason = NULL;
    int st = tp_decode_frame(data, len, y->payload, &plen, &q, &reason);
    if (st == TP_DECODE_REJECT || !(q.present & 1u))
        return;
    int i = find_symbol(y, (const char *)y->payload + q.v[TP_F_ID].sv.off, q.v[TP_F_ID].sv.len);
    if (i >= 0)
        y->sym_last_ms[i] = now;
}

/* Records [gap_start, stop) for every symbol of k's shard, for the reader
 * thread to take with tp_source_gaps(). */
static void close_gap(struct ws_sock *k, int64_t stop) {
    struct yahoo *y = k->y;
    pthread_mutex_lock(&y->mu);
    if (y->ngaps + k->nsyms > y->capgaps) {
        int cap = (y->ngaps + k->nsyms) * 2;
        struct tp_gap *ng = realloc(y->gaps, (size_t)cap * sizeof *ng);
        if (ng) {
            y->gaps = ng;
            y->capgaps = cap;
        }
    }
    for (int i = 0; i < k->nsyms && y->ngaps < y->capgaps; i++) {
        struct tp_gap *g = &y->gaps[y->ngaps++];
        snprintf(g->symbol, sizeof g->symbol, "%s", y->sym[k->sym0 + i]);
        g->start = k->gap_start;
        g->stop = stop;
        g->reason = k->gap_reason;
    }
    pthread_mutex_unlock(&y->mu);
    tp_info(STAGE, "socket %d: not receiving %d symbols for %.1fs (%s)", k->idx, k->nsyms,
            (double)(stop - k->gap_start) / 1000, k->gap_reason);
    k->gap_start = 0;
}

static int deliver(struct ws_sock *k, const char *data, size_t len) {
    struct yahoo *y = k->y;
    int64_t now = tp_mono_ms();
    k->last_rx_ms = now;
    k->last_rx_wall = tp_wall_ms();
    k->frames++;
    if (k->resub_ms) {
        k->resub_ms = 0;
        atomic_fetch_sub(&y->silent_sockets, 1);
        tp_info(STAGE, "socket %d: data flows again after the new subscription", k->idx);
    }
    if (k->gap_start)
        close_gap(k, k->last_rx_wall);
    if (!k->got_data) {
        k->got_data = 1;
        k->backoff_ms = 0;      /* the server is healthy: restart backoff */
    }
    if (k->stale_logged) {
        k->stale_logged = 0;
        tp_info(STAGE, "socket %d: data flowing again", k->idx);
    }
    note_symbol(y, data, len, now);
    int rc = tp_wsq_push(y->q, data, len, tp_wall_ms());
    if (rc < 0) {
        set_fatal(y, "%s", "out of memory queueing a frame");
        return -1;
    }
    if (rc == 1 && !k->paused) {
        k->paused = 1;
        atomic_store(&y->any_paused, 1);
        lws_rx_flow_control(k->wsi, 0);
        tp_debug(STAGE, "socket %d: queue full, pausing reads", k->idx);
    }
    return 0;
}

static int on_receive(struct ws_sock *k, const char *in, size_t len) {
    struct lws *wsi = k->wsi;
    if (lws_is_first_fragment(wsi))
        k->msg_len = 0;
    int final = lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0;
    if (final && k->msg_len == 0)
        return deliver(k, in, len);
    if (k->msg_len + len > MSG_MAX) {
        tp_warn(STAGE, "socket %d: message over %u bytes; closing", k->idx, MSG_MAX);
        return -1;
    }
    if (k->msg_len + len > k->msg_cap) {
        size_t cap = (k->msg_len + len) * 2;
        char *m = realloc(k->msg, cap);
        if (!m)
            return -1;
        k->msg = m;
        k->msg_cap = cap;
    }
    memcpy(k->msg + k->msg_len, in, len);
    k->msg_len += len;
    if (!final)
        return 0;
    size_t total = k->msg_len;
    k->msg_len = 0;
    return deliver(k, k->msg, total);
}

static void resume_paused(struct yahoo *y) {
    if (!atomic_load(&y->any_paused) || !tp_wsq_has_room(y->q))
        return;
    atomic_store(&y->any_paused, 0);
    for (int i = 0; i < y->nsock; i++) {
        struct ws_sock *k = &y->socks[i];
        if (k->paused && k->state == SOCK_OPEN) {
            k->paused = 0;
            lws_rx_flow_control(k->wsi, 1);
            tp_debug(STAGE, "socket %d: resuming reads", k->idx);
        }
    }
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len) {
    struct ws_sock *k = user;
    switch (reason) {
    case LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION:
        /* here user is the X509_STORE_CTX and len is OpenSSL's verdict */
        k = lws_wsi_user(wsi);
        if (k && !len)
            k->tls_err = X509_verify_cert_error_string(X509_STORE_CTX_get_error(user));
        return 0;
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
        unsigned char **p = in, *end = *p + len;
        static const char ua[] = "Mozilla/5.0 (compatible; tickpipe)";
        if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_USER_AGENT,
                                         (const unsigned char *)ua, (int)strlen(ua), p, end))
            return -1;
        return 0;
    }
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (k && k->state == SOCK_CONNECTING)
            on_connect_error(k, in ? (const char *)in : NULL);
        return 0;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        if (k)
            on_established(k);
        return 0;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return k && k->state == SOCK_OPEN ? on_writeable(k) : 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        return k && k->state == SOCK_OPEN ? on_receive(k, in, len) : 0;
    case LWS_CALLBACK_CLIENT_RECEIVE_PONG:
        if (k)
            k->awaiting_pong = 0;
        return 0;
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (k && len >= 2)
            tp_info(STAGE, "socket %d: server closed with code %d", k->idx,
                    ((const unsigned char *)in)[0] << 8 | ((const unsigned char *)in)[1]);
        return 0;
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (k && k->state == SOCK_OPEN)
            schedule_retry(k, k->close_why ? k->close_why : "connection closed");
        return 0;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED: {
        struct yahoo *y = lws_context_user(lws_get_context(wsi));
        if (y)
            resume_paused(y);
        return 0;
    }
    default:
        return 0;
    }
}

static const struct lws_protocols protocols[] = {
    {"tp-yahoo", callback, 0, 4096, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0}
};

/* ---------- service thread: housekeeping timer ---------- */

static void close_sock(struct ws_sock *k, const char *why) {
    k->close_why = why;
    lws_set_timeout(k->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

/* An open socket that delivers nothing for silent_ms sends its
 * subscription again; still silent silent_ms later, it is reconnected. */
static void check_silent(struct ws_sock *k, int64_t now) {
    struct yahoo *y = k->y;
    if (now - k->last_rx_ms <= y->tune.silent_ms)
        return;
    if (!k->resub_ms) {
        k->resub_ms = now;
        k->sub_pending = 1;
        if (!k->gap_start) {
            k->gap_start = k->last_rx_wall ? k->last_rx_wall : tp_wall_ms() - (now - k->last_rx_ms);
            k->gap_reason = "silent";
        }
        atomic_fetch_add(&y->resubscribes, 1);
        atomic_fetch_add(&y->silent_sockets, 1);
        tp_metrics_add(y->m, TP_M_WS_RESUBSCRIBES, 1);
        tp_metrics_add(y->m, TP_M_WS_SILENT, 1);
        tp_warn(STAGE, "socket %d: silent for %.1fs although open; subscribing again", k->idx,
                (double)(now - k->last_rx_ms) / 1000);
        lws_callback_on_writable(k->wsi);
    } else if (now - k->resub_ms > y->tune.silent_ms) {
        atomic_fetch_add(&y->silent_reconnects, 1);
        close_sock(k, "still silent after a new subscription");
    }
}

static void check_socket(struct ws_sock *k, int64_t now) {
    struct yahoo *y = k->y;
    if (k->state == SOCK_WAIT && now >= k->next_connect_ms) {
        sock_connect(k);
        return;
    }
    if (k->state != SOCK_OPEN || k->close_why)
        return;
    if (k->paused) {
        k->ping_sent_ms = now;  /* a pong cannot be read while paused */
        return;
    }
    if (k->awaiting_pong && now - k->ping_sent_ms > y->tune.pong_ms) {
        close_sock(k, "no pong within the deadline");
        return;
    }
    if (!k->awaiting_pong && !k->ping_due && now - k->last_ping_ms >= y->tune.ping_ms) {
        k->ping_due = 1;
        k->last_ping_ms = now;
        lws_callback_on_writable(k->wsi);
    }
    check_silent(k, now);
    if (!k->stale_logged && now - k->last_rx_ms > y->tune.stale_ms) {
        k->stale_logged = 1;
        tp_warn(STAGE, "socket %d (%d symbols from %s) has received nothing for %llds", k->idx,
                k->nsyms, y->sym[k->sym0], (long long)((now - k->last_rx_ms) / 1000));
    }
}

/* Logs changes in the set of silent symbols, with a hint when all are. */
static void check_symbols(struct yahoo *y, int64_t now) {
    int open = 0, silent = 0;
    char names[200] = "";
    size_t nl = 0;
    for (int i = 0; i < y->nsock; i++)
        open += y->socks[i].state == SOCK_OPEN;
    if (!open)
        return;
    for (int i = 0; i < y->nsym; i++) {
        int64_t seen = y->sym_last_ms[i] ? y->sym_last_ms[i] : y->started_ms;
        if (now - seen <= y->tune.stale_ms)
            continue;
        if (silent++ < 8 && nl < sizeof names - 40)
            nl += (size_t)snprintf(names + nl, sizeof names - nl, "%s%s", nl ? ", " : "", y->sym[i]);
    }
    if (silent == y->nsym) {
        if (!y->all_silent_logged)
            tp_warn(STAGE, "no data for any of the %d symbols for over %llds; the markets may be "
                    "closed (crypto such as BTC-USD streams 24/7)", y->nsym,
                    (long long)(y->tune.stale_ms / 1000));
        y->all_silent_logged = 1;
    } else if (silent && silent != y->nstale_logged) {
        tp_warn(STAGE, "%d of %d symbols silent for over %llds: %s%s", silent, y->nsym,
                (long long)(y->tune.stale_ms / 1000), names, silent > 8 ? ", ..." : "");
        y->all_silent_logged = 0;
    } else if (!silent && y->nstale_logged) {
        tp_info(STAGE, "all %d symbols are streaming again", y->nsym);
        y->all_silent_logged = 0;
    }
    y->nstale_logged = silent;
}

static void tick(lws_sorted_usec_list_t *sul) {
    struct yahoo *y = lws_container_of(sul, struct yahoo, sul);
    if (y->stop && *y->stop)
        atomic_store(&y->quit, 1);
    if (atomic_load(&y->quit))
        return;
    int64_t now = tp_mono_ms();
    for (int i = 0; i < y->nsock; i++)
        check_socket(&y->socks[i], now);
    resume_paused(y);
    if (now >= y->next_stale_check_ms) {
        check_symbols(y, now);
        y->next_stale_check_ms = now + (y->tune.stale_ms / 4 > 250 ? y->tune.stale_ms / 4 : 250);
    }
    lws_sul_schedule(y->ctx, 0, &y->sul, tick, TICK_US);
}

static void *service_main(void *arg) {
    struct yahoo *y = arg;
    lws_sul_schedule(y->ctx, 0, &y->sul, tick, 1);
    while (!atomic_load(&y->quit))
        if (lws_service(y->ctx, 0) < 0)
            break;
    atomic_store(&y->ended, 1);
    tp_wsq_wake(y->q);
    return NULL;
}

/* ---------- reader thread: the tp_source interface ---------- */

static int yahoo_next(struct tp_source *s, struct tp_raw *r, int timeout_ms, char *errbuf,
                      size_t errsize) {
    struct yahoo *y = (struct yahoo *)s;
    int stopping = (y->stop && *y->stop) || atomic_load(&y->ended);
    int resume = 0;
    free(y->cur);
    y->cur = tp_wsq_pop(y->q, stopping ? 0 : timeout_ms, &resume);
    if (resume)
        lws_cancel_service(y->ctx);
    if (y->cur) {
        r->line = y->cur->data;
        r->len = y->cur->len;
        r->recv_ms = y->cur->recv_ms;
        r->lineno = 0;
        r->end_pos = -1;
        return 0;
    }
    pthread_mutex_lock(&y->mu);
    int fatal = y->fatal[0] != '\0';
    if (fatal)
        tp_errf(errbuf, errsize, TP_EFATAL, "%s", y->fatal);
    pthread_mutex_unlock(&y->mu);
    if (fatal)
        return TP_EFATAL;
    if ((y->stop && *y->stop) || atomic_load(&y->ended))
        return TP_EEOF;
    return TP_EAGAIN;
}

static void yahoo_free(struct tp_source *s) {
    struct yahoo *y = (struct yahoo *)s;
    atomic_store(&y->quit, 1);
    if (y->thr_started) {
        lws_cancel_service(y->ctx);
        pthread_join(y->thr, NULL);
    }
    if (y->ctx)
        lws_context_destroy(y->ctx);
    for (int i = 0; i < y->nsock; i++)
        free(y->socks[i].msg);
    free(y->socks);
    for (int i = 0; i < y->nsym; i++)
        free(y->sym[i]);
    free(y->sym);
    free(y->sorted);
    free(y->sym_last_ms);
    free(y->tls_ca);
    free(y->cur);
    free(y->gaps);
    tp_wsq_free(y->q);
    pthread_mutex_destroy(&y->mu);
    free(y);
}

static int yahoo_gaps(struct tp_source *s, struct tp_gap *out, int max) {
    struct yahoo *y = (struct yahoo *)s;
    pthread_mutex_lock(&y->mu);
    int n = y->ngaps < max ? y->ngaps : max;
    if (n == 0) {
        pthread_mutex_unlock(&y->mu);
        return 0;
    }
    memcpy(out, y->gaps, (size_t)n * sizeof *out);
    memmove(y->gaps, y->gaps + n, (size_t)(y->ngaps - n) * sizeof *out);
    y->ngaps -= n;
    pthread_mutex_unlock(&y->mu);
    return n;
}

static void yahoo_stats(struct tp_source *s, struct tp_source_stats *st) {
    struct yahoo *y = (struct yahoo *)s;
    st->resubscribes = atomic_load(&y->resubscribes);
    st->silent_reconnects = atomic_load(&y->silent_reconnects);
    st->reconnects = atomic_load(&y->reconnects);
    st->silent_sockets = atomic_load(&y->silent_sockets);
    st->open_sockets = atomic_load(&y->open_sockets);
}

static const struct tp_source_ops yahoo_ops = {yahoo_next, NULL, yahoo_free, NULL, yahoo_gaps,
                                               yahoo_stats};

static void lws_log_emit(int level, const char *line) {
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    tp_debug("lws", "%s%.*s", level == LLL_ERR ? "error: " : "", (int)n, line);
}

static int create_context(struct yahoo *y, char *errbuf, size_t errsize) {
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.gid = -1;
    info.uid = -1;
    info.user = y;
    info.timeout_secs = 15;
    if (y->tls) {
        info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.client_ssl_ca_filepath = y->tls_ca;
    }
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_emit);
    y->ctx = lws_create_context(&info);
    if (!y->ctx)
        return tp_errf(errbuf, errsize, TP_EFATAL,
                       "--source yahoo: cannot create the WebSocket client (libwebsockets)");
    return 0;
}

static int setup(struct yahoo *y, const char *url, const struct tp_source_opts *o, char *errbuf,
                 size_t errsize) {
    int rc;
    if ((rc = parse_url(y, url ? url : DEFAULT_URL, errbuf, errsize)) ||
        (rc = parse_symbols(y, o->symbols ? o->symbols : DEFAULT_SYMBOLS, errbuf, errsize)) ||
        (rc = make_shards(y, o->symbols_per_socket > 0 ? o->symbols_per_socket : 50, errbuf,
                          errsize)))
        return rc;
    if (o->tls_ca) {
        if ((rc = check_ca_file(o->tls_ca, errbuf, errsize)))
            return rc;
        if (!(y->tls_ca = strdup(o->tls_ca)))
            return tp_errf(errbuf, errsize, TP_ENOMEM, "out of memory");
    }
    y->tune.ping_ms = env_ms("TP_WS_PING_MS", 15000);
    y->tune.pong_ms = env_ms("TP_WS_PONG_MS", 10000);
    y->tune.silent_ms = o->silent_timeout_ms > 0 ? o->silent_timeout_ms : 30000;
    y->tune.stale_ms = env_ms("TP_WS_STALE_MS", o->silent_timeout_ms > 0 ? o->silent_timeout_ms : 60000);
    y->tune.bo_min_ms = env_ms("TP_WS_BACKOFF_MIN_MS", 500);
    y->tune.bo_max_ms = env_ms("TP_WS_BACKOFF_MAX_MS", 30000);
    if (y->tune.bo_max_ms < y->tune.bo_min_ms)
        y->tune.bo_max_ms = y->tune.bo_min_ms;
    y->rng = ((uint64_t)tp_wall_ms() << 16) ^ (uint64_t)getpid() ^ (uint64_t)(uintptr_t)y;
    if (!y->rng)
        y->rng = 88172645463325252ull;
    y->started_ms = tp_mono_ms();
    y->next_stale_check_ms = y->started_ms + y->tune.stale_ms / 4;
    if (tp_wsq_new(&y->q, QUEUE_FRAMES, QUEUE_BYTES))
        return tp_errf(errbuf, errsize, TP_ENOMEM, "out of memory");
    return create_context(y, errbuf, errsize);
}

int tp_source_yahoo_open(struct tp_source **out, const char *url, const struct tp_source_opts *o,
                         char *errbuf, size_t errsize) {
    struct yahoo *y = calloc(1, sizeof *y);
    *out = NULL;
    if (!y)
        return tp_errf(errbuf, errsize, TP_ENOMEM, "out of memory");
    y->base.ops = &yahoo_ops;
    y->stop = o->stop;
    y->m = o->metrics;
    pthread_mutex_init(&y->mu, NULL);
    int rc = setup(y, url, o, errbuf, errsize);
    if (!rc && pthread_create(&y->thr, NULL, service_main, y) != 0)
        rc = tp_errf(errbuf, errsize, TP_EFATAL, "cannot start the WebSocket thread");
    if (rc) {
        yahoo_free(&y->base);
        return rc;
    }
    y->thr_started = 1;
    tp_info(STAGE, "streaming %d symbols from %s over %d socket(s)", y->nsym, y->url, y->nsock);
    *out = &y->base;
    return 0;
}
