/*
 * cmd_http.c - the --http wiring `run` and `process` share: creates the
 * metrics and the event ring, wraps the store in the measuring tap and
 * starts the HTTP server; stops it all in the reverse order. Main thread.
 */
#include <stdio.h>
#include <string.h>

#include "../core/tp_error.h"
#include "../sink/tp_tap.h"
#include "tp_cmd.h"

#define EVENTS_ORDER 17   /* 131072 events: a /stream client may lag 65536 behind */

int tp_cmd_http_start(struct tp_cmd_http *w, const char *cmd, const struct tp_cmd_http_opts *o,
                      struct tp_store **st) {
    char errbuf[512];
    if (!o->addr)
        return 0;
    if ((!w->m && !(w->m = tp_metrics_new())) || !(w->ev = tp_events_new(EVENTS_ORDER))) {
        fprintf(stderr, "tickpipe %s: --http: out of memory\n", cmd);
        return 1;
    }
    tp_metrics_health_config(w->m, o->live, o->silent_ms, o->stuck_ms);
    if (tp_store_tap_new(st, *st, w->m, w->ev)) {
        fprintf(stderr, "tickpipe %s: --http: out of memory\n", cmd);
        return 1;
    }
    w->tap = *st;
    struct tp_http_opts ho = {.addr = o->addr, .web_root = o->web_root, .store = o->store,
                              .m = w->m, .ev = w->ev};
    int err = tp_http_start(&w->h, &ho, errbuf, sizeof errbuf);
    if (err) {
        fprintf(stderr, "tickpipe %s: %s\n", cmd, errbuf);
        return err == TP_EINVAL ? 2 : 1;
    }
    if (!o->web_root && !tp_http_default_web_root())
        fprintf(stderr, "tickpipe %s: --http: dashboard files not found (looked in the installed "
                        "and build directories); pass --web-root DIR\n", cmd);
    fprintf(stderr, "tickpipe %s: serving http on port %d (%s)\n", cmd, tp_http_port(w->h),
            o->addr);
    return 0;
}

struct tp_metrics *tp_cmd_http_metrics(struct tp_cmd_http *w, const char *addr) {
    if (addr && !w->m)
        w->m = tp_metrics_new();
    return w->m;
}

void tp_cmd_http_stop(struct tp_cmd_http *w) {
    tp_http_stop(w->h);
    w->h = NULL;
}

void tp_cmd_http_free(struct tp_cmd_http *w) {
    tp_cmd_http_stop(w);
    tp_events_free(w->ev);
    tp_metrics_free(w->m);
    memset(w, 0, sizeof *w);
}
