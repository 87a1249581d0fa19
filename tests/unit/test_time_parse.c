/*
 * test_time_parse.c - the parsers of src/core/timeparse.c: tp_parse_time,
 * the parser behind every --from/--to (Unix ms, ISO-8601 UTC dates and
 * times, and the inputs it must refuse; expected values are independent,
 * computed here with timegm(3)), and tp_parse_duration, behind every
 * duration option.
 */
#include <string.h>
#include <time.h>

#include "core/tp_error.h"
#include "core/tp_timeparse.h"
#include "tp_test.h"

static int64_t utc_ms(int y, int mo, int d, int h, int mi, int s) {
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    return (int64_t)timegm(&tm) * 1000;
}

static void expect(const char *s, int64_t want) {
    int64_t got = -12345;
    int rc = tp_parse_time(s, &got);
    CHECKF(rc == 0 && got == want, "%s: rc %d got %lld want %lld", s, rc,
           (long long)got, (long long)want);
}

static void refuse(const char *s) {
    int64_t got = -12345;
    int rc = tp_parse_time(s, &got);
    CHECKF(rc == TP_EINVAL && got == -12345, "%s: rc %d got %lld", s, rc, (long long)got);
}

static void durations(void) {
    static const struct { const char *s; int64_t ms; } good[] = {
        {"0", 0}, {"250", 250}, {"500ms", 500}, {"10s", 10000}, {"1.5s", 1500},
        {"5m", 300000}, {"1h", 3600000}, {"1d", 86400000}, {"0.25s", 250}};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        int64_t ms = -1;
        CHECKF(tp_parse_duration(good[i].s, &ms) == 0 && ms == good[i].ms, "%s -> %lld",
               good[i].s, (long long)ms);
    }
    static const char *const bad[] = {"", "s", "-1s", "1x", "10 s", "1sec", "nan", "inf",
                                      "1.0005s", "1e300d", "ms"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int64_t ms = -1;
        CHECKF(tp_parse_duration(bad[i], &ms) == TP_EINVAL && ms == -1, "%s accepted", bad[i]);
    }
    int64_t ms;
    CHECK(tp_parse_duration(NULL, &ms) == TP_EINVAL);
}

int main(void) {
    durations();
    /* Unix ms, as stored in every table. */
    expect("0", 0);
    expect("1736509141234", 1736509141234LL);
    expect("-1000", -1000);
    /* ISO-8601 UTC, every precision the help text promises. */
    expect("2025-01-10", utc_ms(2025, 1, 10, 0, 0, 0));
    expect("2025-01-10T11:39", utc_ms(2025, 1, 10, 11, 39, 0));
    expect("2025-01-10T11:39:00Z", utc_ms(2025, 1, 10, 11, 39, 0));
    expect("2025-01-10T11:39:00.250Z", utc_ms(2025, 1, 10, 11, 39, 0) + 250);
    expect("2025-01-10T11:39:00.5Z", utc_ms(2025, 1, 10, 11, 39, 0) + 500);
    expect("2025-01-10T11:39:00.123456Z", utc_ms(2025, 1, 10, 11, 39, 0) + 123);
    expect("2025-01-10 11:39:00", utc_ms(2025, 1, 10, 11, 39, 0));
    expect("2025-01-10T11:39:00+00:00", utc_ms(2025, 1, 10, 11, 39, 0));
    /* Calendar edges: leap days, year ends, before 1970. */
    expect("2024-02-29", utc_ms(2024, 2, 29, 0, 0, 0));
    expect("2000-02-29T23:59:59Z", utc_ms(2000, 2, 29, 23, 59, 59));
    expect("1999-12-31T23:59:59.999Z", utc_ms(1999, 12, 31, 23, 59, 59) + 999);
    expect("1969-07-20T20:17:40Z", utc_ms(1969, 7, 20, 20, 17, 40));
    for (int y = 1970; y <= 2100; y += 7)
        for (int m = 1; m <= 12; m++) {
            char buf[32];
            snprintf(buf, sizeof buf, "%04d-%02d-28T13:07:09Z", y, m);
            expect(buf, utc_ms(y, m, 28, 13, 7, 9));
        }
    /* Refused: not a time, a zone other than UTC, impossible fields. */
    refuse("");
    refuse("yesterday");
    refuse("2025-1-10");
    refuse("2025-01-10T");
    refuse("2025-01-10T11");
    refuse("2025-01-10T11:39:00.Z");
    refuse("2025-01-10T11:39:00+01:00");
    refuse("2025-01-10T11:39:00Zjunk");
    refuse("2025-13-01");
    refuse("2025-00-10");
    refuse("2025-01-32");
    refuse("2025-01-00");
    refuse("2025-02-30");
    refuse("2023-02-29");
    refuse("2025-04-31");
    refuse("2025-01-10T24:00");
    refuse("2025-01-10T11:60");
    refuse("2025-01-10T-1:30");
    refuse("2025-01-10T11:-5");
    refuse("12abc");
    refuse("1736509141"); /* Unix seconds: ten digits are refused, not read as ms */
    return TP_TEST_DONE();
}
