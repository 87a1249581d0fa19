/*
 * replay.c - the replay:PATH and replay:- sources: frame files, one frame per
 * line, optionally prefixed by a receive time (see tp_decode.h).
 *
 * Thread: the reader thread only. Invariant: pos is the byte offset of the
 * first unconsumed byte of the file, so the end_pos handed out with each
 * line is exactly where a resumed run must seek to. Blank lines and
 * comments are consumed here and never reach the decoder.
 *
 * A recording may still be growing: a last line without its newline is
 * left unread (not handed out, so never checkpointed) until its newline
 * arrives. A line longer than REPLAY_LINE_MAX is not fatal: its bytes are
 * discarded up to its newline and it is handed out as its first
 * REPLAY_SAMPLE bytes with too_long set, for the caller to reject. On
 * resume, a file shorter than the checkpoint or whose byte before the
 * checkpoint is not a newline was replaced or truncated: it is read from
 * its start, with a warning. The caller also compares the fingerprint of
 * the first line (replay_fingerprint) with the one kept in the checkpoint.
 */
#include "source_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/tp_civil.h"
#include "../core/tp_error.h"
#include "../core/tp_log.h"
#include "../codec/tp_decode.h"

#define REPLAY_BUF_INIT (1 << 20)
#define REPLAY_LINE_MAX (64 << 20)
#define REPLAY_SAMPLE 1024     /* bytes of an over-long line kept for the dead-letter file */

struct replay {
    struct tp_source base;
    int fd;
    int owns_fd;
    int regular;              /* a regular file: reads never wait */
    char *buf;
    size_t cap, head, tail;   /* valid bytes are buf[head, tail) */
    int eof;
    int64_t pos;              /* file offset of buf[head] */
    int64_t lineno;           /* lines consumed so far */
    int skipping;             /* discarding the rest of an over-long line */
    int told_torn;            /* warned about an unterminated last line */
    size_t sample_len;
    char sample[REPLAY_SAMPLE];
};

/* Makes room for more bytes: compacts, and grows the buffer when a single
 * line fills it. Returns 0 or TP_ENOMEM / TP_EPARSE (line too long). */
static int make_room(struct replay *r) {
    if (r->head > 0) {
        memmove(r->buf, r->buf + r->head, r->tail - r->head);
        r->tail -= r->head;
        r->head = 0;
    }
    if (r->tail < r->cap)
        return 0;
    if (r->cap >= REPLAY_LINE_MAX)
        return TP_EPARSE;
    char *nb = realloc(r->buf, r->cap * 2);
    if (!nb)
        return TP_ENOMEM;
    r->buf = nb;
    r->cap *= 2;
    return 0;
}

/* An over-long line fills the whole buffer: keep its first bytes and
 * discard the rest as it is read, so memory stays bounded. */
static void discard_long(struct replay *r) {
    if (!r->skipping) {
        r->skipping = 1;
        r->sample_len = r->tail - r->head < REPLAY_SAMPLE ? r->tail - r->head : REPLAY_SAMPLE;
        memcpy(r->sample, r->buf + r->head, r->sample_len);
    }
    r->pos += (int64_t)(r->tail - r->head);
    r->head = r->tail = 0;
}

/* Reads more bytes into the buffer. Returns 0, TP_EAGAIN or TP_EIO. */
static int fill(struct replay *r, int timeout_ms, char *errbuf, size_t errsize) {
    /* A pipe may stay quiet for long: wait at most timeout_ms so the
     * reader can hand over what it has and look at its stop flag. */
    struct pollfd pfd = {r->fd, POLLIN, 0};
    if (!r->regular) {
        int pr = poll(&pfd, 1, timeout_ms);
        if (pr == 0 || (pr < 0 && errno == EINTR))
            return TP_EAGAIN;   /* nothing yet, or a signal: look at the stop flag */
    }
    /* read(2), not fread: a pipe hands over what it has at once. */
    ssize_t n = read(r->fd, r->buf + r->tail, r->cap - r->tail);
    if (n < 0 && errno == EINTR)
        return TP_EAGAIN;   /* a signal: let the caller look at its stop flag */
    if (n < 0)
        return tp_errf(errbuf, errsize, TP_EIO, "replay: read failed: %s", strerror(errno));
    if (n == 0)
        r->eof = 1;
    r->tail += (size_t)n;
    return 0;
}

/* Returns the next complete line in [*start, *start + *len) without its
 * newline, or TP_EEOF (also when only an incomplete last line is left).
 * *consumed is the number of buffered bytes the line occupied. */
static int read_line(struct replay *r, char **start, size_t *len, size_t *consumed,
                     int timeout_ms, char *errbuf, size_t errsize) {
    size_t scan = r->head;
    for (;;) {
        char *nl = memchr(r->buf + scan, '\n', r->tail - scan);
        if (nl) {
            *start = r->buf + r->head;
            *len = (size_t)(nl - *start);
            *consumed = *len + 1;
            return 0;
        }
        if (r->eof) {
            /* nothing, or a line whose newline has not arrived (yet) */
            if (r->tail > r->head && !r->regular && !r->told_torn) {
                r->told_torn = 1;
                tp_warn("replay", "the input ended inside line %lld (no newline): not read",
                        (long long)r->lineno + 1);
            }
            return TP_EEOF;
        }
        size_t scanned = r->tail - r->head;
        int err = make_room(r);
        if (err == TP_EPARSE) {
            discard_long(r);
            scanned = 0;
        } else if (err) {
            return tp_errf(errbuf, errsize, err, "replay: out of memory");
        }
        scan = r->head + scanned;
        if ((err = fill(r, timeout_ms, errbuf, errsize)))
            return err;
    }
}

