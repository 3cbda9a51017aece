/* tls_client: the client side of TLS for the outbound SMTP client
 * (STARTTLS), with Postfix's smtp_tls_* semantics, put underneath a
 * struct stream exactly like lib/tls's server side: after
 * tls_client_start the stream reads and writes through TLS, and
 * tls_conn_free (tls.h) ends it.
 *
 * The context is built once per process from a struct of settings that
 * the daemon fills from main.cf (this module reads no configuration):
 * the CA store is smtp_tls_CAfile and/or smtp_tls_CApath when either is
 * given, else OpenSSL's system default paths (Debian: /etc/ssl/certs);
 * TLS 1.2 is the floor whatever the protocol settings say.
 *
 * Levels (enum tls_policy_level, tls_policy.h):
 *   may      encrypt; certificate problems never fail. Trust is reported
 *            (Anonymous: no certificate, Untrusted: the chain does not
 *            verify, Trusted: it does); names are not checked, so never
 *            Verified (as Postfix logs it).
 *   encrypt  must encrypt; the certificate is not checked (as may).
 *   verify   the chain must verify AND a name must match: the match list,
 *            by default "hostname" (the server's name as found in DNS).
 *   secure   as verify, by default against "nexthop" and "dot-nexthop";
 *            the "hostname" strategy counts only when host_is_secure
 *            (the name did not come from an insecure MX lookup).
 *   none, dane, dane-only, fingerprint: not handled here (-1, abort).
 * Name matching (RFC 6125) is OpenSSL's X509_check_host with
 * X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS and no multi-label wildcards: DNS
 * subjectAltNames, a "*" only as the whole leftmost label matching one
 * label, the subject CN only when there is no DNS subjectAltName,
 * case-insensitive. A match name ".example.com" matches any subdomain of
 * example.com (Postfix's dot-nexthop).
 *
 * Cipher grades (smtp_tls_ciphers, the policy's ciphers=): high and
 * medium as in OpenSSL; low and export are taken as medium (OpenSSL 3 no
 * longer has weaker suites to offer); null (no encryption at all) is
 * refused with an error. Anonymous (aNULL) suites are never offered:
 * OpenSSL 3 would need security level 0 for them, which would also admit
 * weak keys; so Anonymous trust is seen only with a server that sends no
 * certificate. Exclusions (white space, comma or colon separated) are
 * appended as "!name". The TLS 1.3 suites are OpenSSL's defaults. */
#ifndef SUREL_TLS_CLIENT_H
#define SUREL_TLS_CLIENT_H
#include <stdbool.h>
#include <stddef.h>
#include "stream.h"
#include "tls.h"
#include "tls_policy.h"

struct tls_client;

/* main.cf's smtp_tls_* values; NULL or "" means the default in (). */
struct tls_client_settings {
	const char *ca_file;		/* smtp_tls_CAfile () */
	const char *ca_path;		/* smtp_tls_CApath () */
	const char *cert_file;		/* smtp_tls_cert_file (): none sent */
	const char *key_file;		/* smtp_tls_key_file ($cert_file) */
	const char *protocols;		/* smtp_tls_protocols (>=TLSv1.2):
					 * may */
	const char *mandatory_protocols; /* smtp_tls_mandatory_protocols
					  * (>=TLSv1.2): encrypt and above */
	const char *ciphers;		/* smtp_tls_ciphers (medium): may */
	const char *mandatory_ciphers;	/* smtp_tls_mandatory_ciphers
					 * (medium): encrypt and above */
	const char *exclude_ciphers;	/* smtp_tls_exclude_ciphers (): all */
	const char *mandatory_exclude_ciphers; /* (): encrypt and above */
};

/* Builds the context. 0 with *tc_r, or -1 with *error_r (static; names
 * the setting) when a file cannot be read, the key does not match the
 * certificate, or a protocol or cipher setting is invalid. */
int tls_client_new(const struct tls_client_settings *settings,
		   struct tls_client **tc_r, const char **error_r)
	__attribute__((warn_unused_result));
void tls_client_free(struct tls_client **tc);

/* One connection's parameters: the level and what the policy table
 * changes. Strings are only read during tls_client_start. */
