/*
 * cql_store_int.h - internals of the Cassandra store, shared by
 * cassandra.c (writes, commit), cql_store_setup.c (URI options, connect,
 * schema, recovery, slots, a small string map) and cql_store_query.c
 * (paged reads for `tickpipe query`).
 */
#ifndef TP_CQL_STORE_INT_H
#define TP_CQL_STORE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "../cql/tp_cql.h"
#include "store_int.h"

/* A string-keyed map of small values (open addressing, linear probing). */
struct kv_entry {
    char *key;
    uint8_t *val;
    size_t len;
    int n;
};
struct kv {
    struct kv_entry *e;
    size_t cap, count;
};
int tp_kv_put(struct kv *m, const char *key, const void *val, size_t len, int n);
struct kv_entry *tp_kv_get(const struct kv *m, const char *key);
void tp_kv_clear(struct kv *m);
void tp_kv_free(struct kv *m);

struct cas_opts {
    char *hosts, *keyspace, *user, *password, *tls_ca, *replication;
    int consistency, tls, seed_table, max_in_flight;
    int64_t ttl_ms, connect_timeout_ms, request_timeout_ms;
};
int tp_cas_opts_parse(struct cas_opts *o, const char *uri, char *errbuf, size_t errsize);
void tp_cas_opts_free(struct cas_opts *o);

enum {
    P_TICK, P_BAR, P_LATEST, P_STATE, P_CKPT, P_MARK, P_STATE_SLOTS, P_CKPT_SLOTS, P_SEED,
    P_Q_TICKS, P_Q_BARS, P_Q_LATEST1, P_Q_LATEST_ALL, P_Q_TICK_PARTS, P_Q_BAR_PARTS, P_MARK_GET,
    P_GAP, P_Q_GAPS1, P_Q_GAPS_ALL, P_OWNER_GET, P_OWNER_PUT, P_LOSS, NPREP
};

#define MAX_OPEN_BATCHES 64
struct pbatch {
    char key[300];              /* table|partition key */
    struct tp_cql_batch *b;
};

struct cas {
    struct tp_store base;
    struct cas_opts opt;
    struct tp_cql *c;
    struct tp_cql_prep *prep[NPREP];
    struct tp_cql_values v;     /* scratch */
    struct pbatch pb[MAX_OPEN_BATCHES];
    int npb;
    /* Once this handle has claimed a partition (Kafka members sharing a
     * keyspace), full tick batches are held until commit() has checked the
     * fences instead of being sent at once: a member paused past its
     * session may resume with symbol state another member wrote since, and
     * its tick rows (other seq numbers, other keys) must never land. */
    int hold;
    struct tp_cql_batch **held;
    int nheld, capheld;
    struct kv bars, latest;     /* coalesced per commit: key -> encoded values */
    struct kv gaps;             /* "symbol|start" -> encoded values, sent with latest */
    struct kv states, ckpts;    /* buffered until outputs are acknowledged */
    struct kv state_slots, ckpt_slots;  /* name -> committed slot, -1 if none */
    struct kv markers;          /* writer (hex) -> its marker gen, as last read */
    struct kv fences;           /* this batch's fence key -> epoch (int64) */
    int64_t writer;             /* this handle's random writer id */
    int64_t gen;                /* this writer's last committed generation */
    int64_t clock;              /* largest generation seen or written */
};

int tp_cas_connect(struct cas *s, char *errbuf, size_t errsize);
int tp_cas_schema(struct cas *s, char *errbuf, size_t errsize);
/* For a reader: prepares the statements of an existing keyspace, creating
 * nothing; TP_ENOTFOUND ("no such store") when its tables are missing. */
int tp_cas_schema_readonly(struct cas *s, const char *uri, char *errbuf, size_t errsize);
int tp_cas_flush_batches(struct cas *s);
/* Records "cassandra: <what>: <reason>" in last_error when rc < 0. */
int tp_cas_fail(struct cas *s, int rc, const char *what);
/* Reads the committed version of a state (which = P_STATE_SLOTS) or
 * checkpoint (P_CKPT_SLOTS): *row is the row in *r; TP_ENOTFOUND if none.
 * Records the committed slot (or -1) in slots and advances the clock past
 * every generation read. Row columns: slot, writer, gen, values... */
int tp_cas_read_slots(struct cas *s, int which, struct kv *slots, const char *name,
                   struct tp_cql_result **r, int *row);
/* The slot a new version of name goes to (not the committed one). */
int tp_cas_free_slot(struct cas *s, struct kv *slots, int which, const char *name, int *slot);
/* The generation of the next commit: a hybrid logical clock. */
int64_t tp_cas_next_gen(struct cas *s);
/* Takes the next generation as the client timestamp of the writes sent
 * from now on: of two writes of a cell the newer generation wins, so a
 * paused member's late rows never overwrite its successor's. */
void tp_cas_stamp(struct cas *s);

/* Fencing (cql_store_fence.c): the store ops claim and get_epoch, and the
 * commit's check of this batch's fences (TP_EFENCED when one moved on). */
int tp_cas_claim(struct tp_store *b, const char *key, const char *owner, int64_t *epoch);
/* Records offsets [from, to) of key as lost in tp_loss (see tp_store.h). */
int tp_cas_put_loss(struct tp_store *b, const char *key, int64_t from, int64_t to,
                    const char *reason);
int tp_cas_get_epoch(struct tp_store *b, const char *key, int64_t *epoch);
int tp_cas_check_fences(struct cas *s);

int tp_cas_query(struct tp_store *b, const struct tp_query *qr, tp_query_cb cb, void *opaque,
                 char *errbuf, size_t errsize);

int32_t tp_cas_month_of_day(int64_t day);
int64_t tp_cas_day_of_month(int32_t ym);
int32_t tp_cas_next_month(int32_t ym);

/* Name-based UUID (version 5, SHA-1) of name in namespace ns. */
void tp_cql_uuid_v5(const uint8_t ns[16], const void *name, size_t len, uint8_t out[16]);
extern const uint8_t TP_CQL_SEED_NAMESPACE[16];

#endif
