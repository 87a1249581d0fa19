/*
 * test_error.c - the error vocabulary (core/tp_error.h): every code has
 * its own description, tp_errf fills errbuf and returns the code (NULL or
 * empty buffers are fine), and tp_error_retriable() sorts every code into
 * retriable or fatal.
 */
#include <string.h>

#include "core/tp_error.h"
#include "tp_test.h"

int main(void) {
    for (int a = TP_EFENCED; a <= TP_OK; a++) {
        CHECKF(strcmp(tp_strerror(a), "unknown error") != 0, "%d has no description", a);
        for (int b = TP_EFENCED; b < a; b++)
            CHECKF(strcmp(tp_strerror(a), tp_strerror(b)) != 0, "%d and %d read alike", a, b);
    }
    CHECK(strcmp(tp_strerror(-99), "unknown error") == 0);

    char buf[16];
    CHECK(tp_errf(buf, sizeof buf, TP_EINVAL, "--x %d: bad", 42) == TP_EINVAL);
    CHECK(strcmp(buf, "--x 42: bad") == 0);
    CHECK(tp_errf(buf, sizeof buf, TP_EIO, "%s", "a sentence longer than the buffer") == TP_EIO);
    CHECK(strlen(buf) == sizeof buf - 1);
    CHECK(tp_errf(NULL, 0, TP_ESTORE, "ignored") == TP_ESTORE);
    CHECK(tp_errf(buf, 0, TP_ESTORE, "ignored") == TP_ESTORE);

    /* Worth trying again later: nothing yet, a full queue, a missed deadline. */
    static const int retriable[] = {TP_EAGAIN, TP_EFULL, TP_ETIMEDOUT};
    static const int fatal[] = {TP_OK, TP_EINVAL, TP_ENOMEM, TP_EIO, TP_EPARSE, TP_ECLOSED,
                                TP_EEOF, TP_ESTORE, TP_EAUTH, TP_EPROTO, TP_ENOTFOUND,
                                TP_EFATAL, TP_EFENCED};
    for (size_t i = 0; i < sizeof retriable / sizeof *retriable; i++)
        CHECKF(tp_error_retriable(retriable[i]) == 1, "%s", tp_strerror(retriable[i]));
    for (size_t i = 0; i < sizeof fatal / sizeof *fatal; i++)
        CHECKF(tp_error_retriable(fatal[i]) == 0, "%s", tp_strerror(fatal[i]));
    /* Every code is in exactly one list. */
    CHECK(sizeof retriable / sizeof *retriable + sizeof fatal / sizeof *fatal ==
          (size_t)(TP_OK - TP_EFENCED + 1));
    return TP_TEST_DONE();
}
