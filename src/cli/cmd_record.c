/*
 * cmd_record.c - `tickpipe record`: capture raw frames from any source into
 * a frame file, one "<receive ms>\t<frame>\n" line per frame, appended.
 *
 * Main thread only. The file is flushed at least every --flush interval and
 * at exit, so a crash loses at most that much. A frame that contains a line
 * break (never a valid Yahoo frame) has its CR/LF bytes written as spaces,
 * so the file keeps one frame per line and the frame is still rejected on
 * replay. SIGINT/SIGTERM (tp_stop_flag) stop cleanly with exit 0.
 *
 * A file left with a torn last line (a killed record) gets its newline
 * before this session appends, so the torn frame stays one bad line and
 * the next frame is not glued to it. --out may not be the replayed source.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../core/tp_clock.h"
#include "../core/tp_error.h"
#include "../core/tp_fmt.h"
#include "../core/tp_log.h"
#include "../source/tp_source.h"
#include "tp_cmd.h"
#include "tp_opts.h"

struct record_cfg {
    const char *source, *symbols, *symbols_file, *tls_ca, *out, *log_level;
    int64_t symbols_per_socket, flush_ms, max_frames, silent_ms;
};

/* Writes one frame line; returns 0 or -1 on a write error. */
static int write_frame(FILE *f, const struct tp_raw *r) {
    int64_t t = r->recv_ms >= 0 ? r->recv_ms : tp_wall_ms();
    char head[24];
    size_t n = tp_fmt_i64(head, t);
    head[n++] = '\t';
    if (fwrite(head, 1, n, f) != n) /* fprintf cost ~700 instructions a frame */
        return -1;
    const char *p = r->line, *end = r->line + r->len;
    if (!memchr(p, '\n', r->len) && !memchr(p, '\r', r->len)) { /* every valid frame */
        if (r->len && fwrite(p, 1, r->len, f) != r->len)
            return -1;
        p = end;
    }
    while (p < end) {
        const char *q = p;
        while (q < end && *q != '\n' && *q != '\r')
            q++;
        if (q > p && fwrite(p, 1, (size_t)(q - p), f) != (size_t)(q - p))
            return -1;
        if (q < end && fputc(' ', f) == EOF)
            return -1;
        p = q < end ? q + 1 : q;
    }
    return fputc('\n', f) == EOF ? -1 : 0;
}

/* A killed record may have left a last line without its newline: end it,
 * so this session's first frame is not glued onto it (the torn frame then
 * stays one bad line that replay rejects). Returns 0 or -1. */
static int end_torn_line(FILE *f) {
    struct stat sb;
    char last = '\n';
    int fd = fileno(f);
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size == 0)
        return 0;
    if (pread(fd, &last, 1, sb.st_size - 1) != 1)
        last = '\n';   /* opened for appending only: cannot tell, leave it */
    return last != '\n' && (fputc('\n', f) == EOF || fflush(f)) ? -1 : 0;
}

/* Copies frames until the source ends, stop is set or max frames are
 * written. Returns the exit status. */
static int record_loop(struct tp_source *src, FILE *f, const struct record_cfg *c,
                       uint64_t *frames) {
    char errbuf[1024] = "";
    int64_t last_flush = tp_mono_ms();
    const volatile sig_atomic_t *stop = tp_stop_flag();
    while (!*stop && (c->max_frames == 0 || *frames < (uint64_t)c->max_frames)) {
        struct tp_raw r;
        int err = tp_source_next(src, &r, 100, errbuf, sizeof errbuf);
        if (err == TP_EEOF)
            break;
        if (err && !tp_error_retriable(err)) {
            fprintf(stderr, "tickpipe record: source: %s\n", errbuf[0] ? errbuf : tp_strerror(err));
            return 1;
        }
        if (!err && r.too_long) {
            tp_warn("record", "line %lld is too long to hold: not recorded", (long long)r.lineno);
        } else if (!err) {
            if (write_frame(f, &r)) {
                fprintf(stderr, "tickpipe record: --out %s: write failed\n", c->out);
                return 1;
            }
            (*frames)++;
        }
        if (tp_mono_ms() - last_flush >= c->flush_ms) {
            if (fflush(f)) {
                fprintf(stderr, "tickpipe record: --out %s: write failed\n", c->out);
                return 1;
            }
            last_flush = tp_mono_ms();
        }
    }
    return 0;
}

/* Parses the options into c: 0 to go on, -1 after --help or
 * --print-config (exit 0), or 2 on bad usage (printed). */
