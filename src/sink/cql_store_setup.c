/*
 * cql_store_setup.c - the Cassandra store's set-up: URI options, connecting,
 * the schema (created with IF NOT EXISTS on first use), prepared statements,
 * the writer id, commit-marker lookups and state slots, and a small map.
 *
 * Several writers (one per store handle, a random 64-bit id each) may share
 * a keyspace if they write disjoint names. A state/checkpoint row is
 * committed when its gen is at most its writer's marker in tp_commit; rows
 * of a writer that died between its rows and its marker stay uncommitted
 * and are simply never chosen (nothing is deleted at open). Markers of
 * other writers are cached; a cached value only ever lags (markers grow),
 * so a row above it makes us re-read that marker before deciding.
 *
 * Threads: the thread opening the store.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "../core/tp_civil.h"
#include "../core/tp_clock.h"
#include "../core/tp_error.h"
#include "../core/tp_log.h"
#include "../core/tp_timeparse.h"
#include "cql_store_int.h"

/* ------------------------------------------------------------ map */
static uint64_t hash(const char *s) {
    return tp_fnv1a(1469598103934665603ull, s, strlen(s));   /* any basis does here */
}

static struct kv_entry *slot_for(const struct kv *m, const char *key) {
    size_t i = hash(key) & (m->cap - 1);
    while (m->e[i].key && strcmp(m->e[i].key, key) != 0)
        i = (i + 1) & (m->cap - 1);
    return &m->e[i];
}

static int kv_grow(struct kv *m) {
    struct kv old = *m;
    m->cap = old.cap ? old.cap * 2 : 64;
    m->e = calloc(m->cap, sizeof(*m->e));
    if (!m->e) {
        *m = old;
        return TP_ENOMEM;
    }
    for (size_t i = 0; i < old.cap; i++)
        if (old.e[i].key)
            *slot_for(m, old.e[i].key) = old.e[i];
    free(old.e);
    return 0;
}

int tp_kv_put(struct kv *m, const char *key, const void *val, size_t len, int n) {
    if ((m->count + 1) * 2 > m->cap && kv_grow(m) < 0)
        return TP_ENOMEM;
    struct kv_entry *e = slot_for(m, key);
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return TP_ENOMEM;
    if (len)
        memcpy(copy, val, len);
    if (!e->key) {
        if (!(e->key = strdup(key))) {
            free(copy);
            return TP_ENOMEM;
        }
        m->count++;
    }
    free(e->val);
    e->val = copy;
    e->len = len;
    e->n = n;
    return 0;
}

struct kv_entry *tp_kv_get(const struct kv *m, const char *key) {
    if (!m->cap)
        return NULL;
    struct kv_entry *e = slot_for(m, key);
    return e->key ? e : NULL;
}

void tp_kv_clear(struct kv *m) {
    for (size_t i = 0; i < m->cap; i++) {
        free(m->e[i].key);
        free(m->e[i].val);
        memset(&m->e[i], 0, sizeof(m->e[i]));
    }
    m->count = 0;
}

void tp_kv_free(struct kv *m) {
    tp_kv_clear(m);
    free(m->e);
    memset(m, 0, sizeof(*m));
}

/* ------------------------------------------------------------ URI */
static char *pct_decode(const char *s, size_t n) {
    char *out = malloc(n + 1), *d = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n + 1 && isxdigit((unsigned char)s[i + 1]) &&
            isxdigit((unsigned char)s[i + 2])) {
            char hex[3] = {s[i + 1], s[i + 2], 0};
            *d++ = (char)strtol(hex, NULL, 16);
            i += 2;
        } else {
            *d++ = s[i];
        }
    }
    *d = '\0';
    return out;
}

static int valid_name(const char *s, const char *extra) {
    if (!*s || strlen(s) > 48)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && !strchr(extra, *s))
            return 0;
    return 1;
}

