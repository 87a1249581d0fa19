/*
 * http.c - the --http server (tp_http.h) on the libwebsockets we already
 * link for the Yahoo client: one lws context with one vhost bound to
 * exactly the given address, served by a thread of its own.
 *
 * Threads: tp_http_start() and tp_http_stop() run on the command's main
 * thread; everything else on the service thread. The two share only
 * h->draining / h->quit (atomics) and lws_cancel_service(), the one
 * thread-safe lws call. The pipeline is seen through tp_metrics and
 * tp_events only: no lock of the pipeline is ever taken here.
 *
 * Responses are built whole in memory (open_memstream) and written in
 * chunks as the socket takes them. /stream clients each keep a position
 * in the event ring; a timer (every 20 ms) asks for writable callbacks
 * while events are waiting; a client more than half a ring behind is
 * disconnected and counted, so a slow browser never holds the pipeline.
 * A client that asks for /stream?conflate=MS (the dashboard) gets, every
 * MS, the newest tick per symbol and bar state per bar instead.
 */
#include <errno.h>
#include <libwebsockets.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/tp_error.h"
#include "../core/tp_log.h"
#include "../sink/tp_store.h"
#include "http_int.h"
#include "tp_http.h"

#define STAGE "http"
#define TIMER_US (20 * LWS_US_PER_MS)
#define MAX_CLIENTS 64
#define CHUNK 16384
#define MSG_MAX (64u << 10)
#define MSG_EVENTS 512
#define DRAIN_MS 2000

#ifndef TP_WEB_INSTALL_DIR
#define TP_WEB_INSTALL_DIR "/usr/local/share/tickpipe/web"
#endif
#ifndef TP_WEB_BUILD_DIR
#define TP_WEB_BUILD_DIR "web"
#endif

struct tp_http {
    struct tp_http_opts o;
    char web_root[512];
    struct lws_context *ctx;
    lws_sorted_usec_list_t sul;
    pthread_t th;
    int started;
    int port;
    _Atomic int draining, quit;
    int64_t drain_until_us;
    struct lws *clients[MAX_CLIENTS];
    int nclients;
    struct tp_store *reader;    /* /api/ reads; service thread only */
    char *msg;                  /* LWS_PRE + MSG_MAX for /stream messages */
};

/* Per connection: an HTTP response being written, or a /stream client. */
struct conn {
    char *body;
    size_t len, off;
    int is_stream;
    int lost;                   /* fell a ring behind: to be disconnected */
    uint64_t cursor;
    struct tp_conflate *cf;     /* /stream?conflate=MS, else NULL */
    int64_t conflate_us, next_flush_us;
};

static const struct {
    const char *path, *file, *mime;
} assets[] = {
    {"/", "index.html", "text/html; charset=utf-8"},
    {"/index.html", "index.html", "text/html; charset=utf-8"},
    {"/app.js", "app.js", "text/javascript"},
    {"/style.css", "style.css", "text/css"},
    {"/lightweight-charts.js", "lightweight-charts.js", "text/javascript"},
};

const char *tp_http_default_web_root(void) {
    static const char *const dirs[] = {TP_WEB_INSTALL_DIR, TP_WEB_BUILD_DIR};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        char p[600];
        struct stat sb;
        snprintf(p, sizeof p, "%s/index.html", dirs[i]);
        if (stat(p, &sb) == 0)
            return dirs[i];
    }
    return NULL;
}

static struct tp_http *server_of(struct lws *wsi) {
    return lws_context_user(lws_get_context(wsi));
}

