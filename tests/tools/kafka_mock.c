/*
 * kafka_mock.c - a Kafka cluster on loopback for tests and developers:
 * librdkafka's mock cluster (real Kafka protocol, in-memory log) in its
 * own process, steered by one-line commands on stdin.
 *
 *   kafka_mock [--brokers N] [--topic T] [--partitions P] [--topic T2 ...]
 *
 * Prints the bootstrap address ("127.0.0.1:port,...") as one flushed line
 * on stdout, then answers each command with one line "ok" or "error: ...":
 *   broker-down ID | broker-up ID         (ID -1 = all brokers)
 *   rtt ID MS                             round-trip delay of a broker
 *   error APIKEY ERR [COUNT]              next COUNT requests of APIKEY fail
 *                                         with Kafka error code ERR (numeric)
 *   topic-error TOPIC ERR                 metadata error for a topic
 *   leader TOPIC PARTITION ID             move a partition's leader
 *   create TOPIC PARTITIONS               another topic
 *   quit
 * Exits on quit, stdin EOF, SIGTERM or SIGINT.
 *
 * Threads: main thread reads stdin; the mock brokers run on librdkafka's
 * own threads inside the rd_kafka_t handle that hosts the cluster.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig) {
    stop_signal = sig;
}

static void usage(void) {
    fprintf(stderr, "usage: kafka_mock [--brokers N] [--topic T] [--partitions P]...\n");
    exit(2);
}

static int reply(int ok, const char *what) {
    if (ok)
        printf("ok\n");
    else
        printf("error: %s\n", what);
    fflush(stdout);
    return ok;
}

static void run_command(rd_kafka_mock_cluster_t *mc, char *line) {
    char a[256], b[256];
    int x, y, z, n;
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (sscanf(line, "broker-down %d", &x) == 1)
        err = rd_kafka_mock_broker_set_down(mc, x);
    else if (sscanf(line, "broker-up %d", &x) == 1)
        err = rd_kafka_mock_broker_set_up(mc, x);
    else if (sscanf(line, "rtt %d %d", &x, &y) == 2)
        err = rd_kafka_mock_broker_set_rtt(mc, x, y);
    else if ((n = sscanf(line, "error %d %d %d", &x, &y, &z)) >= 2) {
        int count = n == 3 ? z : 1;
        for (int i = 0; i < count; i++)
            rd_kafka_mock_push_request_errors(mc, (int16_t)x, 1, (rd_kafka_resp_err_t)y);
    } else if (sscanf(line, "topic-error %255s %d", a, &x) == 2)
        rd_kafka_mock_topic_set_error(mc, a, (rd_kafka_resp_err_t)x);
    else if (sscanf(line, "leader %255s %d %d", a, &x, &y) == 3)
        err = rd_kafka_mock_partition_set_leader(mc, a, x, y);
    else if (sscanf(line, "create %255s %d", a, &x) == 2)
        err = rd_kafka_mock_topic_create(mc, a, x, 1);
    else {
        snprintf(b, sizeof b, "unknown command: %.200s", line);
        reply(0, b);
        return;
    }
    reply(err == RD_KAFKA_RESP_ERR_NO_ERROR, rd_kafka_err2str(err));
}

/* Reads stdin line by line until quit, EOF or a signal. */
static void command_loop(rd_kafka_mock_cluster_t *mc) {
    char buf[1024];
    size_t have = 0;
    while (!stop_signal) {
        struct pollfd pfd = {.fd = 0, .events = POLLIN};
        int n = poll(&pfd, 1, 200);
        if (n < 0 && errno != EINTR)
            return;
        if (n <= 0)
            continue;
        ssize_t r = read(0, buf + have, sizeof buf - 1 - have);
        if (r <= 0)
            return;
        have += (size_t)r;
        char *nl;
        while ((nl = memchr(buf, '\n', have))) {
            *nl = '\0';
            if (strcmp(buf, "quit") == 0)
                return;
            if (buf[0])
                run_command(mc, buf);
            size_t used = (size_t)(nl + 1 - buf);
            memmove(buf, nl + 1, have - used);
            have -= used;
        }
        if (have == sizeof buf - 1)
            have = 0; /* an over-long line is discarded */
    }
}

int main(int argc, char **argv) {
    int brokers = 1, partitions = 4, ntopics = 0;
    const char *topics[16];
    int parts[16];
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            usage();
        if (strcmp(argv[i], "--brokers") == 0)
            brokers = atoi(argv[++i]);
        else if (strcmp(argv[i], "--topic") == 0 && ntopics < 16) {
            topics[ntopics] = argv[++i];
            parts[ntopics++] = partitions;
        } else if (strcmp(argv[i], "--partitions") == 0) {
            partitions = atoi(argv[++i]);
            if (ntopics)
                parts[ntopics - 1] = partitions;
        } else
            usage();
    }
    if (brokers < 1 || partitions < 1)
        usage();

    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) {
        fprintf(stderr, "kafka_mock: %s\n", errstr);
        return 1;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
    if (!mc) {
        fprintf(stderr, "kafka_mock: could not create the mock cluster\n");
        rd_kafka_destroy(rk);
        return 1;
    }
    int rf = brokers < 3 ? brokers : 3;
    for (int i = 0; i < ntopics; i++) {
        rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mc, topics[i], parts[i], rf);
        if (err) {
            fprintf(stderr, "kafka_mock: topic %s: %s\n", topics[i], rd_kafka_err2str(err));
            return 1;
        }
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);
    command_loop(mc);

    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}
