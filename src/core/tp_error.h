/*
 * tp_error.h - the one error vocabulary of tickpipe.
 *
 * Functions return 0 on success or a negative TP_E* code. Setup functions
 * also fill a caller-provided errbuf with a sentence naming the bad value.
 * tp_strerror() never returns NULL and its result is a static string.
 */
#ifndef TP_ERROR_H
#define TP_ERROR_H

#include <stddef.h>

enum {
    TP_OK = 0,
    TP_EINVAL = -1,     /* bad argument or configuration value */
    TP_ENOMEM = -2,     /* allocation failed */
    TP_EIO = -3,        /* file or socket I/O failed */
    TP_EPARSE = -4,     /* malformed input (frame, envelope, response) */
    TP_EAGAIN = -5,     /* retriable: try again later */
    TP_EFULL = -6,      /* a bounded queue is full */
    TP_ECLOSED = -7,    /* the queue or connection is closed */
    TP_EEOF = -8,       /* a finite source ended */
    TP_ESTORE = -9,     /* the store failed (fatal) */
    TP_ETIMEDOUT = -10, /* a deadline passed */
    TP_EAUTH = -11,     /* authentication failed */
    TP_EPROTO = -12,    /* peer violated its protocol */
    TP_ENOTFOUND = -13, /* no such thing */
    TP_EFATAL = -14,    /* unrecoverable runtime error */
    TP_EFENCED = -15    /* another owner took over: this writer may not commit */
};

/* Returns a static, human-readable description of a TP_E* code. */
const char *tp_strerror(int err);

/* 1 when a failure with err may pass if the same call is made again later
 * (TP_EAGAIN, TP_EFULL, TP_ETIMEDOUT: nothing yet, a full queue, a missed
 * deadline), 0 when repeating it cannot help (bad input or settings, a
 * closed queue, a store's refusal, a fenced writer, the end of input) and
 * for 0 itself. Callers that decide whether to retry ask this, not a code. */
int tp_error_retriable(int err);

/* Formats into errbuf (if non-NULL and size > 0); always returns err. */
int tp_errf(char *errbuf, size_t size, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
