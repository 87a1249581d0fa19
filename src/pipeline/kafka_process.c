/*
 * kafka_process.c - the loop of `tickpipe process` (tp_kafka_process.h):
 * Kafka topic -> processor -> store, as one consumer-group member.
 *
 * Each assigned partition is a positioned input of the processor, keyed
 * "kafka:<topic>:<partition>", whose checkpoint (the next offset) is
 * committed in the store atomically with the outputs; the consumer resumes
 * there. Before partitions are revoked the processor commits and forgets
 * its in-memory state, so the next owner reloads it from the store. When
 * the group took partitions away already (lost), uncommitted work is
 * discarded by rebuilding the processor from the store instead.
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
 * checkpoint unless the store is another one or was reset; the assignment
 * fails then (a fatal error) unless opts.rebuild says to rebuild this store
 * anyway. Offsets that can no longer be read (retention moved the log start
 * past the checkpoint, or the fetch jumped forward) are losses: logged,
 * counted (stats.lost) and recorded per partition (tp_loss).
 *
 * Re-delivery: a message that carries ingest's position (tp_kafka.h) names
 * the replayed source and line it came from; each partition remembers the last
 * line applied per source (checkpointed as "kafka:<topic>:<partition>@<id>"),
 * so frames a restarted ingest produced again count as duplicates and only
 * advance the offset.
 *
 * Threads: everything runs on the thread that owns the handle; librdkafka's
 * callbacks reach us on it. With opts.m, counters go to the HTTP thread as
 * relaxed atomics (tp_metrics), at most every 100 ms.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../bus/tp_kafka.h"
#include "../codec/tp_decode.h"
#include "../core/tp_clock.h"
#include "../core/tp_error.h"
#include "../core/tp_log.h"
#include "../core/tp_quote.h"
#include "../core/tp_strlist.h"
#include "../sink/tp_tap.h"
#include "tp_kafka_process.h"

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

struct tp_kafka_process {
    struct tp_kafka_process_opts o;
    char owner[300];        /* who claims partitions in the store */
    int64_t lost;           /* messages that could no longer be read */
    int64_t fenced_commits; /* batches refused because partitions moved on */
    int revoking;           /* inside the revoking hook */
    int failed;             /* a fatal error: leave without committing anything */
    struct tp_store *st;
    struct tp_processor *p;
    struct tp_kafka_consumer *c;
    struct proc_part parts[1024];
    int64_t pending, last_commit, last_lag;
    struct tp_processor_stats carried;   /* committed work of processors rebuilt */
    struct tp_processor_stats seen;      /* all their work, given up or not, so the
                                            --http counters never go down */
    int64_t last_pub;
    char raw[4 * ((TP_PAYLOAD_MAX + 2) / 3) + 1];
    char errbuf[1024];
};

static struct proc_part *proc_part(struct tp_kafka_process *pr, int32_t partition) {
    if (partition < 0 || partition >= (int32_t)(sizeof pr->parts / sizeof *pr->parts))
        return NULL;
    return &pr->parts[partition];
}

static void part_key(struct tp_kafka_process *pr, int32_t partition, char *key, size_t size) {
    snprintf(key, size, "kafka:%s:%d", pr->o.topic, (int)partition);
}

/* Registers partition's position with the processor, fenced with epoch;
 * fills *pos and *line from the store's checkpoint. Returns the slot, or
 * a negative TP_E* code with errbuf set. */
static int register_part(struct tp_kafka_process *pr, int32_t partition, int64_t epoch, int64_t *pos,
                         int64_t *line, char *errbuf, size_t errsize) {
    char key[512];
    part_key(pr, partition, key, sizeof key);
    int slot = tp_processor_position(pr->p, key, pos, line);
    int rc = slot < 0 ? slot : epoch > 0 ? tp_processor_fence(pr->p, slot, key, epoch) : 0;
    if (rc < 0)
        return tp_errf(errbuf, errsize, rc, "%s: %s", key, tp_processor_last_error(pr->p));
    return slot;
}

