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
    int too_long;        /* the line exceeded the source's limit: line holds
                            only its first bytes and must be rejected */
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
    int64_t silent_timeout_ms;      /* a socket silent this long re-subscribes, twice
                                       this long reconnects; 0 = 30 s */
    const volatile int *stop;       /* set non-zero to ask the source to end */
    struct tp_metrics *metrics;     /* --http counters (WebSocket connects...); NULL = none */
};

struct tp_source;

/* An interval in which a live source was not receiving a symbol's quotes
 * (wall-clock Unix ms). reason is a static string: "disconnected" (socket
 * down or reconnecting) or "silent" (open but silent past the timeout). */
#define TP_GAP_SYMBOL_MAX 64
struct tp_gap {
    char symbol[TP_GAP_SYMBOL_MAX];
    int64_t start, stop;
    const char *reason;
};

/* Counters of a live source, for metrics; zero for other sources. */
struct tp_source_stats {
    uint64_t resubscribes;          /* subscriptions sent again to a silent socket */
    uint64_t silent_reconnects;     /* sockets reconnected because they stayed silent */
    uint64_t reconnects;            /* every reconnect attempt after a drop */
    int silent_sockets;             /* open sockets silent past the timeout now */
    int open_sockets;
};

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

/* A fingerprint of a positioned source's first line (at most its first
 * 256 bytes), which appending never changes: a different value
 * at the same path means the file was replaced. 0 when not known yet (no
 * complete first line) or not positioned. */
int64_t tp_source_fingerprint(struct tp_source *s);

/* Takes up to max gaps the source has closed since the last call (a gap
 * is reported once, when data flows again). Returns how many; 0 for
 * sources that have none. Any thread. */
int tp_source_gaps(struct tp_source *s, struct tp_gap *out, int max);

/* Fills *st with the source's counters (zeros when it keeps none). Any
 * thread. */
void tp_source_stats(struct tp_source *s, struct tp_source_stats *st);

/* Frees the source; NULL is a no-op. */
void tp_source_free(struct tp_source *s);

#endif
