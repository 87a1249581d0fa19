/*
 * kafka_conf.c - configuration and logging glue shared by the Kafka
 * producer and consumer: our defaults first, then the user's --kafka-conf
 * properties straight into rd_kafka_conf_set(), so a property librdkafka
 * rejects stops startup with its own message.
 *
 * Threads: tp_kafka_conf_build() runs on the thread creating a handle; the
 * log callback runs on librdkafka's threads and only calls tp_log (which
 * is thread-safe).
 */
#include "kafka_int.h"

#include <stdio.h>
#include <string.h>

#include "../core/tp_error.h"
#include "../core/tp_log.h"

static int conf_set_kv(rd_kafka_conf_t *conf, const char *kv, char *errbuf, size_t errsize) {
    char key[256], errstr[512];
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv || (size_t)(eq - kv) >= sizeof key)
        return tp_errf(errbuf, errsize, TP_EINVAL,
                       "--kafka-conf %s: expected KEY=VALUE (a librdkafka property)", kv);
    memcpy(key, kv, (size_t)(eq - kv));
    key[eq - kv] = '\0';
    if (rd_kafka_conf_set(conf, key, eq + 1, errstr, sizeof errstr) != RD_KAFKA_CONF_OK)
        return tp_errf(errbuf, errsize, TP_EINVAL, "--kafka-conf %s: librdkafka rejected it: %s",
                       key, errstr);
    return 0;
}

rd_kafka_conf_t *tp_kafka_conf_build(const char *brokers, const char *const *defaults,
                                     int nd, const char *const *kv, int nkv, int *err,
                                     char *errbuf, size_t errsize) {
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    *err = 0;
    if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK) {
        *err = tp_errf(errbuf, errsize, TP_EINVAL, "--kafka %s: %s", brokers, errstr);
        goto fail;
    }
    rd_kafka_conf_set_log_cb(conf, tp_kafka_log_cb);
    for (int i = 0; i < nd; i++)
        if ((*err = conf_set_kv(conf, defaults[i], errbuf, errsize)) < 0)
            goto fail;
    for (int i = 0; i < nkv; i++)
        if ((*err = conf_set_kv(conf, kv[i], errbuf, errsize)) < 0)
            goto fail;
    return conf;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

void tp_kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    (void)rk;
    /* Connection failures also reach the error callback, which says it
     * once per handle in our own words; do not print them twice. */
    if (strcmp(fac, "FAIL") == 0)
        return;
    /* syslog levels: 0-3 error, 4 warning, 5-6 info, 7 debug. */
    int our = level <= 3 ? TP_LOG_ERROR : level == 4 ? TP_LOG_WARN
            : level <= 6 ? TP_LOG_INFO : TP_LOG_DEBUG;
    tp_log(our, "kafka", "%s: %s", fac, buf);
}
