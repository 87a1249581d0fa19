/*
 * feed_replay.c - loads a frame file for the feed server.
 *
 * Each line is decoded once with tp_decode_frame(). A decodable frame is
 * kept in both wire forms: the original text for the form it was recorded
 * in, and the other form built from its payload. A frame that does not
 * decode (garbage in a recording) is kept as-is for both forms and has no
 * symbol; a non-pricing envelope is kept for version=2 clients only.
 * Receive times are made non-decreasing so pacing never goes backwards.
 * Called from the main thread before serving; read-only afterwards.
 */
#include "feed_replay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/tp_buf.h"
#include "../core/tp_error.h"
#include "../codec/tp_decode.h"

static int add_text(struct feed_replay *r, const char *a, size_t alen, const char *b, size_t blen,
                    const char *c, size_t clen, size_t *off) {
    struct tp_buf *t = &r->text;
    if (tp_buf_reserve(t, alen + blen + clen + 1))
        return TP_ENOMEM;
    *off = t->len;
    memcpy(t->p + t->len, a, alen);
    memcpy(t->p + t->len + alen, b, blen);
    memcpy(t->p + t->len + alen + blen, c, clen);
    t->len += alen + blen + clen;
    return 0;
}

static uint32_t hash_str(const char *s, size_t len) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

static int hash_slot(const struct feed_replay *r, const char *s, size_t len) {
    int mask = r->hashcap - 1, i = (int)(hash_str(s, len) & (uint32_t)mask);
    while (r->hash[i] >= 0) {
        const char *k = r->syms[r->hash[i]];
        if (strncmp(k, s, len) == 0 && k[len] == '\0')
            return i;
        i = (i + 1) & mask;
    }
    return i;
}

int tp_feed_replay_symbol(const struct feed_replay *r, const char *s, size_t len) {
    if (!r->hashcap)
        return -1;
    return r->hash[hash_slot(r, s, len)];
}

static int rehash(struct feed_replay *r, int cap) {
    int32_t *h = malloc((size_t)cap * sizeof *h);
    if (!h)
        return TP_ENOMEM;
    free(r->hash);
    r->hash = h;
    r->hashcap = cap;
    for (int i = 0; i < cap; i++)
        h[i] = -1;
    for (int i = 0; i < r->nsym; i++)
        h[hash_slot(r, r->syms[i], strlen(r->syms[i]))] = i;
    return 0;
}

static int intern(struct feed_replay *r, const char *s, size_t len) {
    int id = tp_feed_replay_symbol(r, s, len);
    if (id >= 0)
        return id;
    if ((r->nsym + 1) * 2 > r->hashcap && rehash(r, r->hashcap ? r->hashcap * 2 : 64))
        return TP_ENOMEM;
    if (tp_array_grow(&r->syms, &r->symcap, (size_t)r->nsym, sizeof *r->syms, 64))
        return TP_ENOMEM;
    if (!(r->syms[r->nsym] = strndup(s, len)))
        return TP_ENOMEM;
    r->hash[hash_slot(r, s, len)] = r->nsym;
    return r->nsym++;
}

/* Fills the wire forms and symbol of one frame. */
static int add_frame(struct feed_replay *r, struct feed_frame *f, const char *frame, size_t flen,
                     uint8_t *payload, char *b64) {
    struct tp_quote q;
    size_t plen = 0;
    const char *reason = NULL;
    int st = tp_decode_frame(frame, flen, payload, &plen, &q, &reason);
    int is_env = flen && frame[0] == '{';
    int rc;
    f->sym = -1;
    if (st == TP_DECODE_REJECT || plen == 0) {
        /* garbage or a non-pricing envelope: send it as recorded */
        if ((rc = add_text(r, frame, flen, "", 0, "", 0, &f->env_off)))
            return rc;
        f->env_len = (uint32_t)flen;
        f->bare_off = f->env_off;
        f->bare_len = st == TP_DECODE_REJECT ? (uint32_t)flen : 0;
        return 0;
    }
    if ((q.present & 1u) && (rc = intern(r, (const char *)payload + q.v[TP_F_ID].sv.off,
                                          q.v[TP_F_ID].sv.len)) < 0)
        return rc;
    f->sym = (q.present & 1u) ? rc : -1;
    size_t blen = tp_base64_encode(payload, plen, b64);
    static const char pre[] = "{\"type\":\"pricing\",\"message\":\"", post[] = "\"}";
    if (is_env) {
        if ((rc = add_text(r, frame, flen, "", 0, "", 0, &f->env_off)) ||
            (rc = add_text(r, b64, blen, "", 0, "", 0, &f->bare_off)))
            return rc;
        f->env_len = (uint32_t)flen;
        f->bare_len = (uint32_t)blen;
    } else {
        if ((rc = add_text(r, frame, flen, "", 0, "", 0, &f->bare_off)) ||
            (rc = add_text(r, pre, sizeof pre - 1, b64, blen, post, sizeof post - 1, &f->env_off)))
            return rc;
        f->bare_len = (uint32_t)flen;
        f->env_len = (uint32_t)(sizeof pre - 1 + blen + sizeof post - 1);
    }
    return 0;
}

