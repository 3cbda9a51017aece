/* addr: RFC 5321 paths and mailboxes (RFC 6531 with UTF-8 when allowed).
 *
 * A path is "<" [source-route ":"] mailbox ">", or "<>" (the null sender).
 * A mailbox is local-part "@" domain: the local part a dot-string or a
 * quoted string (at most ADDR_LOCAL_MAX octets), the domain a dotted name
 * of letter-digit-hyphen labels (each at most 63 octets, the whole at most
 * ADDR_DOMAIN_MAX) or an address literal [IPv4] / [IPv6:...]. The whole
 * path, brackets and source route included, is at most ADDR_PATH_MAX
 * octets. A source route (<@a,@b:user@domain>) is accepted and dropped as
 * RFC 5321 section 4.1.1.3 requires.
 *
 * The result is the mailbox in one canonical form: the local part as sent
 * (a quoted local part that is a valid dot-string unquoted is unquoted),
 * "@", the domain lower-cased (ASCII letters only; U-labels are kept as
 * sent). It never holds a control character, TAB, or invalid UTF-8, so it
 * is safe for a queue file field, a map key and a log line. */
#ifndef SUREL_ADDR_H
#define SUREL_ADDR_H
#include <stdbool.h>
#include <stddef.h>

#define ADDR_LOCAL_MAX 64
#define ADDR_DOMAIN_MAX 255
#define ADDR_PATH_MAX 256

/* Non-ASCII (valid UTF-8) allowed in the local part and domain: only in a
 * transaction whose MAIL command carried SMTPUTF8. */
#define ADDR_FLAG_UTF8 0x1
/* "<>" is allowed (MAIL FROM). */
#define ADDR_FLAG_NULL_OK 0x2
/* "<postmaster>" without a domain is allowed (RCPT TO, RFC 5321 4.5.1);
 * the result is then "postmaster" (as sent) with no "@". */
#define ADDR_FLAG_POSTMASTER 0x4

struct addr {
	/* The canonical mailbox, "" for the null sender. */
	char address[ADDR_PATH_MAX + 1];
	size_t local_len;	/* octets before the "@" (all, without one) */
	bool utf8;		/* holds non-ASCII octets */
};

/* Parses the path at the start of s (len octets, need not be
 * NUL-terminated). *used_r gets the octets taken, through the ">"; the
 * caller checks what follows. Returns 0, or -1 with *error_r (static text
 * for a log, e.g. "local part too long"). */
int addr_parse_path(const char *s, size_t len, unsigned flags,
		    struct addr *addr_r, size_t *used_r, const char **error_r)
	__attribute__((warn_unused_result));
/* Parses a whole bare mailbox "local@domain" (no brackets, no route), e.g.
 * an alias expansion result. Same limits and canonical form. */
int addr_parse_mailbox(const char *s, size_t len, unsigned flags,
		       struct addr *addr_r, const char **error_r)
	__attribute__((warn_unused_result));
/* Checks that all of s (len octets) is a domain or an address literal,
 * with the same rules as the domain of a mailbox (an EHLO argument).
 * Returns 0 or -1 (*error_r static). */
int addr_check_domain(const char *s, size_t len, unsigned flags,
		      const char **error_r) __attribute__((warn_unused_result));
/* The domain part of a canonical address (after its last "@"), or "" when
 * there is none. */
const char *addr_domain(const char *address);
/* True if s (len octets) is valid UTF-8: shortest forms only, no
 * surrogates, nothing past U+10FFFF. */
bool addr_utf8_valid(const char *s, size_t len);
/* In the value of an RFC 5322 address header field (From:), turns every
 * comment, nested ones and quoted-pairs in them included, into spaces;
 * quoted strings are kept. In place, same length. */
void addr_drop_comments(char *s);

#endif
