/*
 * source_int.h - what a source implementation provides to tp_source_open().
 * Private to src/source/.
 */
#ifndef TP_SOURCE_INT_H
#define TP_SOURCE_INT_H

#include "tp_source.h"

struct tp_source_ops {
    int (*next)(struct tp_source *s, struct tp_raw *r, int timeout_ms,
                char *errbuf, size_t errsize);
    int (*seek)(struct tp_source *s, int64_t pos, int64_t line); /* may be NULL */
    void (*free)(struct tp_source *s);
    int64_t (*fingerprint)(struct tp_source *s);                 /* may be NULL */
    int (*gaps)(struct tp_source *s, struct tp_gap *out, int max); /* may be NULL */
    void (*stats)(struct tp_source *s, struct tp_source_stats *st); /* may be NULL */
};

/* Every source struct begins with this header. */
struct tp_source {
    const struct tp_source_ops *ops;
    char *pos_key;      /* malloc'ed absolute path, or NULL for live sources */
};

int tp_source_replay_open(struct tp_source **out, const char *path,
                          const struct tp_source_opts *o, char *errbuf, size_t errsize);
int tp_source_sim_open(struct tp_source **out, const char *args,
                       const struct tp_source_opts *o, char *errbuf, size_t errsize);
int tp_source_yahoo_open(struct tp_source **out, const char *url,
                         const struct tp_source_opts *o, char *errbuf, size_t errsize);

#endif
