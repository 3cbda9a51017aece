/* queue_id: unique, time-ordered queue ids. An id is 15 upper-case hex
 * digits of arrival time (10 of seconds, 5 of microseconds) followed by the
 * creating process id in hex: "6740A3B2F0A1B2C3F1E". Upper-case hex keeps
 * Postfix log tools (pflogsumm) matching it. Ids from one process strictly
 * increase; the file is created with O_EXCL so a clash (clock stepped back)
 * just retries with a new id. */
#ifndef SUREL_QUEUE_ID_H
#define SUREL_QUEUE_ID_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QUEUE_ID_MAX 32		/* buffer size including the NUL */

/* Makes a new id into out[QUEUE_ID_MAX]; *arrival_us_r gets its time. */
void queue_id_new(char out[QUEUE_ID_MAX], uint64_t *arrival_us_r);
/* The time part of an id (its first 15 digits) for arrival_us, into
 * out: what a file of that arrival must be named by (surelsuper -s). */
void queue_id_time(char out[QUEUE_ID_MAX], uint64_t arrival_us);
/* True if s looks like a queue id (safe to use as a file name). */
bool queue_id_valid(const char *s);
/* The deferred/ subdirectory (one hex digit, from the microseconds' last
 * digit so it spreads evenly) for an id. */
char queue_id_hash(const char *id);
/* The arrival time (Unix seconds) written in a queue_id_valid id: what
 * needs only the age of a message reads the name, not the file. */
uint64_t queue_id_seconds(const char *id);

#endif
