/* cassandra.c - placeholder until the CQL store lands; fails with a clear message. */
#include "tp_store.h"
#include "../core/tp_error.h"

int tp_store_cassandra_open(struct tp_store **out, const char *uri, char *errbuf, size_t errsize) {
    (void)uri;
    *out = NULL;
    return tp_errf(errbuf, errsize, TP_EINVAL, "--store cassandra://: not built yet");
}