/* Records the offsets [from, to) of partition as lost. */
static void record_loss(struct tp_kafka_process *pr, int32_t partition, int64_t from, int64_t to,
                        const char *reason) {
    char key[512];
    part_key(pr, partition, key, sizeof key);
    pr->lost += to - from;
    tp_error("process", "LOSS: %s offsets %lld..%lld (%lld messages) can no longer be read: %s",
             key, (long long)from, (long long)(to - 1), (long long)(to - from), reason);
    char why[256];
    if (tp_store_record_loss(pr->st, key, from, to, reason, why, sizeof why) < 0)
        tp_error("process", "cannot record the loss in the store: %s", why);
}

/* The group committed further than this store: wrong store, or reset. */
static int refuse_behind(struct tp_kafka_process *pr, const struct tp_kafka_assignment *a, int64_t pos,
                         int have, char *errbuf, size_t errsize) {
    char stored[64];
    snprintf(stored, sizeof stored, have ? "is at offset %lld" : "has no checkpoint for it",
             (long long)pos);
    return tp_errf(errbuf, errsize, TP_EFATAL,
                   "partition %d of %s: the group %s has committed offset %lld but the "
                   "store %s %s. This store is not the one the group writes to, or it was reset. "
                   "Point --store at the group's store, use a --group of its own for this store, "
                   "or start with --rebuild to rebuild this store from its checkpoint (the start "
                   "of the topic for an empty store)", (int)a->partition, a->topic, pr->o.group,
                   (long long)a->committed, pr->o.store_spec, stored);
}

/* The store's checkpoint lies beyond the end of the log: the topic was
 * deleted and re-created, or the brokers are another cluster's. Reading on
 * would seek past the end, be reset to the start and skip every message
 * below the checkpoint as an old fetch. */
static int refuse_ahead(struct tp_kafka_process *pr, const struct tp_kafka_assignment *a,
                        int64_t pos, char *errbuf, size_t errsize) {
    return tp_errf(errbuf, errsize, TP_EFATAL,
                   "partition %d of %s: the store %s has a checkpoint at offset %lld but the "
                   "topic ends at offset %lld. The topic was deleted and re-created, or --brokers "
                   "points at another cluster than the one this store was built from. Point "
                   "--store at this topic's store, or move this store aside and start a new one",
                   (int)a->partition, a->topic, pr->o.store_spec, (long long)pos,
                   (long long)a->log_end);
}

static int on_assigned(void *opaque, const struct tp_kafka_assignment *a, int64_t *offset,
                       char *errbuf, size_t errsize) {
    struct tp_kafka_process *pr = opaque;
    struct proc_part *pp = proc_part(pr, a->partition);
    char key[512];
    int64_t pos = 0, line = 0, epoch = 0;
    if (!pp)
        return tp_errf(errbuf, errsize, TP_EFATAL, "partition %d of %s is beyond the supported "
                       "1024", (int)a->partition, a->topic);
    part_key(pr, a->partition, key, sizeof key);
    /* Claim first, then read: a commit of the previous owner either landed
     * before the claim (and we read it) or is refused after it. */
    char why[256];
    int rc = tp_store_claim(pr->st, key, pr->owner, &epoch, why, sizeof why);
    if (rc < 0)
        return tp_errf(errbuf, errsize, rc, "%s: cannot claim it in the store: %s", key, why);
    int slot = register_part(pr, a->partition, epoch, &pos, &line, errbuf, errsize);
    if (slot < 0)
        return slot;
    int have = line > 0 || pos > 0;
    if (a->committed > pos && !pr->o.rebuild && tp_store_has_state(pr->st))   /* jsonl keeps none */
        return refuse_behind(pr, a, pos, have, errbuf, errsize);
    if (a->log_end >= 0 && pos > a->log_end && tp_store_has_state(pr->st))
        return refuse_ahead(pr, a, pos, errbuf, errsize);
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
 * were lost (without one): then the store abandons the uncommitted batch
 * (tp_processor_free) and the summary counts only what was committed. A
 * negative TP_E* code with pr->errbuf set. */
static int rebuild_processor(struct tp_kafka_process *pr) {
    struct tp_processor_stats s;
    tp_processor_committed_stats(pr->p, &s);
    add_stats(&pr->carried, &s);
    tp_processor_stats(pr->p, &s);
    add_stats(&pr->seen, &s);
    tp_processor_free(pr->p);
    pr->p = NULL;
    pr->pending = 0;
    for (size_t i = 0; i < sizeof pr->parts / sizeof *pr->parts; i++) {
        pr->parts[i].slot = -1;
        pr->parts[i].nsrc = 0;
    }
    return tp_processor_new(&pr->p, pr->st, &pr->o.po, pr->errbuf, sizeof pr->errbuf);
}

/* After a refused commit: forget everything uncommitted; partitions still
 * ours (epoch unchanged in the store) go back to the store's checkpoint,
 * the others are ignored until the group assigns them again. */
static int discard_fenced(struct tp_kafka_process *pr) {
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
        char why[256];
        int rc = tp_store_get_epoch(pr->st, key, &epoch, why, sizeof why);
        if (rc < 0)
            return tp_errf(pr->errbuf, sizeof pr->errbuf, rc, "%s: cannot read its owner in the "
                           "store: %s", key, why);
        if (epoch != owned[i]) {
            tp_warn("process", "%s belongs to another member now; ignoring it until the group "
                    "assigns it again", key);
            pp->fenced = 1;
            continue;
        }
        int slot = register_part(pr, (int32_t)i, epoch, &pos, &line, pr->errbuf,
                                 sizeof pr->errbuf);
        if (slot < 0)
            return slot;
        if (tp_kafka_consumer_seek(pr->c, (int32_t)i, pos, pr->errbuf, sizeof pr->errbuf) < 0)
            return TP_EFATAL;
        *pp = (struct proc_part){.slot = slot, .epoch = epoch, .next = pos, .line = line,
                                 .stored = pos};
    }
    return 0;
}

