// fuzz-sources: lib/imap_date.c
/* libFuzzer target for lib/imap_date. The input is tried as an IMAP
 * date-time and as an RFC 5322 date. What is accepted must be in range;
 * an accepted date-time, formatted (in UTC) and parsed again, must give
 * the same time, and the formatted text must be 26 characters.
 * Run: tests/run-fuzz, or by hand
 *   ./fuzz_imap_date -max_total_time=60 tests/fuzz/corpus/imap_date */
#include "config.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "imap_date.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 0001-01-01 and 9999-12-31 23:59:59, with a day of zone slack. */
#define FUZZ_T_MIN (-62135596800LL - 86400 * 5)
#define FUZZ_T_MAX (253402300799LL + 86400 * 5)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool tz_set;
	char out[IMAP_DATE_TIME_LEN + 1];
	const char *s = (const char *)data;
	int64_t t, back;
	int zone;

	if (!tz_set) {
		setenv("TZ", "UTC", 1);
		tzset();
		tz_set = true;
	}
	if (imap_date_time_parse(s, size, &t) == 0) {
		if (t < FUZZ_T_MIN || t > FUZZ_T_MAX)
			abort();
		imap_date_time_format(t, out);
		if (strlen(out) != 26 ||
		    imap_date_time_parse(out, 26, &back) < 0)
			abort();
		/* Clamping only moves the first and last day. */
		if (back != t && t > FUZZ_T_MIN + 86400 * 10 &&
		    t < FUZZ_T_MAX - 86400 * 10)
			abort();
	}
	if (imap_date_rfc5322_parse(s, size, &t, &zone) == 0) {
		if (t < FUZZ_T_MIN - 6000 * 60 || t > FUZZ_T_MAX + 6000 * 60 ||
		    zone < -5999 || zone > 5999)
			abort();
	}
	return 0;
}
