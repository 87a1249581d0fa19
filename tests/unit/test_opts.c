/*
 * test_opts.c - the command-line half of the option parser (cli/opts.c;
 * the --config half is test_config.c): defaults, "--name value" and
 * "--name=value", flags, positional words, each type's bounds and the
 * usage errors, which must name the option and end in TP_EINVAL (TP_EIO
 * for a --config file that cannot be read); --help and --print-config end
 * in TP_OPTS_DONE. Durations themselves are test_time_parse.c's.
 */
#include <string.h>
#include <unistd.h>

#include "core/tp_error.h"
#include "cli/tp_opts.h"
#include "tp_test.h"

struct vals {
    const char *store, *level;
    int64_t n, dur;
    double x;
    int flag;
    struct tp_strlist list;
    const char *pos[2];
    int npos;
};

static char said[4096];   /* what the last parse wrote to stderr */

/* Parses words (separated by spaces) as the options of command "run",
 * capturing stderr in said[]; stdout (--help, --print-config) goes to
 * /dev/null. */
static int parse(struct vals *v, const char *words) {
    memset(v, 0, sizeof *v);
    const struct tp_opt table[] = {
        {"store", TP_OPT_STR, &v->store, "sqlite:a.db", "STORE", "store", 0, 0},
        {"n", TP_OPT_INT, &v->n, "5", "N", "a number", 1, 100},
        {"dur", TP_OPT_DUR, &v->dur, "10s", "DUR", "a duration", 0, 86400000},
        {"x", TP_OPT_DOUBLE, &v->x, "1.5", "X", "a real", 0, 10},
        {"flag", TP_OPT_FLAG, &v->flag, NULL, NULL, "a flag", 0, 0},
        {"conf", TP_OPT_LIST, &v->list, NULL, "K=V", "a list", 0, 0},
        {"level", TP_OPT_CHOICE, &v->level, "warn", "error|warn|info", "a choice", 0, 0},
        {NULL, 0, NULL, NULL, NULL, NULL, 0, 0}};
    static char line[8192];
    snprintf(line, sizeof line, "%s", words);
    char *argv[256] = {"run"};
    int argc = 1;
    for (char *save = NULL, *w = strtok_r(line, " ", &save); w && argc < 256;
         w = strtok_r(NULL, " ", &save))
        argv[argc++] = w;
    fflush(stdout);
    fflush(stderr);
    int out = dup(1), err = dup(2);
    FILE *cap = tmpfile(), *null = fopen("/dev/null", "w");
    REQUIRE(out >= 0 && err >= 0 && cap && null);
    dup2(fileno(cap), 2);
    dup2(fileno(null), 1);
    TP_OPTS_MEM(mem);
    int rc = tp_opts_parse("run", NULL, NULL, table, argc, argv, v->pos, 2, &v->npos, &mem);
    fflush(stdout);
    fflush(stderr);
    dup2(out, 1);
    dup2(err, 2);
    close(out);
    close(err);
    size_t n = (size_t)ftell(cap);
    rewind(cap);
    n = fread(said, 1, n < sizeof said - 1 ? n : sizeof said - 1, cap);
    said[n] = '\0';
    fclose(cap);
    fclose(null);
    return rc;
}

static void defaults_and_values(void) {
    struct vals v;
    CHECK(parse(&v, "") == 0 && said[0] == '\0');
    CHECK(strcmp(v.store, "sqlite:a.db") == 0 && v.n == 5 && v.dur == 10000 && v.x == 1.5);
    CHECK(v.flag == 0 && v.list.n == 0 && strcmp(v.level, "warn") == 0 && v.npos == 0);
    CHECK(parse(&v, "--store jsonl:- --n 100 --dur 1.5s --x=0 --flag --level=info") == 0);
    CHECK(strcmp(v.store, "jsonl:-") == 0 && v.n == 100 && v.dur == 1500 && v.x == 0);
    CHECK(v.flag == 1 && strcmp(v.level, "info") == 0);
    CHECK(parse(&v, "--n=1 --n 7") == 0 && v.n == 7);              /* the last one wins */
    CHECK(parse(&v, "--conf a=1 --conf=b=2") == 0 && v.list.n == 2);
    CHECK(strcmp(v.list.v[0], "a=1") == 0 && strcmp(v.list.v[1], "b=2") == 0);
    CHECK(parse(&v, "one --flag two") == 0 && v.npos == 2 && v.flag == 1);
    CHECK(strcmp(v.pos[0], "one") == 0 && strcmp(v.pos[1], "two") == 0);
    CHECK(parse(&v, "--dur 0") == 0 && v.dur == 0);                /* 0 needs no unit */
    CHECK(parse(&v, "--dur 1d") == 0 && v.dur == 86400000);        /* the upper bound */
    CHECK(parse(&v, "--store=") == 0 && strcmp(v.store, "") == 0);
}

/* Each bad line ends in TP_EINVAL with one message that names what was
 * wrong. */
static void usage_errors(void) {
    static const struct { const char *words, *must_say; } bad[] = {
        {"--nope", "unknown option '--nope'"},
        {"--nope=3", "unknown option '--nope'"},
        {"--n", "--n needs a value (N)"},
        {"--n 0", "--n 0: out of range [1, 100]"},
        {"--n 101", "--n 101: out of range"},
        {"--n 5x", "--n 5x: not an integer"},
        {"--n 99999999999999999999", "not an integer"},
        {"--x 10.5", "--x 10.5: out of range [0, 10]"},
        {"--x inf", "--x inf: not a number"},
        {"--dur 10", "--dur 10: say the unit (10ms, 10s, 10m)"},
        {"--dur 5x", "--dur 5x: not a duration"},
        {"--dur 2d", "--dur 2d: out of range"},
        {"--flag=1", "--flag takes no value"},
        {"--level warning", "--level warning: expected one of error|warn|info"},
        {"--level wa", "expected one of"},
        {"a b c", "unexpected argument 'c'"},
        {"--config a.ini --config b.ini", "--config given more than once"},
    };
    struct vals v;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = parse(&v, bad[i].words);
        CHECKF(rc == TP_EINVAL && strstr(said, bad[i].must_say) &&
               strncmp(said, "tickpipe run: ", 14) == 0,
               "'%s': status %d, said '%s'", bad[i].words, rc, said);
    }
    int rc = parse(&v, "--config /nonexistent/t.ini");
    CHECKF(rc == TP_EIO && strstr(said, "/nonexistent/t.ini") &&
           strncmp(said, "tickpipe run: ", 14) == 0, "status %d, said '%s'", rc, said);
    char many[4096] = "";
    for (int i = 0; i < TP_STRLIST_MAX + 1; i++)
        strcat(many, "--conf k=v ");
    CHECK(parse(&v, many) == TP_EINVAL && strstr(said, "--conf given more than 64 times"));
}

static void help_and_print(void) {
    struct vals v;
    CHECK(parse(&v, "--n 0 --help") == TP_OPTS_DONE);   /* --help wins wherever it is */
    CHECK(parse(&v, "-h") == TP_OPTS_DONE);
    CHECK(parse(&v, "--print-config --n 9") == TP_OPTS_DONE && v.n == 9);
    CHECK(parse(&v, "--print-config --n 0") == TP_EINVAL);
}

int main(void) {
    defaults_and_values();
    usage_errors();
    help_and_print();
    return TP_TEST_DONE();
}
