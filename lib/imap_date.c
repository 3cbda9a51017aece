/* imap_date: IMAP date-time values and RFC 5322 Date: fields; see
 * imap_date.h. Calendar arithmetic is done here on the proleptic Gregorian
 * calendar in 64 bits (no mktime/timegm: those depend on TZ and on the
 * range of time_t and normalise invalid dates instead of refusing them). */
#include "config.h"
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "imap_date.h"

/* Years the functions accept and produce (four digits in IMAP). */
#define IMAP_DATE_YEAR_MIN 1
#define IMAP_DATE_YEAR_MAX 9999
/* Days from 0001-01-01 to 1970-01-01. */
#define IMAP_DATE_EPOCH_DAYS 719162
/* Nested comments in an RFC 5322 date that are skipped (deeper ones make
 * the rest of the field one comment: the date has ended by then). */
#define IMAP_DATE_COMMENT_DEPTH_MAX 64

static const char imap_date_months[12][4] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

/* A cursor over the input. */
struct imap_date_in {
	const char *s;
	size_t len, pos;
};

/* The fields of a date before they become seconds. */
struct imap_date_fields {
	int64_t year;
	unsigned month;		/* 1..12 */
	unsigned day, hour, min, sec;
	int zone;		/* minutes east of UTC */
};

static bool imap_date_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned imap_date_month_days(int64_t y, unsigned m)
{
	static const unsigned char days[12] = { 31, 28, 31, 30, 31, 30,
						31, 31, 30, 31, 30, 31 };

	return days[m - 1] + (m == 2 && imap_date_leap(y));
}

/* Days from 1970-01-01 to y-m-d (y >= 1): the days of the whole years
 * before y (365 each plus the leap days among them), then of the months
 * before m. */
static int64_t imap_date_days(int64_t y, unsigned m, unsigned d)
{
	static const unsigned short before[12] = { 0, 31, 59, 90, 120, 151,
						   181, 212, 243, 273, 304,
						   334 };
	int64_t p = y - 1;
	int64_t days = p * 365 + p / 4 - p / 100 + p / 400;

	days += before[m - 1] + (m > 2 && imap_date_leap(y)) + d - 1;
	return days - IMAP_DATE_EPOCH_DAYS;
}

/* Checks the ranges and makes the seconds since the epoch (UTC). A leap
 * second (:60) counts as the first second of the next minute. */
static int imap_date_fields_time(const struct imap_date_fields *f,
				 int64_t *time_r)
{
	if (f->year < IMAP_DATE_YEAR_MIN || f->year > IMAP_DATE_YEAR_MAX ||
	    f->month < 1 || f->month > 12 || f->day < 1 ||
	    f->day > imap_date_month_days(f->year, f->month) ||
	    f->hour > 23 || f->min > 59 || f->sec > 60)
		return -1;
	*time_r = imap_date_days(f->year, f->month, f->day) * 86400 +
		  f->hour * 3600 + f->min * 60 + f->sec -
		  (int64_t)f->zone * 60;
	return 0;
}

static bool imap_date_more(const struct imap_date_in *in)
{
	return in->pos < in->len;
}

static char imap_date_peek(const struct imap_date_in *in)
{
	return in->pos < in->len ? in->s[in->pos] : '\0';
}

static bool imap_date_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool imap_date_is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Consumes c if it is next. */
static bool imap_date_skip(struct imap_date_in *in, char c)
{
	if (imap_date_peek(in) != c || !imap_date_more(in))
		return false;
	in->pos++;
	return true;
}

/* Reads min..max digits: their count, or 0 when fewer than min. */
static unsigned imap_date_number(struct imap_date_in *in, unsigned min,
				 unsigned max, unsigned *value_r)
{
	unsigned n = 0, v = 0;

	while (n < max && imap_date_more(in) &&
	       imap_date_is_digit(in->s[in->pos])) {
		v = v * 10 + (unsigned)(in->s[in->pos] - '0');
		in->pos++;
		n++;
	}
	if (n < min)
		return 0;
	*value_r = v;
	return n;
}

/* A month name: "Jan".."Dec" in any case; with full, any longer word
 * starting with them ("March", "Sept") is read too. 1..12, or 0. */
static unsigned imap_date_month(struct imap_date_in *in, bool full)
{
	size_t start = in->pos, n;

	while (imap_date_more(in) && imap_date_is_alpha(in->s[in->pos]))
		in->pos++;
	n = in->pos - start;
	if (n < 3 || (n > 3 && !full))
		return 0;
	for (unsigned m = 0; m < 12; m++)
		if (strncasecmp(in->s + start, imap_date_months[m], 3) == 0)
			return m + 1;
	return 0;
}