static int index_symbols(struct feed_replay *r) {
    r->sym_frames = calloc((size_t)r->nsym + 1, sizeof *r->sym_frames);
    r->sym_nframes = calloc((size_t)r->nsym + 1, sizeof *r->sym_nframes);
    if (!r->sym_frames || !r->sym_nframes)
        return TP_ENOMEM;
    for (uint64_t i = 0; i < r->n; i++)
        if (r->f[i].sym >= 0)
            r->sym_nframes[r->f[i].sym]++;
    for (int s = 0; s < r->nsym; s++) {
        if (!(r->sym_frames[s] = malloc(r->sym_nframes[s] * sizeof(uint64_t))))
            return TP_ENOMEM;
        r->sym_nframes[s] = 0;
    }
    for (uint64_t i = 0; i < r->n; i++)
        if (r->f[i].sym >= 0)
            r->sym_frames[r->f[i].sym][r->sym_nframes[r->f[i].sym]++] = i;
    return 0;
}

static int load_lines(struct feed_replay *r, FILE *fp, char *errbuf, size_t errsize,
                      const char *path) {
    char *line = NULL, *b64 = malloc(TP_PAYLOAD_MAX / 3 * 4 + 8);
    uint8_t *payload = malloc(TP_PAYLOAD_MAX);
    size_t lcap = 0;
    ssize_t got;
    int64_t first = -1, last = 0;
    int rc = (b64 && payload) ? 0 : TP_ENOMEM;
    while (!rc && (got = getline(&line, &lcap, fp)) >= 0) {
        size_t len = (size_t)got;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        if (len == 0 || line[0] == '#')
            continue;
        const char *frame;
        size_t flen;
        int64_t t = tp_decode_split_recv_time(line, len, &frame, &flen);
        if (flen == 0)
            continue;
        if (t >= 0 && first < 0)
            first = t;
        if (t >= 0 && t - first > last)
            last = t - first;
        if ((rc = tp_array_grow(&r->f, &r->fcap, (size_t)r->n, sizeof *r->f, 64)))
            break;
        struct feed_frame *f = &r->f[r->n];
        f->t_ms = last;
        if (!(rc = add_frame(r, f, frame, flen, payload, b64)))
            r->n++;
    }
    if (rc)
        tp_errf(errbuf, errsize, rc, "--replay %s: out of memory", path);
    else if (ferror(fp))
        rc = tp_errf(errbuf, errsize, TP_EIO, "--replay %s: read error", path);
    else if (r->n == 0)
        rc = tp_errf(errbuf, errsize, TP_EINVAL, "--replay %s: no frames in the file", path);
    free(line);
    free(b64);
    free(payload);
    return rc;
}

int tp_feed_replay_load(struct feed_replay **out, const char *path, char *errbuf, size_t errsize) {
    struct feed_replay *r = calloc(1, sizeof *r);
    *out = NULL;
    if (!r)
        return tp_errf(errbuf, errsize, TP_ENOMEM, "out of memory");
    FILE *fp = fopen(path, "r");
    int rc;
    if (!fp) {
        rc = tp_errf(errbuf, errsize, TP_EINVAL, "--replay %s: cannot open the file", path);
        goto fail;
    }
    rc = load_lines(r, fp, errbuf, errsize, path);
    fclose(fp);
    if (rc)
        goto fail;
    if ((rc = index_symbols(r))) {
        tp_errf(errbuf, errsize, rc, "--replay %s: out of memory", path);
        goto fail;
    }
    int64_t span = r->f[r->n - 1].t_ms, gap = r->n > 1 ? span / (int64_t)(r->n - 1) : 1000;
    r->lap_ms = span + (gap > 0 ? gap : (span > 0 ? 1 : 0));
    *out = r;
    return 0;
fail:
    tp_feed_replay_free(r);
    return rc;
}

void tp_feed_replay_free(struct feed_replay *r) {
    if (!r)
        return;
    for (int s = 0; s < r->nsym; s++) {
        free(r->syms[s]);
        if (r->sym_frames)
            free(r->sym_frames[s]);
    }
    free(r->syms);
    free(r->sym_frames);
    free(r->sym_nframes);
    free(r->hash);
    free(r->f);
    free(r->text.p);
    free(r);
}

int64_t tp_feed_replay_snapshot(const struct feed_replay *r, int sym, uint64_t before, int loop) {
    if (sym < 0 || sym >= r->nsym || r->sym_nframes[sym] == 0 || before == 0)
        return -1;
    uint64_t lap = (before - 1) / r->n, idx = (before - 1) % r->n;
    const uint64_t *fr = r->sym_frames[sym];
    uint64_t lo = 0, hi = r->sym_nframes[sym];   /* first element > idx */
    while (lo < hi) {
        uint64_t mid = (lo + hi) / 2;
        if (fr[mid] <= idx)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo > 0)
        return (int64_t)(lap * r->n + fr[lo - 1]);
    if (lap > 0 && loop)
        return (int64_t)((lap - 1) * r->n + fr[r->sym_nframes[sym] - 1]);
    return -1;
}

int64_t tp_feed_replay_due(const struct feed_replay *r, uint64_t pos) {
    return (int64_t)(pos / r->n) * r->lap_ms + r->f[pos % r->n].t_ms;
}