/* Sends the status line and headers, then asks to write the body. */
static int respond(struct lws *wsi, struct conn *c, int status, const char *mime, char *body,
                   size_t len) {
    unsigned char hdr[LWS_PRE + 1024], *start = hdr + LWS_PRE, *p = start, *end = hdr + sizeof hdr - 1;
    free(c->body);
    c->body = body;
    c->len = body ? len : 0;
    c->off = 0;
    if (lws_add_http_common_headers(wsi, (unsigned)status, mime, c->len, &p, end) ||
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
                                     (const unsigned char *)"no-store", 8, &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    lws_callback_on_writable(wsi);
    return 0;
}

static int respond_text(struct lws *wsi, struct conn *c, int status, const char *text) {
    char *body = strdup(text);
    return respond(wsi, c, status, "text/plain; charset=utf-8", body, body ? strlen(body) : 0);
}

static int write_body(struct lws *wsi, struct conn *c) {
    unsigned char buf[LWS_PRE + CHUNK];
    size_t n = c->len - c->off;
    if (n > CHUNK)
        n = CHUNK;
    int final = c->off + n == c->len;
    memcpy(buf + LWS_PRE, c->body ? c->body + c->off : "", n);
    if (lws_write(wsi, buf + LWS_PRE, n, final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int)n)
        return -1;
    c->off += n;
    if (!final) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    free(c->body);
    c->body = NULL;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int serve_metrics(struct lws *wsi, struct conn *c, struct tp_http *h) {
    char *body = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&body, &len);
    if (!f)
        return respond_text(wsi, c, 500, "out of memory\n");
    tp_metrics_write(h->o.m, f);
    fclose(f);
    return respond(wsi, c, 200, "text/plain; version=0.0.4; charset=utf-8", body, len);
}

static int serve_health(struct lws *wsi, struct conn *c, struct tp_http *h) {
    char why[256], line[300];
    int bad = tp_metrics_health(h->o.m, why, sizeof why);
    snprintf(line, sizeof line, "%s\n", why);
    return respond_text(wsi, c, bad ? 503 : 200, line);
}

struct args {
    struct lws *wsi;
    char buf[6][256];
    int used;
};

/* URL parameter name of the request, or NULL (lws has decoded %xx). */
static const char *get_arg(void *ctx, const char *name) {
    struct args *a = ctx;
    char key[32];
    if (a->used == 6)
        return NULL;
    snprintf(key, sizeof key, "%s=", name);
    const char *v = lws_get_urlarg_by_name(a->wsi, key, a->buf[a->used], sizeof a->buf[0]);
    if (v)
        a->used++;
    return v;
}

static int serve_api(struct lws *wsi, struct conn *c, struct tp_http *h, const char *what) {
    struct args a = {.wsi = wsi};
    char *body = NULL;
    size_t len = 0;
    int status = tp_http_api(&h->reader, h->o.store, what, get_arg, &a, &body, &len);
    if (!body)
        return respond_text(wsi, c, 500, "out of memory\n");
    return respond(wsi, c, status, "application/json", body, len);
}

static int serve_file(struct lws *wsi, struct conn *c, struct tp_http *h, const char *uri) {
    for (size_t i = 0; i < sizeof assets / sizeof assets[0]; i++) {
        if (strcmp(uri, assets[i].path) != 0)
            continue;
        if (!h->web_root[0])
            return respond_text(wsi, c, 404, "dashboard files not found: build web/ (cmake "
                                             "--build) or pass --web-root DIR\n");
        char path[700];
        snprintf(path, sizeof path, "%s/%s", h->web_root, assets[i].file);
        int n = lws_serve_http_file(wsi, path, assets[i].mime, NULL, 0);
        if (n < 0 || (n > 0 && lws_http_transaction_completed(wsi)))
            return -1;
        return 0;
    }
    return respond_text(wsi, c, 404, "not found\n");
}

static int on_http(struct lws *wsi, struct conn *c, const char *uri) {
    struct tp_http *h = server_of(wsi);
    tp_metrics_add(h->o.m, TP_M_HTTP_REQUESTS, 1);
    if (strcmp(uri, "/metrics") == 0)
        return serve_metrics(wsi, c, h);
    if (strcmp(uri, "/healthz") == 0)
        return serve_health(wsi, c, h);
    if (strncmp(uri, "/api/", 5) == 0)
        return serve_api(wsi, c, h, uri + 5);
    return serve_file(wsi, c, h, uri);
}

/* ---------- /stream ---------- */

static int stream_accept(struct lws *wsi, struct conn *c, struct tp_http *h) {
    char arg[64];
    if (!h->o.ev || h->nclients == MAX_CLIENTS)
        return -1;
    const char *ms = lws_get_urlarg_by_name(wsi, "conflate=", arg, sizeof arg);
    if (ms && atoi(ms) > 0) {
        if (!(c->cf = tp_conflate_new()))
            return -1;
        c->conflate_us = (int64_t)(atoi(ms) > 60000 ? 60000 : atoi(ms)) * 1000;
    }
    c->is_stream = 1;
    c->cursor = tp_events_head(h->o.ev);
    h->clients[h->nclients++] = wsi;
    tp_events_listeners_add(h->o.ev, 1);
    tp_metrics_set(h->o.m, TP_M_STREAM_CLIENTS, h->nclients);
    return 0;
}

static void stream_gone(struct lws *wsi, struct conn *c, struct tp_http *h) {
    if (!c->is_stream)
        return;
    c->is_stream = 0;
    for (int i = 0; i < h->nclients; i++)
        if (h->clients[i] == wsi) {
            h->clients[i] = h->clients[--h->nclients];
            break;
        }
    tp_events_listeners_add(h->o.ev, -1);
    tp_metrics_set(h->o.m, TP_M_STREAM_CLIENTS, h->nclients);
    tp_conflate_free(c->cf);
    c->cf = NULL;
}

static int stream_dropped(struct tp_http *h, uint64_t behind) {
    tp_warn(STAGE, "/stream client fell %llu events behind: disconnected",
            (unsigned long long)behind);
    tp_metrics_add(h->o.m, TP_M_STREAM_DROPPED_CLIENTS, 1);
    return -1;
}

static int conflated_write(struct lws *wsi, struct conn *c, struct tp_http *h) {
    if (c->lost)
        return stream_dropped(h, tp_events_head(h->o.ev) - c->cursor);
    char *out = h->msg + LWS_PRE;
    int n = tp_conflate_render(c->cf, out, MSG_MAX);
    c->next_flush_us = lws_now_usecs() + c->conflate_us;
    if (n > 0 && lws_write(wsi, (unsigned char *)out, (size_t)n, LWS_WRITE_TEXT) < n)
        return -1;
    return 0;
}

static int stream_write(struct lws *wsi, struct conn *c, struct tp_http *h) {
    if (c->cf)
        return conflated_write(wsi, c, h);
    uint64_t head = tp_events_head(h->o.ev);
    if (head - c->cursor > tp_events_capacity(h->o.ev) / 2)
        return stream_dropped(h, head - c->cursor);
    char *out = h->msg + LWS_PRE;
    int n = tp_http_render_events(h->o.ev, &c->cursor, MSG_EVENTS, out, MSG_MAX);
    if (n < 0)
        return stream_dropped(h, head - c->cursor);
    if (n == 0)
        return 0;
    if (lws_write(wsi, (unsigned char *)out, (size_t)n, LWS_WRITE_TEXT) < n)
        return -1;
    if (c->cursor != tp_events_head(h->o.ev))
        lws_callback_on_writable(wsi);
    return 0;
}

static int is_stream_uri(struct lws *wsi) {
    char uri[64];
    return lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) > 0 && strcmp(uri, "/stream") == 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len) {
    struct conn *c = user;
    struct tp_http *h = wsi ? server_of(wsi) : NULL;
    if (reason == LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION)
        return is_stream_uri(wsi) && h->o.ev ? 0 : 1;
    if (!c)   /* a connection that closes before lws gave it its state (browser preconnects) */
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        return on_http(wsi, c, in);
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return c->body || c->len ? write_body(wsi, c) : 0;
    case LWS_CALLBACK_HTTP_FILE_COMPLETION:
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    case LWS_CALLBACK_CLOSED_HTTP:
        free(c->body);
        c->body = NULL;
        return 0;
    case LWS_CALLBACK_ESTABLISHED:
        return stream_accept(wsi, c, h);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return c->is_stream ? stream_write(wsi, c, h) : 0;
    case LWS_CALLBACK_CLOSED:
        stream_gone(wsi, c, h);
        return 0;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
    {"http", callback, sizeof(struct conn), 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0}};

