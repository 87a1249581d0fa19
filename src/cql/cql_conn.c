/*
 * cql_conn.c - one CQL connection: TCP (optionally TLS via OpenSSL),
 * non-blocking framed I/O and the synchronous start-up handshake
 * (STARTUP, then PasswordAuthenticator's SASL PLAIN exchange if asked).
 *
 * The session (cql_session.c) owns connections and multiplexes requests over
 * them; this file knows nothing about stream ids beyond using stream 0 during
 * the handshake. Invariant: out holds whole frames not yet written; in holds
 * bytes read but not yet handed over as frames.
 *
 * Threads: the session's thread only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "../core/tp_clock.h"
#include "cql_int.h"
#include "../core/tp_error.h"

struct cql_conn {
    int fd;
    SSL *ssl;
    struct tp_buf out;
    size_t out_off;             /* bytes of out already written */
    uint8_t *in;
    size_t in_len, in_cap;
    char peer[128];
};

int64_t tp_cql_now_ms(void) {
    return tp_mono_ms();
}

/* ------------------------------------------------------------ TLS context */
void *tp_cql_tls_ctx_new(const char *ca_file, char *errbuf, size_t errsize) {
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        tp_errf(errbuf, errsize, TP_ENOMEM, "cassandra: cannot create a TLS context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    int ok = ca_file ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL)
                     : SSL_CTX_set_default_verify_paths(ctx);
    if (ok != 1) {
        tp_errf(errbuf, errsize, TP_EINVAL, "cassandra: cannot load tls-ca=%s: %s",
                ca_file ? ca_file : "(system default)",
                ERR_reason_error_string(ERR_get_error()));
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

void tp_cql_tls_ctx_free(void *ctx) { SSL_CTX_free(ctx); }

/* ------------------------------------------------------------ socket set-up */
static int wait_fd(int fd, short events, int64_t deadline) {
    struct pollfd pfd = {fd, events, 0};
    for (;;) {
        int64_t left = deadline - tp_cql_now_ms();
        if (left <= 0)
            return TP_ETIMEDOUT;
        int n = poll(&pfd, 1, (int)left);
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return TP_EIO;
    }
}

static int tcp_connect(struct cql_conn *cn, const char *host, int port, int64_t deadline,
                       char *errbuf, size_t errsize) {
    struct addrinfo hints = {0}, *ai = NULL;
    char portstr[16];
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(portstr, sizeof(portstr), "%d", port);
    int rc = getaddrinfo(host, portstr, &hints, &ai);
    if (rc != 0)
        return tp_errf(errbuf, errsize, TP_EIO, "cassandra: cannot resolve %s: %s", host,
                       gai_strerror(rc));
    cn->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (cn->fd < 0) {
        freeaddrinfo(ai);
        return tp_errf(errbuf, errsize, TP_EIO, "cassandra: socket: %s", strerror(errno));
    }
    int one = 1;
    setsockopt(cn->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    rc = connect(cn->fd, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    if (rc < 0 && errno != EINPROGRESS)
        return tp_errf(errbuf, errsize, TP_EIO, "cassandra: connect to %s: %s", cn->peer,
                       strerror(errno));
    if (rc < 0) {
        if (wait_fd(cn->fd, POLLOUT, deadline) < 0)
            return tp_errf(errbuf, errsize, TP_ETIMEDOUT,
                           "cassandra: connect to %s timed out", cn->peer);
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(cn->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err)
            return tp_errf(errbuf, errsize, TP_EIO, "cassandra: connect to %s: %s", cn->peer,
                           strerror(err));
    }
    return 0;
}

static int tls_handshake(struct cql_conn *cn, void *ctx, const char *host, int64_t deadline,
                         char *errbuf, size_t errsize) {
    unsigned char addr[16];
    cn->ssl = SSL_new(ctx);
    if (!cn->ssl)
        return tp_errf(errbuf, errsize, TP_ENOMEM, "cassandra: SSL_new failed");
    SSL_set_fd(cn->ssl, cn->fd);
    X509_VERIFY_PARAM *param = SSL_get0_param(cn->ssl);
    if (inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1) {
        X509_VERIFY_PARAM_set1_ip_asc(param, host);
    } else {
        SSL_set_tlsext_host_name(cn->ssl, host);
        X509_VERIFY_PARAM_set1_host(param, host, 0);
    }
    for (;;) {
        ERR_clear_error();
        int rc = SSL_connect(cn->ssl);
        if (rc == 1)
            return 0;
        int e = SSL_get_error(cn->ssl, rc);
        short ev = e == SSL_ERROR_WANT_READ ? POLLIN : e == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
        if (!ev) {
            long vr = SSL_get_verify_result(cn->ssl);
            return tp_errf(errbuf, errsize, TP_EIO, "cassandra: TLS handshake with %s failed: %s",
                           cn->peer, vr != X509_V_OK ? X509_verify_cert_error_string(vr)
                                    : ERR_reason_error_string(ERR_get_error()));
        }
        if (wait_fd(cn->fd, ev, deadline) < 0)
            return tp_errf(errbuf, errsize, TP_ETIMEDOUT,
                           "cassandra: TLS handshake with %s timed out", cn->peer);
    }
}

/* ------------------------------------------------------------ framed I/O */
struct tp_buf *tp_cql_conn_out(struct cql_conn *cn) { return &cn->out; }
int tp_cql_conn_fd(const struct cql_conn *cn) { return cn->fd; }
const char *tp_cql_conn_peer(const struct cql_conn *cn) { return cn->peer; }

int tp_cql_conn_want_write(const struct cql_conn *cn) { return cn->out.len > cn->out_off; }

static ssize_t io_write(struct cql_conn *cn, const uint8_t *p, size_t n) {
    if (!cn->ssl)
        return send(cn->fd, p, n, MSG_NOSIGNAL);
    int rc = SSL_write(cn->ssl, p, (int)(n > 1 << 30 ? 1 << 30 : n));
    if (rc > 0)
        return rc;
    int e = SSL_get_error(cn->ssl, rc);
    errno = (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) ? EAGAIN : EPIPE;
    return -1;
}

static ssize_t io_read(struct cql_conn *cn, uint8_t *p, size_t n) {
    if (!cn->ssl)
        return recv(cn->fd, p, n, 0);
    int rc = SSL_read(cn->ssl, p, (int)n);
    if (rc > 0)
        return rc;
    int e = SSL_get_error(cn->ssl, rc);
    if (e == SSL_ERROR_ZERO_RETURN)
        return 0;
    errno = (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) ? EAGAIN : ECONNRESET;
    return -1;
}

int tp_cql_conn_flush(struct cql_conn *cn) {
    if (cn->out.oom)
        return TP_ENOMEM;
    while (cn->out_off < cn->out.len) {
        ssize_t n = io_write(cn, cn->out.p + cn->out_off, cn->out.len - cn->out_off);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                return 0;
            return TP_EIO;
        }
        cn->out_off += (size_t)n;
    }
    cn->out.len = cn->out_off = 0;
    return 0;
}

/* Hands every complete frame in the input buffer to cb. */
static int deliver(struct cql_conn *cn, cql_frame_cb cb, void *opaque) {
    size_t off = 0;
    int rc = 0;
    while (rc == 0 && cn->in_len - off >= TP_CQL_HEADER_LEN) {
        struct tp_cql_header h;
        rc = tp_cql_parse_header(cn->in + off, cn->in_len - off, &h);
        if (rc < 0)
            break;
        if (cn->in_len - off - TP_CQL_HEADER_LEN < h.length)
            break;
        uint8_t *body = malloc(h.length ? h.length : 1);
        if (!body) {
            rc = TP_ENOMEM;
            break;
        }
        memcpy(body, cn->in + off + TP_CQL_HEADER_LEN, h.length);
        off += TP_CQL_HEADER_LEN + h.length;
        rc = cb(opaque, &h, body, h.length);
    }
    memmove(cn->in, cn->in + off, cn->in_len - off);
    cn->in_len -= off;
    return rc;
}

int tp_cql_conn_read(struct cql_conn *cn, cql_frame_cb cb, void *opaque) {
    for (;;) {
        if (cn->in_cap - cn->in_len < 16384) {
            size_t cap = cn->in_cap ? cn->in_cap * 2 : 65536;
            uint8_t *p = realloc(cn->in, cap);
            if (!p)
                return TP_ENOMEM;
            cn->in = p;
            cn->in_cap = cap;
        }
        ssize_t n = io_read(cn, cn->in + cn->in_len, cn->in_cap - cn->in_len);
        if (n == 0)
            return TP_ECLOSED;
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                return 0;
            return TP_EIO;
        }
        cn->in_len += (size_t)n;
        int rc = deliver(cn, cb, opaque);
        if (rc < 0)
            return rc;
        if ((size_t)n < 16384 && !(cn->ssl && SSL_pending(cn->ssl)))
            return 0;
    }
}

/* ------------------------------------------------------------ handshake */
struct sync_reply {
    int done;
    uint8_t opcode;
    uint8_t *body;
    size_t len;
};

static int sync_cb(void *opaque, const struct tp_cql_header *h, uint8_t *body, size_t len) {
    struct sync_reply *r = opaque;
    if (h->stream != 0 || r->done) {
        free(body);
        return 0;
    }
    r->done = 1;
    r->opcode = h->opcode;
    r->body = body;
    r->len = len;
    return 0;
}

/* Sends one frame on stream 0 and waits for its reply. */
static int roundtrip(struct cql_conn *cn, uint8_t opcode, const struct tp_buf *body,
                     struct sync_reply *r, int64_t deadline) {
    size_t off = cn->out.len;
    tp_cql_buf_header(&cn->out, 0, opcode, 0);
    tp_cql_buf_put(&cn->out, body->p, body->len);
    tp_cql_buf_patch_len(&cn->out, off);
    memset(r, 0, sizeof(*r));
    int rc = 0;
    while (rc == 0 && !r->done) {
        rc = tp_cql_conn_flush(cn);
        if (rc == 0)
            rc = wait_fd(cn->fd, (short)(POLLIN | (tp_cql_conn_want_write(cn) ? POLLOUT : 0)),
                         deadline);
        if (rc == 0)
            rc = tp_cql_conn_read(cn, sync_cb, r);
    }
    return rc;
}

static int reply_error(const struct sync_reply *r, const char *peer, const char *what,
                       char *errbuf, size_t errsize) {
    int32_t code = 0;
    char msg[512] = "";
    if (r->opcode != CQL_OP_ERROR)
        return tp_errf(errbuf, errsize, TP_EPROTO, "cassandra: %s: unexpected opcode 0x%02x "
                       "during %s", peer, r->opcode, what);
    tp_cql_parse_error(r->body, r->len, &code, msg, sizeof(msg), NULL, NULL);
    return tp_errf(errbuf, errsize, code == CQL_ERR_AUTH ? TP_EAUTH : TP_EPROTO,
                   "cassandra: %s rejected %s (error 0x%04x): %s", peer, what, code, msg);
}

static int authenticate(struct cql_conn *cn, const struct tp_cql_config *cfg, int64_t deadline,
                        char *errbuf, size_t errsize) {
    struct tp_buf body = {0};
    struct sync_reply r;
    if (!cfg->user)
        return tp_errf(errbuf, errsize, TP_EAUTH, "cassandra: %s requires authentication: "
                       "put USER:PASS@ in the store URI", cn->peer);
    size_t ul = strlen(cfg->user), pl = cfg->password ? strlen(cfg->password) : 0;
    tp_cql_buf_u32(&body, (uint32_t)(ul + pl + 2));
    tp_cql_buf_u8(&body, 0);
    tp_cql_buf_put(&body, cfg->user, ul);
    tp_cql_buf_u8(&body, 0);
    tp_cql_buf_put(&body, cfg->password, pl);
    int rc = roundtrip(cn, CQL_OP_AUTH_RESPONSE, &body, &r, deadline);
    tp_cql_buf_free(&body);
    if (rc < 0)
        return tp_errf(errbuf, errsize, rc, "cassandra: %s: authentication: %s", cn->peer,
                       tp_strerror(rc));
    if (r.opcode != CQL_OP_AUTH_SUCCESS)
        rc = reply_error(&r, cn->peer, "the credentials", errbuf, errsize);
    free(r.body);
    return rc;
}

static int startup(struct cql_conn *cn, const struct tp_cql_config *cfg, int64_t deadline,
                   char *errbuf, size_t errsize) {
    struct tp_buf body = {0};
    struct sync_reply r;
    tp_cql_buf_u16(&body, 1);
    tp_cql_buf_string(&body, "CQL_VERSION");
    tp_cql_buf_string(&body, "3.0.0");
    int rc = roundtrip(cn, CQL_OP_STARTUP, &body, &r, deadline);
    tp_cql_buf_free(&body);
    if (rc < 0)
        return tp_errf(errbuf, errsize, rc, "cassandra: %s: STARTUP: %s", cn->peer,
                       rc == TP_ETIMEDOUT ? "no reply within connect-timeout" : tp_strerror(rc));
    if (r.opcode == CQL_OP_READY)
        rc = 0;
    else if (r.opcode == CQL_OP_AUTHENTICATE)
        rc = authenticate(cn, cfg, deadline, errbuf, errsize);
    else
        rc = reply_error(&r, cn->peer, "STARTUP", errbuf, errsize);
    free(r.body);
    return rc;
}

int tp_cql_conn_open(struct cql_conn **out, const char *host, int port,
                  const struct tp_cql_config *cfg, void *tls_ctx, char *errbuf, size_t errsize) {
    struct cql_conn *cn = calloc(1, sizeof(*cn));
    int64_t deadline = tp_cql_now_ms() + cfg->connect_timeout_ms;
    int rc;
    *out = NULL;
    if (!cn)
        return tp_errf(errbuf, errsize, TP_ENOMEM, "cassandra: out of memory");
    cn->fd = -1;
    snprintf(cn->peer, sizeof(cn->peer), "%s:%d", host, port);
    rc = tcp_connect(cn, host, port, deadline, errbuf, errsize);
    if (rc == 0 && tls_ctx)
        rc = tls_handshake(cn, tls_ctx, host, deadline, errbuf, errsize);
    if (rc == 0)
        rc = startup(cn, cfg, deadline, errbuf, errsize);
    if (rc < 0) {
        tp_cql_conn_close(cn);
        return rc;
    }
    *out = cn;
    return 0;
}

void tp_cql_conn_close(struct cql_conn *cn) {
    if (!cn)
        return;
    if (cn->ssl)
        SSL_free(cn->ssl);
    if (cn->fd >= 0)
        close(cn->fd);
    tp_cql_buf_free(&cn->out);
    free(cn->in);
    free(cn);
}
