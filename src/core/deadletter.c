/*
 * deadletter.c - writes dead-letter lines (see tp_deadletter.h). Pure
 * formatting onto a caller-owned FILE; any thread.
 */
#include "tp_deadletter.h"

#include <inttypes.h>
#include <string.h>

static void put_json_string(FILE *f, const char *s, size_t len) {
    fputc('"', f);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

int tp_deadletter_write(FILE *f, const char *reason, const char *source, int64_t line,
                        const char *raw, size_t raw_len) {
    fputs("{\"reason\":", f);
    put_json_string(f, reason, strlen(reason));
    fputs(",\"source\":", f);
    put_json_string(f, source, strlen(source));
    fprintf(f, ",\"line\":%" PRId64 ",\"raw\":", line);
    put_json_string(f, raw, raw_len);
    return fputs("}\n", f) < 0 ? -1 : 0;
}
