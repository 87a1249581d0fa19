/* yahoo.c - placeholder until the yahoo source lands; fails with a clear message. */
#include "source_int.h"
#include "../core/tp_error.h"

int tp_source_yahoo_open(struct tp_source **out, const char *arg,
        const struct tp_source_opts *o, char *errbuf, size_t errsize) {
    (void)o; (void)arg;
    *out = NULL;
    return tp_errf(errbuf, errsize, TP_EINVAL, "--source: the yahoo source is not built yet");
}
