/* Unit tests of lib/imap_date: IMAP date-time parsing (valid forms, every
 * field at its limit-1/limit/limit+1, every truncation refused), the
 * format in several time zones and its round trip, and RFC 5322 dates
 * (current and obsolete forms, comments, zone names, invalid dates). The
 * expected times were computed independently (date -u -d ... +%s). */
#include "config.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "imap_date.h"
#include "unit.h"

#define BAD INT64_MIN

static const struct {
	const char *in;
	int64_t t;		/* BAD: refused */
} imap_cases[] = {
	{ "17-Jul-1996 02:44:25 -0700", 837596665 },
	{ "01-Jan-1970 00:00:00 +0000", 0 },
	{ " 1-Jan-1970 00:00:00 +0000", 0 },
	{ "1-Jan-1970 00:00:00 +0000", 0 },
	{ "01-jan-1970 00:00:00 +0000", 0 },
	{ "01-JAN-1970 00:00:00 +0100", -3600 },
	{ "31-Dec-1969 23:59:59 +0000", -1 },
	{ "29-Feb-2024 12:00:00 +0000", 1709208000 },
	{ "29-Feb-2000 00:00:00 +0000", 951782400 },
	{ "31-Dec-9999 23:59:59 +0000", 253402300799 },
	{ "01-Jan-0001 00:00:00 +0000", -62135596800 },
	{ "19-Jan-2038 03:14:08 +0000", 2147483648 },
	{ "07-Feb-2106 06:28:16 +0000", 4294967296 },
	{ "15-Mar-2023 10:30:00 +0530", 1678856400 },
	{ "15-Mar-2023 10:30:00 -2359", 1678962540 },
	{ "15-Mar-2023 10:30:00 +2359", 1678789860 },
	{ "15-Mar-2023 23:59:59 +0000", 1678924799 },
	/* limits + 1 */
	{ "15-Mar-2023 10:30:00 +2400", BAD },
	{ "15-Mar-2023 10:30:00 +0060", BAD },
	{ "15-Mar-2023 24:00:00 +0000", BAD },
	{ "15-Mar-2023 23:60:00 +0000", BAD },
	{ "15-Mar-2023 23:59:60 +0000", BAD },
	{ "29-Feb-2023 12:00:00 +0000", BAD },
	{ "29-Feb-1900 12:00:00 +0000", BAD },
	{ "31-Apr-2023 12:00:00 +0000", BAD },
	{ "32-Jan-2023 12:00:00 +0000", BAD },
	{ "00-Jan-2023 12:00:00 +0000", BAD },
	{ "01-Jan-0000 00:00:00 +0000", BAD },
	/* syntax */
	{ "", BAD },
	{ "17-Jul-96 02:44:25 -0700", BAD },
	{ "17-Jul-19960 02:44:25 -0700", BAD },
	{ "17-July-1996 02:44:25 -0700", BAD },
	{ "17-Jux-1996 02:44:25 -0700", BAD },
	{ "117-Jul-1996 02:44:25 -0700", BAD },
	{ "  1-Jul-1996 02:44:25 -0700", BAD },
	{ " 11-Jul-1996 02:44:25 -0700", BAD },
	{ "17 Jul 1996 02:44:25 -0700", BAD },
	{ "17-Jul-1996 2:44:25 -0700", BAD },
	{ "17-Jul-1996 02:44 -0700", BAD },
	{ "17-Jul-1996 02:44:25 0700", BAD },
	{ "17-Jul-1996 02:44:25 -070", BAD },
	{ "17-Jul-1996 02:44:25 -07000", BAD },
	{ "17-Jul-1996 02:44:25 GMT", BAD },
	{ "17-Jul-1996 02:44:25  -0700", BAD },
	{ "17-Jul-1996 02:44:25 -0700 ", BAD },
	{ "17-Jul-1996  02:44:25 -0700", BAD },
	{ "\"17-Jul-1996 02:44:25 -0700\"", BAD },
	{ "+7-Jul-1996 02:44:25 -0700", BAD },
	{ "17-Jul-1996 02:44:25 --700", BAD },
};

static void test_imap_parse(void)
{
	for (size_t i = 0; i < sizeof(imap_cases) / sizeof(imap_cases[0]);
	     i++) {
		int64_t t = 12345;
		int r = imap_date_time_parse(imap_cases[i].in,
					     strlen(imap_cases[i].in), &t);

		if (imap_cases[i].t == BAD) {
			UNIT_CHECK(r == -1);
			if (r != -1)
				fprintf(stderr, "  accepted: %s\n",
					imap_cases[i].in);
		} else {
			UNIT_CHECK(r == 0 && t == imap_cases[i].t);
			if (r != 0 || t != imap_cases[i].t)
				fprintf(stderr, "  %s: %d %lld\n",
					imap_cases[i].in, r, (long long)t);
		}
	}
}

/* Every proper prefix of a valid value is refused, and the length is
 * honoured (no reading past it, no NUL needed). */
