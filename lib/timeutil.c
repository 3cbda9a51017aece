/* timeutil: clocks and mail date formats; see timeutil.h. */
#include "config.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "timeutil.h"

uint64_t time_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t time_wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

void time_rfc5322(char *out, size_t outsize, time_t when)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed",
					    "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr",
					      "May", "Jun", "Jul", "Aug",
					      "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;

	localtime_r(&when, &tm);
	long off = tm.tm_gmtoff / 60;
	char sign = off < 0 ? '-' : '+';
	off = labs(off);
	snprintf(out, outsize, "%s, %d %s %d %02d:%02d:%02d %c%02ld%02ld",
		 days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
		 tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, sign,
		 off / 60, off % 60);
}

/* Postfix's format_tv(.., 2, 2): two significant digits, at most two
 * decimals, no trailing zeros ("0.12", "1.2", "12", "0"). */
void time_format_delay(char *out, size_t outsize, uint64_t us)
{
	uint64_t sec = us / 1000000, usec = us % 1000000;
	/* The resolution kept, in microseconds. */
	uint64_t res = sec >= 10 ? 1000000 : sec > 0 ? 100000 : 10000;

	usec += res / 2;	/* round to it */
	if (usec >= 1000000) {
		sec++;
		usec -= 1000000;
	}
	int n = snprintf(out, outsize, "%" PRIu64, sec);
	if (n < 0 || (size_t)n + 4 > outsize || usec < res)
		return;
	size_t o = (size_t)n;
	out[o++] = '.';
	for (uint64_t div = 100000; usec >= res && div >= res; div /= 10) {
		out[o++] = (char)('0' + usec / div);
		usec %= div;
	}
	out[o] = '\0';
}
