/* queue_impl: what the queue file's reader (queue_file.c) and writer
 * (queue_writer.c) share; private to them (queue_file.h and queue_writer.h
 * are the interfaces). */
#ifndef SUREL_QUEUE_IMPL_H
#define SUREL_QUEUE_IMPL_H
#include <stdbool.h>

#define QUEUE_LEN_DIGITS 20	/* the content length: "C\t%020llu\n" */

/* An attribute name: [a-z0-9_]+. */
bool queue_file_attr_name_ok(const char *s);
/* A DSN NOTIFY list: "SUCCESS,FAILURE,DELAY" or "NEVER" words, comma
 * separated (not "-"). */
bool queue_file_notify_ok(const char *s);

struct queue_status;
/* Frees *st and sets it NULL; accepts NULL. (queue_status.c) */
void queue_status_free(struct queue_status **st);

#endif
