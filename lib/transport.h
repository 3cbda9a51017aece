/* transport: one transport table entry (transport(5) syntax, the values of
 * transport_maps and, through transport_parse_nexthop(), relayhost), and
 * the order of the keys a recipient is looked up under. Pure: no I/O, no
 * map access (the caller looks the keys up with lib/maps).
 *
 * Entry = [transport] [":" nexthop]. transport is one of (case-sensitive,
 * as master.cf service names are):
 *   smtp, relay  the SMTP client (relay is its second service, as in
 *                Postfix); nexthop:
 *                  ""                 the recipient's domain, MX lookup
 *                  domain             MX lookup
 *                  domain:port        MX lookup, that port
 *                  [host]             no MX lookup (A/AAAA only)
 *                  [host]:port        no MX lookup, that port
 *                  [192.0.2.1] [IPv6:2001:db8::1] [2001:db8::1], with :port
 *                An IP address must be in brackets (transport(5) says the
 *                [] form is required). Ports are numbers 1-65535: service
 *                names are refused (no /etc/services lookups in a library
 *                that must give the same answer everywhere). Postfix 3.5's
 *                lists of next-hops ("a, b") are not supported.
 *   lmtp         as smtp but never an MX lookup; also "inet:host[:port]"
 *                and "unix:/absolute/path".
 *   local        nexthop: "" or a domain (informational, as in Postfix).
 *   error        bounce: nexthop = [SMTP-code SP] [X.Y.Z SP] text; the
 *                class must be 5; defaults 550 and 5.0.0.
 *   retry        defer: as error with class 4; defaults 450 and 4.0.0.
 *   discard      nexthop: optional text.
 * Anything else is "unknown transport". A transport without ":" means an
 * empty nexthop ("smtp" = "smtp:"). An empty transport (":nexthop", ":")
 * is TRANSPORT_KEEP: keep the transport the recipient would have without
 * the table (and its nexthop too when the nexthop is also empty), as
 * transport(5) defines. An empty value is an error.
 *
 * Host names: ASCII letter-digit-hyphen labels, checked as lib/addr checks
 * a mail domain (labels <= 63, whole <= 255, no leading/trailing hyphen,
 * no empty label); stored lower-cased. U-labels are refused: a DNS lookup
 * needs the A-label (xn--...) and we carry no IDNA converter; the operator
 * writes the A-label. */
#ifndef SUREL_TRANSPORT_H
#define SUREL_TRANSPORT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "addr.h"
#include "buf.h"

#define TRANSPORT_NAME_MAX 8		/* "discard" */
#define TRANSPORT_TEXT_MAX 512		/* error/retry/discard text */
#define TRANSPORT_PATH_MAX 107		/* sun_path less its NUL */
#define TRANSPORT_STATUS_SIZE 10	/* "X.YYY.ZZZ" and NUL */

enum transport_type {
	TRANSPORT_KEEP = 0,	/* empty transport: keep the default */
	TRANSPORT_SMTP,		/* smtp and relay */
	TRANSPORT_LMTP,
	TRANSPORT_LOCAL,
	TRANSPORT_ERROR,
	TRANSPORT_RETRY,
	TRANSPORT_DISCARD
};

enum transport_host {
	TRANSPORT_HOST_NONE = 0,	/* empty: the recipient's domain (or,
					 * with TRANSPORT_KEEP, the default) */
	TRANSPORT_HOST_DOMAIN,
	TRANSPORT_HOST_IPV4,
	TRANSPORT_HOST_IPV6,
	TRANSPORT_HOST_UNIX		/* lmtp unix:/path */
};

struct transport_nexthop {
	enum transport_host kind;
	/* The domain (lower-cased), the address in inet_ntop()'s form
	 * ("2001:db8::1", no brackets, no "IPv6:") or the socket path;
	 * "" for NONE. */
	char host[ADDR_DOMAIN_MAX + 1];
	bool mx;	/* look up MX records: smtp, unbracketed, domain or
			 * NONE */
	uint16_t port;	/* 0: the transport's default (25, lmtp 24) */
};

struct transport_entry {
	enum transport_type type;
	char name[TRANSPORT_NAME_MAX + 1];	/* as given, "" for KEEP */
	/* KEEP, SMTP, LMTP, LOCAL. */
	struct transport_nexthop nexthop;
	/* ERROR, RETRY: the reply code and enhanced code to report. */
	unsigned code;
	char status[TRANSPORT_STATUS_SIZE];
	/* ERROR, RETRY, DISCARD: the text, "" when none. Printable ASCII,
	 * TAB or valid UTF-8: safe for a log line and a bounce. */
	char text[TRANSPORT_TEXT_MAX + 1];
};

/* Parses a whole entry (NUL-terminated). Returns 0, or -1 with *error_r
 * (static or in a static buffer, valid until the next call) naming what
 * is wrong, e.g. "unknown transport \"uucp\"" or "bad port \"0\"". */
int transport_parse(const char *value, struct transport_entry *entry_r,
		    const char **error_r) __attribute__((warn_unused_result));

/* Parses a nexthop alone for type SMTP, LMTP or LOCAL (relayhost is
 * transport_parse_nexthop(TRANSPORT_SMTP, ...)). Same rules, same
 * returns. */
int transport_parse_nexthop(enum transport_type type, const char *s,
			    struct transport_nexthop *nexthop_r,
			    const char **error_r)
	__attribute__((warn_unused_result));

/* Keys of a recipient, in the order transport(5) searches them. */
#define TRANSPORT_KEYS_MAX 132	/* address, base, domain, 128 parents, * */

/* Flag: parent_domain_matches_subdomains lists transport_maps, so a
 * parent is looked up by its bare name ("example.com" matches its
 * subdomains). Without it (Postfix's default), a parent is looked up as
 * ".example.com" and a bare domain matches only itself. */
#define TRANSPORT_KEYS_PARENT_BARE 0x1

struct transport_keys {
	size_t count;
	const char *keys[TRANSPORT_KEYS_MAX];
	struct buf storage;	/* owns the key strings */
};

/* The keys for address ("user+ext@sub.example.com"), lower-cased as
 * Postfix folds case for these lookups:
 *   user+ext@sub.example.com   the whole address
 *   user@sub.example.com       without the extension, when delimiters
 *                              (recipient_delimiter's characters; NULL or
 *                              "" for none) splits the local part at its
 *                              first delimiter into a non-empty base
 *   sub.example.com            the domain
 *   .example.com  .com         the parents (bare with _PARENT_BARE)
 *   *                          the wild card
 * An address without "@" gives itself and "*". An empty address, an empty
 * domain, or one longer than ADDR_PATH_MAX is refused (-1, *error_r
 * static). On success keys_r must be released with
 * transport_keys_deinit(). */
int transport_keys_make(const char *address, const char *delimiters,
			unsigned flags, struct transport_keys *keys_r,
			const char **error_r)
	__attribute__((warn_unused_result));
void transport_keys_deinit(struct transport_keys *keys);

#endif
