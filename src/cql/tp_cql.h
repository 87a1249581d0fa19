/*
 * tp_cql.h - a client for the Cassandra native protocol v4 (CQL binary
 * protocol). Only the files in src/cql do sockets and TLS for CQL.
 *
 * A session holds one connection per node (the contact points plus the peers
 * it finds in system.peers_v2 or system.peers), each carrying many requests
 * in flight told apart by stream id; responses may come back in any order.
 * Writes are submitted asynchronously and waited for together with
 * tp_cql_wait(). Because tickpipe's writes are idempotent upserts, the
 * session retries them with backoff on Overloaded, Unavailable, timeouts and
 * dropped connections, re-prepares on Unprepared, and reports schema, syntax
 * and authentication errors as fatal with the server's message.
 *
 * Threads: a session is used by one thread at a time; no function blocks
 * longer than the configured timeouts. Strings passed in are borrowed for
 * the call unless stated otherwise.
 */
#ifndef TP_CQL_H
#define TP_CQL_H

#include <stddef.h>
#include <stdint.h>

/* Consistency levels as on the wire. */
enum tp_cql_consistency {
    TP_CQL_ANY = 0x0000, TP_CQL_ONE = 0x0001, TP_CQL_TWO = 0x0002,
    TP_CQL_THREE = 0x0003, TP_CQL_QUORUM = 0x0004, TP_CQL_ALL = 0x0005,
    TP_CQL_LOCAL_QUORUM = 0x0006, TP_CQL_EACH_QUORUM = 0x0007,
    TP_CQL_LOCAL_ONE = 0x000A
};

/* Parses "one", "local_quorum", ... (case-insensitive); -1 when unknown. */
int tp_cql_consistency_parse(const char *name);

struct tp_cql_config {
    const char *hosts;          /* "host[:port][,host[:port]...]" */
    int default_port;           /* 9042 */
    const char *user;           /* NULL: no authentication offered */
    const char *password;
    int tls;                    /* 1: TLS, verifying the server certificate */
    const char *tls_ca;         /* CA file; NULL: system default paths */
    int connect_timeout_ms;
    int request_timeout_ms;
    int consistency;            /* enum tp_cql_consistency */
    int max_in_flight;          /* per connection, 1..32768 */
    int max_attempts;           /* tries per request, >= 1 */
    int discover_peers;         /* 1: also connect to peers */
};

/* Fills cfg with defaults (port 9042, timeouts 5 s / 12 s, LOCAL_QUORUM,
 * 1024 in flight, 10 attempts, peer discovery on). */
void tp_cql_config_init(struct tp_cql_config *cfg);

/* ------------------------------------------------------------ values */
/* A list of bound [value]s in wire encoding, built by the add functions.
 * An allocation failure is remembered and reported when the values are
 * submitted. Zero-initialise, or tp_cql_values_reset(). */
struct tp_cql_values {
    uint8_t *buf;
    size_t len, cap;
    int n;
    int oom;
};

void tp_cql_values_reset(struct tp_cql_values *v);  /* keeps the buffer */
void tp_cql_values_free(struct tp_cql_values *v);
void tp_cql_add_null(struct tp_cql_values *v);
void tp_cql_add_text(struct tp_cql_values *v, const char *s, size_t len);
void tp_cql_add_blob(struct tp_cql_values *v, const void *p, size_t len);
void tp_cql_add_bigint(struct tp_cql_values *v, int64_t x);
void tp_cql_add_int(struct tp_cql_values *v, int32_t x);
void tp_cql_add_double(struct tp_cql_values *v, double x);
void tp_cql_add_uuid(struct tp_cql_values *v, const uint8_t uuid[16]);
void tp_cql_add_date(struct tp_cql_values *v, int32_t days_since_epoch);

/* ------------------------------------------------------------ results */
enum tp_cql_result_kind {
    TP_CQL_RESULT_VOID = 1, TP_CQL_RESULT_ROWS = 2, TP_CQL_RESULT_SET_KEYSPACE = 3,
    TP_CQL_RESULT_PREPARED = 4, TP_CQL_RESULT_SCHEMA_CHANGE = 5
};

/* Type ids of the columns we decode. */
enum {
    TP_CQL_T_ASCII = 0x01, TP_CQL_T_BIGINT = 0x02, TP_CQL_T_BLOB = 0x03,
    TP_CQL_T_BOOLEAN = 0x04, TP_CQL_T_DOUBLE = 0x07, TP_CQL_T_FLOAT = 0x08,
    TP_CQL_T_INT = 0x09, TP_CQL_T_TIMESTAMP = 0x0B, TP_CQL_T_UUID = 0x0C,
    TP_CQL_T_VARCHAR = 0x0D, TP_CQL_T_INET = 0x10, TP_CQL_T_DATE = 0x11,
    TP_CQL_T_SMALLINT = 0x13, TP_CQL_T_TINYINT = 0x14
};

struct tp_cql_col {
    const char *name;           /* not NUL-terminated; name_len bytes */
    uint16_t name_len;
    uint16_t type;              /* option id; 0x20.. for collections */
};

/* A decoded RESULT. Pointers point into body, which the result owns. A
 * value with length -1 is NULL. */
