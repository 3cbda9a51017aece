/* imap_date: IMAP date-time values (RFC 3501 / RFC 9051 date-time,
 * "dd-Mon-yyyy hh:mm:ss +zzzz", the day possibly with a leading space) for
 * APPEND and INTERNALDATE, and RFC 5322 Date: fields for SEARCH SENT*,
 * SORT DATE. Pure. */
#ifndef SUREL_IMAP_DATE_H
#define SUREL_IMAP_DATE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Buffer size for "dd-Mon-yyyy hh:mm:ss +zzzz" (26 characters) + NUL. */
#define IMAP_DATE_TIME_LEN 27

/* Parses an IMAP date-time (s[0..len), without quotes) into seconds since
 * the epoch (UTC). Strict (month names in any case, the day as " d", "dd"
 * or, as Dovecot accepts, "d", valid for the month; year 0001..9999;
 * hours 0..23, seconds 0..59; zone "+hhmm"/"-hhmm" with hh <= 23 and
 * mm < 60; nothing after it). 0, or -1. */
int imap_date_time_parse(const char *s, size_t len, int64_t *time_r)
	__attribute__((warn_unused_result));
/* Formats t as an IMAP date-time in the local time zone (with its
 * offset), as INTERNALDATE is sent ("dd" with a leading zero): out gets
 * 26 characters and a NUL. Times beyond the years 0001..9999 are clamped
 * into them. */
void imap_date_time_format(int64_t t, char out[IMAP_DATE_TIME_LEN + 1]);

/* Parses an RFC 5322 date-time (a Date: field's value, folded or not;
 * obsolete forms read leniently: missing day name or seconds, full month
 * names, '-' between day, month and year, two- and three-digit years
 * (obs-year), zone names UT/GMT/EST..PDT, comments anywhere; military or
 * unknown zone names and a missing zone are +0000; a missing time is
 * 00:00:00; what follows the zone is ignored) into seconds since the
 * epoch and the zone offset in minutes east of UTC. The date must be
 * valid (31 Feb is not). 0, or -1 when no date can be read. */
int imap_date_rfc5322_parse(const char *s, size_t len, int64_t *time_r,
			    int *zone_minutes_r)
	__attribute__((warn_unused_result));

#endif