static void store_offsets(struct tp_kafka_process *pr) {
    for (size_t i = 0; i < sizeof pr->parts / sizeof *pr->parts; i++) {
        struct proc_part *pp = &pr->parts[i];
        if (pp->slot >= 0 && pp->next > pp->stored) {
            tp_kafka_consumer_store(pr->c, (int32_t)i, pp->next);
            pp->stored = pp->next;
        }
    }
}

/* A commit was refused (TP_EFENCED): count it and discard the batch. */
static int on_fenced(struct tp_kafka_process *pr) {
    pr->fenced_commits++;
    tp_warn("process", "%s; discarding uncommitted work", tp_processor_last_error(pr->p));
    return discard_fenced(pr);
}

/* Commits the batch, unless the partitions were taken away meanwhile:
 * lost (librdkafka knows) or fenced (the store knows). Either way the
 * batch is discarded and 0 returned; the rebalance that follows settles
 * the assignment. */
static int proc_commit(struct tp_kafka_process *pr) {
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
                       int lost, char *errbuf, size_t errsize) {
    struct tp_kafka_process *pr = opaque;
    (void)topic;
    (void)partitions;
    (void)n;
    if (pr->failed)
        return 0;   /* leaving after a fatal error: the store keeps its checkpoint */
    tp_metrics_add(pr->o.m, TP_M_KAFKA_REBALANCES, 1);
    if (lost) {
        tp_warn("process", "partitions were lost to the group; discarding uncommitted work");
    } else {
        pr->revoking = 1;
        int rc = proc_commit(pr);
        pr->revoking = 0;
        if (rc < 0)
            return tp_errf(errbuf, errsize, rc, "checkpoint before revocation failed: %s",
                           pr->errbuf[0] ? pr->errbuf : tp_processor_last_error(pr->p));
    }
    /* Forget all in-memory state and positions: whichever partitions come
     * back later resume from what the store holds then, which another
     * instance may have advanced meanwhile. */
    int rc = rebuild_processor(pr);
    return rc < 0 ? tp_errf(errbuf, errsize, rc, "%s", pr->errbuf) : 0;
}

/* Finds (registering on first sight) the replayed source a message came
 * from. NULL when the message names none or the partition already tracks
 * PART_SOURCES sources. */
