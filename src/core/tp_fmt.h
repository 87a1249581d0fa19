/*
 * tp_fmt.h - number formatting shared by the stores and query output.
 */
#ifndef TP_FMT_H
#define TP_FMT_H

#include <stddef.h>

/* Writes the shortest decimal form of v that reads back as the same double
 * (at most 17 significant digits). NaN and infinities print as null.
 * Returns the length written; buf must hold at least 32 bytes. */
int tp_fmt_double(char *buf, size_t cap, double v);

#endif
