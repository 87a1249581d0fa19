/* cmd_kafka.c - placeholder until the Kafka roles land. */
#include <stdio.h>
#include "tp_cmd.h"
int tp_cmd_ingest(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "tickpipe ingest: not built yet\n"); return 1; }
int tp_cmd_process(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "tickpipe process: not built yet\n"); return 1; }
