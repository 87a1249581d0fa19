/*
 * tp_feed.h - a local Yahoo-compatible streamer serving a frame file
 * (`tickpipe feed`). It accepts {"subscribe":[...]} and {"unsubscribe":[...]},
 * sends only subscribed symbols (after re-sending each one's last snapshot on
 * subscribe), wraps frames in the version=2 JSON envelope when the request
 * has version=2 in its query, paces by the recorded receive times, and
 * closes a socket that sends a malformed control message.
 */
#ifndef TP_FEED_H
#define TP_FEED_H

#include <stdint.h>
#include <stdio.h>

struct tp_feed_stats {
    uint64_t frames;            /* frames of the replay (times laps when looping) */
    uint64_t connections;       /* connections accepted */
    uint64_t sent;              /* frames sent, all connections */
};

struct tp_feed_opts {
    const char *replay;         /* frame file (required) */
    const char *listen;         /* "HOST:PORT", ":PORT" or "PORT"; port 0 picks one */
    double speed;               /* 1 = recorded pace, 2 = twice as fast, 0 = unpaced */
    int loop;                   /* start over at the end of the file */
    int64_t laps;               /* with loop: stop the stream after N passes (0 = never) */
    const char *tls_cert, *tls_key;   /* both set: serve wss:// */
    const char *log_sent;       /* append "<conn>\t<symbol>\t<frame>" per sent frame */
    int64_t drop_every;         /* close each connection after N frames (testing) */
    FILE *announce;             /* where the listening URL line goes (stdout) */
    const volatile int *stop;   /* serving ends when *stop becomes non-zero */
    /* Optional: called once, on the serving thread, when a finite replay
     * (no --loop, or --laps) has been sent to the connected clients. */
    void (*on_replay_done)(void *opaque, const struct tp_feed_stats *s);
    void *opaque;
};

/* Loads the file, listens and serves until *stop; *st (may be NULL) gets
 * the totals. Returns 0, or a TP_E* code with errbuf (TP_EINVAL for bad
 * options or file, TP_EIO when the address cannot be bound). Runs on the
 * calling thread; prints nothing but the URL line on o->announce. */
int tp_feed_run(const struct tp_feed_opts *o, struct tp_feed_stats *st, char *errbuf,
                size_t errsize);

#endif
