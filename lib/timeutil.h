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
/* A delay for a delivery log line as Postfix writes it (format_tv with
 * two significant digits, at most two decimals, no trailing zeros:
 * "0.12", "1.2", "12", "0"); out should hold 24 octets. */
void time_format_delay(char *out, size_t outsize, uint64_t us);

#endif