struct tp_cql_result {
    int kind;
    int ncols;
    struct tp_cql_col *cols;
    int32_t nrows;
    const uint8_t **vals;       /* nrows * ncols */
    int32_t *lens;
    const uint8_t *paging_state;    /* NULL when this was the last page */
    int32_t paging_len;
    const uint8_t *prep_id;     /* PREPARED only */
    uint16_t prep_id_len;
    uint8_t *body;
    size_t body_len;
};

void tp_cql_result_free(struct tp_cql_result *r);  /* NULL is a no-op */

/* Cell accessors: 0 on success, TP_ENOTFOUND for NULL, TP_EPARSE when the
 * bytes do not fit the type. */
int tp_cql_get_int64(const struct tp_cql_result *r, int row, int col, int64_t *out);
int tp_cql_get_double(const struct tp_cql_result *r, int row, int col, double *out);

/* ------------------------------------------------------------ wire (tests, fuzzer) */
#define TP_CQL_HEADER_LEN 9
#define TP_CQL_MAX_BODY (256u << 20)

struct tp_cql_header {
    uint8_t version, flags, opcode;
    int16_t stream;
    uint32_t length;
};

/* Decodes a 9-byte response header; TP_EPROTO for a wrong version or a
 * length above TP_CQL_MAX_BODY. */
int tp_cql_parse_header(const uint8_t *p, size_t len, struct tp_cql_header *h);

/* Decodes a RESULT body. On success the result takes ownership of body
 * (malloc'ed, body_len bytes); on failure body is freed. */
int tp_cql_parse_result(uint8_t *body, size_t body_len, struct tp_cql_result **out);

/* Decodes an ERROR body into its code and message (NUL-terminated,
 * truncated to msgsize). For Unprepared, id and id_len point into body. */
int tp_cql_parse_error(const uint8_t *body, size_t len, int32_t *code, char *msg,
                       size_t msgsize, const uint8_t **id, uint16_t *id_len);

/* ------------------------------------------------------------ session */
struct tp_cql;
struct tp_cql_prep;             /* owned by the session */
struct tp_cql_batch;

/* Connects to the contact points (and peers), authenticating when a user
 * is configured. Succeeds when at least one node is ready. The caller owns
 * *out; free with tp_cql_free(). */
int tp_cql_connect(struct tp_cql **out, const struct tp_cql_config *cfg,
                   char *errbuf, size_t errsize);

/* Closes all connections and frees everything; NULL is a no-op. */
void tp_cql_free(struct tp_cql *c);

/* Runs one statement synchronously (retrying as for writes). *res, when
 * res is non-NULL, receives the result (caller frees). */
int tp_cql_query(struct tp_cql *c, const char *cql, struct tp_cql_result **res,
                 char *errbuf, size_t errsize);

/* Prepares a statement; *out lives as long as the session. */
int tp_cql_prepare(struct tp_cql *c, const char *cql, struct tp_cql_prep **out,
                   char *errbuf, size_t errsize);

/* Executes a prepared statement synchronously with paging: page_size rows
 * at most, continuing from paging_state (NULL for the first page). */
int tp_cql_select(struct tp_cql *c, struct tp_cql_prep *p, const struct tp_cql_values *v,
                  int page_size, const uint8_t *paging_state, int32_t paging_len,
                  struct tp_cql_result **res, char *errbuf, size_t errsize);

/* Submits a write without waiting (values are copied). May pump the
 * connections while every connection is at max_in_flight. Errors of
 * submitted writes are reported by tp_cql_wait(). */
int tp_cql_execute_async(struct tp_cql *c, struct tp_cql_prep *p,
                         const struct tp_cql_values *v);

/* An unlogged batch of prepared statements. The caller keeps statements of
 * one partition together and the batch small; the session sends it as is. */
struct tp_cql_batch *tp_cql_batch_new(void);
void tp_cql_batch_free(struct tp_cql_batch *b);
int tp_cql_batch_add(struct tp_cql_batch *b, struct tp_cql_prep *p,
                     const struct tp_cql_values *v);
size_t tp_cql_batch_bytes(const struct tp_cql_batch *b);
int tp_cql_batch_count(const struct tp_cql_batch *b);
/* Submits the batch (copied; b is reset for reuse). */
int tp_cql_batch_async(struct tp_cql *c, struct tp_cql_batch *b);

/* The client timestamp (microseconds) that EXECUTE and BATCH requests
 * submitted from now on carry (the protocol's default timestamp), so that
 * of two writes of one cell the one with the larger timestamp wins in
 * whatever order they arrive; 0 (the initial value): the coordinator's
 * clock decides. Retries keep the timestamp of their request. */
void tp_cql_set_timestamp(struct tp_cql *c, int64_t us);

/* Waits until every submitted write is acknowledged or failed for good.
 * Returns 0, or the first fatal error with its sentence in errbuf (the
 * error is cleared, so the session stays usable). */
int tp_cql_wait(struct tp_cql *c, char *errbuf, size_t errsize);

/* Counters for tests and benchmarks. */
struct tp_cql_stats {
    uint64_t requests, retries, reprepares, reconnects, timeouts;
    int max_in_flight;          /* highest concurrent requests on one connection */
    int nodes, nodes_up;
};
void tp_cql_get_stats(const struct tp_cql *c, struct tp_cql_stats *s);

#endif