static int opt_bool(const char *key, const char *val, int *out, char *errbuf, size_t errsize) {
    if (strcmp(val, "1") == 0 || strcmp(val, "true") == 0)
        *out = 1;
    else if (strcmp(val, "0") == 0 || strcmp(val, "false") == 0)
        *out = 0;
    else
        return tp_errf(errbuf, errsize, TP_EINVAL, "cassandra: option %s=%s: expected 0 or 1",
                       key, val);
    return 0;
}

static int opt_duration(const char *key, const char *val, int64_t *out, char *errbuf,
                        size_t errsize) {
    if (tp_parse_duration(val, out) < 0 || *out < 0)
        return tp_errf(errbuf, errsize, TP_EINVAL, "cassandra: option %s=%s: expected a "
                       "duration such as 500ms, 10s, 5m, 7d", key, val);
    return 0;
}

static int replication_ok(const char *r) {
    if (strspn(r, "0123456789") == strlen(r))
        return atoi(r) >= 1;
    char *copy = strdup(r), *save = NULL;
    int ok = copy != NULL;
    for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t && ok; t = strtok_r(NULL, ",", &save)) {
        char *colon = strchr(t, ':');
        ok = colon && colon[1] && strspn(colon + 1, "0123456789") == strlen(colon + 1);
        if (ok) {
            *colon = '\0';
            ok = valid_name(t, "-.");
        }
    }
    free(copy);
    return ok;
}

static int set_option(struct cas_opts *o, const char *key, const char *val, char *errbuf,
                      size_t errsize) {
    if (strcmp(key, "consistency") == 0) {
        o->consistency = tp_cql_consistency_parse(val);
        if (o->consistency < 0)
            return tp_errf(errbuf, errsize, TP_EINVAL, "cassandra: option consistency=%s: "
                           "expected one, quorum, local_quorum, all, ...", val);
        return 0;
    }
    if (strcmp(key, "replication") == 0) {
        if (!replication_ok(val))
            return tp_errf(errbuf, errsize, TP_EINVAL, "cassandra: option replication=%s: "
                           "expected N (SimpleStrategy) or DC:N[,DC:N...]", val);
        free(o->replication);
        return (o->replication = strdup(val)) ? 0 : TP_ENOMEM;
    }
    if (strcmp(key, "tls") == 0)
        return opt_bool(key, val, &o->tls, errbuf, errsize);
    if (strcmp(key, "seed_table") == 0)
        return opt_bool(key, val, &o->seed_table, errbuf, errsize);
    if (strcmp(key, "tls-ca") == 0) {
        free(o->tls_ca);
        o->tls = 1;
        return (o->tls_ca = strdup(val)) ? 0 : TP_ENOMEM;
    }
    if (strcmp(key, "ttl") == 0)
        return opt_duration(key, val, &o->ttl_ms, errbuf, errsize);
    if (strcmp(key, "connect-timeout") == 0)
        return opt_duration(key, val, &o->connect_timeout_ms, errbuf, errsize);
    if (strcmp(key, "request-timeout") == 0)
        return opt_duration(key, val, &o->request_timeout_ms, errbuf, errsize);
    if (strcmp(key, "max-in-flight") == 0) {
        char *e;
        long n = strtol(val, &e, 10);
        if (*e || n < 1 || n > 32768)
            return tp_errf(errbuf, errsize, TP_EINVAL, "cassandra: option max-in-flight=%s: "
                           "expected 1..32768", val);
        o->max_in_flight = (int)n;
        return 0;
    }
    return tp_errf(errbuf, errsize, TP_EINVAL, "cassandra: unknown option '%s' (known: "
                   "consistency, replication, tls, tls-ca, ttl, connect-timeout, "
                   "request-timeout, seed_table, max-in-flight)", key);
}

