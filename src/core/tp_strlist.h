/*
 * tp_strlist.h - a bounded list of borrowed strings: what a repeatable
 * option (--kafka-conf K=V) fills, and what the Kafka stages size their
 * property arrays by. The strings are borrowed: the list never copies or
 * frees them.
 */
#ifndef TP_STRLIST_H
#define TP_STRLIST_H

#define TP_STRLIST_MAX 64
struct tp_strlist { const char *v[TP_STRLIST_MAX]; int n; };

#endif
