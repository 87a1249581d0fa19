/*
 * fuzz_store_uri.c - libFuzzer target for STORE specs: the input, as text,
 * goes to the Cassandra URI parser (behind "cassandra://", where the store
 * dispatch would hand it over) and to the spec-to-path split the output
 * loop check uses. Invariants beyond "no crash": on success the URI has a
 * non-empty host list and a keyspace of letters, digits and _; a path split
 * points inside the spec.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sink/cql_store_int.h"
#include "cli/tp_cmd.h"

#define PREFIX "cassandra://"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    size_t plen = strlen(PREFIX);
    char *uri = malloc(plen + size + 1);
    if (!uri)
        return 0;
    memcpy(uri, PREFIX, plen);
    memcpy(uri + plen, data, size);
    uri[plen + size] = '\0';
    struct cas_opts o;
    char errbuf[256];
    if (tp_cas_opts_parse(&o, uri, errbuf, sizeof errbuf) == 0) {
        if (!o.hosts || !o.hosts[0] || !o.keyspace || !o.keyspace[0])
            abort();
        if (strspn(o.keyspace, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") !=
            strlen(o.keyspace))
            abort();
    }
    tp_cas_opts_free(&o);
    const char *spec = uri + plen;
    const char *path = tp_cmd_spec_path(spec);
    if (path && (path < spec || path > spec + strlen(spec)))
        abort();
    free(uri);
    return 0;
}
