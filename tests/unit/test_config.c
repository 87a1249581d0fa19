/*
 * test_config.c - the INI reader (src/core/config.c) and --config in the
 * option parser (src/cli/opts.c): keys and their line numbers, syntax
 * errors and too long lines naming their line, the order defaults <
 * [tickpipe] < [<command>] < flags, list options accumulating, and every
 * kind of bad file giving a negative TP_E* code (the commands exit 2).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/tp_config.h"
#include "core/tp_error.h"
#include "cli/tp_opts.h"
#include "tp_test.h"

static char dir[] = "/tmp/tp_test_config.XXXXXX";

/* Writes text to a new file in dir; returns its path (static buffer). */
static const char *write_file(const char *name, const char *text) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    REQUIRE(f != NULL);
    fputs(text, f);
    fclose(f);
    return path;
}

struct seen {
    char log[2048];   /* "section/key=value@line;" for every key */
    int fail_at;      /* line at which the callback reports an error, or 0 */
};

static int collect(void *ctx, const char *section, const char *key, const char *value, int line,
                   int section_line, char *errbuf, size_t errsize) {
    struct seen *s = ctx;
    size_t n = strlen(s->log);
    snprintf(s->log + n, sizeof s->log - n, "%s@%d/%s=%s@%d;", section, section_line, key, value,
             line);
    if (line == s->fail_at)
        return tp_errf(errbuf, errsize, TP_EINVAL, "refused line %d", line);
    return 0;
}

static void test_reader(void) {
    char err[256] = "";
    struct seen s = {0};
    const char *p = write_file("a.ini", "# comment\n; another\n\n[tickpipe]\nlog-level = info\n"
                                        "[run]\n  source =  sim:count=5   ; inline\nbars=1m,5m\n");
    CHECK(tp_config_read(p, collect, &s, err, sizeof err) == 0);
    CHECKF(strcmp(s.log, "tickpipe@4/log-level=info@5;run@6/source=sim:count=5@7;run@6/bars=1m,5m@8;") == 0,
           "%s", s.log);

    memset(&s, 0, sizeof s);
    p = write_file("b.ini", "[run]\na = 1\nthis is not ini\nb = 2\n");
    CHECK(tp_config_read(p, collect, &s, err, sizeof err) == TP_EPARSE);
    CHECKF(strstr(err, "b.ini:3:") != NULL, "%s", err);

    /* The first error by line wins, whether it is ours or inih's. */
    memset(&s, 0, sizeof s);
    s.fail_at = 2;
    CHECK(tp_config_read(p, collect, &s, err, sizeof err) == TP_EINVAL);
    CHECKF(strcmp(err, "refused line 2") == 0, "%s", err);
    memset(&s, 0, sizeof s);
    s.fail_at = 4;
    CHECK(tp_config_read(p, collect, &s, err, sizeof err) == TP_EPARSE);
    CHECKF(strstr(err, "b.ini:3:") != NULL, "%s", err);

    /* A line longer than inih's buffer is an error naming it, not two lines. */
    char text[1024];
    snprintf(text, sizeof text, "[run]\nsymbols = %0400d\nx = 1\n", 7);
    memset(&s, 0, sizeof s);
    p = write_file("c.ini", text);
    CHECK(tp_config_read(p, collect, &s, err, sizeof err) == TP_EPARSE);
    CHECKF(strstr(err, "c.ini:2: line longer than") != NULL, "%s", err);
    CHECKF(strstr(s.log, "symbols") == NULL, "%s", s.log);
    /* ...while a last line of exactly the longest length, without a newline, is fine. */
    snprintf(text, sizeof text, "[run]\nk = %0195d", 7);
    memset(&s, 0, sizeof s);
    p = write_file("d.ini", text);
    CHECKF(tp_config_read(p, collect, &s, err, sizeof err) == 0, "%s", err);
    CHECK(strstr(s.log, "run@1/k=0") != NULL);

    /* Indented keys are keys, not continuations of the value before. */
    memset(&s, 0, sizeof s);
    p = write_file("e.ini", "  [run]\n  source = sim\n\tbars = 1m\n    more\n");
    CHECK(tp_config_read(p, collect, &s, err, sizeof err) == TP_EPARSE);
    CHECKF(strstr(err, "e.ini:4:") != NULL, "%s", err);
    CHECKF(strcmp(s.log, "run@1/source=sim@2;run@1/bars=1m@3;") == 0, "%s", s.log);

    CHECK(tp_config_read("/nonexistent/x.ini", collect, &s, err, sizeof err) == TP_EIO);
    CHECKF(strstr(err, "/nonexistent/x.ini") != NULL, "%s", err);
}

struct vals {
    const char *source, *store, *level;
    int64_t n, dur;
    double x;
    int flag;
    struct tp_strlist list;
};

/* Parses a command line (words separated by spaces) for command "run". */
static int parse(struct vals *v, char *line, struct tp_opts_mem **mem) {
    memset(v, 0, sizeof *v);
    const struct tp_opt table[] = {
        {"source", TP_OPT_STR, &v->source, "yahoo", "SRC", "source", 0, 0},
        {"store", TP_OPT_STR, &v->store, NULL, "STORE", "store", 0, 0},
        {"n", TP_OPT_INT, &v->n, "5", "N", "a number", 1, 100},
        {"dur", TP_OPT_DUR, &v->dur, "10s", "DUR", "a duration", 0, 86400000},
        {"x", TP_OPT_DOUBLE, &v->x, "1.5", "X", "a real", 0, 10},
        {"flag", TP_OPT_FLAG, &v->flag, NULL, NULL, "a flag", 0, 0},
        {"conf", TP_OPT_LIST, &v->list, NULL, "K=V", "a list", 0, 0},
        {"level", TP_OPT_CHOICE, &v->level, "warn", "error|warn|info", "a choice", 0, 0},
        {NULL, 0, NULL, NULL, NULL, NULL, 0, 0}};
    char *argv[32] = {"run"};
    int argc = 1;
    for (char *save = NULL, *w = strtok_r(line, " ", &save); w && argc < 32; w = strtok_r(NULL, " ", &save))
        argv[argc++] = w;
    return tp_opts_parse("run", NULL, NULL, table, argc, argv, NULL, 0, NULL, mem);
}

