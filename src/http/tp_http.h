/*
 * tp_http.h - `--http ADDR`: the embedded HTTP server of `run` and
 * `process`. Serves /metrics (Prometheus text format), /healthz, /api/latest,
 * /api/bars, /api/ticks, /api/gaps (the rows `tickpipe query --format json`
 * prints), /stream (a WebSocket of committed ticks and bar updates) and the
 * dashboard's static files at /.
 *
 * Threads: one service thread of its own runs every callback. It reads the
 * pipeline only through tp_metrics and tp_events (lock-free, never waited
 * for) and reads the store through its own read-only connection, so the
 * pipeline is never slowed by a client.
 */
#ifndef TP_HTTP_H
#define TP_HTTP_H

#include <stddef.h>

#include "../core/tp_events.h"
#include "../core/tp_metrics.h"

struct tp_http_opts {
    const char *addr;        /* "HOST:PORT", "[V6]:PORT" or "PORT" (127.0.0.1); port 0 = any */
    const char *web_root;    /* dashboard files; NULL: tp_http_default_web_root() */
    const char *store;       /* STORE spec /api/ reads (NULL or jsonl: /api/ answers 404) */
    struct tp_metrics *m;    /* borrowed; must outlive the server */
    struct tp_events *ev;    /* borrowed; may be NULL (then /stream answers 404) */
};

struct tp_http;

/* Binds exactly addr and starts the service thread. Returns 0, TP_EINVAL
 * (bad address, errbuf names it) or TP_EIO (cannot listen). */
int tp_http_start(struct tp_http **out, const struct tp_http_opts *o, char *errbuf,
                  size_t errsize);

/* The port actually bound (useful with port 0). */
int tp_http_port(const struct tp_http *h);

/* Sends what /stream clients have not yet received (for at most 2 s), then
 * stops the thread and frees everything. NULL is a no-op. */
void tp_http_stop(struct tp_http *h);

/* The first of: the installed assets directory, the build tree's copy
 * (compiled-in paths) that holds index.html; NULL when neither does. */
const char *tp_http_default_web_root(void);

#endif
