/*
 * tp_quote_fields.h - the one table of PricingData fields (number, name as
 * in reference/yahoo-streamer.md, storage type), as an X-macro so that the
 * field metadata, the decoder and the JSON writer cannot disagree.
 * Private to the codec (src/core/quote.c, src/codec/decode.c,
 * src/codec/quote_json.c).
 */
#ifndef TP_QUOTE_FIELDS_H
#define TP_QUOTE_FIELDS_H

#include "tp_quote.h"

#define TP_QUOTE_FIELDS(X) \
    X(TP_F_ID, "id", TP_FT_STRING) \
    X(TP_F_PRICE, "price", TP_FT_FLOAT) \
    X(TP_F_TIME, "time", TP_FT_SINT64) \
    X(TP_F_CURRENCY, "currency", TP_FT_STRING) \
    X(TP_F_EXCHANGE, "exchange", TP_FT_STRING) \
    X(TP_F_QUOTE_TYPE, "quoteType", TP_FT_ENUM) \
    X(TP_F_MARKET_HOURS, "marketHours", TP_FT_ENUM) \
    X(TP_F_CHANGE_PERCENT, "changePercent", TP_FT_FLOAT) \
    X(TP_F_DAY_VOLUME, "dayVolume", TP_FT_SINT64) \
    X(TP_F_DAY_HIGH, "dayHigh", TP_FT_FLOAT) \
    X(TP_F_DAY_LOW, "dayLow", TP_FT_FLOAT) \
    X(TP_F_CHANGE, "change", TP_FT_FLOAT) \
    X(TP_F_SHORT_NAME, "shortName", TP_FT_STRING) \
    X(TP_F_EXPIRE_DATE, "expireDate", TP_FT_SINT64) \
    X(TP_F_OPEN_PRICE, "openPrice", TP_FT_FLOAT) \
    X(TP_F_PREVIOUS_CLOSE, "previousClose", TP_FT_FLOAT) \
    X(TP_F_STRIKE_PRICE, "strikePrice", TP_FT_FLOAT) \
    X(TP_F_UNDERLYING_SYMBOL, "underlyingSymbol", TP_FT_STRING) \
    X(TP_F_OPEN_INTEREST, "openInterest", TP_FT_SINT64) \
    X(TP_F_OPTIONS_TYPE, "optionsType", TP_FT_SINT64) \
    X(TP_F_MINI_OPTION, "miniOption", TP_FT_SINT64) \
    X(TP_F_LAST_SIZE, "lastSize", TP_FT_SINT64) \
    X(TP_F_BID, "bid", TP_FT_FLOAT) \
    X(TP_F_BID_SIZE, "bidSize", TP_FT_SINT64) \
    X(TP_F_ASK, "ask", TP_FT_FLOAT) \
    X(TP_F_ASK_SIZE, "askSize", TP_FT_SINT64) \
    X(TP_F_PRICE_HINT, "priceHint", TP_FT_SINT64) \
    X(TP_F_VOL_24HR, "vol_24hr", TP_FT_SINT64) \
    X(TP_F_VOL_ALL_CURRENCIES, "volAllCurrencies", TP_FT_SINT64) \
    X(TP_F_FROMCURRENCY, "fromcurrency", TP_FT_STRING) \
    X(TP_F_LAST_MARKET, "lastMarket", TP_FT_STRING) \
    X(TP_F_CIRCULATING_SUPPLY, "circulatingSupply", TP_FT_DOUBLE) \
    X(TP_F_MARKETCAP, "marketcap", TP_FT_DOUBLE) \
    X(TP_F_COMPONENTS, "components", TP_FT_STRING) \
    X(TP_F_INDICES, "indices", TP_FT_STRINGS) \
    X(TP_F_CMC_RANK, "cmcRank", TP_FT_SINT64) \
    X(TP_F_UNDERLYING_SHORTNAME, "underlyingShortname", TP_FT_STRING) \
    X(TP_F_FIFTY_TWO_WEEK_CHANGE, "fiftyTwoWeekChange", TP_FT_FLOAT) \
    X(TP_F_FIFTY_TWO_WEEK_CHANGE_PERCENT, "fiftyTwoWeekChangePercent", TP_FT_FLOAT) \
    X(TP_F_LATEST_AMOUNT_RAISED, "latestAmountRaised", TP_FT_FLOAT) \
    X(TP_F_LATEST_FUNDING_DATE, "latestFundingDate", TP_FT_SINT64) \
    X(TP_F_LATEST_SHARE_CLASS, "latestShareClass", TP_FT_STRING) \
    X(TP_F_LATEST_IMPLIED_VALUATION, "latestImpliedValuation", TP_FT_FLOAT) \
    X(TP_F_YTD_RETURN, "ytdReturn", TP_FT_FLOAT) \
    X(TP_F_QTD_RETURN, "qtdReturn", TP_FT_FLOAT) \
    X(TP_F_FULL_DAY_CHANGE, "fullDayChange", TP_FT_FLOAT) \
    X(TP_F_FULL_DAY_CHANGE_PERCENT, "fullDayChangePercent", TP_FT_FLOAT)

#endif