/* "+hhmm" / "-hhmm" into minutes east of UTC. 0 or -1. */
static int imap_date_zone_numeric(struct imap_date_in *in, unsigned max_hour,
				  int *zone_r)
{
	char sign = imap_date_peek(in);
	unsigned v;

	if ((sign != '+' && sign != '-') || !imap_date_more(in))
		return -1;
	in->pos++;
	if (imap_date_number(in, 4, 4, &v) != 4 || v % 100 > 59 ||
	    v / 100 > max_hour)
		return -1;
	*zone_r = (int)(v / 100 * 60 + v % 100) * (sign == '-' ? -1 : 1);
	return 0;
}

/* ---- IMAP date-time ---- */

int imap_date_time_parse(const char *s, size_t len, int64_t *time_r)
{
	struct imap_date_in in = { s, len, 0 };
	struct imap_date_fields f;
	unsigned year;

	memset(&f, 0, sizeof(f));
	/* date-day-fixed is (SP DIGIT) / 2DIGIT; a single digit alone is
	 * accepted as Dovecot does (clients that format "%d"). */
	if (imap_date_skip(&in, ' ')) {
		if (imap_date_number(&in, 1, 1, &f.day) == 0)
			return -1;
	} else if (imap_date_number(&in, 1, 2, &f.day) == 0) {
		return -1;
	}
	if (!imap_date_skip(&in, '-') ||
	    (f.month = imap_date_month(&in, false)) == 0 ||
	    !imap_date_skip(&in, '-') ||
	    imap_date_number(&in, 4, 4, &year) == 0 ||
	    !imap_date_skip(&in, ' ') ||
	    imap_date_number(&in, 2, 2, &f.hour) == 0 ||
	    !imap_date_skip(&in, ':') ||
	    imap_date_number(&in, 2, 2, &f.min) == 0 ||
	    !imap_date_skip(&in, ':') ||
	    imap_date_number(&in, 2, 2, &f.sec) == 0 ||
	    !imap_date_skip(&in, ' ') ||
	    imap_date_zone_numeric(&in, 23, &f.zone) < 0 ||
	    imap_date_more(&in))
		return -1;
	f.year = year;
	/* A leap second is not a valid INTERNALDATE value. */
	if (f.sec > 59)
		return -1;
	return imap_date_fields_time(&f, time_r);
}

/* Keeps t where its year has four digits in every time zone. */
static int64_t imap_date_clamp(int64_t t)
{
	const int64_t lo = imap_date_days(IMAP_DATE_YEAR_MIN, 1, 2) * 86400;
	const int64_t hi = imap_date_days(IMAP_DATE_YEAR_MAX, 12, 30) * 86400;

	return t < lo ? lo : t > hi ? hi : t;
}

void imap_date_time_format(int64_t t, char out[IMAP_DATE_TIME_LEN + 1])
{
	time_t when = (time_t)imap_date_clamp(t);
	struct tm tm;
	long off;

	if (localtime_r(&when, &tm) == NULL) {
		/* Cannot happen within the clamped range; stay well-formed. */
		when = 0;
		gmtime_r(&when, &tm);
		tm.tm_gmtoff = 0;
	}
	off = labs(tm.tm_gmtoff / 60);
	/* The "% 100"s cannot change real values; they let the compiler
	 * see that the 26 characters are never exceeded. */
	snprintf(out, IMAP_DATE_TIME_LEN + 1,
		 "%02u-%s-%04u %02u:%02u:%02u %c%02u%02u",
		 (unsigned)tm.tm_mday % 100, imap_date_months[tm.tm_mon % 12],
		 (unsigned)(tm.tm_year + 1900) % 10000,
		 (unsigned)tm.tm_hour % 100, (unsigned)tm.tm_min % 100,
		 (unsigned)tm.tm_sec % 100, tm.tm_gmtoff < 0 ? '-' : '+',
		 (unsigned)(off / 60) % 100, (unsigned)(off % 60));
}

/* ---- RFC 5322 ---- */

/* Skips white space (folding included) and comments, nested or not. An
 * unterminated comment runs to the end. */
static void imap_date_cfws(struct imap_date_in *in)
{
	unsigned depth = 0;

	while (imap_date_more(in)) {
		char c = in->s[in->pos];

		if (c == '(') {
			depth++;
		} else if (depth > 0 && c == ')') {
			depth--;
		} else if (depth > 0 && c == '\\') {
			in->pos++;	/* quoted-pair: skips the next octet */
		} else if (depth == 0 && c != ' ' && c != '\t' &&
			   c != '\r' && c != '\n') {
			return;
		}
		if (depth > IMAP_DATE_COMMENT_DEPTH_MAX) {
			in->pos = in->len;
			return;
		}
		if (imap_date_more(in))
			in->pos++;
	}
}

