/*
 * cmd_kafka.c - the Kafka roles: `tickpipe ingest` (source -> topic) and
 * `tickpipe process` (topic -> processor -> store).
 *
 * ingest validates every frame with the decoder, then produces the raw
 * PricingData bytes keyed by symbol (one symbol stays in one partition, in
 * order). Heartbeats are skipped and counted; rejected frames go to the
 * dead-letter file and optionally a dead-letter topic. At the end every
 * queued message is flushed, or the number left undelivered is reported.
 *
 * process is one consumer-group member. Each assigned partition is a
 * positioned input of the processor, keyed "kafka:<topic>:<partition>",
 * whose checkpoint (the next offset) is committed in the store atomically
 * with the outputs; the consumer resumes there. Before partitions are
 * revoked the processor commits and forgets its in-memory state, so the
 * next owner reloads it from the store. When the group took partitions
 * away already (lost), uncommitted work is discarded by rebuilding the
 * processor from the store instead.
 *
 * Zombie fencing (Kafka Streams' and Flink's idea, kept in our store): on
 * assignment the member claims the partition in the store, which moves the
 * partition's ownership epoch forward; every commit carries the epochs it
 * was assigned under and the store refuses it (TP_EFENCED) once any of them
 * moved on, and refuses checkpoints that move backwards. So a member that
 * was paused past its session and resumed can never change the store
 * again: its batch is discarded, the partitions it still owns are moved
 * back to the store's checkpoint and the moved ones are ignored until the
 * group reassigns them. Nothing is committed while librdkafka reports the
 * assignment lost.
 *
 * Store and group must agree: the group's committed offset (advisory,
 * stored only after our store committed) can never be ahead of the store's
 * checkpoint unless the store is another one or was reset; process stops
 * then (exit 1) unless --rebuild says to rebuild this store anyway. Offsets
 * that can no longer be read (retention moved the log start past the
 * checkpoint, or the fetch jumped forward) are losses: logged, counted in
 * the summary line (lost=) and recorded per partition (tp_loss).
 *
 * Threads: both commands run on the main thread only; librdkafka's
 * callbacks reach us on this thread. SIGINT/SIGTERM (main.c's stop flag)
 * end the loop cleanly: flush, commit, leave the group. With --http,
 * process also serves metrics, health, the API and the dashboard from the
 * HTTP thread (src/http/), fed by relaxed atomics published here.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bus/tp_kafka.h"
#include "core/tp_error.h"
#include "core/tp_fmt.h"
#include "core/tp_log.h"
#include "core/tp_opts.h"
#include "core/tp_quote.h"
#include "core/tp_clock.h"
#include "core/tp_deadletter.h"
#include "process/tp_processor.h"
#include "sink/tp_store.h"
#include "sink/tp_tap.h"
#include "source/tp_decode.h"
#include "source/tp_source.h"
#include "tp_cmd.h"

/* ---- ingest ------------------------------------------------------------ */

struct ingest_stats {
    int64_t frames, produced, rejected, skipped, dlq;
};

struct ingest {
    const char *source, *brokers, *topic, *dlq_topic, *deadletter, *symbols, *log_level;
    const char *symbols_file, *tls_ca;
    char *symbols_buf;        /* --symbols-file, read */
    uint64_t source_id;       /* a replayed file's id for position headers; 0 = live */
    struct tp_strlist conf;
    int64_t timeout_ms, flush_ms, symbols_per_socket, silent_ms;
    struct tp_kafka_producer *p;
    struct tp_source *src;
    FILE *dead;
    struct ingest_stats st;
    unsigned unpolled;        /* frames produced since the last poll */
    uint8_t payload[TP_PAYLOAD_MAX];
    char errbuf[512];
};

static int ingest_reject(struct ingest *in, const struct tp_raw *r, const char *reason) {
    const char *key = tp_source_position_key(in->src);
    in->st.rejected++;
    if (in->dead) {
        tp_deadletter_write(in->dead, reason, key ? key : in->source, r->lineno, r->line, r->len);
        fflush(in->dead);
    }
    if (!in->dlq_topic)
        return 0;
    char pos[64];
    snprintf(pos, sizeof pos, "%lld", (long long)r->lineno);
    in->st.dlq++;
    return tp_kafka_produce(in->p, in->dlq_topic, pos, strlen(pos), r->line, r->len, "reason",
                            reason, in->errbuf, sizeof in->errbuf);
}

/* Decodes one frame and produces it (or dead-letters it). 0 or fatal. */
/* The position header "<source id, 16 hex digits>:<line>", as
 * snprintf("%016llx:%lld") writes it but without stdio, which cost about
 * 1,400 instructions per frame. pos holds 48 bytes. */
static void format_pos(char *pos, uint64_t id, int64_t lineno) {
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++)
        pos[i] = hex[(id >> (60 - 4 * i)) & 15];
    pos[16] = ':';
    pos[17 + tp_fmt_i64(pos + 17, lineno)] = '\0';
}

