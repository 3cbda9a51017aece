/* header_rcpt: the header side of local submission (sendmail -t, pickup):
 * which lines belong to the header section, the recipients that To:, Cc:
 * and Bcc: name, and the header section without its Bcc: fields.
 *
 * Recipients: as Postfix's cleanup, when the section has any Resent-To:,
 * Resent-Cc: or Resent-Bcc: field, only those count (a resent message
 * goes to its new recipients, RFC 5322 3.6.6); otherwise To:, Cc:, Bcc:.
 * Bcc: and Resent-Bcc: are always removed (RFC 5322 3.6.3: blind copies
 * must not show). Field names are matched case-insensitively.
 *
 * Address lists (RFC 5322 3.4): comments are dropped, display names
 * dropped, "<addr>" taken from inside the brackets (a source route
 * before ":" is dropped), groups "name: a, b;" give their members, "<>"
 * and empty elements are skipped. An address is returned as written
 * (quoted local parts keep their quotes); one without "@" is the
 * caller's to qualify. Bounded: an address over ADDR_PATH_MAX octets or
 * with a control character is an error; the caller bounds the count
 * through its callback. No I/O, no logging. */
#ifndef SUREL_HEADER_RCPT_H
#define SUREL_HEADER_RCPT_H
#include <stdbool.h>
#include <stddef.h>
#include "buf.h"

/* Called once per address (NUL-terminated, valid during the call).
 * Returns 0, or -1 to stop (header_rcpt_* then return -1 with the error
 * the callback put in *error_r). */
typedef int header_rcpt_fn(void *ctx, const char *address,
			   const char **error_r);

/* The same with where the address is written in the value: value[offset,
 * offset + len) holds exactly the address passed (comments, brackets
 * and white space around it excluded). */
typedef int header_rcpt_at_fn(void *ctx, const char *address, size_t offset,
			      size_t len, const char **error_r);

/* Is line[0..len) (without its LF) the first line of a header field:
 * one or more printable non-space characters other than ":", then
 * optional spaces/tabs, then ":"? */
bool header_rcpt_is_field(const char *line, size_t len);

/* Calls fn for every address of one address-list field value (folded or
 * not). 0, or -1 with *error_r (static text, or the callback's). */
int header_rcpt_list(const char *value, size_t len, header_rcpt_fn *fn,
		     void *ctx, const char **error_r)
	__attribute__((warn_unused_result));

/* header_rcpt_list with positions (header_qualify.c rewrites in place). */
int header_rcpt_list_at(const char *value, size_t len, header_rcpt_at_fn *fn,
			void *ctx, const char **error_r)
	__attribute__((warn_unused_result));

/* hdr[0..len): a whole header section, LF line ends (a last line without
 * LF is allowed), without the empty line that ends it; every line is a
 * field start (header_rcpt_is_field) or a continuation (starts with SP or
 * TAB). Appends the section without its Bcc:/Resent-Bcc: fields to out
 * (when not NULL), and calls fn (when not NULL) for every recipient as
 * described above. 0, or -1 with *error_r (out full, a bad address, the
 * callback's error). */
int header_rcpt_extract(const char *hdr, size_t len, struct buf *out,
			header_rcpt_fn *fn, void *ctx, const char **error_r)
	__attribute__((warn_unused_result));

#endif