static void test_imap_prefixes(void)
{
	const char *v = "17-Jul-1996 02:44:25 -0700";
	char copy[64];
	int64_t t;
	int bad = 0;

	for (size_t n = 0; n < strlen(v); n++) {
		memset(copy, '9', sizeof(copy));
		memcpy(copy, v, n);
		if (imap_date_time_parse(copy, n, &t) != -1)
			bad++;
	}
	UNIT_CHECK(bad == 0);
	/* Embedded NUL. */
	UNIT_CHECK(imap_date_time_parse("17-Jul-1996 02:44:25 -0700\0", 27,
					&t) == -1);
	UNIT_CHECK(imap_date_time_parse("17-Jul-1996\00002:44:25 -0700", 26,
					&t) == -1);
}

static void set_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

static const struct {
	const char *tz;
	int64_t t;
	const char *out;
} format_cases[] = {
	{ "UTC", 0, "01-Jan-1970 00:00:00 +0000" },
	{ "UTC", 837596665, "17-Jul-1996 09:44:25 +0000" },
	{ "America/Los_Angeles", 837596665, "17-Jul-1996 02:44:25 -0700" },
	{ "America/Los_Angeles", 852076800, "31-Dec-1996 16:00:00 -0800" },
	{ "Asia/Kolkata", 1678856400, "15-Mar-2023 10:30:00 +0530" },
	{ "America/St_Johns", 1678856400, "15-Mar-2023 02:30:00 -0230" },
	{ "UTC", 1709208000, "29-Feb-2024 12:00:00 +0000" },
	{ "UTC", 253402300799, "30-Dec-9999 00:00:00 +0000" },
	{ "UTC", INT64_MAX, "30-Dec-9999 00:00:00 +0000" },
	{ "UTC", INT64_MIN, "02-Jan-0001 00:00:00 +0000" },
	{ "UTC", 5 * 86400, "06-Jan-1970 00:00:00 +0000" },
};

static void test_format(void)
{
	char out[IMAP_DATE_TIME_LEN + 1];

	for (size_t i = 0; i < sizeof(format_cases) / sizeof(format_cases[0]);
	     i++) {
		set_tz(format_cases[i].tz);
		imap_date_time_format(format_cases[i].t, out);
		UNIT_STREQ(out, format_cases[i].out);
		UNIT_CHECK(strlen(out) == 26);
	}
}

/* Format then parse gives the same time, in zones east and west, around
 * a DST change and on a spread of times. */
static void test_round_trip(void)
{
	static const char *const zones[] = { "UTC", "Europe/Berlin",
					     "America/New_York",
					     "Australia/Lord_Howe",
					     "Pacific/Kiritimati" };
	char out[IMAP_DATE_TIME_LEN + 1];
	int bad = 0;

	for (size_t z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
		set_tz(zones[z]);
		for (int64_t t = -2000000000; t < 4000000000LL;
		     t += 7777777) {
			int64_t back;

			imap_date_time_format(t, out);
			if (imap_date_time_parse(out, strlen(out), &back) < 0 ||
			    back != t)
				bad++;
		}
	}
	UNIT_CHECK(bad == 0);
	set_tz("UTC");
}

