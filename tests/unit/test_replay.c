/*
 * test_replay.c - resuming the replay source (source/replay.c): the
 * positions it hands out are exactly where a resumed run seeks to;
 * comments and blank lines are consumed but never handed out; a last line
 * without its newline is never handed out (so never checkpointed) until
 * its newline arrives; a file replaced or truncated since its checkpoint
 * is read from its start; the first-line fingerprint survives appends and
 * tells a replacement apart.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/tp_error.h"
#include "source/tp_source.h"
#include "tp_test.h"

static char dir[] = "/tmp/tp_test_replay.XXXXXX";
static char path[256], spec[300];

static void write_file(const char *mode, const char *text) {
    FILE *f = fopen(path, mode);
    REQUIRE(f != NULL);
    fputs(text, f);
    fclose(f);
}

static struct tp_source *open_src(void) {
    struct tp_source *s = NULL;
    char err[256];
    struct tp_source_opts o = {0};
    REQUIRE(tp_source_open(&s, spec, &o, err, sizeof err) == 0);
    return s;
}

/* The next line must be want, numbered lineno, ending at end_pos. */
static void expect(struct tp_source *s, const char *want, int64_t lineno, int64_t end_pos) {
    struct tp_raw r;
    char err[256];
    int rc = tp_source_next(s, &r, 0, err, sizeof err);
    CHECKF(rc == 0 && r.len == strlen(want) && memcmp(r.line, want, r.len) == 0 &&
               r.lineno == lineno && r.end_pos == end_pos,
           "want '%s' line %lld end %lld: rc %d got '%.*s' line %lld end %lld", want,
           (long long)lineno, (long long)end_pos, rc, rc ? 0 : (int)r.len, rc ? "" : r.line,
           (long long)r.lineno, (long long)r.end_pos);
}

static void expect_eof(struct tp_source *s) {
    struct tp_raw r;
    char err[256];
    CHECK(tp_source_next(s, &r, 0, err, sizeof err) == TP_EEOF);
}

static void positions(void) {
    write_file("w", "L1\n# comment\n\nL4\r\nL5\n");
    struct tp_source *s = open_src();
    CHECK(strcmp(tp_source_position_key(s), path) == 0);
    expect(s, "L1", 1, 3);
    expect(s, "L4", 4, 18);   /* the comment and the blank line were consumed */
    expect(s, "L5", 5, 21);
    expect_eof(s);
    tp_source_free(s);
    /* A resumed run at the checkpoint after L4 reads L5 only. */
    s = open_src();
    CHECK(tp_source_seek(s, 18, 4) == 0);
    expect(s, "L5", 5, 21);
    expect_eof(s);
    /* At the end: nothing more, until lines are appended. */
    CHECK(tp_source_seek(s, 21, 5) == 0);
    expect_eof(s);
    write_file("a", "L6\n");
    CHECK(tp_source_seek(s, 21, 5) == 0);
    expect(s, "L6", 6, 24);
    tp_source_free(s);
}

static void torn_last_line(void) {
    write_file("w", "L1\nL2\npart");
    struct tp_source *s = open_src();
    expect(s, "L1", 1, 3);
    expect(s, "L2", 2, 6);
    expect_eof(s);            /* "part" has no newline yet: not handed out */
    expect_eof(s);
    /* The writer finishes the line: resuming at the last position reads it whole. */
    write_file("a", "ial\nL4\n");
    CHECK(tp_source_seek(s, 6, 2) == 0);
    expect(s, "partial", 3, 14);
    expect(s, "L4", 4, 17);
    expect_eof(s);
    tp_source_free(s);
}

static void replaced_file(void) {
    write_file("w", "AAAA\nBBBB\nCCCC\n");
    struct tp_source *s = open_src();
    int64_t fp = tp_source_fingerprint(s);
    CHECK(fp != 0);
    tp_source_free(s);
    /* Appending keeps the fingerprint. */
    write_file("a", "DDDD\n");
    s = open_src();
    CHECK(tp_source_fingerprint(s) == fp);
    tp_source_free(s);

    /* Shorter than the checkpoint: read from the start. */
    write_file("w", "X1\n");
    s = open_src();
    CHECK(tp_source_fingerprint(s) != fp);
    CHECK(tp_source_seek(s, 15, 3) == 0);
    expect(s, "X1", 1, 3);
    expect_eof(s);
    tp_source_free(s);

    /* Long enough, but the byte before the checkpoint is no newline. */
    write_file("w", "a different first line\nmore\n");
    s = open_src();
    CHECK(tp_source_seek(s, 10, 2) == 0);
    expect(s, "a different first line", 1, 23);
    tp_source_free(s);

    /* A newline right before the checkpoint by chance: only the
     * fingerprint can tell, and it does. */
    write_file("w", "ZZZZ\nBBBB\nCCCC\n");
    s = open_src();
    CHECK(tp_source_fingerprint(s) != fp);
    CHECK(tp_source_seek(s, 10, 2) == 0);
    expect(s, "CCCC", 3, 15);
    tp_source_free(s);

    /* No complete first line yet: no fingerprint. */
    write_file("w", "AAAA");
    s = open_src();
    CHECK(tp_source_fingerprint(s) == 0);
    tp_source_free(s);
}

int main(void) {
    REQUIRE(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/frames.txt", dir);
    snprintf(spec, sizeof spec, "replay:%s", path);
    positions();
    torn_last_line();
    replaced_file();
    unlink(path);
    rmdir(dir);
    return TP_TEST_DONE();
}
