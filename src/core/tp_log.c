/*
 * tp_log.c - stderr logger. Each line: ISO time, level, stage, message.
 * The level is written once by main before threads start and only read
 * afterwards.
 */
#include "tp_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

int tp_log_level = TP_LOG_WARN;

void tp_log_write(int level, const char *stage, const char *fmt, ...) {
    static const char *names[] = {"error", "warn", "info", "debug"};
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s [%s] %s\n",
            tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
            tm.tm_sec, ts.tv_nsec / 1000000L,
            names[level < 0 ? 0 : level > 3 ? 3 : level], stage, msg);
}