static int parse_with(struct vals *v, const char *ini, const char *flags) {
    TP_OPTS_MEM(mem);
    char line[1024];
    snprintf(line, sizeof line, "--config %s %s", write_file("t.ini", ini), flags);
    int rc = parse(v, line, &mem);
    /* What the options point to must outlive the parse: copy the strings
     * we check before mem is freed. */
    static char source[64], store[64], list[256];
    snprintf(source, sizeof source, "%s", v->source ? v->source : "(null)");
    snprintf(store, sizeof store, "%s", v->store ? v->store : "(null)");
    list[0] = '\0';
    for (int i = 0; i < v->list.n; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s|", v->list.v[i]);
    v->source = source;
    v->store = store;
    v->list.n = 0;
    v->list.v[0] = list;
    return rc;
}

static void test_precedence(void) {
    struct vals v;
    const char *ini = "[tickpipe]\nstore = sqlite:shared.db\nn = 7\nconf = a=1\n"
                      "[run]\nn = 9\nx = 2.25\ndur = 5m\nflag = yes\nconf = b=2\n"
                      "[ingest]\nwhatever = 1\n";
    CHECK(parse_with(&v, ini, "") == 0);
    CHECK(strcmp(v.source, "yahoo") == 0);           /* default kept */
    CHECK(strcmp(v.store, "sqlite:shared.db") == 0); /* from [tickpipe] */
    CHECK(v.n == 9);                                 /* [run] beats [tickpipe] */
    CHECK(v.x == 2.25 && v.dur == 300000 && v.flag == 1);
    CHECKF(strcmp(v.list.v[0], "a=1|b=2|") == 0, "%s", v.list.v[0]);
    CHECK(parse_with(&v, ini, "--n 3 --store jsonl:- --conf c=3") == 0);
    CHECK(v.n == 3 && strcmp(v.store, "jsonl:-") == 0); /* flags beat the file */
    CHECKF(strcmp(v.list.v[0], "a=1|b=2|c=3|") == 0, "%s", v.list.v[0]);
    /* [run] before [tickpipe] in the file: [run] still wins. */
    CHECK(parse_with(&v, "[run]\nn = 9\n[tickpipe]\nn = 7\n", "") == 0 && v.n == 9);
    CHECK(parse_with(&v, "[run]\nflag = off\n", "") == 0 && v.flag == 0);
    CHECK(parse_with(&v, "[run]\nlevel = info\n", "") == 0);
    CHECK(parse_with(&v, "[run]\nlevel = error\n", "--level warn") == 0);
    /* A shared key that only other commands have is skipped. */
    CHECK(parse_with(&v, "[tickpipe]\nbars = 1m\nn = 4\n", "") == 0 && v.n == 4);
    CHECK(parse_with(&v, "[run]\nflag = off\n", "--flag") == 0 && v.flag == 1);
}

static void test_errors(void) {
    struct vals v;
    const char *bad[] = {
        "[run]\nnope = 1\n",             /* unknown key */
        "[tickpipe]\nnope = 1\n",        /* unknown key in the shared section */
        "[run]\nbars = 1m\n",            /* another command's key in [run] */
        "[runn]\nn = 1\n",               /* unknown section */
        "n = 1\n",                       /* key before any section */
        "[run]\nn = 1000\n",             /* out of range */
        "[run]\nn = many\n",             /* not an integer */
        "[run]\ndur = 5x\n",             /* not a duration */
        "[run]\nx = nan\n",              /* not a finite number */
        "[run]\nflag = maybe\n",         /* not a boolean */
        "[run]\nlevel = inf\n",          /* not one of the choices (a prefix) */
        "[run]\nlevel = info|warn\n",    /* nor two of them */
        "[run]\nstore =\n",              /* empty value */
        "[run]\nn = 1\nn = 2\n",         /* given twice */
        "[run]\nn 1\n",                  /* not a key = value line */
        "[run\nn = 1\n",                 /* unterminated section */
        "[run]\nconfig = x.ini\n",       /* --config is not a key */
    };
    /* TP_EPARSE for a line that is not INI, TP_EINVAL for the rest. */
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = parse_with(&v, bad[i], "");
        CHECKF(rc == TP_EINVAL || rc == TP_EPARSE, "file %zu: %s: %d", i, bad[i], rc);
    }
    /* A bad flag still fails after a good file, and a missing file fails. */
    CHECK(parse_with(&v, "[run]\nn = 1\n", "--n 0") == TP_EINVAL);
    CHECK(parse_with(&v, "[run]\nn = 1\n", "--config /dev/null") == TP_EINVAL);
    TP_OPTS_MEM(mem);
    char line[] = "--config /nonexistent/t.ini";
    CHECK(parse(&v, line, &mem) == TP_EIO);
}

int main(void) {
    REQUIRE(mkdtemp(dir) != NULL);
    test_reader();
    test_precedence();
    test_errors();
    const char *names[] = {"a.ini", "b.ini", "c.ini", "d.ini", "e.ini", "t.ini"};
    char path[600];
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
    return TP_TEST_DONE();
}
