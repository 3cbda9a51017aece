/* authres: the Authentication-Results header field (RFC 8601): composing
 * ours from the results of the checks, and finding, in a message's header
 * section, the fields that claim to be ours, to be removed (RFC 8601 5:
 * one forged from outside must not survive; others' fields are left).
 *
 * The composed field names the authentication service (authserv-id: our
 * myhostname), then one resinfo per method, each on its own line:
 *
 *   Authentication-Results: mx.example.org;
 *   	spf=pass smtp.mailfrom=example.com;
 *   	dkim=pass header.d=example.com header.s=sel header.b=abcdefgh;
 *   	dkim=fail (body hash did not verify) header.d=example.net ...;
 *   	dmarc=fail (p=reject dis=none) header.from=example.net
 *
 * spf is present when it was checked, dkim when it was ("dkim=none": no
 * signature); nothing checked at all is "Authentication-Results: id;
 * none". A value that is not an RFC 2045 token is written as a
 * quoted-string, a reason as a comment. */
#ifndef SUREL_AUTHRES_H
#define SUREL_AUTHRES_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "buf.h"

#define AUTHRES_DKIM_MAX 5		/* dkim results in one field */
#define AUTHRES_DOMAIN_MAX 253
#define AUTHRES_REASON_MAX 96
/* The octets of a field read to find its authserv-id: one that does not
 * show in them is taken as unreadable. */
#define AUTHRES_SCAN_PREFIX 1024
/* Fields removed from one message at most: a bound on the list's memory
 * (16 octets a field). A message with more sets overflow: the caller
 * refuses it rather than deliver a forged field. */
#define AUTHRES_REMOVE_MAX 50000

/* RFC 8601 2.7's result words (policy: 2.7.1). */
enum authres_result {
	AUTHRES_NONE = 0,
	AUTHRES_PASS,
	AUTHRES_FAIL,
	AUTHRES_NEUTRAL,
	AUTHRES_SOFTFAIL,
	AUTHRES_TEMPERROR,
	AUTHRES_PERMERROR,
	AUTHRES_POLICY,
};

struct authres_dkim {
	enum authres_result result;
	char reason[AUTHRES_REASON_MAX];	/* "" for none */
	char domain[AUTHRES_DOMAIN_MAX + 1];	/* header.d, "" to omit */
	char selector[64];			/* header.s, "" to omit */
	char b[9];				/* header.b, "" to omit */
};

struct authres {
	struct {
		bool checked;
		enum authres_result result;
		/* smtp.mailfrom, or smtp.helo when helo; "" to omit */
		char domain[AUTHRES_DOMAIN_MAX + 1];
		bool helo;
	} spf;
	bool dkim_checked;
	size_t dkim_count;		/* 0 with dkim_checked: dkim=none */
	struct authres_dkim dkim[AUTHRES_DKIM_MAX];
	struct {			/* for DMARC (RFC 7489 11.2) */
		bool checked;
		enum authres_result result;
		char domain[AUTHRES_DOMAIN_MAX + 1];	/* header.from */
		/* The comment: "p=POLICY dis=DISPOSITION" when policy is
		 * not "", else reason ("" for none). */
		char policy[16];
		char disposition[16];
		char reason[AUTHRES_REASON_MAX];
	} dmarc;
};

/* "pass", "fail", ...; parse: the word (case-insensitive) or -1. */
const char *authres_result_name(enum authres_result result);
int authres_result_parse(const char *word, enum authres_result *result_r)
	__attribute__((warn_unused_result));

/* Appends the whole field, "Authentication-Results: ...", folded with LF
 * and a tab, ending in LF, to out. -1 with *error_r (static) when
 * authserv_id is empty or holds a control character, a value holds one,
 * or out is full. */
int authres_compose(const char *authserv_id, const struct authres *r,
		    struct buf *out, const char **error_r)
	__attribute__((warn_unused_result));

/* The authserv-id of a field's value (what follows the colon; len octets,
 * folded lines allowed, comments skipped), unquoted, into id_r (size
 * octets with the NUL). 0, or -1 when the value does not start with an
 * authserv-id followed by an optional version and ";" (malformed, cut
 * short, or too long for id_r). */
int authres_authserv_id(const char *value, size_t len, char *id_r,
			size_t size) __attribute__((warn_unused_result));

/* Whether a header field (its name, colon and value; len octets) is an
 * Authentication-Results field to remove: its authserv-id is ours
 * (compared case-insensitively: a host name), or cannot be read (a
 * malformed field naming nobody clearly is not left to readers to
 * interpret). Other fields: false. */
bool authres_field_is_ours(const char *field, size_t len,
			   const char *authserv_id);

/* The content's octets to leave out: the fields that are ours, found while
 * the content is fed in pieces (only the header section is looked at; the
 * LF line endings of the queue). */
struct authres_range {
	uint64_t offset;	/* from the start of the content */
	uint64_t len;		/* the whole field with its line ends */
};

struct authres_scan {
	const char *authserv_id;
	uint64_t offset;	/* octets fed so far */
	bool in_headers;
	bool line_start;
	bool in_field;
	uint64_t field_start;
	char prefix[AUTHRES_SCAN_PREFIX];
	size_t prefix_len;
	struct authres_range *ranges;	/* in content order */
	size_t count;
	bool overflow;		/* more than AUTHRES_REMOVE_MAX to remove */
};

/* authserv_id must stay valid while the scan is used. */
void authres_scan_init(struct authres_scan *scan, const char *authserv_id);
void authres_scan_feed(struct authres_scan *scan, const char *data,
		       size_t len);
/* The end of the content (a header section without a body ends there). */
void authres_scan_end(struct authres_scan *scan);
/* Whether the header section is over (more feeding changes nothing). */
bool authres_scan_headers_done(const struct authres_scan *scan);
void authres_scan_deinit(struct authres_scan *scan);

#endif