static int record_parse(struct record_cfg *c, int argc, char **argv, struct tp_opts_mem **om) {
    const struct tp_opt table[] = {
        {"source", TP_OPT_STR, &c->source, "yahoo", "SRC", "yahoo, yahoo:URL, replay:PATH, replay:- or sim[:count=N,rate=R,symbols=N,seed=S]", 0, 0},
        {"symbols", TP_OPT_STR, &c->symbols, "BTC-USD,ETH-USD", "LIST", "comma-separated symbols to subscribe to", 0, 0},
        {"symbols-file", TP_OPT_STR, &c->symbols_file, NULL, "FILE", "read symbols from FILE (one per line or comma separated)", 0, 0},
        {"tls-ca", TP_OPT_STR, &c->tls_ca, NULL, "FILE", "extra CA certificate for wss:// sources", 0, 0},
        {"symbols-per-socket", TP_OPT_INT, &c->symbols_per_socket, "50", "N", "shard subscriptions: at most N symbols per WebSocket", 1, 1000},
        {"silent-timeout", TP_OPT_DUR, &c->silent_ms, "30s", "DUR", "a live socket silent this long subscribes again; twice this long, it reconnects", 100, 86400000},
        {"out", TP_OPT_STR, &c->out, NULL, "FILE", "frame file to append to (required)", 0, 0},
        {"flush", TP_OPT_DUR, &c->flush_ms, "1s", "DUR", "flush the file at least this often", 0, 3600000},
        {"max-frames", TP_OPT_INT, &c->max_frames, "0", "N", "stop after N frames (0 = no limit)", 0, 1e15},
        {"log-level", TP_OPT_CHOICE, &c->log_level, "warn", "error|warn|info|debug", "how much to log", 0, 0},
        {NULL, 0, NULL, NULL, NULL, NULL, 0, 0}};
    int rc = tp_opts_parse("record", "--out FILE [options]",
                           "Captures every frame the source delivers, prefixed with its receive time in\n"
                           "Unix ms and a TAB, appending to FILE. Replay it with --source replay:FILE or\n"
                           "serve it with tickpipe feed --replay FILE.",
                           table, argc, argv, NULL, 0, NULL, om);
    if ((rc = tp_cmd_opts_end(rc, "record", c->log_level)))
        return rc;
    if (!c->out || !*c->out) {
        fprintf(stderr, "tickpipe record: --out FILE is required\n");
        return 2;
    }
    const struct tp_cmd_path paths[] = {{"--source", tp_cmd_spec_path(c->source), 0},
                                        {"--out", c->out, 1}};
    if (tp_cmd_check_paths("record", paths, 2))
        return 2;
    tp_cmd_warn_ignored_symbols("record", c->source, argc, argv);
    return 0;
}

int tp_cmd_record(int argc, char **argv) {
    struct record_cfg c = {0};
    TP_OPTS_MEM(om);   /* --config strings the options point into */
    int rc = record_parse(&c, argc, argv, &om);
    if (rc)
        return rc < 0 ? 0 : rc;
    char errbuf[1024] = "";
    char *symbols_buf = NULL;
    if (c.symbols_file && !(symbols_buf = tp_cmd_read_symbols_file(c.symbols_file, errbuf, sizeof errbuf))) {
        fprintf(stderr, "tickpipe record: %s\n", errbuf);
        return 2;
    }
    struct tp_source_opts so = {.symbols = symbols_buf ? symbols_buf : c.symbols,
                                .tls_ca = c.tls_ca,
                                .symbols_per_socket = (int)c.symbols_per_socket,
                                .silent_timeout_ms = c.silent_ms,
                                .stop = tp_stop_flag()};
    struct tp_source *src = NULL;
    FILE *f = NULL;
    int status = 2, err;
    uint64_t frames = 0;
    if ((err = tp_source_open(&src, c.source, &so, errbuf, sizeof errbuf))) {
        fprintf(stderr, "tickpipe record: %s\n", errbuf);
        status = err == TP_EINVAL ? 2 : 1;
        goto out;
    }
    if (!(f = strcmp(c.out, "-") == 0 ? stdout : fopen(c.out, "a+"))) {
        fprintf(stderr, "tickpipe record: --out %s: cannot open for appending\n", c.out);
        status = 1;
        goto out;
    }
    if (f != stdout && end_torn_line(f)) {
        fprintf(stderr, "tickpipe record: --out %s: write failed\n", c.out);
        status = 1;
        goto out;
    }
    status = record_loop(src, f, &c, &frames);
    if (fflush(f) && !status) {
        fprintf(stderr, "tickpipe record: --out %s: write failed\n", c.out);
        status = 1;
    }
    if (!status)
        fprintf(stderr, "tickpipe record: %s frames=%" PRIu64 "\n",
                *tp_stop_flag() ? "stopped" : "done", frames);
out:
    if (f && f != stdout)
        fclose(f);
    tp_source_free(src);
    free(symbols_buf);
    return status;
}