static int replay_next(struct tp_source *s, struct tp_raw *raw, int timeout_ms,
                       char *errbuf, size_t errsize) {
    struct replay *r = (struct replay *)s;
    for (;;) {
        char *line = NULL;
        size_t len = 0, consumed = 0;
        int err = read_line(r, &line, &len, &consumed, timeout_ms, errbuf, errsize);
        if (err)
            return err;
        r->head += consumed;
        r->pos += (int64_t)consumed;
        r->lineno++;
        if (len > 0 && line[len - 1] == '\r')
            len--;
        if (len == 0 && !r->skipping)
            continue;
        const char *frame;
        size_t flen;
        raw->too_long = r->skipping;
        if (r->skipping) {
            r->skipping = 0;   /* hand out the kept first bytes, for rejection */
            line = r->sample;
            len = r->sample_len;
            tp_warn("replay", "line %lld is longer than %d bytes: rejected",
                    (long long)r->lineno, REPLAY_LINE_MAX);
        } else if (len > 0 && line[0] == '#') {
            continue;
        }
        raw->recv_ms = tp_decode_split_recv_time(line, len, &frame, &flen);
        raw->line = frame;
        raw->len = flen;
        raw->lineno = r->lineno;
        raw->end_pos = r->base.pos_key ? r->pos : -1;
        return 0;
    }
}

/* A checkpoint is always just after a newline: a file shorter than it, or
 * with another byte there, is not the file that was checkpointed. */
static int replaced_since(const struct replay *r, int64_t pos) {
    struct stat sb;
    char c = 0;
    if (fstat(r->fd, &sb) != 0 || !r->regular || pos <= 0)
        return 0;
    if ((int64_t)sb.st_size < pos)
        return 1;
    return pread(r->fd, &c, 1, (off_t)(pos - 1)) == 1 && c != '\n';
}

static int replay_seek(struct tp_source *s, int64_t pos, int64_t line) {
    struct replay *r = (struct replay *)s;
    if (replaced_since(r, pos)) {
        tp_warn("replay", "%s was replaced or truncated since its checkpoint (byte %lld): "
                "reading it from the start", r->base.pos_key ? r->base.pos_key : "input",
                (long long)pos);
        pos = line = 0;
    }
    if (lseek(r->fd, (off_t)pos, SEEK_SET) != (off_t)pos)
        return TP_EIO;
    r->head = r->tail = 0;
    r->eof = 0;
    r->skipping = 0;
    r->pos = pos;
    r->lineno = line;
    return 0;
}

static void replay_free(struct tp_source *s) {
    struct replay *r = (struct replay *)s;
    if (r->owns_fd && r->fd >= 0)
        close(r->fd);
    free(r->buf);
    free(r);
}

/* FNV-1a over the first line (at most FP_BYTES of it); never 0 when known. */
#define FP_BYTES 256
static int64_t replay_fingerprint(struct tp_source *s) {
    struct replay *r = (struct replay *)s;
    unsigned char b[FP_BYTES];
    if (!r->regular)
        return 0;
    ssize_t n = pread(r->fd, b, sizeof b, 0);
    if (n <= 0)
        return 0;
    unsigned char *nl = memchr(b, '\n', (size_t)n);
    if (!nl && n < FP_BYTES)
        return 0;   /* the first line is still being written */
    size_t len = nl ? (size_t)(nl - b) + 1 : (size_t)n;
    uint64_t h = tp_fnv1a(TP_FNV1A_BASIS, b, len);
    return h ? (int64_t)(h >> 1) : 1;
}

static const struct tp_source_ops replay_ops = {replay_next, replay_seek, replay_free,
                                                replay_fingerprint, NULL, NULL};

int tp_source_replay_open(struct tp_source **out, const char *path,
                          const struct tp_source_opts *o, char *errbuf, size_t errsize) {
    (void)o;
    *out = NULL;
    struct replay *r = calloc(1, sizeof *r);
    if (!r)
        return TP_ENOMEM;
    r->base.ops = &replay_ops;
    r->cap = REPLAY_BUF_INIT;
    r->buf = malloc(r->cap);
    if (!r->buf)
        goto nomem;
    r->fd = -1;
    if (strcmp(path, "-") == 0) {
        r->fd = STDIN_FILENO;
    } else {
        r->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (r->fd < 0) {
            int e = errno;
            replay_free(&r->base);
            return tp_errf(errbuf, errsize, TP_EINVAL, "--source replay:%s: cannot open: %s", path,
                           strerror(e));
        }
        r->owns_fd = 1;
        r->base.pos_key = realpath(path, NULL);
        if (!r->base.pos_key)
            goto nomem;
    }
    struct stat sb;
    r->regular = fstat(r->fd, &sb) == 0 && S_ISREG(sb.st_mode);
    *out = &r->base;
    return 0;
nomem:
    replay_free(&r->base);
    return TP_ENOMEM;
}
