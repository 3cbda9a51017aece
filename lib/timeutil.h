/* timeutil: clocks and mail date formats. */
#ifndef SUREL_TIMEUTIL_H
#define SUREL_TIMEUTIL_H
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Monotonic milliseconds, for timeouts. */
uint64_t time_mono_ms(void);
/* Wall-clock microseconds since the epoch. */
uint64_t time_wall_us(void);
/* RFC 5322 date-time ("Sun, 22 Nov 2026 06:05:06 +0000") into out. */
void time_rfc5322(char *out, size_t outsize, time_t when);

#endif