static struct part_source *message_source(struct tp_kafka_process *pr, struct proc_part *pp,
                                          const struct tp_kafka_msg *m) {
    uint64_t id = m->src_id;
    if (!id)
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
    snprintf(key, sizeof key, "kafka:%s:%d@%016llx", m->topic, (int)m->partition,
             (unsigned long long)id);
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

/* Decodes m's PricingData bytes into *q and makes *it a tick, a skipped
 * heartbeat, or a reject carrying the bytes in base64 (pr->raw). */
static void classify(struct tp_kafka_process *pr, const struct tp_kafka_msg *m,
                     struct tp_item *it, struct tp_quote *q) {
    const char *reason = NULL;
    if (m->len > TP_PAYLOAD_MAX)
        reason = "payload too large";
    else if (tp_decode_pricing(m->value, m->len, q, &reason) != TP_DECODE_OK)
        reason = reason ? reason : "bad protobuf";
    else if (tp_quote_has(q, TP_F_QUOTE_TYPE) && q->v[TP_F_QUOTE_TYPE].i64 == TP_QUOTE_TYPE_HEARTBEAT) {
        it->kind = TP_ITEM_SKIP;
        it->reason = "heartbeat";
    } else if (!tp_quote_has(q, TP_F_ID))
        reason = "missing id";
    else if (!tp_quote_has(q, TP_F_TIME))
        reason = "missing time";
    else if (!tp_quote_has(q, TP_F_PRICE))
        reason = "missing price";
    if (reason) {
        tp_metrics_reject(pr->o.m, reason, 1);
        size_t n = m->len > TP_PAYLOAD_MAX ? TP_PAYLOAD_MAX : m->len;
        it->kind = TP_ITEM_REJECT;
        it->reason = reason;
        it->raw = pr->raw;
        it->raw_len = tp_base64_encode(m->value, n, pr->raw);
    }
}

/* Turns one Kafka message into a processor item and applies it. A message
 * whose source line was already applied in this partition was produced
 * again by a restarted ingest: it only advances the partition's offset. */
static int proc_message(struct tp_kafka_process *pr, const struct tp_kafka_msg *m) {
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
    struct tp_item it = {.kind = TP_ITEM_TICK, .q = &q, .payload = m->value,
                         .payload_len = m->len, .pos_slot = pp->slot,
                         .pos = m->offset + 1, .line = pp->line + 1};
    classify(pr, m, &it, &q);
    int64_t src_line = m->src_line;
    struct part_source *src = message_source(pr, pp, m);
    if (src && src_line <= src->line) {
        it.kind = TP_ITEM_REDELIVERED;
    } else if (src) {
        /* before apply(): a commit inside it must carry the source line too */
        tp_processor_advance(pr->p, src->slot, src_line, src_line);
        src->line = src_line;
    }
    if (pr->o.tap)
        tp_store_tap_received(pr->o.tap, tp_metrics_now_us());
    int rc = tp_processor_apply(pr->p, &it);
    if (rc < 0)
        return rc;
    pp->next = m->offset + 1;
    pp->line++;
    pr->pending++;
    return 0;
}

static void log_lag(struct tp_kafka_process *pr) {
    struct tp_kafka_lag lag[64];
    int n = tp_kafka_consumer_lag(pr->c, lag, 64);
    char line[1024];
    size_t off = 0;
    for (int i = 0; i < n && i < 64 && off < sizeof line - 40; i++)
        off += (size_t)snprintf(line + off, sizeof line - off, " [%d]=%lld", (int)lag[i].partition,
                                (long long)lag[i].lag);
    if (n > 0)
        tp_info("process", "consumer lag of %s:%s", pr->o.topic, line);
}

/* --http: copies the counters of the summary line (but that work given up
 * after a loss still counts: Prometheus counters never go down) and, every
 * second, the consumer lag.
 * Progress: messages were processed, or nothing is waiting (idle by
 * design: no partition, or every partition at its end). */
static void proc_publish(struct tp_kafka_process *pr, int64_t now) {
    struct tp_metrics *m = pr->o.m;
    if (!m || now - pr->last_pub < 100)
        return;
    struct tp_processor_stats s = pr->seen, cur;
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
static int proc_loop(struct tp_kafka_process *pr) {
    int64_t end_since = 0;
    pr->last_commit = pr->last_lag = tp_mono_ms();
    while (!*pr->o.stop) {
        struct tp_kafka_msg m;
        pr->errbuf[0] = '\0';   /* set below by whichever step fails */
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
        if (rc == 0 && pr->pending && now - pr->last_commit >= pr->o.commit_ms)
            rc = proc_commit(pr);
        if (rc < 0) {
            if (!pr->errbuf[0])   /* the processor's (a commit, an apply) */
                snprintf(pr->errbuf, sizeof pr->errbuf, "%s", tp_processor_last_error(pr->p));
            return rc;
        }
        if (now - pr->last_lag >= pr->o.lag_ms) {
            log_lag(pr);
            pr->last_lag = now;
        }
        proc_publish(pr, now);
        if (!pr->o.exit_at_end || !tp_kafka_consumer_at_end(pr->c)) {
            end_since = 0;
            continue;
        }
        if (!end_since)
            end_since = now;
        else if (now - end_since >= pr->o.grace_ms)
            return 0;
    }
    return 0;
}

/* The errbuf of the handle, handed to the caller with code. */
static int fail(struct tp_kafka_process *pr, int code, char *errbuf, size_t errsize) {
    return tp_errf(errbuf, errsize, code, "%s", pr->errbuf);
}

/* The consumer, joining with --instance first, so an explicit
 * group.instance.id among the properties wins. */
static int join_group(struct tp_kafka_process *pr) {
    struct tp_kafka_hooks hooks = {.assigned = on_assigned, .revoking = on_revoking, .opaque = pr};
    const char *kv[TP_STRLIST_MAX + 1];
    char static_id[300];
    int nkv = 0;
    if (pr->o.instance) {
        snprintf(static_id, sizeof static_id, "group.instance.id=%s", pr->o.instance);
        kv[nkv++] = static_id;
    }
    for (int i = 0; i < pr->o.nconf && nkv < TP_STRLIST_MAX + 1; i++)
        kv[nkv++] = pr->o.conf[i];
    return tp_kafka_consumer_new(&pr->c, pr->o.brokers, pr->o.group, pr->o.topic, kv, nkv,
                                 &hooks, pr->errbuf, sizeof pr->errbuf);
}

int tp_kafka_process_new(struct tp_kafka_process **out, struct tp_store *st,
                         const struct tp_kafka_process_opts *o, char *errbuf, size_t errsize) {
    *out = NULL;
    struct tp_kafka_process *pr = calloc(1, sizeof *pr);
    if (!pr)
        return tp_errf(errbuf, errsize, TP_ENOMEM, "out of memory");
    pr->o = *o;
    pr->st = st;
    for (size_t i = 0; i < sizeof pr->parts / sizeof *pr->parts; i++)
        pr->parts[i].slot = -1;
    char host[256] = "?";
    gethostname(host, sizeof host - 1);
    snprintf(pr->owner, sizeof pr->owner, "%s%s%s pid %ld", o->instance ? o->instance : "",
             o->instance ? " on " : "", host, (long)getpid());
    int rc = tp_processor_new(&pr->p, pr->st, &pr->o.po, pr->errbuf, sizeof pr->errbuf);
    if (rc == 0)
        rc = join_group(pr);
    if (rc < 0) {
        fail(pr, rc, errbuf, errsize);
        tp_kafka_process_free(pr);
        return rc;
    }
    *out = pr;
    return 0;
}

int tp_kafka_process_run(struct tp_kafka_process *kp, char *errbuf, size_t errsize) {
    int rc = proc_loop(kp);
    return rc < 0 ? fail(kp, rc, errbuf, errsize) : 0;
}

int tp_kafka_process_close(struct tp_kafka_process *kp, int failed, char *errbuf,
                           size_t errsize) {
    int rc = 0;
    if (!failed) {
        rc = kp->o.exit_at_end ? tp_processor_finish(kp->p) : proc_commit(kp);
        if (rc == TP_EFENCED)   /* finish() refused: the new owners carry on */
            rc = on_fenced(kp);
        if (rc < 0)
            tp_errf(errbuf, errsize, rc, "%s", tp_processor_last_error(kp->p));
        else
            store_offsets(kp);
    }
    if (!failed && rc == 0)
        tp_kafka_consumer_close(kp->c);   /* revocation commits nothing new */
    kp->last_pub = 0;
    proc_publish(kp, tp_mono_ms());
    kp->failed = failed || rc < 0;
    return rc;
}

void tp_kafka_process_stats(const struct tp_kafka_process *kp, struct tp_kafka_process_stats *s) {
    struct tp_processor_stats now;
    s->p = kp->carried;
    tp_processor_stats(kp->p, &now);
    add_stats(&s->p, &now);
    s->lost = kp->lost;
    s->fenced = kp->fenced_commits;
}

void tp_kafka_process_free(struct tp_kafka_process *kp) {
    if (!kp)
        return;
    tp_kafka_consumer_free(kp->c);
    tp_processor_free(kp->p);
    free(kp);
}
