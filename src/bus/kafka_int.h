/*
 * kafka_int.h - helpers shared by the Kafka producer and consumer.
 * Private to src/bus/kafka*.c.
 */
#ifndef TP_KAFKA_INT_H
#define TP_KAFKA_INT_H

#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

/* Builds a configuration: bootstrap.servers, then the nd defaults
 * ("key=value"), then the user's nkv properties. NULL with errbuf naming
 * the rejected property (TP_EINVAL in *err). */
rd_kafka_conf_t *tp_kafka_conf_build(const char *brokers, const char *const *defaults,
                                     int nd, const char *const *kv, int nkv, int *err,
                                     char *errbuf, size_t errsize);

/* Routes librdkafka's own log lines to tp_log with stage "kafka". */
void tp_kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf);

/* Parses a TP_KAFKA_POS_HEADER value (len bytes, "<16 hex>:<line>"):
 * 1 with *id and *line filled, 0 when it is not one. */
int tp_kafka_pos_header(const void *v, size_t len, uint64_t *id, int64_t *line);

#endif