static const struct {
	const char *in;
	int64_t t;		/* BAD: refused */
	int zone;
} rfc_cases[] = {
	{ "Wed, 17 Jul 1996 02:44:25 -0700", 837596665, -420 },
	{ "17 Jul 1996 02:44:25 -0700", 837596665, -420 },
	{ "Wed,17 Jul 1996 02:44:25 -0700", 837596665, -420 },
	{ "Wed, 17 Jul 1996 02:44 -0700", 837596640, -420 },
	{ "Wed, 17 Jul 96 02:44:25 -0700", 837596665, -420 },
	{ "Wed, 17 Jul 096 02:44:25 -0700", 837596665, -420 },
	{ "Thu, 1 Jan 2026 00:00:00 +0000", 1767225600, 0 },
	{ "Thu, 01 Jan 26 00:00:00 GMT", 1767225600, 0 },
	{ "Thu, 1 Jan 2026 00:00:00 UT", 1767225600, 0 },
	{ "Thu, 1 Jan 2026 00:00:00 Z", 1767225600, 0 },
	{ "Thu, 1 Jan 2026 00:00:00 XYZ", 1767225600, 0 },
	{ "Thu, 1 Jan 2026 00:00:00", 1767225600, 0 },
	{ "Thu, 1 Jan 2026", 1767225600, 0 },
	{ "Wed, 31 Dec 2025 19:00:00 EST", 1767225600, -300 },
	{ "Wed, 31 Dec 2025 20:00:00 edt", 1767225600, -240 },
	{ "Wed, 31 Dec 2025 16:00:00 PST", 1767225600, -480 },
	{ "Wed, 31 Dec 2025 17:00:00 PDT", 1767225600, -420 },
	{ "Wed, 31 Dec 2025 18:00:00 CST", 1767225600, -360 },
	{ "Wed, 31 Dec 2025 17:00:00 MST", 1767225600, -420 },
	{ "Thu, 1 Jan 2026 01:00:00 +0100 (CET)", 1767225600, 60 },
	{ "  Thu,\r\n 1 Jan 2026 01:00:00\r\n +0100", 1767225600, 60 },
	{ "(comment) Thu (x (nested)) , 1 (a) Jan (b) 2026 01 : 00 : 00 "
	  "+0100", 1767225600, 60 },
	{ "Thursday, 1 January 2026 00:00:00 +0000", 1767225600, 0 },
	{ "1-Jan-2026 00:00:00 +0000", 1767225600, 0 },
	{ "Thu, 1 Jan 2026 0:00:00 +0000", 1767225600, 0 },
	{ "Thu, 1 Jan 1970 00:00:00 -0000", 0, 0 },
	{ "Thu, 1 Jan 2026 00:00:60 +0000", 1767225660, 0 },
	{ "Fri, 29 Feb 2008 12:00:00 +9959", 1203926460, -(-5999) },
	/* bad */
	{ "", BAD, 0 },
	{ "Thu,", BAD, 0 },
	{ "Thu, Jan 2026 00:00:00 +0000", BAD, 0 },
	{ "Thu, 1 2026 00:00:00 +0000", BAD, 0 },
	{ "Thu, 1 Jan 00:00:00 +0000", BAD, 0 },
	{ "Thu, 1 Jan 20266 00:00:00 +0000", BAD, 0 },
	{ "Thu, 1 Jan 2026 24:00:00 +0000", BAD, 0 },
	{ "Thu, 1 Jan 2026 00:60:00 +0000", BAD, 0 },
	{ "Thu, 1 Jan 2026 00:00:61 +0000", BAD, 0 },
	{ "Thu, 1 Jan 2026 00 +0000", BAD, 0 },
	{ "Thu, 1 Jan 2026 garbage", BAD, 0 },
	{ "Fri, 29 Feb 2019 12:00:00 +0000", BAD, 0 },
	{ "Fri, 31 Nov 2019 12:00:00 +0000", BAD, 0 },
	{ "Fri, 0 Nov 2019 12:00:00 +0000", BAD, 0 },
	{ "Fri, 123 Nov 2019 12:00:00 +0000", BAD, 0 },
	{ "(unterminated Thu, 1 Jan 2026 00:00:00 +0000", BAD, 0 },
	{ "Thu, 1 Jux 2026 00:00:00 +0000", BAD, 0 },
	{ "Thu, 1 Ja 2026 00:00:00 +0000", BAD, 0 },
};

static void test_rfc5322(void)
{
	for (size_t i = 0; i < sizeof(rfc_cases) / sizeof(rfc_cases[0]); i++) {
		int64_t t = 12345;
		int zone = 777;
		int r = imap_date_rfc5322_parse(rfc_cases[i].in,
						strlen(rfc_cases[i].in), &t,
						&zone);

		if (rfc_cases[i].t == BAD) {
			UNIT_CHECK(r == -1);
			if (r != -1)
				fprintf(stderr, "  accepted: %s\n",
					rfc_cases[i].in);
		} else {
			UNIT_CHECK(r == 0 && t == rfc_cases[i].t &&
				   zone == rfc_cases[i].zone);
			if (r != 0 || t != rfc_cases[i].t ||
			    zone != rfc_cases[i].zone)
				fprintf(stderr, "  %s: %d %lld %d\n",
					rfc_cases[i].in, r, (long long)t,
					zone);
		}
	}
}

/* Deep comment nesting ends the field without recursion; a long field
 * is read in one pass. */
static void test_rfc5322_limits(void)
{
	static char deep[200000];
	int64_t t;
	int zone;
	size_t n = 0;

	for (size_t i = 0; i < 100000; i++)
		deep[n++] = '(';
	memcpy(deep + n, "Thu, 1 Jan 2026", 15);
	n += 15;
	UNIT_CHECK(imap_date_rfc5322_parse(deep, n, &t, &zone) == -1);
	/* 64 levels are a comment; the date after them is read. */
	n = 0;
	for (size_t i = 0; i < 64; i++)
		deep[n++] = '(';
	for (size_t i = 0; i < 64; i++)
		deep[n++] = ')';
	memcpy(deep + n, "Thu, 1 Jan 2026", 15);
	n += 15;
	UNIT_CHECK(imap_date_rfc5322_parse(deep, n, &t, &zone) == 0 &&
		   t == 1767225600);
	/* Only len octets are read. */
	UNIT_CHECK(imap_date_rfc5322_parse("Thu, 1 Jan 2026 00:00:00 +0100",
					   15, &t, &zone) == 0 &&
		   t == 1767225600 && zone == 0);
	UNIT_CHECK(imap_date_rfc5322_parse("Thu, 1 Jan 2026", 10, &t,
					   &zone) == -1);
}

int main(void)
{
	set_tz("UTC");
	test_imap_parse();
	test_imap_prefixes();
	test_format();
	test_round_trip();
	test_rfc5322();
	test_rfc5322_limits();
	return unit_done();
}
