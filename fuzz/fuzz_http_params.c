/*
 * fuzz_http_params.c - libFuzzer target for what a URL brings to the HTTP
 * API: the input is split at '&' into name=value parameters (as lws hands
 * them over, %-decoded) and given to tp_http_api() for each /api/ kind,
 * without a store, so every parameter is parsed and every answer rendered.
 * Invariants beyond "no crash": the answer is 400 (a bad parameter), 404
 * (unknown kind, or no store to read) or never anything else, and its body
 * is one JSON object with no raw control character. The first bytes also
 * become a /stream event symbol, whose JSON must stay escaped.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/tp_events.h"
#include "http/http_int.h"

struct params {
    char buf[4096];
    const char *name[8], *value[8];
    int n;
};

static const char *get(void *ctx, const char *name) {
    struct params *p = ctx;
    for (int i = 0; i < p->n; i++)
        if (strcmp(p->name[i], name) == 0)
            return p->value[i];
    return NULL;
}

static void split(struct params *p, const uint8_t *data, size_t size) {
    size_t n = size < sizeof p->buf - 1 ? size : sizeof p->buf - 1;
    memcpy(p->buf, data, n);
    p->buf[n] = '\0';
    p->n = 0;
    for (char *save = NULL, *kv = strtok_r(p->buf, "&", &save); kv && p->n < 8;
         kv = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq)
            continue;
        *eq = '\0';
        p->name[p->n] = kv;
        p->value[p->n++] = eq + 1;
    }
}

static void check_body(const char *body, size_t len) {
    if (len < 2 || body[0] != '{')
        abort();
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)body[i] < 0x20 && body[i] != '\n')
            abort();
}

static void check_event_json(const uint8_t *data, size_t size) {
    static struct tp_events *ev;
    static char out[1 << 16];
    if (!ev && !(ev = tp_events_new(4)))
        abort();
    struct tp_event e;
    memset(&e, 0, sizeof e);
    e.kind = TP_EV_TICK;
    memcpy(e.symbol, data, size < sizeof e.symbol - 1 ? size : sizeof e.symbol - 1);
    uint64_t cur = tp_events_head(ev);
    tp_events_publish(ev, &e, 1);
    int n = tp_http_render_events(ev, &cur, 8, out, sizeof out);
    if (n <= 0)
        abort();
    for (int i = 0; i < n; i++)
        if ((unsigned char)out[i] < 0x20)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *const kinds[] = {"latest", "bars", "ticks", "gaps", "nothing"};
    struct params p;
    split(&p, data, size);
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        char *body = NULL;
        size_t len = 0;
        int status = tp_http_api(NULL, NULL, kinds[k], get, &p, &body, &len);
        if ((status != 400 && status != 404) || !body)
            abort();
        check_body(body, len);
        free(body);
    }
    check_event_json(data, size);
    return 0;
}
