/*
 * stream.c - the JSON of /stream messages: each WebSocket message is a JSON
 * array of events in commit order, ticks as
 *   {"type":"tick","symbol":..,"time":..,"seq":..,"price":..,"change":..,"cumAvgPrice":..}
 * and bar updates as
 *   {"type":"bar","symbol":..,"interval":..,"start":..,"open":..,"high":..,"low":..,
 *    "close":..,"volume":..,"vwap":..,"count":..,"closed":true|false}
 * (absent values are null). Rendering happens here, on the HTTP thread,
 * never on the pipeline's threads. A client may ask for conflation
 * instead of every event (below).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/tp_error.h"
#include "../core/tp_fmt.h"
#include "http_int.h"

struct buf {
    char *p;
    size_t len, cap;
};

static void put(struct buf *b, const char *s, size_t n) {
    if (b->len + n < b->cap)
        memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void puts_(struct buf *b, const char *s) {
    put(b, s, strlen(s));
}

static void put_num(struct buf *b, const char *name, double v) {
    char tmp[48];
    puts_(b, name);
    if (isfinite(v)) {
        int n = tp_fmt_double(tmp, sizeof tmp, v);
        put(b, tmp, (size_t)n);
    } else {
        puts_(b, "null");
    }
}

static void put_int(struct buf *b, const char *name, int64_t v) {
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%lld", (long long)v);
    puts_(b, name);
    put(b, tmp, (size_t)n);
}

static void put_str(struct buf *b, const char *name, const char *s) {
    puts_(b, name);
    put(b, "\"", 1);
    for (; *s; s++) {
        char tmp[8];
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\' || c < 0x20) {
            int n = snprintf(tmp, sizeof tmp, "\\u%04x", c);
            put(b, tmp, (size_t)n);
        } else {
            put(b, s, 1);
        }
    }
    put(b, "\"", 1);
}

static void render_one(struct buf *b, const struct tp_event *e) {
    if (e->kind == TP_EV_TICK) {
        put_str(b, "{\"type\":\"tick\",\"symbol\":", e->symbol);
        put_int(b, ",\"time\":", e->time);
        put_int(b, ",\"seq\":", e->seq);
        put_num(b, ",\"price\":", e->price);
        put_num(b, ",\"change\":", e->change);
        put_num(b, ",\"cumAvgPrice\":", e->cum_avg);
    } else {
        put_str(b, "{\"type\":\"bar\",\"symbol\":", e->symbol);
        put_str(b, ",\"interval\":", e->interval);
        put_int(b, ",\"start\":", e->time);
        put_num(b, ",\"open\":", e->open);
        put_num(b, ",\"high\":", e->high);
        put_num(b, ",\"low\":", e->low);
        put_num(b, ",\"close\":", e->price);
        put_int(b, ",\"volume\":", e->volume);
        put_num(b, ",\"vwap\":", e->cum_avg);
        put_int(b, ",\"count\":", e->seq);
        puts_(b, e->closed ? ",\"closed\":true" : ",\"closed\":false");
    }
    put(b, "}", 1);
}

int tp_http_render_events(const struct tp_events *ev, uint64_t *cursor, int max, char *buf,
                          size_t cap) {
    struct buf b = {buf, 0, cap};
    struct tp_event e;
    int n = 0;
    while (n < max) {
        int err = tp_events_read(ev, *cursor, &e);
        if (err == TP_EAGAIN)
            break;
        if (err)
            return TP_EFULL;
        size_t mark = b.len;
        put(&b, n ? "," : "[", 1);
        render_one(&b, &e);
        if (b.len + 1 >= cap) {   /* no room: this event goes into the next message */
            b.len = mark;
            break;
        }
        (*cursor)++;
        n++;
    }
    if (n == 0)
        return 0;
    put(&b, "]", 1);
    return (int)b.len;
}

/* ---------- conflation (/stream?conflate=MS) ----------
 * A dashboard needs the newest tick of each symbol and the newest state of
 * each bar, a few times a second, not every tick of a busy feed. A
 * conflating client's events are folded by key (kind, symbol, interval)
 * into a table; the table goes out as one message every period, in the
 * order keys first appeared. */

#define CONFLATE_EVENTS 4096
#define CONFLATE_SLOTS 8192     /* power of two, twice the events */

struct tp_conflate {
    int n;
    struct tp_event ev[CONFLATE_EVENTS];
    uint16_t slot[CONFLATE_SLOTS];   /* index + 1 into ev; 0 = empty */
};

struct tp_conflate *tp_conflate_new(void) {
    return calloc(1, sizeof(struct tp_conflate));
}

void tp_conflate_free(struct tp_conflate *cf) {
    free(cf);
}

static uint32_t key_hash(const struct tp_event *e) {
    uint32_t h = 2166136261u ^ e->kind;
    for (const char *p = e->symbol; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    for (const char *p = e->interval; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    return h;
}

static int same_key(const struct tp_event *a, const struct tp_event *b) {
    return a->kind == b->kind && strcmp(a->symbol, b->symbol) == 0 &&
           strcmp(a->interval, b->interval) == 0;
}

/* Folds e in; 0, or TP_EFULL when the table has no room for a new key. */
static int fold(struct tp_conflate *cf, const struct tp_event *e) {
    for (uint32_t i = key_hash(e) & (CONFLATE_SLOTS - 1);; i = (i + 1) & (CONFLATE_SLOTS - 1)) {
        int k = cf->slot[i];
        if (k && same_key(&cf->ev[k - 1], e)) {
            cf->ev[k - 1] = *e;
            return 0;
        }
        if (!k) {
            if (cf->n == CONFLATE_EVENTS)
                return TP_EFULL;
            cf->ev[cf->n++] = *e;
            cf->slot[i] = (uint16_t)cf->n;
            return 0;
        }
    }
}

int tp_conflate_pull(struct tp_conflate *cf, const struct tp_events *ev, uint64_t *cursor) {
    struct tp_event e;
    for (;;) {
        int err = tp_events_read(ev, *cursor, &e);
        if (err == TP_EAGAIN)
            return 0;
        if (err)
            return TP_EFULL;
        if (fold(cf, &e))
            return 0;   /* full: the rest waits for the next message */
        (*cursor)++;
    }
}

int tp_conflate_pending(const struct tp_conflate *cf) {
    return cf->n;
}

int tp_conflate_render(struct tp_conflate *cf, char *buf, size_t cap) {
    struct buf b = {buf, 0, cap};
    int n = 0;
    for (int i = 0; i < cf->n; i++) {
        size_t mark = b.len;
        put(&b, n ? "," : "[", 1);
        render_one(&b, &cf->ev[i]);
        if (b.len + 1 >= cap) {   /* too much for one message: the rest is dropped */
            b.len = mark;
            break;
        }
        n++;
    }
    cf->n = 0;
    memset(cf->slot, 0, sizeof cf->slot);
    if (n == 0)
        return 0;
    put(&b, "]", 1);
    return (int)b.len;
}
