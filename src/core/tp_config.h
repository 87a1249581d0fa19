/*
 * tp_config.h - reads an INI file (the --config of every subcommand) key by
 * key. The only module that sees libinih. Main thread only.
 *
 * Format: "[section]" lines, "key = value" lines, comments on lines that
 * start with ';' or '#', and inline comments after " ;". Indentation is
 * ignored (there are no continuation lines) and values are trimmed. A line may hold up to 199 characters (libinih's buffer).
 */
#ifndef TP_CONFIG_H
#define TP_CONFIG_H

#include <stddef.h>

/* Called once per key in file order. section is "" for keys before any
 * section header; line is the key's line and section_line that of its
 * section header (0 before any); the strings live only during the call. Returns 0 to go
 * on, or a negative TP_E* code after filling errbuf (the error then ends
 * the read; later keys are not passed on). */
typedef int (*tp_config_fn)(void *ctx, const char *section, const char *key,
                            const char *value, int line, int section_line, char *errbuf,
                            size_t errsize);

/* Reads the INI file at path, calling fn for each key. Returns 0; the
 * first error of fn; TP_EPARSE with errbuf naming the file and line of a
 * line that is neither a section, a key = value nor a comment, or that is
 * too long; or TP_EIO when the file cannot be opened. When both a syntax
 * error and an error of fn occur, the one on the earlier line is kept. */
int tp_config_read(const char *path, tp_config_fn fn, void *ctx, char *errbuf,
                   size_t errsize);

#endif