static int ingest_frame(struct ingest *in, const struct tp_raw *r) {
    const char *frame, *reason = "";
    size_t frame_len, plen = 0;
    struct tp_quote q;
    in->st.frames++;
    if (r->too_long)
        return ingest_reject(in, r, "line too long");
    tp_decode_split_recv_time(r->line, r->len, &frame, &frame_len);
    int d = tp_decode_frame(frame, frame_len, in->payload, &plen, &q, &reason);
    if (d == TP_DECODE_SKIP) {
        in->st.skipped++;
        return 0;
    }
    if (d != TP_DECODE_OK)
        return ingest_reject(in, r, reason);
    tp_sv id = q.v[TP_F_ID].sv;
    in->st.produced++;
    char pos[48] = "";
    if (in->source_id && r->lineno > 0)
        format_pos(pos, in->source_id, r->lineno);
    return tp_kafka_produce(in->p, in->topic, in->payload + id.off, id.len, in->payload, plen,
                            in->source_id ? TP_KAFKA_POS_HEADER : NULL,
                            in->source_id ? pos : NULL, in->errbuf, sizeof in->errbuf);
}

#define INGEST_POLL_EVERY 64

/* Reads the source to its end (or a stop signal). 0 or a fatal code. */
static int ingest_loop(struct ingest *in) {
    struct tp_raw r;
    while (!*tp_stop_flag()) {
        int rc = tp_source_next(in->src, &r, 200, in->errbuf, sizeof in->errbuf);
        if (rc == TP_EEOF)
            return 0;
        if (rc == TP_EAGAIN)
            rc = tp_kafka_producer_poll(in->p, 0, in->errbuf, sizeof in->errbuf);
        else if (rc == 0 && r.len > 0 && r.line[0] != '#')
            rc = ingest_frame(in, &r);
        /* Delivery reports are served every INGEST_POLL_EVERY frames (and
         * whenever the source has nothing, and inside a full queue's wait):
         * a poll per frame cost about as much as producing it. */
        if (rc == 0 && ++in->unpolled >= INGEST_POLL_EVERY) {
            in->unpolled = 0;
            rc = tp_kafka_producer_poll(in->p, 0, in->errbuf, sizeof in->errbuf);
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int ingest_open(struct ingest *in) {
    int rc = tp_kafka_producer_new(&in->p, in->brokers, in->conf.v, in->conf.n, in->errbuf,
                                   sizeof in->errbuf);
    if (rc < 0)
        return rc == TP_EINVAL ? 2 : 1;
    if (in->deadletter && !(in->dead = fopen(in->deadletter, "a"))) {
        snprintf(in->errbuf, sizeof in->errbuf, "--deadletter %s: %s", in->deadletter,
                 strerror(errno));
        return 1;
    }
    rc = tp_kafka_producer_check(in->p, in->topic, (int)in->timeout_ms, in->errbuf,
                                 sizeof in->errbuf);
    if (rc == 0 && in->dlq_topic)
        rc = tp_kafka_producer_check(in->p, in->dlq_topic, (int)in->timeout_ms, in->errbuf,
                                     sizeof in->errbuf);
    if (rc < 0)
        return 1;
    if (in->symbols_file &&
        !(in->symbols_buf = tp_cmd_read_symbols_file(in->symbols_file, in->errbuf, sizeof in->errbuf)))
        return 2;
    struct tp_source_opts so = {.symbols = in->symbols_buf ? in->symbols_buf : in->symbols,
                                .tls_ca = in->tls_ca,
                                .symbols_per_socket = (int)in->symbols_per_socket,
                                .silent_timeout_ms = in->silent_ms,
                                .stop = tp_stop_flag()};
    rc = tp_source_open(&in->src, in->source, &so, in->errbuf, sizeof in->errbuf);
    if (rc < 0)
        return rc == TP_EINVAL ? 2 : 1;
    const char *key = tp_source_position_key(in->src);
    if (key) {   /* FNV-1a of the absolute path: one id per replayed file */
        in->source_id = 1469598103934665603ULL;
        for (const char *c = key; *c; c++)
            in->source_id = (in->source_id ^ (uint8_t)*c) * 1099511628211ULL;
        in->source_id |= 1;   /* never 0 */
    }
    return 0;
}

static int ingest_finish(struct ingest *in, int status) {
    int64_t undelivered = 0;
    char ferr[512] = "";
    int rc = tp_kafka_producer_flush(in->p, (int)in->flush_ms, &undelivered, ferr, sizeof ferr);
    struct tp_kafka_producer_stats ps;
    tp_kafka_producer_stats(in->p, &ps);
    fprintf(stderr,
            "tickpipe: done frames=%lld produced=%lld rejected=%lld skipped=%lld "
            "delivered=%lld undelivered=%lld\n",
            (long long)in->st.frames, (long long)in->st.produced, (long long)in->st.rejected,
            (long long)in->st.skipped, (long long)ps.delivered, (long long)undelivered);
    if (rc < 0) {
        fprintf(stderr, "tickpipe ingest: %s\n", ferr);
        status = 1;
    }
    return status;
}

int tp_cmd_ingest(int argc, char **argv) {
    struct ingest *in = calloc(1, sizeof *in);
    if (!in)
        return 1;
    in->topic = "ticks";
    TP_OPTS_MEM(om);
    const struct tp_opt table[] = {
        {"source", TP_OPT_STR, &in->source, NULL, "SRC", "where frames come from (yahoo, yahoo:URL, replay:PATH, sim)", 0, 0},
        {"kafka", TP_OPT_STR, &in->brokers, NULL, "BROKERS", "bootstrap brokers host:port[,host:port]", 0, 0},
        {"topic", TP_OPT_STR, &in->topic, "ticks", "T", "topic to produce to", 0, 0},
        {"kafka-conf", TP_OPT_LIST, &in->conf, NULL, "K=V", "librdkafka property (SASL, SSL, timeouts...)", 0, 0},
        {"dlq-topic", TP_OPT_STR, &in->dlq_topic, NULL, "T", "also produce rejected frames to this topic", 0, 0},
        {"deadletter", TP_OPT_STR, &in->deadletter, "deadletter.jsonl", "PATH", "append rejected frames as JSON lines", 0, 0},
        {"symbols", TP_OPT_STR, &in->symbols, "BTC-USD,ETH-USD", "LIST", "symbols to subscribe to (live sources)", 0, 0},
        {"symbols-file", TP_OPT_STR, &in->symbols_file, NULL, "FILE", "read symbols from FILE (one per line or comma separated)", 0, 0},
        {"tls-ca", TP_OPT_STR, &in->tls_ca, NULL, "FILE", "extra CA certificate for wss:// sources", 0, 0},
        {"symbols-per-socket", TP_OPT_INT, &in->symbols_per_socket, "50", "N", "shard subscriptions: at most N symbols per WebSocket", 1, 1000},
        {"silent-timeout", TP_OPT_DUR, &in->silent_ms, "30s", "DUR", "a live socket silent this long subscribes again; twice this long, it reconnects", 100, 86400000},
        {"timeout", TP_OPT_DUR, &in->timeout_ms, "10s", NULL, "how long to wait for the brokers at startup", 1, 3600000},
        {"flush-timeout", TP_OPT_DUR, &in->flush_ms, "30s", NULL, "how long to wait for deliveries at shutdown", 1, 3600000},
        {"log-level", TP_OPT_CHOICE, &in->log_level, "warn", "error|warn|info|debug", "how much to log", 0, 0},
        {NULL, 0, NULL, NULL, NULL, NULL, 0, 0}};
    int status = tp_opts_parse("ingest", "--source SRC --kafka BROKERS [options]",
                               "Reads frames, validates them and produces the PricingData bytes "
                               "to a Kafka topic, keyed by symbol.",
                               table, argc, argv, NULL, 0, NULL, &om);
    if (!status)
        status = tp_cmd_set_log_level("ingest", in->log_level);
    if (status) {
        free(in);
        return status == 1 ? 0 : 2;
    }
    if (!in->source || !in->brokers) {
        fprintf(stderr, "tickpipe ingest: %s is required (see tickpipe ingest --help)\n",
                in->source ? "--kafka" : "--source");
        free(in);
        return 2;
    }
    const struct tp_cmd_path paths[] = {{"--source", tp_cmd_spec_path(in->source), 0},
                                        {"--deadletter", in->deadletter, 1}};
    tp_cmd_warn_ignored_symbols("ingest", in->source, argc, argv);
    if (tp_cmd_check_paths("ingest", paths, 2)) {
        free(in);
        return 2;
    }
    status = ingest_open(in);
    if (status) {
        fprintf(stderr, "tickpipe ingest: %s\n", in->errbuf);
    } else {
        int rc = ingest_loop(in);
        if (rc < 0)
            fprintf(stderr, "tickpipe ingest: %s\n", in->errbuf);
        status = ingest_finish(in, rc < 0 ? 1 : 0);
    }
    tp_source_free(in->src);
    free(in->symbols_buf);
    tp_kafka_producer_free(in->p);
    if (in->dead)
        fclose(in->dead);
    free(in);
    return status;
}

/* ---- process ----------------------------------------------------------- */

#define PART_SOURCES 16

/* The last line applied from one replayed source within one partition,
 * checkpointed as "kafka:<topic>:<partition>@<source id>". */
struct part_source {
    uint64_t id;
    int slot;
    int64_t line;
};

struct proc_part {
    int slot;            /* processor position slot; -1 when not assigned */
    int fenced;          /* another member owns it now: ignore its messages */
    int64_t epoch;       /* ownership epoch claimed at assignment (0: store cannot fence) */
    int64_t next;        /* next offset to apply */
    int64_t line;        /* messages consumed so far (checkpointed) */
    int64_t stored;      /* next offset last handed to Kafka (advisory) */
    int stale_logged;    /* a stale delivery was logged since the assignment */
    struct part_source src[PART_SOURCES];
    int nsrc;
};

struct proc {
    const char *brokers, *topic, *group, *store_spec, *bars, *deadletter, *log_level;
    const char *instance;   /* --instance: group.instance.id and owner name */
    char owner[300];        /* who claims partitions in the store */
    int rebuild;            /* --rebuild: the store may be behind the group */
    int64_t lost;           /* messages that could no longer be read */
    int64_t fenced_commits; /* batches refused because partitions moved on */
    int revoking;           /* inside the revoking hook */
    struct tp_strlist conf;
    int64_t lateness_ms, commit_ms, batch, lag_ms, grace_ms;
    int exit_at_end;
    int failed;          /* a fatal error: leave without committing anything */
    struct tp_store *st;
    struct tp_processor_opts po;
    struct tp_processor *p;
    struct tp_kafka_consumer *c;
    struct proc_part parts[1024];
    int64_t pending, last_commit, last_lag;
    struct tp_processor_stats carried;   /* stats of processors rebuilt after a loss */
    const char *http, *web_root;         /* --http */
    int64_t health_stuck, last_pub;
    struct tp_cmd_http web;
    char raw[4 * ((TP_PAYLOAD_MAX + 2) / 3) + 1];
    char errbuf[512];
};

static struct proc_part *proc_part(struct proc *pr, int32_t partition) {
    if (partition < 0 || partition >= (int32_t)(sizeof pr->parts / sizeof *pr->parts))
        return NULL;
    return &pr->parts[partition];
}

static void part_key(struct proc *pr, int32_t partition, char *key, size_t size) {
    snprintf(key, size, "kafka:%s:%d", pr->topic, (int)partition);
}

/* Registers partition's position with the processor, fenced with epoch;
 * fills *pos and *line from the store's checkpoint. */
static int register_part(struct proc *pr, int32_t partition, int64_t epoch, int64_t *pos,
                         int64_t *line) {
    char key[512];
    part_key(pr, partition, key, sizeof key);
    int slot = tp_processor_position(pr->p, key, pos, line);
    if (slot < 0 || (epoch > 0 && tp_processor_fence(pr->p, slot, key, epoch) < 0)) {
        tp_error("process", "%s: %s", key, tp_processor_last_error(pr->p));
        return -1;
    }
    return slot;
}

/* Records the offsets [from, to) of partition as lost. */
static void record_loss(struct proc *pr, int32_t partition, int64_t from, int64_t to,
                        const char *reason) {
    char key[512];
    part_key(pr, partition, key, sizeof key);
    pr->lost += to - from;
    tp_error("process", "LOSS: %s offsets %lld..%lld (%lld messages) can no longer be read: %s",
             key, (long long)from, (long long)(to - 1), (long long)(to - from), reason);
    if (tp_store_record_loss(pr->st, key, from, to, reason) < 0)
        tp_error("process", "cannot record the loss in the store: %s", pr->st->last_error);
}

/* The group committed further than this store: wrong store, or reset. */
static int refuse_behind(struct proc *pr, const struct tp_kafka_assignment *a, int64_t pos,
                         int have) {
    char stored[64];
    snprintf(stored, sizeof stored, have ? "is at offset %lld" : "has no checkpoint for it",
             (long long)pos);
    tp_error("process", "partition %d of %s: the group %s has committed offset %lld but the "
             "store %s %s. This store is not the one the group writes to, or it was reset. "
             "Point --store at the group's store, use a --group of its own for this store, or "
             "start with --rebuild to rebuild this store from its checkpoint (the start of "
             "the topic for an empty store)", (int)a->partition, a->topic, pr->group,
             (long long)a->committed, pr->store_spec, stored);
    return -1;
}

static int on_assigned(void *opaque, const struct tp_kafka_assignment *a, int64_t *offset) {
    struct proc *pr = opaque;
    struct proc_part *pp = proc_part(pr, a->partition);
    char key[512];
    int64_t pos = 0, line = 0, epoch = 0;
    if (!pp) {
        tp_error("process", "partition %d of %s is beyond the supported 1024", (int)a->partition,
                 a->topic);
        return -1;
    }
    part_key(pr, a->partition, key, sizeof key);
    /* Claim first, then read: a commit of the previous owner either landed
     * before the claim (and we read it) or is refused after it. */
    if (tp_store_claim(pr->st, key, pr->owner, &epoch) < 0) {
        tp_error("process", "%s: cannot claim it in the store: %s", key, pr->st->last_error);
        return -1;
    }
    int slot = register_part(pr, a->partition, epoch, &pos, &line);
    if (slot < 0)
        return -1;
    int have = line > 0 || pos > 0;
    if (a->committed > pos && !pr->rebuild && pr->st->has_state)   /* jsonl keeps none */
        return refuse_behind(pr, a, pos, have);
    if (a->log_start > pos) {
        record_loss(pr, a->partition, pos, a->log_start,
                    "the log start moved past the checkpoint (retention or deleted records)");
        pos = a->log_start;
        tp_processor_advance(pr->p, slot, pos, line);
    }
    *pp = (struct proc_part){.slot = slot, .epoch = epoch, .next = pos, .line = line,
                             .stored = pos};
    *offset = pos;
    return 0;
}

static void add_stats(struct tp_processor_stats *a, const struct tp_processor_stats *b) {
    a->frames += b->frames;
    a->applied += b->applied;
    a->duplicates += b->duplicates;
    a->rejected += b->rejected;
    a->skipped += b->skipped;
    a->late += b->late;
    a->commits += b->commits;
}

/* Replaces the processor by a fresh one: in-memory symbol state, positions
 * and anything uncommitted are forgotten and reloaded from the store on
 * next use. Used on every revocation (after a commit) and when partitions
 * were lost (without one). */
static int rebuild_processor(struct proc *pr) {
    struct tp_processor_stats s;
    tp_processor_stats(pr->p, &s);
    add_stats(&pr->carried, &s);
    tp_processor_free(pr->p);
    pr->p = NULL;
    pr->pending = 0;
    for (size_t i = 0; i < sizeof pr->parts / sizeof *pr->parts; i++) {
        pr->parts[i].slot = -1;
        pr->parts[i].nsrc = 0;
    }
    int rc = tp_processor_new(&pr->p, pr->st, &pr->po, pr->errbuf, sizeof pr->errbuf);
    if (rc < 0)
        tp_error("process", "%s", pr->errbuf);
    return rc;
}

/* After a refused commit: forget everything uncommitted; partitions still
 * ours (epoch unchanged in the store) go back to the store's checkpoint,
 * the others are ignored until the group assigns them again. */
static int discard_fenced(struct proc *pr) {
    int64_t owned[sizeof pr->parts / sizeof *pr->parts];
    for (size_t i = 0; i < sizeof pr->parts / sizeof *pr->parts; i++)
        owned[i] = pr->parts[i].slot >= 0 ? pr->parts[i].epoch : -1;
    if (rebuild_processor(pr) < 0)
        return TP_EFATAL;
    if (pr->revoking)
        return 0;   /* every partition is being given up anyway */
    for (size_t i = 0; i < sizeof pr->parts / sizeof *pr->parts; i++) {
        struct proc_part *pp = &pr->parts[i];
        char key[512];
        int64_t epoch = 0, pos = 0, line = 0;
        if (owned[i] < 0)
            continue;
        part_key(pr, (int32_t)i, key, sizeof key);
        if (tp_store_get_epoch(pr->st, key, &epoch) < 0)
            return TP_EFATAL;
        if (epoch != owned[i]) {
            tp_warn("process", "%s belongs to another member now; ignoring it until the group "
                    "assigns it again", key);
            pp->fenced = 1;
            continue;
        }
        int slot = register_part(pr, (int32_t)i, epoch, &pos, &line);
        if (slot < 0 || tp_kafka_consumer_seek(pr->c, (int32_t)i, pos, pr->errbuf,
                                               sizeof pr->errbuf) < 0)
            return TP_EFATAL;
        *pp = (struct proc_part){.slot = slot, .epoch = epoch, .next = pos, .line = line,
                                 .stored = pos};
    }
    return 0;
}

static void store_offsets(struct proc *pr) {
    for (size_t i = 0; i < sizeof pr->parts / sizeof *pr->parts; i++) {
        struct proc_part *pp = &pr->parts[i];
        if (pp->slot >= 0 && pp->next > pp->stored) {
            tp_kafka_consumer_store(pr->c, (int32_t)i, pp->next);
            pp->stored = pp->next;
        }
    }
}

/* A commit was refused (TP_EFENCED): count it and discard the batch. */
static int on_fenced(struct proc *pr) {
    pr->fenced_commits++;
    tp_warn("process", "%s; discarding uncommitted work", tp_processor_last_error(pr->p));
    return discard_fenced(pr);
}

/* Commits the batch, unless the partitions were taken away meanwhile:
 * lost (librdkafka knows) or fenced (the store knows). Either way the
 * batch is discarded and 0 returned; the rebalance that follows settles
 * the assignment. */
static int proc_commit(struct proc *pr) {
    if (tp_kafka_consumer_lost(pr->c)) {
        tp_warn("process", "the assignment was lost; discarding uncommitted work");
        return discard_fenced(pr);
    }
    int rc = tp_processor_commit(pr->p);
    if (rc == TP_EFENCED)
        return on_fenced(pr);
    if (rc < 0)
        return rc;
    pr->pending = 0;
    pr->last_commit = tp_mono_ms();
    store_offsets(pr);
    return 0;
}

static int on_revoking(void *opaque, const char *topic, const int32_t *partitions, int n,
                       int lost) {
    struct proc *pr = opaque;
    (void)topic;
    (void)partitions;
    (void)n;
    if (pr->failed)
        return 0;   /* leaving after a fatal error: the store keeps its checkpoint */
    tp_metrics_add(pr->web.m, TP_M_KAFKA_REBALANCES, 1);
    if (lost) {
        tp_warn("process", "partitions were lost to the group; discarding uncommitted work");
    } else {
        pr->revoking = 1;
        int rc = proc_commit(pr);
        pr->revoking = 0;
        if (rc < 0) {
            tp_error("process", "checkpoint before revocation failed: %s",
                     tp_processor_last_error(pr->p));
            return -1;
        }
    }
    /* Forget all in-memory state and positions: whichever partitions come
     * back later resume from what the store holds then, which another
     * instance may have advanced meanwhile. */
    return rebuild_processor(pr) < 0 ? -1 : 0;
}

/* Finds (registering on first sight) the source a message's position
 * header names. NULL when the message has no valid header or the
 * partition already tracks PART_SOURCES sources. */
static struct part_source *message_source(struct proc *pr, struct proc_part *pp,
                                          const struct tp_kafka_msg *m, int64_t *line) {
    char hdr[64], *end;
    if (!m->pos || m->pos_len < 18 || m->pos_len >= sizeof hdr)
        return NULL;
    memcpy(hdr, m->pos, m->pos_len);
    hdr[m->pos_len] = '\0';
    if (hdr[16] != ':')
        return NULL;
    hdr[16] = '\0';
    uint64_t id = strtoull(hdr, &end, 16);
    if (*end)
        return NULL;
    *line = strtoll(hdr + 17, &end, 10);
    if (*end || *line <= 0)
        return NULL;
    for (int i = 0; i < pp->nsrc; i++)
        if (pp->src[i].id == id)
            return &pp->src[i];
    if (pp->nsrc == PART_SOURCES) {
        tp_warn("process", "partition %d: more than %d replayed sources; re-produced frames "
                "from further ones are not recognised", (int)m->partition, PART_SOURCES);
        return NULL;
    }
    char key[600];
    int64_t pos = 0, stored_line = 0;
    snprintf(key, sizeof key, "kafka:%s:%d@%s", m->topic, (int)m->partition, hdr);
    int slot = tp_processor_position(pr->p, key, &pos, &stored_line);
    if (slot < 0)
        return NULL;
    if (pp->epoch > 0) {
        char fence[512];
        part_key(pr, m->partition, fence, sizeof fence);
        if (tp_processor_fence(pr->p, slot, fence, pp->epoch) < 0)
            return NULL;
    }
    pp->src[pp->nsrc] = (struct part_source){id, slot, stored_line};
    return &pp->src[pp->nsrc++];
}

/* Turns one Kafka message into a processor item and applies it. A message
 * whose source line was already applied in this partition was produced
 * again by a restarted ingest: it only advances the partition's offset. */
static int proc_message(struct proc *pr, const struct tp_kafka_msg *m) {
    struct proc_part *pp = proc_part(pr, m->partition);
    if (pp && pp->fenced)
        return 0;
    if (!pp || pp->slot < 0) {
        tp_warn("process", "message from unassigned partition %d ignored", (int)m->partition);
        return 0;
    }
    if (m->offset < pp->next) {
        /* Fetched before a rebalance or a reseek, delivered after it: the
         * store's checkpoint is past it (applied by us or by the member
         * that owned the partition meanwhile). Applying it would count it
         * twice. */
        if (!pp->stale_logged)
            tp_info("process", "partition %d: ignoring messages fetched before the assignment "
                    "(offset %lld, resuming at %lld)", (int)m->partition, (long long)m->offset,
                    (long long)pp->next);
        pp->stale_logged = 1;
        return 0;
    }
    if (m->offset > pp->next) {
        record_loss(pr, m->partition, pp->next, m->offset,
                    "the consumer skipped them (offset reset or deleted records)");
        pp->next = m->offset;
    }
    struct tp_quote q;
    const char *reason = NULL;
    struct tp_item it = {.kind = TP_ITEM_TICK, .q = &q, .payload = m->value,
                         .payload_len = m->len, .pos_slot = pp->slot,
                         .pos = m->offset + 1, .line = pp->line + 1};
    if (m->len > TP_PAYLOAD_MAX)
        reason = "payload too large";
    else if (tp_decode_pricing(m->value, m->len, &q, &reason) != TP_DECODE_OK)
        reason = reason ? reason : "bad protobuf";
    else if (tp_quote_has(&q, TP_F_QUOTE_TYPE) && q.v[TP_F_QUOTE_TYPE].i64 == TP_QUOTE_TYPE_HEARTBEAT) {
        it.kind = TP_ITEM_SKIP;
        it.reason = "heartbeat";
    } else if (!tp_quote_has(&q, TP_F_ID))
        reason = "missing id";
    else if (!tp_quote_has(&q, TP_F_TIME))
        reason = "missing time";
    else if (!tp_quote_has(&q, TP_F_PRICE))
        reason = "missing price";
    if (reason) {
        tp_metrics_reject(pr->web.m, reason, 1);
        size_t n = m->len > TP_PAYLOAD_MAX ? TP_PAYLOAD_MAX : m->len;
        it.kind = TP_ITEM_REJECT;
        it.reason = reason;
        it.raw = pr->raw;
        it.raw_len = tp_base64_encode(m->value, n, pr->raw);
    }
    int64_t src_line = 0;
    struct part_source *src = message_source(pr, pp, m, &src_line);
    if (src && src_line <= src->line) {
        it.kind = TP_ITEM_REDELIVERED;
    } else if (src) {
        /* before apply(): a commit inside it must carry the source line too */
        tp_processor_advance(pr->p, src->slot, src_line, src_line);
        src->line = src_line;
    }
    if (pr->web.tap)
        tp_store_tap_received(pr->web.tap, tp_metrics_now_us());
    int rc = tp_processor_apply(pr->p, &it);
    if (rc < 0)
        return rc;
    pp->next = m->offset + 1;
    pp->line++;
    pr->pending++;
    return 0;
}

static void log_lag(struct proc *pr) {
    struct tp_kafka_lag lag[64];
    int n = tp_kafka_consumer_lag(pr->c, lag, 64);
    char line[1024];
    size_t off = 0;
    for (int i = 0; i < n && i < 64 && off < sizeof line - 40; i++)
        off += (size_t)snprintf(line + off, sizeof line - off, " [%d]=%lld", (int)lag[i].partition,
                                (long long)lag[i].lag);
    if (n > 0)
        tp_info("process", "consumer lag of %s:%s", pr->topic, line);
}

/* --http: copies the counters of the summary line (including those of
 * processors rebuilt after a loss) and, every second, the consumer lag.
 * Progress: messages were processed, or nothing is waiting (idle by
 * design: no partition, or every partition at its end). */
static void proc_publish(struct proc *pr, int64_t now) {
    struct tp_metrics *m = pr->web.m;
    if (!m || now - pr->last_pub < 100)
        return;
    struct tp_processor_stats s = pr->carried, cur;
    tp_processor_stats(pr->p, &cur);
    add_stats(&s, &cur);
    int moved = s.frames != tp_metrics_get(m, TP_M_FRAMES);
    tp_metrics_set(m, TP_M_FRAMES, s.frames);
    tp_metrics_set(m, TP_M_APPLIED, s.applied);
    tp_metrics_set(m, TP_M_DUPLICATES, s.duplicates);
    tp_metrics_set(m, TP_M_SKIPPED, s.skipped);
    tp_metrics_set(m, TP_M_LATE, s.late);
    tp_metrics_set(m, TP_M_KAFKA_LOST, pr->lost);
    tp_metrics_set(m, TP_M_KAFKA_FENCED, pr->fenced_commits);
    if (now / 1000 != pr->last_pub / 1000) {
        struct tp_kafka_lag lag[64];
        int n = tp_kafka_consumer_lag(pr->c, lag, 64), waiting = 0;
        for (int i = 0; i < n && i < 64; i++) {
            if (lag[i].lag >= 0)   /* -1: watermark not known yet */
                tp_metrics_lag(m, lag[i].partition, lag[i].lag);
            waiting |= lag[i].lag != 0;
        }
        moved |= !waiting;
    }
    if (moved || tp_kafka_consumer_at_end(pr->c))
        tp_metrics_progress(m);
    pr->last_pub = now;
}

/* The consume loop; returns 0 at the end (signal or --exit-at-end) or a
 * fatal code with pr->errbuf set. */
static int proc_loop(struct proc *pr) {
    int64_t end_since = 0;
    pr->last_commit = pr->last_lag = tp_mono_ms();
    while (!*tp_stop_flag()) {
        struct tp_kafka_msg m;
        int rc = tp_kafka_consume(pr->c, &m, 100, pr->errbuf, sizeof pr->errbuf);
        if (rc == 0)
            rc = proc_message(pr, &m);
        else if (rc == TP_EAGAIN)
            rc = 0;
        else
            return rc;
        if (rc == TP_EFENCED)   /* a full batch committed inside apply() */
            rc = on_fenced(pr);
        int64_t now = tp_mono_ms();
        if (rc == 0 && pr->pending && now - pr->last_commit >= pr->commit_ms)
            rc = proc_commit(pr);
        if (rc < 0) {
            snprintf(pr->errbuf, sizeof pr->errbuf, "%s", tp_processor_last_error(pr->p));
            return rc;
        }
        if (now - pr->last_lag >= pr->lag_ms) {
            log_lag(pr);
            pr->last_lag = now;
        }
        proc_publish(pr, now);
        if (!pr->exit_at_end || !tp_kafka_consumer_at_end(pr->c)) {
            end_since = 0;
            continue;
        }
        if (!end_since)
            end_since = now;
        else if (now - end_since >= pr->grace_ms)
            return 0;
    }
    return 0;
}

static int proc_open(struct proc *pr) {
    int rc = tp_parse_bars(pr->bars, pr->po.bar_ms, TP_MAX_BARS, pr->errbuf, sizeof pr->errbuf);
    if (rc < 0)
        return 2;
    pr->po.nbars = rc;
    pr->po.lateness_ms = pr->lateness_ms;
    pr->po.deadletter_path = pr->deadletter;
    pr->po.batch_ticks = (int)pr->batch;
    rc = tp_store_open(&pr->st, pr->store_spec, pr->errbuf, sizeof pr->errbuf);
    if (rc < 0)
        return rc == TP_EINVAL ? 2 : 1;
    struct tp_cmd_http_opts ho = {.addr = pr->http, .web_root = pr->web_root,
                                  .store = pr->store_spec, .stuck_ms = pr->health_stuck};
    if ((rc = tp_cmd_http_start(&pr->web, "process", &ho, &pr->st))) {
        pr->errbuf[0] = '\0';   /* already reported */
        return rc;
    }
    char host[256] = "?";
    gethostname(host, sizeof host - 1);
    snprintf(pr->owner, sizeof pr->owner, "%s%s%s pid %ld", pr->instance ? pr->instance : "",
             pr->instance ? " on " : "", host, (long)getpid());
    if (tp_processor_new(&pr->p, pr->st, &pr->po, pr->errbuf, sizeof pr->errbuf) < 0)
        return 2;
    struct tp_kafka_hooks hooks = {.assigned = on_assigned, .revoking = on_revoking, .opaque = pr};
    /* --instance first, so an explicit --kafka-conf group.instance.id wins */
    const char *kv[TP_STRLIST_MAX + 1];
    char static_id[300];
    int nkv = 0;
    if (pr->instance) {
        snprintf(static_id, sizeof static_id, "group.instance.id=%s", pr->instance);
        kv[nkv++] = static_id;
    }
    for (int i = 0; i < pr->conf.n; i++)
        kv[nkv++] = pr->conf.v[i];
    rc = tp_kafka_consumer_new(&pr->c, pr->brokers, pr->group, pr->topic, kv, nkv, &hooks,
                               pr->errbuf, sizeof pr->errbuf);
    if (rc < 0)
        return rc == TP_EINVAL ? 2 : 1;
    return 0;
}

/* Final commit (or finish at the end of the topic), leave the group, and
 * print the summary line. */
static int proc_close(struct proc *pr, int status) {
    if (status == 0) {
        int rc = pr->exit_at_end ? tp_processor_finish(pr->p) : proc_commit(pr);
        if (rc == TP_EFENCED)   /* finish() refused: the new owners carry on */
            rc = on_fenced(pr);
        if (rc < 0) {
            fprintf(stderr, "tickpipe process: %s\n", tp_processor_last_error(pr->p));
            status = 1;
        } else {
            store_offsets(pr);
        }
    }
    if (status == 0)
        tp_kafka_consumer_close(pr->c);   /* revocation commits nothing new */
    struct tp_processor_stats s = pr->carried;
    struct tp_processor_stats now;
    tp_processor_stats(pr->p, &now);
    add_stats(&s, &now);
    fprintf(stderr, "tickpipe: done frames=%lld applied=%lld duplicates=%lld rejected=%lld "
            "skipped=%lld late=%lld lost=%lld fenced=%lld\n", (long long)s.frames,
            (long long)s.applied, (long long)s.duplicates, (long long)s.rejected,
            (long long)s.skipped, (long long)s.late, (long long)pr->lost,
            (long long)pr->fenced_commits);
    pr->last_pub = 0;
    proc_publish(pr, tp_mono_ms());
    return status;
}

int tp_cmd_process(int argc, char **argv) {
    struct proc *pr = calloc(1, sizeof *pr);
    if (!pr)
        return 1;
    for (size_t i = 0; i < sizeof pr->parts / sizeof *pr->parts; i++)
        pr->parts[i].slot = -1;
    TP_OPTS_MEM(om);
    const struct tp_opt table[] = {
        {"kafka", TP_OPT_STR, &pr->brokers, NULL, "BROKERS", "bootstrap brokers host:port[,host:port]", 0, 0},
        {"topic", TP_OPT_STR, &pr->topic, "ticks", "T", "topic to consume", 0, 0},
        {"group", TP_OPT_STR, &pr->group, "tickpipe", "G", "consumer group; instances in one group split the partitions", 0, 0},
        {"store", TP_OPT_STR, &pr->store_spec, NULL, "STORE", "sqlite:PATH, cassandra://..., jsonl:PATH", 0, 0},
        {"bars", TP_OPT_STR, &pr->bars, "1m", "LIST", "bar intervals, e.g. 1m,5m", 0, 0},
        {"lateness", TP_OPT_DUR, &pr->lateness_ms, "10s", NULL, "how long a bar waits for late ticks", 0, 86400000},
        {"deadletter", TP_OPT_STR, &pr->deadletter, NULL, "PATH", "append rejected messages as JSON lines", 0, 0},
        {"kafka-conf", TP_OPT_LIST, &pr->conf, NULL, "K=V", "librdkafka property (SASL, SSL, timeouts...)", 0, 0},
        {"commit-interval", TP_OPT_DUR, &pr->commit_ms, "200ms", NULL, "commit to the store at least this often", 1, 600000},
        {"batch", TP_OPT_INT, &pr->batch, "8192", NULL, "commit after this many messages", 1, 1000000},
        {"lag-interval", TP_OPT_DUR, &pr->lag_ms, "10s", NULL, "log consumer lag this often", 100, 86400000},
        {"exit-at-end", TP_OPT_FLAG, &pr->exit_at_end, NULL, NULL, "exit once every assigned partition is at its end (tests)", 0, 0},
        {"end-grace", TP_OPT_DUR, &pr->grace_ms, "1s", NULL, "with --exit-at-end: how long the end must stay idle", 0, 600000},
        {"instance", TP_OPT_STR, &pr->instance, NULL, "ID", "static group membership (group.instance.id): a restart within the session keeps its partitions without a rebalance; unique per instance", 0, 0},
        {"rebuild", TP_OPT_FLAG, &pr->rebuild, NULL, NULL, "rebuild this store from its own checkpoint (the start of the topic when empty) even though the group has committed further", 0, 0},
        {"log-level", TP_OPT_CHOICE, &pr->log_level, "warn", "error|warn|info|debug", "how much to log", 0, 0},
        {"http", TP_OPT_STR, &pr->http, NULL, "ADDR", "serve /metrics, /healthz, /api/, /stream and the dashboard on ADDR (PORT = 127.0.0.1:PORT)", 0, 0},
        {"web-root", TP_OPT_STR, &pr->web_root, NULL, "DIR", "dashboard files (default: the installed ones, else the build tree's)", 0, 0},
        {"health-stuck", TP_OPT_DUR, &pr->health_stuck, "30s", "DUR", "/healthz fails when the processing makes no progress for DUR", 1, 86400000},
        {NULL, 0, NULL, NULL, NULL, NULL, 0, 0}};
    int status = tp_opts_parse("process", "--kafka BROKERS --store STORE [options]",
                               "Consumes ticks from Kafka as a consumer-group member and stores "
                               "ticks, bars and latest with exactly-once results.",
                               table, argc, argv, NULL, 0, NULL, &om);
    if (!status)
        status = tp_cmd_set_log_level("process", pr->log_level);
    if (status) {
        free(pr);
        return status == 1 ? 0 : 2;
    }
    if (!pr->brokers || !pr->store_spec) {
        fprintf(stderr, "tickpipe process: %s is required (see tickpipe process --help)\n",
                pr->brokers ? "--store" : "--kafka");
        free(pr);
        return 2;
    }
    const struct tp_cmd_path paths[] = {{"--store", tp_cmd_spec_path(pr->store_spec), 1},
                                        {"--deadletter", pr->deadletter, 1}};
    if (tp_cmd_check_paths("process", paths, 2)) {
        free(pr);
        return 2;
    }
    status = proc_open(pr);
    if (status) {
        if (pr->errbuf[0])
            fprintf(stderr, "tickpipe process: %s\n", pr->errbuf);
    } else {
        int rc = proc_loop(pr);
        if (rc < 0)
            fprintf(stderr, "tickpipe process: %s\n", pr->errbuf);
        status = proc_close(pr, rc < 0 ? 1 : 0);
        pr->failed = status != 0;
    }
    tp_cmd_http_stop(&pr->web);
    tp_kafka_consumer_free(pr->c);
    tp_processor_free(pr->p);
    tp_store_free(pr->st);
    tp_cmd_http_free(&pr->web);
    free(pr);
    return status;
}
