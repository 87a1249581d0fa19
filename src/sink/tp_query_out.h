/*
 * tp_query_out.h - the one path from query parameters to printed rows,
 * shared by `tickpipe query` (stdout) and the HTTP API (/api/latest, /api/bars, ...), so both
 * print the same rows in the same format.
 *
 * Threads: whichever thread owns the store handle.
 */
#ifndef TP_QUERY_OUT_H
#define TP_QUERY_OUT_H

#include <stdint.h>
#include <stdio.h>

#include "tp_store.h"

/* Fills qr from textual parameters (NULL = not given): what is "ticks",
 * "bars", "latest" or "gaps"; interval a bar interval; from/to Unix ms or ISO-8601.
 * On a bad value returns TP_EINVAL (TP_ENOTFOUND for an unknown `what`)
 * with errbuf naming the parameter as prefix+name ("--from" on the command
 * line, "from" in a URL). Strings are borrowed into qr. */
int tp_query_params(struct tp_query *qr, const char *what, const char *symbol,
                    const char *interval, const char *from, const char *to, const char *prefix,
                    char *errbuf, size_t errsize);

/* Runs qr on st and writes at most limit rows (0 = all) to f: CSV with a
 * header line (also when no row matches), or a JSON array with one object
 * per line. Stops reading at the first failed write. Returns 0, or a TP_E*
 * code with errbuf filled: TP_ECLOSED when f is a closed pipe, TP_EIO when
 * another write failed (disk full). */
int tp_query_write(struct tp_store *st, const struct tp_query *qr, int json, int64_t limit,
                   FILE *f, char *errbuf, size_t errsize);

#endif
