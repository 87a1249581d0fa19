/*
 * civil.c - day numbers of the proleptic Gregorian calendar (tp_civil.h;
 * FNV-1a is inline there). The calendar maths counts in 400-year eras of 146097 days,
 * with years starting on March 1 so that the leap day ends a year; it holds
 * for every date an int64_t day number can name in practice (|y| < 10^12).
 *
 * Thread: any; no state.
 */
#include "tp_civil.h"

int64_t tp_floor_div(int64_t a, int64_t b) {
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

int64_t tp_days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = tp_floor_div(y, 400);
    int64_t yoe = y - era * 400;                                     /* [0, 399] */
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;   /* [0, 365] */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;            /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

void tp_civil_from_days(int64_t z, int64_t *y, int *m, int *d) {
    z += 719468;
    int64_t era = tp_floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}