struct tls_client_params {
	enum tls_policy_level level;
	const char *host;	/* the server's name (MX host, or the host of
				 * [host] / relayhost): SNI, "hostname" */
	const char *addr;	/* its address, for the log: "192.0.2.1" */
	unsigned port;		/* for the log */
	const char *nexthop;	/* the next-hop domain, no brackets or port:
				 * "nexthop", "dot-nexthop" */
	bool host_is_secure;	/* host not from an insecure MX lookup */
	const char *const *match; /* names and strategies (tls_policy.h); */
	size_t match_count;	/* 0: the level's default (see above) */
	const char *servername;	/* SNI: NULL or "hostname": host, unless an
				 * IP literal (then none) */
	const char *protocols;	/* NULL: the settings' for the level */
	const char *ciphers;	/* NULL: the settings' for the level */
	const char *exclude;	/* NULL: the settings'. At may it replaces
				 * smtp_tls_exclude_ciphers; above, it
				 * replaces smtp_tls_mandatory_exclude_ciphers
				 * and smtp_tls_exclude_ciphers still
				 * applies (Postfix) */
};

enum tls_client_trust {
	TLS_CLIENT_ANONYMOUS,	/* no server certificate */
	TLS_CLIENT_UNTRUSTED,	/* the chain does not verify */
	TLS_CLIENT_TRUSTED,	/* the chain verifies (no name checked, or
				 * none matched) */
	TLS_CLIENT_VERIFIED,	/* chain and name (verify, secure) */
};

/* What happened, for the caller's decisions and its one log line. Owned
 * by the caller; strings are heap copies freed by
 * tls_client_result_deinit. Untrusted text (the certificate's names) is
 * made printable ASCII and cut at 256 characters ("..." marks a cut). */
struct tls_client_result {
	bool encrypted;		/* the handshake completed */
	bool abort;		/* at this level the delivery must not go on
				 * over this connection (defer it); false at
				 * may (retry in plaintext on failure) */
	enum tls_client_trust trust;
	char *protocol;		/* "TLSv1.3"; NULL before a handshake */
	char *cipher;		/* "TLS_AES_256_GCM_SHA384" */
	int bits, alg_bits;	/* 256, 256 */
	char *peer_cn;		/* subject CN of the server's certificate */
	char *issuer_cn;	/* its issuer's CN (O when no CN) */
	char *matched;		/* the name that matched (verify, secure) */
	char *reason;		/* why not Verified/Trusted or why it failed:
				 * "certificate has expired", "server
				 * certificate name mismatch: ..." */
	char *log;		/* "Verified TLS connection established to
				 * mx.example.com[192.0.2.1]:25: TLSv1.3
				 * with cipher TLS_AES_256_GCM_SHA384
				 * (256/256 bits)" */
};
void tls_client_result_deinit(struct tls_client_result *result);
const char *tls_client_trust_name(enum tls_client_trust trust);

/* After the server's "220 Ready" to STARTTLS: drops any input s already
 * buffered (a server may not speak before the handshake; such octets
 * could be injected plaintext), sends SNI, runs the handshake within
 * timeout_ms and judges the server's certificate for p->level.
 *
 * Returns 0 with *conn_r (s now reads and writes through TLS) and
 * *result_r (encrypted, trust, log...). Returns -1 with *error_r (static)
 * and *result_r describing the failure: the handshake failed ("timeout",
 * "lost connection", OpenSSL's reason; result->encrypted false) or the
 * certificate is not good enough for the level (verify, secure: encrypted
 * true, trust below Verified, reason and error say why, e.g. "Server
 * certificate not verified: certificate has expired"). Either way the
 * TLS session is over and the caller closes the connection;
 * result->abort says whether the delivery must be deferred (encrypt and
 * above) or may be retried without TLS (may). *result_r is always
 * initialised: deinit it in both cases. */
int tls_client_start(struct tls_client *tc, struct stream *s, int timeout_ms,
		     const struct tls_client_params *p,
		     struct tls_conn **conn_r,
		     struct tls_client_result *result_r, const char **error_r)
	__attribute__((warn_unused_result));

#endif
