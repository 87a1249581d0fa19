/*
 * tp_dtoa.h - fast shortest round-trip formatting of doubles, in the style
 * of Python's repr(): the fewest significant digits that read back as the
 * same double, "1.5", "177.4199981689453", "1e+16", "1.5e-07", integral
 * values with ".0". Non-finite values print "null" (JSON has no spelling for
 * them). Pure; any thread.
 */
#ifndef TP_DTOA_H
#define TP_DTOA_H

#include <stddef.h>

#define TP_DTOA_MAX 32  /* buffer size that always suffices (with NUL) */

/* Writes v to buf (at least TP_DTOA_MAX bytes), NUL-terminated; returns the
 * length. */
size_t tp_dtoa(double v, char *buf);

#endif