static int parse_options(struct cas_opts *o, const char *q, char *errbuf, size_t errsize) {
    char *copy = strdup(q), *save = NULL;
    int rc = copy ? 0 : TP_ENOMEM;
    for (char *t = copy ? strtok_r(copy, "&", &save) : NULL; t && rc == 0;
         t = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(t, '=');
        if (!eq) {
            rc = tp_errf(errbuf, errsize, TP_EINVAL, "cassandra: option '%s' needs =VALUE", t);
            break;
        }
        *eq = '\0';
        char *val = pct_decode(eq + 1, strlen(eq + 1));
        rc = val ? set_option(o, t, val, errbuf, errsize) : TP_ENOMEM;
        free(val);
    }
    free(copy);
    return rc;
}

int tp_cas_opts_parse(struct cas_opts *o, const char *uri, char *errbuf, size_t errsize) {
    const char *p = uri + strlen("cassandra://");
    const char *slash = strchr(p, '/'), *at;
    memset(o, 0, sizeof(*o));
    o->consistency = TP_CQL_LOCAL_QUORUM;
    o->connect_timeout_ms = 5000;
    o->request_timeout_ms = 12000;
    o->max_in_flight = 1024;
    size_t auth_len = slash ? (size_t)(slash - p) : strlen(p);
    at = memrchr(p, '@', auth_len);
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        o->user = pct_decode(p, colon ? (size_t)(colon - p) : (size_t)(at - p));
        o->password = colon ? pct_decode(colon + 1, (size_t)(at - colon - 1)) : strdup("");
        p = at + 1;
    }
    o->hosts = strndup(p, slash ? (size_t)(slash - p) : strlen(p));
    const char *ks = slash ? slash + 1 : "";
    const char *qm = strchr(ks, '?');
    o->keyspace = strndup(ks, qm ? (size_t)(qm - ks) : strlen(ks));
    o->replication = strdup("1");
    if (!o->hosts || !o->keyspace || !o->replication || (at && (!o->user || !o->password)))
        return tp_errf(errbuf, errsize, TP_ENOMEM, "cassandra: out of memory");
    if (!o->hosts[0])
        return tp_errf(errbuf, errsize, TP_EINVAL, "--store %s: no host (expected "
                       "cassandra://[USER:PASS@]HOST[:PORT][,HOST...]/KEYSPACE)", uri);
    if (!o->keyspace[0]) {
        free(o->keyspace);
        if (!(o->keyspace = strdup("streams")))
            return TP_ENOMEM;
    }
    if (!valid_name(o->keyspace, ""))
        return tp_errf(errbuf, errsize, TP_EINVAL, "cassandra: bad keyspace name '%s' "
                       "(letters, digits and _ only, at most 48)", o->keyspace);
    return qm ? parse_options(o, qm + 1, errbuf, errsize) : 0;
}

void tp_cas_opts_free(struct cas_opts *o) {
    free(o->hosts);
    free(o->keyspace);
    free(o->user);
    free(o->password);
    free(o->tls_ca);
    free(o->replication);
    memset(o, 0, sizeof(*o));
}

int tp_cas_fail(struct cas *s, int rc, const char *what) {
    if (rc < 0)
        snprintf(s->base.last_error, sizeof(s->base.last_error), "cassandra: %s: %s", what,
                 tp_strerror(rc));
    return rc;
}

/* ------------------------------------------------------------ connect, schema */
int tp_cas_connect(struct cas *s, char *errbuf, size_t errsize) {
    struct tp_cql_config cfg;
    tp_cql_config_init(&cfg);
    cfg.hosts = s->opt.hosts;
    cfg.user = s->opt.user;
    cfg.password = s->opt.password;
    cfg.tls = s->opt.tls;
    cfg.tls_ca = s->opt.tls_ca;
    cfg.connect_timeout_ms = (int)s->opt.connect_timeout_ms;
    cfg.request_timeout_ms = (int)s->opt.request_timeout_ms;
    cfg.consistency = s->opt.consistency;
    cfg.max_in_flight = s->opt.max_in_flight;
    return tp_cql_connect(&s->c, &cfg, errbuf, errsize);
}