/* ---------- the service thread ---------- */

/* Whether client wsi has something to be sent now; folds the events of a
 * conflating client, which is due once per period (at once when draining). */
static int client_due(struct tp_http *h, struct lws *wsi, uint64_t head, int draining) {
    struct conn *c = lws_wsi_user(wsi);
    if (lws_send_pipe_choked(wsi))
        return 1;
    if (!c->cf)
        return c->cursor != head;
    if (!c->lost && tp_conflate_pull(c->cf, h->o.ev, &c->cursor) == TP_EFULL)
        c->lost = 1;
    if (c->lost)
        return 1;
    if (!tp_conflate_pending(c->cf))
        return c->cursor != head;
    return draining || lws_now_usecs() >= c->next_flush_us;
}

/* Every 20 ms: wake the /stream clients that have events waiting; while
 * draining, stop once every client has everything (or the time is up). */
static void tick(lws_sorted_usec_list_t *sul) {
    struct tp_http *h = lws_container_of(sul, struct tp_http, sul);
    int behind = 0, draining = atomic_load(&h->draining);
    uint64_t head = h->o.ev ? tp_events_head(h->o.ev) : 0;
    for (int i = 0; i < h->nclients; i++) {
        if (client_due(h, h->clients[i], head, draining)) {
            behind = 1;
            lws_callback_on_writable(h->clients[i]);
        }
    }
    if (draining) {
        if (!h->drain_until_us)
            h->drain_until_us = lws_now_usecs() + DRAIN_MS * 1000;
        if (!behind || lws_now_usecs() >= h->drain_until_us) {
            atomic_store(&h->quit, 1);
            lws_cancel_service(h->ctx);   /* wake the poll this pass ends in */
            return;
        }
    }
    lws_sul_schedule(h->ctx, 0, &h->sul, tick, TIMER_US);
}

