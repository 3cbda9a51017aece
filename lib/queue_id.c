/* queue_id: unique, time-ordered queue ids (arrival time + process id);
 * see queue_id.h. */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "queue_id.h"
#include "timeutil.h"

#define QUEUE_ID_TIME_LEN 15	/* 10 hex digits of seconds, 5 of usec */
#define QUEUE_ID_PID_MAX 8	/* a pid_t in hex */

void queue_id_new(char out[QUEUE_ID_MAX], uint64_t *arrival_us_r)
{
	/* Strictly increasing within the process even when the clock stands
	 * still or steps back: two messages of one smtpd never share an id. */
	static uint64_t last_us;
	uint64_t now = time_wall_us();

	if (now <= last_us)
		now = last_us + 1;
	last_us = now;
	queue_id_time(out, now);
	snprintf(out + QUEUE_ID_TIME_LEN, QUEUE_ID_MAX - QUEUE_ID_TIME_LEN,
		 "%lX", (unsigned long)getpid());
	*arrival_us_r = now;
}

void queue_id_time(char out[QUEUE_ID_MAX], uint64_t arrival_us)
{
	snprintf(out, QUEUE_ID_MAX, "%010llX%05llX",
		 (unsigned long long)(arrival_us / 1000000),
		 (unsigned long long)(arrival_us % 1000000));
}

bool queue_id_valid(const char *s)
{
	size_t len = 0;

	for (; s[len] != '\0'; len++) {
		char c = s[len];
		if (len >= QUEUE_ID_TIME_LEN + QUEUE_ID_PID_MAX)
			return false;
		if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F')))
			return false;
	}
	return len > QUEUE_ID_TIME_LEN;
}

char queue_id_hash(const char *id)
{
	/* The last microseconds digit: the fastest-changing one. */
	return id[QUEUE_ID_TIME_LEN - 1];
}

uint64_t queue_id_seconds(const char *id)
{
	uint64_t s = 0;

	/* The first 10 digits; valid ids have them all. */
	for (size_t i = 0; i < 10; i++) {
		char c = id[i];
		if (c >= '0' && c <= '9')
			s = s * 16 + (uint64_t)(c - '0');
		else if (c >= 'A' && c <= 'F')
			s = s * 16 + (uint64_t)(c - 'A' + 10);
		else
			return 0;
	}
	return s;
}
