/*
 * cql_int.h - internals shared by the CQL client's files (cql_wire.c,
 * cql_conn.c, cql_session.c). Not for use outside src/cql/.
 */
#ifndef TP_CQL_INT_H
#define TP_CQL_INT_H

#include <stddef.h>
#include <stdint.h>

#include "../core/tp_buf.h"
#include "tp_cql.h"

enum {
    CQL_OP_ERROR = 0x00, CQL_OP_STARTUP = 0x01, CQL_OP_READY = 0x02,
    CQL_OP_AUTHENTICATE = 0x03, CQL_OP_OPTIONS = 0x05, CQL_OP_SUPPORTED = 0x06,
    CQL_OP_QUERY = 0x07, CQL_OP_RESULT = 0x08, CQL_OP_PREPARE = 0x09,
    CQL_OP_EXECUTE = 0x0A, CQL_OP_REGISTER = 0x0B, CQL_OP_EVENT = 0x0C,
    CQL_OP_BATCH = 0x0D, CQL_OP_AUTH_CHALLENGE = 0x0E, CQL_OP_AUTH_RESPONSE = 0x0F,
    CQL_OP_AUTH_SUCCESS = 0x10
};

/* Error codes we act on. */
enum {
    CQL_ERR_SERVER = 0x0000, CQL_ERR_PROTOCOL = 0x000A, CQL_ERR_AUTH = 0x0100,
    CQL_ERR_UNAVAILABLE = 0x1000, CQL_ERR_OVERLOADED = 0x1001,
    CQL_ERR_BOOTSTRAPPING = 0x1002, CQL_ERR_TRUNCATE = 0x1003,
    CQL_ERR_WRITE_TIMEOUT = 0x1100, CQL_ERR_READ_TIMEOUT = 0x1200,
    CQL_ERR_READ_FAILURE = 0x1300, CQL_ERR_WRITE_FAILURE = 0x1500,
    CQL_ERR_SYNTAX = 0x2000, CQL_ERR_UNAUTHORIZED = 0x2100, CQL_ERR_INVALID = 0x2200,
    CQL_ERR_CONFIG = 0x2300, CQL_ERR_ALREADY_EXISTS = 0x2400, CQL_ERR_UNPREPARED = 0x2500
};

/* Appends to a struct tp_buf (an allocation failure sets oom and drops data). */
void tp_cql_buf_put(struct tp_buf *b, const void *p, size_t n);
void tp_cql_buf_u8(struct tp_buf *b, uint8_t x);
void tp_cql_buf_u16(struct tp_buf *b, uint16_t x);
void tp_cql_buf_u32(struct tp_buf *b, uint32_t x);
void tp_cql_buf_u64(struct tp_buf *b, uint64_t x);
void tp_cql_buf_string(struct tp_buf *b, const char *s);       /* [string] */
void tp_cql_buf_long_string(struct tp_buf *b, const char *s);  /* [long string] */
void tp_cql_buf_short_bytes(struct tp_buf *b, const uint8_t *p, uint16_t n);
void tp_cql_buf_free(struct tp_buf *b);
/* Writes a request header for opcode/stream with body length n. */
void tp_cql_buf_header(struct tp_buf *b, int16_t stream, uint8_t opcode, uint32_t n);
/* Patches the body length of the frame that starts at offset off. */
void tp_cql_buf_patch_len(struct tp_buf *b, size_t off);

/* Appends <consistency><flags>[values]... for QUERY/EXECUTE. */
/* ts > 0 adds the default timestamp (flag 0x20), in microseconds. */
void tp_cql_buf_query_params(struct tp_buf *b, int consistency, const struct tp_cql_values *v,
                             int page_size, const uint8_t *paging_state, int32_t paging_len,
                             int64_t ts);

/* Is an error code worth retrying (our writes are idempotent)? */
int tp_cql_error_retriable(int32_t code);

/* ------------------------------------------------------------ connections (cql_conn.c) */
struct cql_conn;

/* Called for each complete response frame; takes ownership of body. */
typedef int (*cql_frame_cb)(void *opaque, const struct tp_cql_header *h, uint8_t *body,
                            size_t len);

int64_t tp_cql_now_ms(void);
void *tp_cql_tls_ctx_new(const char *ca_file, char *errbuf, size_t errsize);
void tp_cql_tls_ctx_free(void *ctx);

/* Connects, does TLS when tls_ctx is set, STARTUP and authentication,
 * all within cfg->connect_timeout_ms. */
int tp_cql_conn_open(struct cql_conn **out, const char *host, int port,
                  const struct tp_cql_config *cfg, void *tls_ctx, char *errbuf, size_t errsize);
void tp_cql_conn_close(struct cql_conn *cn);           /* NULL is a no-op */
struct tp_buf *tp_cql_conn_out(struct cql_conn *cn);   /* append whole frames here */
int tp_cql_conn_fd(const struct cql_conn *cn);
const char *tp_cql_conn_peer(const struct cql_conn *cn);
int tp_cql_conn_want_write(const struct cql_conn *cn);
int tp_cql_conn_flush(struct cql_conn *cn);             /* non-blocking */
int tp_cql_conn_read(struct cql_conn *cn, cql_frame_cb cb, void *opaque); /* non-blocking */

static inline uint16_t cql_rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t cql_rd32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

#endif
