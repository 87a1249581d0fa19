/* main.c - command line entry point (being built). */
#include <stdio.h>
int main(void) { fprintf(stderr, "tickpipe: under construction\n"); return 2; }
