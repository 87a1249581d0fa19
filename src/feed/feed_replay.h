/*
 * feed_replay.h - a frame file loaded into memory for `tickpipe feed`: each
 * frame in both wire forms (bare base64 and the version=2 envelope), its
 * symbol and its recorded receive time. Private to src/feed/. Immutable
 * after loading; any thread may read it.
 */
#ifndef TP_FEED_REPLAY_H
#define TP_FEED_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "../core/tp_buf.h"

struct feed_frame {
    size_t bare_off, env_off;   /* offsets into the text arena */
    uint32_t bare_len, env_len; /* bare_len 0: not sendable to bare clients */
    int32_t sym;                /* symbol id, or -1 when it has none */
    int64_t t_ms;               /* recorded receive time minus the first one */
};

struct feed_replay {
    struct tp_buf text;         /* arena holding every frame's wire forms */
    struct feed_frame *f;
    uint64_t n;
    size_t fcap;
    int64_t lap_ms;             /* time from a frame to its repeat with --loop */
    char **syms;
    int nsym;
    size_t symcap;
    int32_t *hash;              /* open addressing over syms; -1 empty */
    int hashcap;
    uint64_t **sym_frames;      /* ascending frame indices per symbol */
    uint64_t *sym_nframes;
};

/* Loads a frame file. Returns 0, or TP_EINVAL/TP_EIO/TP_ENOMEM with errbuf.
 * An empty file (no frames) is an error. Caller frees. */
int tp_feed_replay_load(struct feed_replay **out, const char *path, char *errbuf, size_t errsize);

/* Frees; NULL is a no-op. */
void tp_feed_replay_free(struct feed_replay *r);

/* Symbol id of s (len bytes), or -1 when no frame carries it. */
int tp_feed_replay_symbol(const struct feed_replay *r, const char *s, size_t len);

/* The latest frame of symbol sym at a logical stream position below
 * `before` (positions count frames across --loop laps), or -1. */
int64_t tp_feed_replay_snapshot(const struct feed_replay *r, int sym, uint64_t before, int loop);

/* Recorded time of logical position pos, in ms after the first frame. */
int64_t tp_feed_replay_due(const struct feed_replay *r, uint64_t pos);

#endif
