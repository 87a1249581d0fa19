/*
 * replay.c - the replay:PATH and replay:- sources: frame files, one frame per
 * line, optionally prefixed by a receive time (see tp_decode.h).
 *
 * Thread: the reader thread only. Invariant: pos is the byte offset of the
 * first unconsumed byte of the file, so the end_pos handed out with each
 * line is exactly where a resumed run must seek to. Blank lines and
 * comments are consumed here and never reach the decoder.
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

#include "../core/tp_error.h"
#include "tp_decode.h"

#define REPLAY_BUF_INIT (1 << 20)
#define REPLAY_LINE_MAX (64 << 20)

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

/* Returns the next line in [*start, *start + *len) without its newline, or
 * TP_EEOF. *consumed is the number of bytes the line occupied. */
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
            if (r->tail == r->head)
                return TP_EEOF;
            *start = r->buf + r->head;   /* last line without a newline */
            *len = r->tail - r->head;
            *consumed = *len;
            return 0;
        }
        size_t scanned = r->tail - r->head;
        int err = make_room(r);
        if (err)
            return tp_errf(errbuf, errsize, err, "replay: line %lld is longer than %d bytes",
                           (long long)r->lineno + 1, REPLAY_LINE_MAX);
        scan = r->head + scanned;
        /* A pipe may stay quiet for long: wait at most timeout_ms so the
         * reader can hand over what it has and look at its stop flag. */
        struct pollfd pfd = {r->fd, POLLIN, 0};
        if (!r->regular && poll(&pfd, 1, timeout_ms) == 0)
            return TP_EAGAIN;
        /* read(2), not fread: a pipe hands over what it has at once. */
        ssize_t n = read(r->fd, r->buf + r->tail, r->cap - r->tail);
        if (n < 0 && errno == EINTR)
            return TP_EAGAIN;   /* a signal: let the caller look at its stop flag */
        if (n < 0)
            return tp_errf(errbuf, errsize, TP_EIO, "replay: read failed: %s", strerror(errno));
        if (n == 0)
            r->eof = 1;
        r->tail += (size_t)n;
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
        if (len == 0 || line[0] == '#')
            continue;
        const char *frame;
        size_t flen;
        raw->recv_ms = tp_decode_split_recv_time(line, len, &frame, &flen);
        raw->line = frame;
        raw->len = flen;
        raw->lineno = r->lineno;
        raw->end_pos = r->base.pos_key ? r->pos : -1;
        return 0;
    }
}

static int replay_seek(struct tp_source *s, int64_t pos, int64_t line) {
    struct replay *r = (struct replay *)s;
    if (lseek(r->fd, (off_t)pos, SEEK_SET) != (off_t)pos)
        return TP_EIO;
    r->head = r->tail = 0;
    r->eof = 0;
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

static const struct tp_source_ops replay_ops = {replay_next, replay_seek, replay_free};

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