static void replication_map(const char *r, char *out, size_t size) {
    if (strspn(r, "0123456789") == strlen(r)) {
        snprintf(out, size, "{'class': 'SimpleStrategy', 'replication_factor': %s}", r);
        return;
    }
    size_t n = (size_t)snprintf(out, size, "{'class': 'NetworkTopologyStrategy'");
    char copy[256], *save = NULL;
    snprintf(copy, sizeof(copy), "%s", r);
    for (char *t = strtok_r(copy, ",", &save); t && n < size; t = strtok_r(NULL, ",", &save)) {
        char *colon = strchr(t, ':');
        *colon = '\0';
        n += (size_t)snprintf(out + n, size - n, ", '%s': %s", t, colon + 1);
    }
    if (n < size)
        snprintf(out + n, size - n, "}");
}

/* TimeWindowCompactionStrategy with about 25 windows per TTL. */
static void ticks_options(const struct cas_opts *o, char *out, size_t size) {
    int64_t ttl_s = o->ttl_ms / 1000, win = ttl_s / 25;
    const char *unit = "DAYS";
    int64_t n = 1;
    if (ttl_s > 0 && win < 86400) {
        unit = win >= 3600 ? "HOURS" : "MINUTES";
        n = win / (win >= 3600 ? 3600 : 60);
        n = n < 1 ? 1 : n;
    } else if (ttl_s > 0) {
        n = win / 86400;
    }
    snprintf(out, size, " WITH CLUSTERING ORDER BY (time ASC, seq ASC) AND compaction = "
             "{'class': 'TimeWindowCompactionStrategy', 'compaction_window_unit': '%s', "
             "'compaction_window_size': %" PRId64 "} AND default_time_to_live = %" PRId64,
             unit, n, ttl_s);
}

#define TICK_COLS "symbol, day, time, seq, price, cum_avg_price, currency, exchange, " \
    "quote_type, market_hours, change_percent, day_volume, day_high, day_low, change, " \
    "open_price, previous_close, last_size, bid, bid_size, ask, ask_size, price_hint, payload"

