/*
 * quote.c - metadata of the 47 PricingData fields: the names used in JSON
 * output (exactly as in reference/yahoo-streamer.md) and the value types the
 * decoder stores, both from the table in tp_quote_fields.h. Read-only
 * tables; any thread.
 */
#include "tp_quote.h"

#include "tp_quote_fields.h"

#define NAME(num, name, type) [num] = name,
#define TYPE(num, name, type) [num] = type,
static const char *const names[TP_QUOTE_NFIELDS + 1] = {TP_QUOTE_FIELDS(NAME)};
static const enum tp_ftype types[TP_QUOTE_NFIELDS + 1] = {TP_QUOTE_FIELDS(TYPE)};

const char *tp_field_name(int field) {
    if (field < 1 || field > TP_QUOTE_NFIELDS)
        return "";
    return names[field];
}

enum tp_ftype tp_field_type(int field) {
    if (field < 1 || field > TP_QUOTE_NFIELDS)
        return TP_FT_SINT64;
    return types[field];
}
