/*
 * tp_source.h - where frames come from: replay files, the synthetic market,
 * the live Yahoo WebSocket.
 *
 * A source hands out raw frames (one line of text each) to one reader
 * thread. Positioned sources (replay of a file) report a byte offset and a
 * line number after each frame, so the processor can checkpoint them; live
 * sources report none.
 */
#ifndef TP_SOURCE_H
#define TP_SOURCE_H

#include <stddef.h>
#include <stdint.h>

/* One raw frame; line points into the source's buffer and stays valid until
 * the next tp_source_next() call. */
struct tp_raw {
    const char *line;
    size_t len;          /* without the newline */
    int64_t recv_ms;     /* receive time prefix or arrival time; -1 unknown */
    int64_t lineno;      /* 1-based line number; 0 for live frames */
    int64_t end_pos;     /* byte offset just after this line; -1 live */
};

/* Options shared by all sources; zero-initialise and set what you need. */
struct tp_source_opts {
    const char *symbols;            /* comma list; NULL = BTC-USD,ETH-USD */
    /* sim */
    double sim_rate;                /* frames per second; 0 = unpaced */
    int64_t sim_count;              /* frames to emit; 0 = unbounded */
    uint64_t sim_seed;
    int sim_symbols;                /* number of synthetic symbols if symbols unset */
    int64_t sim_start_ms;           /* first event time; 0 = now */
    /* yahoo */
    const char *tls_ca;             /* extra CA file */
    int symbols_per_socket;         /* 0 = 50 */
    const volatile int *stop;       /* set non-zero to ask the source to end */
    struct tp_metrics *metrics;     /* --http counters (WebSocket connects...); NULL = none */
};

struct tp_source;

/* Opens SRC ("replay:PATH", "replay:-", "sim", "yahoo", "yahoo:URL").
 * Fills errbuf and returns TP_EINVAL on a bad spec. Caller frees. */
int tp_source_open(struct tp_source **out, const char *spec,
                   const struct tp_source_opts *o, char *errbuf, size_t errsize);

/* Waits up to timeout_ms for the next frame. Returns 0 with *r filled,
 * TP_EAGAIN when nothing arrived in time, TP_EEOF when a finite source has
 * ended, or another TP_E* code on a fatal error (message in errbuf). */
int tp_source_next(struct tp_source *s, struct tp_raw *r, int timeout_ms,
                   char *errbuf, size_t errsize);

/* The checkpoint key of a positioned source (absolute path of the replayed
 * file) or NULL for live sources. Valid while s lives. */
const char *tp_source_position_key(const struct tp_source *s);

/* Resumes a positioned source after byte offset pos, which was line number
 * line. Returns TP_EINVAL when the source is not positioned. */
int tp_source_seek(struct tp_source *s, int64_t pos, int64_t line);

/* Frees the source; NULL is a no-op. */
void tp_source_free(struct tp_source *s);

#endif