static int run_ddl(struct cas *s, char *errbuf, size_t errsize) {
    const char *ks = s->opt.keyspace;
    char rep[300], topts[400], q[1400];
    replication_map(s->opt.replication, rep, sizeof(rep));
    ticks_options(&s->opt, topts, sizeof(topts));
    const char *ddl[] = {
        "CREATE KEYSPACE IF NOT EXISTS %s WITH replication = %s",
        "CREATE TABLE IF NOT EXISTS %s.ticks (symbol text, day date, time bigint, seq bigint, "
        "price double, cum_avg_price double, currency text, exchange text, quote_type bigint, "
        "market_hours bigint, change_percent double, day_volume bigint, day_high double, "
        "day_low double, change double, open_price double, previous_close double, "
        "last_size bigint, bid double, bid_size bigint, ask double, ask_size bigint, "
        "price_hint bigint, payload blob, PRIMARY KEY ((symbol, day), time, seq))%s",
        "CREATE TABLE IF NOT EXISTS %s.bars (symbol text, interval text, month int, "
        "start bigint, open double, high double, low double, close double, volume bigint, "
        "vwap double, count bigint, PRIMARY KEY ((symbol, interval, month), start))%s",
        "CREATE TABLE IF NOT EXISTS %s.latest (symbol text PRIMARY KEY, time bigint, "
        "price double, cum_avg_price double, count bigint)%s",
        "CREATE TABLE IF NOT EXISTS %s.tp_state (symbol text, slot int, writer bigint, "
        "gen bigint, state blob, PRIMARY KEY (symbol, slot))%s",
        "CREATE TABLE IF NOT EXISTS %s.tp_checkpoint (key text, slot int, writer bigint, "
        "gen bigint, pos bigint, line bigint, aux bigint, PRIMARY KEY (key, slot))%s",
        "CREATE TABLE IF NOT EXISTS %s.tp_commit (writer bigint PRIMARY KEY, gen bigint)%s",
        "CREATE TABLE IF NOT EXISTS %s.gaps (symbol text, start bigint, stop bigint, "
        "reason text, PRIMARY KEY (symbol, start))%s",
        "CREATE TABLE IF NOT EXISTS %s.tp_owner (key text PRIMARY KEY, epoch bigint, "
        "writer bigint, owner text)%s",
        "CREATE TABLE IF NOT EXISTS %s.tp_loss (key text, from_pos bigint, to_pos bigint, "
        "detected bigint, reason text, PRIMARY KEY (key, from_pos))%s",
        "CREATE TABLE IF NOT EXISTS %s.yahoofinance (id UUID PRIMARY KEY, exchange TEXT, "
        "quoteType DOUBLE, price DOUBLE, timestamp DOUBLE, marketHours DOUBLE, "
        "changePercent DOUBLE, dayVolume DOUBLE, change DOUBLE, priceHint DOUBLE, "
        "cumulative_avg_price DOUBLE)%s"};
    int n = (int)(sizeof(ddl) / sizeof(ddl[0])) - (s->opt.seed_table ? 0 : 1);
    for (int i = 0; i < n; i++) {
        snprintf(q, sizeof(q), ddl[i], ks, i == 0 ? rep : i == 1 ? topts : "");
        int rc = tp_cql_query(s->c, q, NULL, errbuf, errsize);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Prepares every statement. A reader (lenient) of a keyspace made before
 * the gaps table existed goes on without the gaps statements. */
static int prepare_all(struct cas *s, int lenient, char *errbuf, size_t errsize) {
    static const char *const sql[NPREP] = {
        "INSERT INTO %s.ticks (" TICK_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
        "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        "INSERT INTO %s.bars (symbol, interval, month, start, open, high, low, close, volume, "
        "vwap, count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        "INSERT INTO %s.latest (symbol, time, price, cum_avg_price, count) VALUES (?, ?, ?, ?, ?)",
        "INSERT INTO %s.tp_state (symbol, slot, writer, gen, state) VALUES (?, ?, ?, ?, ?)",
        "INSERT INTO %s.tp_checkpoint (key, slot, writer, gen, pos, line, aux) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        "INSERT INTO %s.tp_commit (writer, gen) VALUES (?, ?)",
        "SELECT slot, writer, gen, state FROM %s.tp_state WHERE symbol = ?",
        "SELECT slot, writer, gen, pos, line, aux FROM %s.tp_checkpoint WHERE key = ?",
        "INSERT INTO %s.yahoofinance (id, exchange, quotetype, price, timestamp, markethours, "
        "changepercent, dayvolume, change, pricehint, cumulative_avg_price) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        "SELECT symbol, time, seq, price, cum_avg_price, currency, exchange, quote_type, "
        "market_hours, change_percent, day_volume, day_high, day_low, change, open_price, "
        "previous_close, last_size, bid, bid_size, ask, ask_size, price_hint, payload "
        "FROM %s.ticks WHERE symbol = ? AND day = ? AND time >= ? AND time <= ?",
        "SELECT symbol, interval, start, open, high, low, close, volume, vwap, count FROM "
        "%s.bars WHERE symbol = ? AND interval = ? AND month = ? AND start >= ? AND start <= ?",
        "SELECT symbol, time, price, cum_avg_price, count FROM %s.latest WHERE symbol = ?",
        "SELECT symbol, time, price, cum_avg_price, count FROM %s.latest",
        "SELECT DISTINCT symbol, day FROM %s.ticks",
        "SELECT DISTINCT symbol, interval, month FROM %s.bars",
        "SELECT gen FROM %s.tp_commit WHERE writer = ?",
        "INSERT INTO %s.gaps (symbol, start, stop, reason) VALUES (?, ?, ?, ?)",
        "SELECT symbol, start, stop, reason FROM %s.gaps WHERE symbol = ?",
        "SELECT symbol, start, stop, reason FROM %s.gaps",
        "SELECT epoch FROM %s.tp_owner WHERE key = ?",
        "INSERT INTO %s.tp_owner (key, epoch, writer, owner) VALUES (?, ?, ?, ?)",
        "INSERT INTO %s.tp_loss (key, from_pos, to_pos, detected, reason) VALUES (?, ?, ?, ?, ?)"};
    char q[1200];
    for (int i = 0; i < NPREP; i++) {
        if (i == P_SEED && !s->opt.seed_table)
            continue;
        snprintf(q, sizeof(q), sql[i], s->opt.keyspace);
        int rc = tp_cql_prepare(s->c, q, &s->prep[i], errbuf, errsize);
        if (rc < 0 && !(lenient && i >= P_GAP))
            return rc;
    }
    return 0;
}

/* ------------------------------------------------------------ generations and slots */
static int64_t wall_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void tp_cas_stamp(struct cas *s) {
    s->clock = tp_cas_next_gen(s);
    tp_cql_set_timestamp(s->c, s->clock);
}

int64_t tp_cas_next_gen(struct cas *s) {
    int64_t now = wall_us();
    return now > s->clock ? now : s->clock + 1;
}

static int new_writer_id(struct cas *s, char *errbuf, size_t errsize) {
    uint64_t id = 0;
    while (id == 0)
        if (getrandom(&id, sizeof(id), 0) != (ssize_t)sizeof(id))
            return tp_errf(errbuf, errsize, TP_EIO, "cassandra: no random writer id "
                           "(getrandom failed)");
    memcpy(&s->writer, &id, sizeof(s->writer));
    return 0;
}

/* Whether (writer, gen) is committed: gen <= that writer's marker. */
static int committed(struct cas *s, int64_t writer, int64_t gen, int *yes) {
    char key[20], err[256];
    int64_t mark = -1;
    if (writer == s->writer) {
        *yes = gen <= s->gen;
        return 0;
    }
    snprintf(key, sizeof(key), "%016" PRIx64, (uint64_t)writer);
    struct kv_entry *e = tp_kv_get(&s->markers, key);
    if (e)
        memcpy(&mark, e->val, sizeof(mark));
    if (gen > mark) {           /* unknown or possibly stale: ask */
        struct tp_cql_result *r = NULL;
        tp_cql_values_reset(&s->v);
        tp_cql_add_bigint(&s->v, writer);
        int rc = tp_cql_select(s->c, s->prep[P_MARK_GET], &s->v, 0, NULL, 0, &r, err,
                               sizeof(err));
        if (rc < 0) {
            snprintf(s->base.last_error, sizeof(s->base.last_error), "cassandra: reading a "
                     "commit marker: %.200s", err);
            tp_cql_result_free(r);
            return TP_ESTORE;
        }
        if (r->nrows > 0)
            tp_cql_get_int64(r, 0, 0, &mark);
        tp_cql_result_free(r);
        if ((rc = tp_kv_put(&s->markers, key, &mark, sizeof(mark), 0)) < 0)
            return rc;
    }
    *yes = gen <= mark;
    return 0;
}

int tp_cas_read_slots(struct cas *s, int which, struct kv *slots, const char *name,
                   struct tp_cql_result **r, int *row) {
    char err[256];
    tp_cql_values_reset(&s->v);
    tp_cql_add_text(&s->v, name, strlen(name));
    int rc = tp_cql_select(s->c, s->prep[which], &s->v, 0, NULL, 0, r, err, sizeof(err));
    if (rc < 0) {
        snprintf(s->base.last_error, sizeof(s->base.last_error), "%s", err);
        return TP_ESTORE;
    }
    int64_t best = -1;
    *row = -1;
    for (int i = 0; i < (*r)->nrows && rc == 0; i++) {
        int64_t writer = 0, gen = -1;
        int yes = 0;
        tp_cql_get_int64(*r, i, 1, &writer);
        tp_cql_get_int64(*r, i, 2, &gen);
        if (gen > s->clock)
            s->clock = gen;     /* later writes of name order after this one */
        if (gen > best && (rc = committed(s, writer, gen, &yes)) == 0 && yes) {
            best = gen;
            *row = i;
        }
    }
    if (rc < 0)
        return rc;
    int64_t slot = -1;
    if (*row >= 0)
        tp_cql_get_int64(*r, *row, 0, &slot);
    if ((rc = tp_kv_put(slots, name, NULL, 0, (int)slot)) < 0)
        return rc;
    return *row < 0 ? TP_ENOTFOUND : 0;
}

int tp_cas_free_slot(struct cas *s, struct kv *slots, int which, const char *name, int *slot) {
    struct kv_entry *e = tp_kv_get(slots, name);
    if (!e) {                   /* never loaded by this handle: look it up */
        struct tp_cql_result *r = NULL;
        int row;
        int rc = tp_cas_read_slots(s, which, slots, name, &r, &row);
        tp_cql_result_free(r);
        if (rc < 0 && rc != TP_ENOTFOUND)
            return rc;
        e = tp_kv_get(slots, name);
    }
    *slot = e && e->n == 0 ? 1 : 0;
    return 0;
}

/* Collects distinct schema versions (uuids) of one result into seen[]. */
static int add_versions(const struct tp_cql_result *r, uint8_t seen[][16], int n) {
    for (int i = 0; i < r->nrows; i++) {
        int k = 0;
        if (r->lens[(size_t)i * (size_t)r->ncols] != 16)
            continue;
        const uint8_t *v = r->vals[(size_t)i * (size_t)r->ncols];
        while (k < n && memcmp(seen[k], v, 16) != 0)
            k++;
        if (k == n && n < 8)
            memcpy(seen[n++], v, 16);
    }
    return n;
}

/* After DDL on a cluster, waits (up to request-timeout) until every node
 * reports one schema version, as drivers do, so the statements prepared
 * next find their tables on any node. */
static int wait_schema_agreement(struct cas *s, char *errbuf, size_t errsize) {
    int64_t deadline = tp_mono_ms() + s->opt.request_timeout_ms;
    for (;;) {
        struct tp_cql_result *local = NULL, *peers = NULL;
        uint8_t seen[8][16];
        int n = 0;
        int rc = tp_cql_query(s->c, "SELECT schema_version FROM system.local WHERE key = 'local'",
                              &local, errbuf, errsize);
        if (rc == 0 && tp_cql_query(s->c, "SELECT schema_version FROM system.peers", &peers,
                                    errbuf, errsize) == 0)
            n = add_versions(peers, seen, n);
        if (rc == 0)
            n = add_versions(local, seen, n);
        tp_cql_result_free(local);
        tp_cql_result_free(peers);
        if (rc < 0 || n <= 1)
            return rc;
        if (tp_mono_ms() > deadline) {
            tp_warn("cassandra", "schema versions still disagree after request-timeout; "
                    "continuing");
            return 0;
        }
        struct timespec ts = {0, 200 * 1000000};
        nanosleep(&ts, NULL);   /* a poll interval of a start-up wait, not a test sleep */
    }
}

int tp_cas_schema_readonly(struct cas *s, const char *uri, char *errbuf, size_t errsize) {
    char why[256] = "";
    if (prepare_all(s, 1, why, sizeof why) == 0)
        return 0;
    return tp_errf(errbuf, errsize, TP_ENOTFOUND, "--store %s: no such store (keyspace %s has no "
                   "tickpipe tables: %s)", uri, s->opt.keyspace, why);
}

int tp_cas_schema(struct cas *s, char *errbuf, size_t errsize) {
    int rc = run_ddl(s, errbuf, errsize);
    if (rc == 0)
        rc = wait_schema_agreement(s, errbuf, errsize);
    if (rc == 0)
        rc = prepare_all(s, 0, errbuf, errsize);
    if (rc == 0)
        rc = new_writer_id(s, errbuf, errsize);
    if (rc == 0)
        tp_info("cassandra", "writer id %016" PRIx64, (uint64_t)s->writer);
    return rc;
}
