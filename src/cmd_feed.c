/* cmd_feed.c - placeholder until the feed role lands. */
#include <stdio.h>
#include "tp_cmd.h"
int tp_cmd_feed(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "tickpipe feed: not built yet\n"); return 1; }
