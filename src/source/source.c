/*
 * source.c - dispatch of SRC specs to the source implementations.
 * Called from the reader thread that owns the source.
 */
#include "source_int.h"

#include <stdlib.h>
#include <string.h>

#include "../core/tp_error.h"

int tp_source_open(struct tp_source **out, const char *spec,
                   const struct tp_source_opts *o, char *errbuf, size_t errsize) {
    static const struct tp_source_opts defaults;
    *out = NULL;
    if (!o)
        o = &defaults;
    if (!spec || !*spec || strcmp(spec, "yahoo") == 0)
        return tp_source_yahoo_open(out, NULL, o, errbuf, errsize);
    if (strncmp(spec, "yahoo:", 6) == 0)
        return tp_source_yahoo_open(out, spec + 6, o, errbuf, errsize);
    if (strncmp(spec, "replay:", 7) == 0) {
        if (!spec[7])
            return tp_errf(errbuf, errsize, TP_EINVAL,
                           "--source %s: replay needs a path (replay:PATH or replay:-)", spec);
        return tp_source_replay_open(out, spec + 7, o, errbuf, errsize);
    }
    if (strcmp(spec, "sim") == 0 || strncmp(spec, "sim:", 4) == 0)
        return tp_source_sim_open(out, spec[3] ? spec + 4 : "", o, errbuf, errsize);
    return tp_errf(errbuf, errsize, TP_EINVAL,
                   "--source %s: unknown source (expected yahoo, yahoo:URL, replay:PATH, replay:- or sim)",
                   spec);
}

int tp_source_next(struct tp_source *s, struct tp_raw *r, int timeout_ms,
                   char *errbuf, size_t errsize) {
    r->too_long = 0;
    return s->ops->next(s, r, timeout_ms, errbuf, errsize);
}

int64_t tp_source_fingerprint(struct tp_source *s) {
    return s->ops->fingerprint ? s->ops->fingerprint(s) : 0;
}

int tp_source_gaps(struct tp_source *s, struct tp_gap *out, int max) {
    return s->ops->gaps ? s->ops->gaps(s, out, max) : 0;
}

void tp_source_stats(struct tp_source *s, struct tp_source_stats *st) {
    memset(st, 0, sizeof *st);
    if (s->ops->stats)
        s->ops->stats(s, st);
}

const char *tp_source_position_key(const struct tp_source *s) {
    return s->pos_key;
}

int tp_source_seek(struct tp_source *s, int64_t pos, int64_t line) {
    if (!s->pos_key || !s->ops->seek)
        return TP_EINVAL;
    return s->ops->seek(s, pos, line);
}

void tp_source_free(struct tp_source *s) {
    if (!s)
        return;
    char *key = s->pos_key;
    s->ops->free(s);
    free(key);
}
