/* tls_policy: the parser of one smtp_tls_policy_maps value (Postfix's
 * syntax), and the names of the SMTP client's TLS security levels
 * (smtp_tls_security_level uses the same words).
 *
 * A value is a level word, then zero or more name=value attributes,
 * separated by white space and/or commas:
 *
 *   secure match=nexthop:dot-nexthop:mx.example.com protocols=>=TLSv1.3
 *
 * Levels, in increasing security: none, may, encrypt, dane, dane-only,
 * fingerprint, verify, secure (case-insensitive). Attributes (names
 * case-insensitive; a list inside a value is ":" separated, since a value
 * never holds white space or commas):
 *   match=       fingerprint, verify, secure. Names or the strategies
 *                "hostname", "nexthop", "dot-nexthop"; a name may start
 *                with "." (any subdomain). At fingerprint the separator is
 *                "|" (fingerprints hold ":"), each a hex digest with
 *                optional ":" between octets. May be repeated: the lists
 *                are joined.
 *   protocols=   every level but none: Postfix's protocol list, e.g.
 *                ">=TLSv1.2" or "!SSLv3:!TLSv1"; names are checked here,
 *                the set (TLS 1.2 is the floor) by lib/tls_client.
 *   ciphers=     every level but none: a grade: export, low, medium,
 *                high, null.
 *   exclude=     every level but none: OpenSSL cipher names or
 *                attributes to exclude, ":" separated.
 *   tafile=      verify, secure: a trust anchor file (absolute path);
 *                may be repeated.
 *   connection_reuse=  every level but none: yes or no.
 *   servername=  every level but none: the SNI name ("hostname" or a
 *                DNS name).
 * Anything else, a repeated single-valued attribute, an attribute at a
 * level that does not take it, an empty value, or a bad name is an error.
 *
 * Not supported yet: dane, dane-only and fingerprint parse (so that a
 * table written for Postfix loads) but set supported = false. The caller
 * must then defer the mail (4.7.5), never fall back to a weaker level:
 * a site that asked for DANE or a pinned certificate would otherwise be
 * reached with less than it asked for. */
#ifndef SUREL_TLS_POLICY_H
#define SUREL_TLS_POLICY_H
#include <stdbool.h>
#include <stddef.h>

/* Ordered: a greater value is a stricter level. */
enum tls_policy_level {
	TLS_POLICY_NONE,
	TLS_POLICY_MAY,
	TLS_POLICY_ENCRYPT,
	TLS_POLICY_DANE,
	TLS_POLICY_DANE_ONLY,
	TLS_POLICY_FINGERPRINT,
	TLS_POLICY_VERIFY,
	TLS_POLICY_SECURE,
};

/* Bounds on a value: longer input or more names is an error. */
#define TLS_POLICY_VALUE_MAX 4096
#define TLS_POLICY_NAMES_MAX 32		/* match names, tafiles (each) */
#define TLS_POLICY_NAME_MAX 253		/* one match name or fingerprint */

/* A parsed value. Every pointer is owned by the struct (free it with
 * tls_policy_deinit); NULL / 0 / -1 means "not given: use main.cf's". */
struct tls_policy {
	enum tls_policy_level level;
	bool supported;		/* false: dane, dane-only, fingerprint */
	char **match;		/* names, strategies or fingerprints */
	size_t match_count;
	char *protocols;	/* as given, ":" separated */
	char *ciphers;		/* the grade, lower case */
	char *exclude;		/* as given, ":" separated */
	char **tafile;
	size_t tafile_count;
	int connection_reuse;	/* -1 not given, 0 no, 1 yes */
	char *servername;
};

/* Parses value (NUL-terminated, at most TLS_POLICY_VALUE_MAX octets).
 * Returns 0 with *policy_r filled, or -1 with *error_r (static, names the
 * offending word) and *policy_r empty (safe to deinit). */
int tls_policy_parse(const char *value, struct tls_policy *policy_r,
		     const char **error_r) __attribute__((warn_unused_result));
void tls_policy_deinit(struct tls_policy *policy);

/* "none" ... "secure". */
const char *tls_policy_level_name(enum tls_policy_level level);
/* Parses one level word (case-insensitive). 0, or -1 when unknown. */
int tls_policy_level_parse(const char *word, enum tls_policy_level *level_r)
	__attribute__((warn_unused_result));
/* True for the levels lib/tls_client implements. */
bool tls_policy_level_supported(enum tls_policy_level level);

#endif
