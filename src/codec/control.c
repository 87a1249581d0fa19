/*
 * control.c - parses a streamer client's control message into a list of
 * symbol names, apart from the connection that received it so that the
 * parser can be fuzzed on its own (fuzz/fuzz_feed_control.c). Lives in the
 * codec with the other wire formats, so jansson stays behind one part. The message
 * must be one JSON object with exactly one member, "subscribe" or
 * "unsubscribe", whose value is an array of strings; duplicated keys are
 * malformed. Pure; any thread.
 */
#include "tp_control.h"

#include "../core/tp_error.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* The member's array, or NULL when the message has another shape. */
static json_t *control_array(json_t *root, int *subscribe) {
    if (!json_is_object(root) || json_object_size(root) != 1)
        return NULL;
    void *it = json_object_iter(root);
    const char *key = json_object_iter_key(it);
    json_t *arr = json_object_iter_value(it);
    if (!json_is_array(arr))
        return NULL;
    if (strcmp(key, "subscribe") == 0)
        *subscribe = 1;
    else if (strcmp(key, "unsubscribe") == 0)
        *subscribe = 0;
    else
        return NULL;
    for (size_t i = 0; i < json_array_size(arr); i++)
        if (!json_is_string(json_array_get(arr, i)))
            return NULL;
    return arr;
}

int tp_control_parse(const char *text, size_t len, struct tp_control *fc) {
    memset(fc, 0, sizeof *fc);
    json_error_t err;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    json_t *arr = root ? control_array(root, &fc->subscribe) : NULL;
    int rc = arr ? 0 : TP_EPARSE;
    size_t n = arr ? json_array_size(arr) : 0;
    if (n && (!(fc->symbols = calloc(n, sizeof *fc->symbols)) ||
              !(fc->lens = calloc(n, sizeof *fc->lens))))
        rc = TP_ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        json_t *v = json_array_get(arr, i);
        size_t l = json_string_length(v);
        if (!(fc->symbols[i] = malloc(l + 1))) {
            rc = TP_ENOMEM;
            break;
        }
        memcpy(fc->symbols[i], json_string_value(v), l + 1);
        fc->lens[i] = l;
        fc->n = i + 1;
    }
    json_decref(root);
    if (rc)
        tp_control_free(fc);
    return rc;
}

void tp_control_free(struct tp_control *fc) {
    for (size_t i = 0; i < fc->n; i++)
        free(fc->symbols[i]);
    free(fc->symbols);
    free(fc->lens);
    memset(fc, 0, sizeof *fc);
}
