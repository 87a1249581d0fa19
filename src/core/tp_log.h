/*
 * tp_log.h - leveled logging to stderr. The level check happens before the
 * arguments are evaluated, so a disabled log line costs one comparison.
 * Every line names the stage that spoke. Thread-safe (one fprintf per line).
 */
#ifndef TP_LOG_H
#define TP_LOG_H

enum tp_log_level { TP_LOG_ERROR = 0, TP_LOG_WARN, TP_LOG_INFO, TP_LOG_DEBUG };

/* The process-wide level; set once by main before threads start. */
extern int tp_log_level;

void tp_log_write(int level, const char *stage, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define tp_log(level, stage, ...)                                  \
    do {                                                           \
        if ((level) <= tp_log_level)                               \
            tp_log_write((level), (stage), __VA_ARGS__);           \
    } while (0)

#define tp_error(stage, ...) tp_log(TP_LOG_ERROR, stage, __VA_ARGS__)
#define tp_warn(stage, ...) tp_log(TP_LOG_WARN, stage, __VA_ARGS__)
#define tp_info(stage, ...) tp_log(TP_LOG_INFO, stage, __VA_ARGS__)
#define tp_debug(stage, ...) tp_log(TP_LOG_DEBUG, stage, __VA_ARGS__)

#endif