/* Between day, month and year: white space, or '-' as some old mailers
 * wrote ("3-Mar-2020"). */
static void imap_date_separator(struct imap_date_in *in)
{
	imap_date_cfws(in);
	if (imap_date_skip(in, '-'))
		imap_date_cfws(in);
}

/* Zone names of RFC 5322 4.3 (obs-zone). Military letters are unreliable
 * (the RFC says to read them as -0000), as are unknown names: 0. */
static int imap_date_zone_name(const char *s, size_t n)
{
	static const struct {
		const char *name;
		int minutes;
	} names[] = {
		{ "UT", 0 }, { "GMT", 0 }, { "UTC", 0 },
		{ "EST", -300 }, { "EDT", -240 }, { "CST", -360 },
		{ "CDT", -300 }, { "MST", -420 }, { "MDT", -360 },
		{ "PST", -480 }, { "PDT", -420 },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i].name) == n &&
		    strncasecmp(s, names[i].name, n) == 0)
			return names[i].minutes;
	return 0;
}

/* The zone after the time; missing or unreadable: 0 (UTC). */
static int imap_date_zone(struct imap_date_in *in)
{
	size_t start;
	int zone;

	imap_date_cfws(in);
	if (imap_date_zone_numeric(in, 99, &zone) == 0)
		return zone;
	start = in->pos;
	while (imap_date_more(in) && imap_date_is_alpha(in->s[in->pos]))
		in->pos++;
	return imap_date_zone_name(in->s + start, in->pos - start);
}

/* hh:mm[:ss] (one-digit hours accepted, as some mailers send them). */
static int imap_date_clock(struct imap_date_in *in,
			   struct imap_date_fields *f)
{
	if (imap_date_number(in, 1, 2, &f->hour) == 0)
		return -1;
	imap_date_cfws(in);
	if (!imap_date_skip(in, ':'))
		return -1;
	imap_date_cfws(in);
	if (imap_date_number(in, 2, 2, &f->min) == 0)
		return -1;
	imap_date_cfws(in);
	if (imap_date_skip(in, ':')) {
		imap_date_cfws(in);
		if (imap_date_number(in, 2, 2, &f->sec) == 0)
			return -1;
	}
	return 0;
}

/* [day-name ","] day month year: the date part. */
static int imap_date_rfc5322_day(struct imap_date_in *in,
				 struct imap_date_fields *f)
{
	unsigned year, digits;

	imap_date_cfws(in);
	if (imap_date_is_alpha(imap_date_peek(in))) {
		/* The day name is not checked against the date (RFC 5322
		 * leaves a mismatch to the reader; mailers get it wrong). */
		while (imap_date_more(in) && imap_date_is_alpha(in->s[in->pos]))
			in->pos++;
		imap_date_cfws(in);
		(void)imap_date_skip(in, ',');
		imap_date_cfws(in);
	}
	if (imap_date_number(in, 1, 2, &f->day) == 0)
		return -1;
	imap_date_separator(in);
	if ((f->month = imap_date_month(in, true)) == 0)
		return -1;
	imap_date_separator(in);
	digits = imap_date_number(in, 2, 4, &year);
	if (digits == 0 || imap_date_is_digit(imap_date_peek(in)))
		return -1;
	/* obs-year: two digits are 1950..2049, three are 1900 + n. */
	if (digits == 2)
		year += year < 50 ? 2000 : 1900;
	else if (digits == 3)
		year += 1900;
	f->year = year;
	return 0;
}

int imap_date_rfc5322_parse(const char *s, size_t len, int64_t *time_r,
			    int *zone_minutes_r)
{
	struct imap_date_in in = { s, len, 0 };
	struct imap_date_fields f;

	memset(&f, 0, sizeof(f));
	if (imap_date_rfc5322_day(&in, &f) < 0)
		return -1;
	imap_date_cfws(&in);
	/* A date without a time (seen in the wild) is midnight UTC. */
	if (imap_date_more(&in)) {
		if (imap_date_clock(&in, &f) < 0)
			return -1;
		f.zone = imap_date_zone(&in);
	}
	if (imap_date_fields_time(&f, time_r) < 0)
		return -1;
	*zone_minutes_r = f.zone;
	return 0;
}
