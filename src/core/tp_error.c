/*
 * tp_error.c - error code descriptions and errbuf formatting.
 * Pure functions, callable from any thread.
 */
#include "tp_error.h"

#include <stdarg.h>
#include <stdio.h>

const char *tp_strerror(int err) {
    switch (err) {
    case TP_OK: return "success";
    case TP_EINVAL: return "invalid argument";
    case TP_ENOMEM: return "out of memory";
    case TP_EIO: return "input/output error";
    case TP_EPARSE: return "malformed input";
    case TP_EAGAIN: return "temporary failure, retry";
    case TP_EFULL: return "queue full";
    case TP_ECLOSED: return "closed";
    case TP_EEOF: return "end of input";
    case TP_ESTORE: return "store failure";
    case TP_ETIMEDOUT: return "timed out";
    case TP_EAUTH: return "authentication failed";
    case TP_EPROTO: return "protocol error";
    case TP_ENOTFOUND: return "not found";
    case TP_EFATAL: return "fatal error";
    case TP_EFENCED: return "fenced by a newer owner";
    default: return "unknown error";
    }
}

int tp_error_retriable(int err) {
    return err == TP_EAGAIN || err == TP_EFULL || err == TP_ETIMEDOUT;
}

int tp_errf(char *errbuf, size_t size, int err, const char *fmt, ...) {
    if (errbuf && size > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errbuf, size, fmt, ap);
        va_end(ap);
    }
    return err;
}
