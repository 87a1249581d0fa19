/*
 * tp_quote.h - one decoded Yahoo PricingData message: the record every stage
 * after the decoder works on.
 *
 * The quote does not own its payload: string fields are (offset, length)
 * views into the protobuf payload bytes the quote was decoded from, so a quote
 * plus a copy of its payload can be moved between threads with memcpy.
 * Presence is a bitmask: bit (n - 1) is set when field number n was on the
 * wire. An absent field is never the same as zero.
 */
#ifndef TP_QUOTE_H
#define TP_QUOTE_H

#include <stdint.h>

#define TP_QUOTE_NFIELDS 47   /* PricingData fields 1..47 */
#define TP_QUOTE_MAX_INDICES 32
#define TP_PAYLOAD_MAX 65535  /* larger payloads are rejected */

/* Field numbers of PricingData (reference/yahoo-streamer.md). */
enum tp_field {
    TP_F_ID = 1, TP_F_PRICE, TP_F_TIME, TP_F_CURRENCY, TP_F_EXCHANGE,
    TP_F_QUOTE_TYPE, TP_F_MARKET_HOURS, TP_F_CHANGE_PERCENT, TP_F_DAY_VOLUME,
    TP_F_DAY_HIGH, TP_F_DAY_LOW, TP_F_CHANGE, TP_F_SHORT_NAME, TP_F_EXPIRE_DATE,
    TP_F_OPEN_PRICE, TP_F_PREVIOUS_CLOSE, TP_F_STRIKE_PRICE,
    TP_F_UNDERLYING_SYMBOL, TP_F_OPEN_INTEREST, TP_F_OPTIONS_TYPE,
    TP_F_MINI_OPTION, TP_F_LAST_SIZE, TP_F_BID, TP_F_BID_SIZE, TP_F_ASK,
    TP_F_ASK_SIZE, TP_F_PRICE_HINT, TP_F_VOL_24HR, TP_F_VOL_ALL_CURRENCIES,
    TP_F_FROMCURRENCY, TP_F_LAST_MARKET, TP_F_CIRCULATING_SUPPLY,
    TP_F_MARKETCAP, TP_F_COMPONENTS, TP_F_INDICES, TP_F_CMC_RANK,
    TP_F_UNDERLYING_SHORTNAME, TP_F_FIFTY_TWO_WEEK_CHANGE,
    TP_F_FIFTY_TWO_WEEK_CHANGE_PERCENT, TP_F_LATEST_AMOUNT_RAISED,
    TP_F_LATEST_FUNDING_DATE, TP_F_LATEST_SHARE_CLASS,
    TP_F_LATEST_IMPLIED_VALUATION, TP_F_YTD_RETURN, TP_F_QTD_RETURN,
    TP_F_FULL_DAY_CHANGE, TP_F_FULL_DAY_CHANGE_PERCENT
};

/* Kinds of value a field holds, as stored in the quote. */
enum tp_ftype { TP_FT_STRING, TP_FT_FLOAT, TP_FT_DOUBLE, TP_FT_SINT64, TP_FT_ENUM, TP_FT_STRINGS };

/* A string view into the payload. */
typedef struct tp_sv { uint16_t off, len; } tp_sv;

/* quoteType values we act on. */
#define TP_QUOTE_TYPE_HEARTBEAT 7

struct tp_quote {
    uint64_t present;          /* bit (n-1) for field n */
    /* Values by field number, meaningful only where the field is present
     * (the decoder leaves the others as they were); only the member
     * matching the field's type is meaningful: f32 for float fields, f64
     * for doubles, i64 for sint64 and enum fields (enums are not zigzag),
     * sv for strings. */
    union {
        float f32;
        double f64;
        int64_t i64;
        tp_sv sv;
    } v[TP_QUOTE_NFIELDS + 1];
    tp_sv indices[TP_QUOTE_MAX_INDICES]; /* field 35, repeated */
    uint32_t nindices;
};

static inline int tp_quote_has(const struct tp_quote *q, int field) {
    return (q->present >> (field - 1)) & 1u;
}

/* Field metadata: camelCase name as in the reference table ("id", "price",
 * "vol_24hr", ...) and value type. field must be 1..TP_QUOTE_NFIELDS. */
const char *tp_field_name(int field);
enum tp_ftype tp_field_type(int field);

#endif
