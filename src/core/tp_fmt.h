/*
 * tp_fmt.h - number formatting shared by the stores and query output.
 */
#ifndef TP_FMT_H
#define TP_FMT_H

#include <stddef.h>

/* Writes a short decimal form of v that reads back as the same double.
 * NaN and infinities print as null; integral values below 1e15 print as
 * digits plus ".0" ("-0.0" for negative zero); anything else prints exactly
 * as the first of printf("%.15g"), "%.16g", "%.17g" that strtod reads back
 * as v, plus ".0" when that has neither '.' nor 'e'. That is the shortest
 * round-trip form except in two rare corners: subnormals keep 15 digits
 * (5e-324 prints as 4.94065645841247e-324), and at some powers of two the
 * only 16-digit decimals that read back are not the nearest one, so 17
 * digits print. Pure, thread-safe, no allocation.
 * Returns the length written; buf must hold at least 32 bytes (cap < 32
 * writes "" and returns 0). */
int tp_fmt_double(char *buf, size_t cap, double v);

#endif