static void *service_main(void *arg) {
    struct tp_http *h = arg;
    lws_sul_schedule(h->ctx, 0, &h->sul, tick, 1);
    while (!atomic_load(&h->quit))
        if (lws_service(h->ctx, 0) < 0)
            break;
    return NULL;
}

/* "PORT", "HOST:PORT" or "[V6]:PORT" into host and port. */
static int parse_addr(const char *addr, char *host, size_t hsize, int *port) {
    const char *colon = strrchr(addr, ':');
    const char *ps = colon ? colon + 1 : addr;
    char *end;
    long p = strtol(ps, &end, 10);
    if (!*ps || *end || p < 0 || p > 65535)
        return TP_EINVAL;
    *port = (int)p;
    if (!colon) {
        snprintf(host, hsize, "127.0.0.1");
        return 0;
    }
    size_t n = (size_t)(colon - addr);
    if (n >= 2 && addr[0] == '[' && addr[n - 1] == ']') {
        addr++;
        n -= 2;
    }
    if (n == 0 || n >= hsize)
        return TP_EINVAL;
    memcpy(host, addr, n);
    host[n] = '\0';
    return 0;
}

/* lws logging is process-wide and the Yahoo source sets the same level:
 * errors and warnings, through our log, from whichever part spoke. */
/* Binds a throwaway socket to host:port: lws leaks memory when it cannot
 * bind its own, and says less about why. Returns 0, TP_EINVAL (host is not
 * an IP address) or TP_EIO with why filled. */
static int probe_bind(const char *host, int port, char *why, size_t size) {
    struct addrinfo hints, *ai = NULL;
    char ps[8];
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
    snprintf(ps, sizeof ps, "%d", port);
    if (getaddrinfo(host, ps, &hints, &ai) != 0 || !ai) {
        snprintf(why, size, "%s is not an IP address", host);
        return TP_EINVAL;
    }
    int one = 1, err = 0;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        snprintf(why, size, "cannot listen on %s port %d: %s", host, port, strerror(errno));
        err = TP_EIO;
    }
    if (fd >= 0)
        close(fd);
    freeaddrinfo(ai);
    return err;
}

static void lws_log_emit(int level, const char *line) {
    (void)level;
    tp_warn("lws", "%.*s", (int)strcspn(line, "\n"), line);
}

int tp_http_start(struct tp_http **out, const struct tp_http_opts *o, char *errbuf,
                  size_t errsize) {
    *out = NULL;
    char host[256];
    int port;
    if (parse_addr(o->addr, host, sizeof host, &port))
        return tp_errf(errbuf, errsize, TP_EINVAL,
                       "--http %s: expected PORT, HOST:PORT or [IPV6]:PORT", o->addr);
    char why[300];
    int err = probe_bind(host, port, why, sizeof why);
    if (err)
        return tp_errf(errbuf, errsize, err, "--http %s: %s", o->addr, why);
    struct tp_http *h = calloc(1, sizeof *h);
    if (!h || !(h->msg = malloc(LWS_PRE + MSG_MAX))) {
        free(h);
        return tp_errf(errbuf, errsize, TP_ENOMEM, "--http: out of memory");
    }
    h->o = *o;
    const char *root = o->web_root ? o->web_root : tp_http_default_web_root();
    if (root)
        snprintf(h->web_root, sizeof h->web_root, "%s", root);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = port;
    info.iface = host;
    info.protocols = protocols;
    info.user = h;
    info.options = strchr(host, ':') ? 0 : LWS_SERVER_OPTION_DISABLE_IPV6;
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_emit);
    h->ctx = lws_create_context(&info);
    struct lws_vhost *vh = h->ctx ? lws_get_vhost_by_name(h->ctx, "default") : NULL;
    h->port = vh ? lws_get_vhost_listen_port(vh) : -1;
    if (!h->ctx || h->port <= 0) {
        tp_http_stop(h);
        return tp_errf(errbuf, errsize, TP_EIO, "--http %s: cannot listen on %s port %d "
                       "(address in use or not local?)", o->addr, host, port);
    }
    if (pthread_create(&h->th, NULL, service_main, h) != 0) {
        tp_http_stop(h);
        return tp_errf(errbuf, errsize, TP_EIO, "--http: cannot start its thread");
    }
    h->started = 1;
    *out = h;
    return 0;
}

int tp_http_port(const struct tp_http *h) {
    return h->port;
}

void tp_http_stop(struct tp_http *h) {
    if (!h)
        return;
    if (h->started) {
        atomic_store(&h->draining, 1);
        lws_cancel_service(h->ctx);
        pthread_join(h->th, NULL);
    }
    if (h->ctx)
        lws_context_destroy(h->ctx);
    tp_store_free(h->reader);
    free(h->msg);
    free(h);
}
