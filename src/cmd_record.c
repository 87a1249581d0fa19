/* cmd_record.c - placeholder until the record role lands. */
#include <stdio.h>
#include "tp_cmd.h"
int tp_cmd_record(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "tickpipe record: not built yet\n"); return 1; }
