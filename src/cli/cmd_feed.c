/*
 * cmd_feed.c - `tickpipe feed`: command-line front of the feed server
 * (src/feed/). Main thread only; SIGINT/SIGTERM (tp_stop_flag) stop it.
 */
#include <stdio.h>
#include <string.h>

#include "../core/tp_error.h"
#include "../core/tp_log.h"
#include "../feed/tp_feed.h"
#include "tp_cmd.h"
#include "tp_opts.h"

static void replay_done(void *opaque, const struct tp_feed_stats *s) {
    (void)opaque;
    fprintf(stderr, "tickpipe feed: replay done frames=%llu sent=%llu\n",
            (unsigned long long)s->frames, (unsigned long long)s->sent);
}

int tp_cmd_feed(int argc, char **argv) {
    struct tp_feed_opts fo = {0};
    const char *log_level = NULL;
    TP_OPTS_MEM(om);
    const struct tp_opt table[] = {
        {"replay", TP_OPT_STR, &fo.replay, NULL, "FILE", "frame file to serve (required; as written by record)", 0, 0},
        {"listen", TP_OPT_STR, &fo.listen, "127.0.0.1:8765", "ADDR", "HOST:PORT to listen on (port 0 picks a free one)", 0, 0},
        {"speed", TP_OPT_DOUBLE, &fo.speed, "1", "X", "pace: X times the recorded speed; 0 = as fast as possible", 0, 1e9},
        {"loop", TP_OPT_FLAG, &fo.loop, NULL, NULL, "start over at the end of the file", 0, 0},
        {"laps", TP_OPT_INT, &fo.laps, "0", "N", "with --loop: end the stream after N passes (0 = never)", 0, 1e12},
        {"tls-cert", TP_OPT_STR, &fo.tls_cert, NULL, "FILE", "PEM certificate: serve wss:// (needs --tls-key)", 0, 0},
        {"tls-key", TP_OPT_STR, &fo.tls_key, NULL, "FILE", "PEM private key of --tls-cert", 0, 0},
        {"log-sent", TP_OPT_STR, &fo.log_sent, NULL, "FILE", "append <connection> TAB <symbol> TAB <send time, Unix us> TAB <frame> per frame sent", 0, 0},
        {"drop-every", TP_OPT_INT, &fo.drop_every, "0", "N", "close each connection after N frames, to test reconnects (0 = never)", 0, 1e15},
        {"log-level", TP_OPT_CHOICE, &log_level, "warn", "error|warn|info|debug", "how much to log", 0, 0},
        {NULL, 0, NULL, NULL, NULL, NULL, 0, 0}};
    int rc = tp_opts_parse("feed", "--replay FILE [options]",
                           "Serves a recording like the Yahoo streamer: clients send {\"subscribe\":[...]}\n"
                           "and receive those symbols' frames (bare base64, or the JSON envelope when the\n"
                           "URL has ?version=2), paced by the recorded receive times. Prints the URL it\n"
                           "listens on; runs until SIGINT/SIGTERM.",
                           table, argc, argv, NULL, 0, NULL, &om);
    if ((rc = tp_cmd_opts_end(rc, "feed", log_level)))
        return rc < 0 ? 0 : rc;
    fo.announce = stdout;
    fo.stop = tp_stop_flag();
    fo.on_replay_done = replay_done;
    char errbuf[512] = "";
    struct tp_feed_stats st;
    int err = tp_feed_run(&fo, &st, errbuf, sizeof errbuf);
    if (err) {
        fprintf(stderr, "tickpipe feed: %s\n", errbuf);
        return err == TP_EINVAL ? 2 : 1;
    }
    fprintf(stderr, "tickpipe feed: stopped connections=%llu sent=%llu\n",
            (unsigned long long)st.connections, (unsigned long long)st.sent);
    return 0;
}
