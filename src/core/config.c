/*
 * config.c - INI files through Debian's libinih (STYLE.md 2: the library
 * stays behind this one module).
 *
 * libinih passes no line numbers to its handler (unless built with
 * INI_HANDLER_LINENO, which Debian's is not), so we feed it lines through
 * our own reader and count them there: the handler runs while inih works
 * on the line the reader returned last. A line longer than inih's buffer
 * would be split by inih into two lines (the tail read as a line of its
 * own); the reader refuses it instead and reports it. Main thread only.
 */
#include "tp_config.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <string.h>

#include "tp_error.h"

struct reader {
    FILE *f;
    const char *path;
    int line;            /* lines handed to inih so far */
    int long_line;       /* first line that was too long, or 0 */
    int max;             /* longest line inih takes */
    int section_line;    /* line of the last section header */
    tp_config_fn fn;
    void *ctx;
    int err;             /* first error of fn */
    int err_line;
    char *errbuf;
    size_t errsize;
};

/* fgets for inih, counting lines; a too long line is swallowed, recorded,
 * and replaced by a comment so that inih sees nothing of it. */
static char *read_line(char *str, int num, void *stream) {
    struct reader *r = stream;
    if (!fgets(str, num, r->f))
        return NULL;
    r->line++;
    r->max = num - 1;
    size_t len = strlen(str);
    if (len == (size_t)num - 1 && str[len - 1] != '\n') {
        int c = fgetc(r->f);
        if (c == EOF || c == '\n')
            return str;  /* the line just fitted */
        while ((c = fgetc(r->f)) != EOF && c != '\n')
            ;
        if (!r->long_line)
            r->long_line = r->line;
        snprintf(str, (size_t)num, "#\n");
    }
    /* Indented lines are ordinary lines here: libinih would read an
     * indented "key = value" as a continuation of the key before it. */
    size_t indent = strspn(str, " \t");
    memmove(str, str + indent, strlen(str + indent) + 1);
    if (str[0] == '[')
        r->section_line = r->line;
    return str;
}

static int on_key(void *user, const char *section, const char *key, const char *value) {
    struct reader *r = user;
    if (r->err)
        return 1;
    int err = r->fn(r->ctx, section, key, value, r->line, r->section_line, r->errbuf,
                    r->errsize);
    if (err) {
        r->err = err;
        r->err_line = r->line;
    }
    return 1;  /* our errors are kept here; inih reports only syntax errors */
}

int tp_config_read(const char *path, tp_config_fn fn, void *ctx, char *errbuf,
                   size_t errsize) {
    struct reader r = {.path = path, .fn = fn, .ctx = ctx, .errbuf = errbuf, .errsize = errsize};
    if (!(r.f = fopen(path, "r")))
        return tp_errf(errbuf, errsize, TP_EIO, "--config %s: cannot open: %s", path,
                       strerror(errno));
    int bad = ini_parse_stream(read_line, &r, on_key, &r);
    int io = ferror(r.f);
    fclose(r.f);
    if (io)
        return tp_errf(errbuf, errsize, TP_EIO, "--config %s: read error", path);
    if (bad < 0)
        return tp_errf(errbuf, errsize, TP_ENOMEM, "--config %s: out of memory", path);
    int first = bad;  /* earliest line inih or the reader refused, or 0 */
    if (r.long_line && (!first || r.long_line < first))
        first = r.long_line;
    if (!first || (r.err && r.err_line < first))
        return r.err;
    if (first == r.long_line)
        return tp_errf(errbuf, errsize, TP_EPARSE, "%s:%d: line longer than %d characters "
                       "(for a long symbol list use symbols-file)",
                       path, first, r.max);
    return tp_errf(errbuf, errsize, TP_EPARSE,
                   "%s:%d: not a '[section]' or 'key = value' line", path, first);
}
