/* tls_client: the client side of TLS for the outbound SMTP client; see
 * tls_client.h. The connection plumbing (socket BIO, handshake loop,
 * stream hookup, close) is lib/tls's, shared through tls_impl.h.
 *
 * The certificate is judged after the handshake, not in a verify
 * callback: OpenSSL runs the chain verification even with
 * SSL_VERIFY_NONE and keeps its result, so one handshake serves every
 * level, and a failure is reported with OpenSSL's own reason. The
 * protocol range and cipher list are set per connection (the policy
 * table may change them for one destination). */
#include "config.h"
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include "buf.h"
#include "mem.h"
#include "str.h"
#include "tls_client.h"
#include "tls_impl.h"

#define TEXT_MAX 256		/* certificate names in the result */
#define CIPHERLIST_MAX 4096
/* RFC 6125 matching, see tls_client.h. */
#define MATCH_FLAGS X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS

struct tls_client {
	SSL_CTX *ctx;
	BIO_METHOD *bio_method;
	char *protocols[2];	/* [0] may, [1] mandatory */
	char *ciphers[2];
	char *exclude_all, *exclude_mandatory;
};

static const char *or_default(const char *value, const char *def)
{
	return value != NULL && *value != '\0' ? value : def;
}

static bool mandatory(enum tls_policy_level level)
{
	return level >= TLS_POLICY_ENCRYPT;
}

/* --- protocols and ciphers of one connection --- */

static const struct {
	const char *grade, *list;
} grade_lists[] = {
	{ "high", "HIGH:!aNULL:!eNULL" },
	{ "medium", "HIGH:MEDIUM:!aNULL:!eNULL" },
	{ "low", "HIGH:MEDIUM:!aNULL:!eNULL" },
	{ "export", "HIGH:MEDIUM:!aNULL:!eNULL" },
};

/* Appends ":!word" for each word of list (white space, comma or colon
 * separated) to b. */
static int add_excludes(struct buf *b, const char *list)
{
	char *copy = xstrdup(list), *p = copy, *tok;
	int ret = 0;

	while (ret == 0 && (tok = str_next_token(&p, " \t,:")) != NULL)
		ret = buf_printf(b, ":!%s", tok);
	free(copy);
	return ret;
}

static int set_ciphers(struct tls_client *tc, SSL *ssl,
		       enum tls_policy_level level, const char *grade,
		       const char *exclude, const char **error_r)
{
	const char *base = NULL;
	struct buf b;
	int ret = -1;

	for (size_t i = 0; i < sizeof(grade_lists) / sizeof(grade_lists[0]);
	     i++)
		if (str_eq_ci(grade, grade_lists[i].grade))
			base = grade_lists[i].list;
	if (base == NULL) {
		*error_r = tls_error_set("cipher grade '%.100s' is not "
					 "supported (high, medium, low, "
					 "export)", grade);
		return -1;
	}
	buf_init(&b, CIPHERLIST_MAX);
	/* smtp_tls_exclude_ciphers applies at every level, except where
	 * the policy's exclude= replaces it (may). */
	const char *all = !mandatory(level) && exclude != NULL
				  ? exclude : tc->exclude_all;
	const char *more = mandatory(level) ? or_default(exclude,
				tc->exclude_mandatory) : "";
	if (buf_append_str(&b, base) < 0 || add_excludes(&b, all) < 0 ||
	    add_excludes(&b, more) < 0) {
		*error_r = "cipher exclusion list too long";
	} else if (SSL_set_cipher_list(ssl, buf_cstr(&b)) != 1) {
		*error_r = tls_error_set("cipher list %.200s: %s",
					 buf_cstr(&b), tls_ssl_reason());
	} else {
		ret = 0;
	}
	buf_deinit(&b);
	return ret;
}

/* Applies the protocol range and the cipher list for level (and p's
 * overrides, p may be NULL) to ssl. */
static int configure(struct tls_client *tc, SSL *ssl,
		     enum tls_policy_level level,
		     const struct tls_client_params *p, const char **error_r)
{
	int m = mandatory(level) ? 1 : 0, min, max;
	const char *protocols = p != NULL && p->protocols != NULL
					? p->protocols : tc->protocols[m];
	const char *ciphers = p != NULL && p->ciphers != NULL
				      ? p->ciphers : tc->ciphers[m];
	const char *what = p != NULL && p->protocols != NULL ? "protocols"
			   : m ? "smtp_tls_mandatory_protocols"
			       : "smtp_tls_protocols";

	if (tls_protocols_parse(what, protocols, &min, &max, error_r) < 0)
		return -1;
	if (SSL_set_min_proto_version(ssl, min) != 1 ||
	    SSL_set_max_proto_version(ssl, max) != 1) {
		*error_r = tls_error_set("protocols %.100s: %s", protocols,
					 tls_ssl_reason());
		return -1;
	}
	return set_ciphers(tc, ssl, level, ciphers,
			   p != NULL ? p->exclude : NULL, error_r);
}

/* --- the context --- */

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

static int ctx_trust(SSL_CTX *ctx, const struct tls_client_settings *set,
		     const char **error_r)
{
	const char *file = or_default(set->ca_file, NULL);
	const char *path = or_default(set->ca_path, NULL);

	if (file == NULL && path == NULL) {
		if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
			*error_r = tls_error_set("the system CA store: %s",
						 tls_ssl_reason());
			return -1;
		}
		return 0;
	}
	if (SSL_CTX_load_verify_locations(ctx, file, path) != 1) {
		*error_r = tls_error_set("smtp_tls_CAfile %s / smtp_tls_CApath "
					 "%s: %s", file != NULL ? file : "",
					 path != NULL ? path : "",
					 tls_ssl_reason());
		return -1;
	}
	return 0;
}

static int ctx_cert(SSL_CTX *ctx, const struct tls_client_settings *set,
		    const char **error_r)
{
	const char *cert = or_default(set->cert_file, NULL);
	const char *key = or_default(set->key_file, cert);

	if (cert == NULL)
		return 0;
	SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		*error_r = tls_error_set("smtp_tls_cert_file %s: cannot load "
					 "the certificate: %s", cert,
					 tls_ssl_reason());
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		*error_r = tls_error_set("smtp_tls_key_file %s: no usable "
					 "private key for %s: %s", key, cert,
					 tls_ssl_reason());
		return -1;
	}
	return 0;
}

/* Every setting is tried once on a scratch SSL, so that a bad one fails
 * here, at start-up, rather than at the first delivery. */
static int ctx_check(struct tls_client *tc, const char **error_r)
{
	SSL *ssl = SSL_new(tc->ctx);
	int ret;

	if (ssl == NULL) {
		*error_r = tls_error_set("SSL_new: %s", tls_ssl_reason());
		return -1;
	}
	ret = configure(tc, ssl, TLS_POLICY_MAY, NULL, error_r) == 0 &&
	      configure(tc, ssl, TLS_POLICY_VERIFY, NULL, error_r) == 0
		      ? 0 : -1;
	SSL_free(ssl);
	return ret;
}

int tls_client_new(const struct tls_client_settings *set,
		   struct tls_client **tc_r, const char **error_r)
{
	struct tls_client *tc = xcalloc(1, sizeof(*tc));

	*tc_r = NULL;
	ERR_clear_error();
	tc->protocols[0] = xstrdup(or_default(set->protocols, ">=TLSv1.2"));
	tc->protocols[1] = xstrdup(or_default(set->mandatory_protocols,
					      ">=TLSv1.2"));
	tc->ciphers[0] = xstrdup(or_default(set->ciphers, "medium"));
	tc->ciphers[1] = xstrdup(or_default(set->mandatory_ciphers, "medium"));
	tc->exclude_all = xstrdup(or_default(set->exclude_ciphers, ""));
	tc->exclude_mandatory = xstrdup(or_default(
		set->mandatory_exclude_ciphers, ""));
	tc->ctx = SSL_CTX_new(TLS_client_method());
	tc->bio_method = tls_bio_method_new();
	if (tc->ctx == NULL || tc->bio_method == NULL) {
		*error_r = tls_error_set("cannot make a TLS context: %s",
					 tls_ssl_reason());
		tls_client_free(&tc);
		return -1;
	}
	/* Judged after the handshake (see the top of this file). */
	SSL_CTX_set_verify(tc->ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_options(tc->ctx, SSL_OP_NO_RENEGOTIATION |
				     SSL_OP_NO_COMPRESSION | SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(tc->ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_mode(tc->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
				  SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (ctx_trust(tc->ctx, set, error_r) < 0 ||
	    ctx_cert(tc->ctx, set, error_r) < 0 || ctx_check(tc, error_r) < 0) {
		tls_client_free(&tc);
		return -1;
	}
	*tc_r = tc;
	return 0;
}

void tls_client_free(struct tls_client **tc)
{
	struct tls_client *c = *tc;

	if (c == NULL)
		return;
	SSL_CTX_free(c->ctx);
	BIO_meth_free(c->bio_method);
	for (int i = 0; i < 2; i++) {
		free(c->protocols[i]);
		free(c->ciphers[i]);
	}
	free(c->exclude_all);
	free(c->exclude_mandatory);
	xfree(tc);
}

/* --- the result --- */

static char *dup_printf(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static char *dup_printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *s = xmalloc((size_t)(n < 0 ? 0 : n) + 1);
	va_start(ap, fmt);
	if (vsnprintf(s, (size_t)(n < 0 ? 0 : n) + 1, fmt, ap) < 0)
		s[0] = '\0';
	va_end(ap);
	return s;
}

/* A certificate name as printable ASCII, at most TEXT_MAX characters,
 * "..." marking a cut. */
static char *printable(const unsigned char *s, size_t len)
{
	bool cut = len > TEXT_MAX;
	size_t n = cut ? TEXT_MAX : len;
	char *out = xmalloc(n + (cut ? 3 : 0) + 1);

	for (size_t i = 0; i < n; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f ? (char)s[i] : '?';
	if (cut)
		memcpy(out + n, "...", 3);
	out[n + (cut ? 3 : 0)] = '\0';
	return out;
}

/* The first entry nid of name, or NULL. */
static char *name_entry(const X509_NAME *name, int nid)
{
	int i = X509_NAME_get_index_by_NID(name, nid, -1);
	unsigned char *utf8 = NULL;

	if (i < 0)
		return NULL;
	int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(
						     X509_NAME_get_entry(name, i)));
	if (len < 0)
		return NULL;
	char *s = printable(utf8, (size_t)len);
	OPENSSL_free(utf8);
	return s;
}

static const char *const trust_names[] = {
	[TLS_CLIENT_ANONYMOUS] = "Anonymous",
	[TLS_CLIENT_UNTRUSTED] = "Untrusted",
	[TLS_CLIENT_TRUSTED] = "Trusted",
	[TLS_CLIENT_VERIFIED] = "Verified",
};

const char *tls_client_trust_name(enum tls_client_trust trust)
{
	return (unsigned)trust < sizeof(trust_names) / sizeof(trust_names[0])
		       ? trust_names[trust] : "Unknown";
}

void tls_client_result_deinit(struct tls_client_result *r)
{
	free(r->protocol);
	free(r->cipher);
	free(r->peer_cn);
	free(r->issuer_cn);
	free(r->matched);
	free(r->reason);
	free(r->log);
	memset(r, 0, sizeof(*r));
}

/* --- judging the server's certificate --- */

/* The names to look for, from the match list or the level's default;
 * "hostname" is left out at secure unless the host name is secure.
 * Returns the count put into names[] (max entries; they point into p or
 * into dot, a buffer for ".nexthop"). */
static size_t match_names(const struct tls_client_params *p,
			  const char **names, size_t max, char **dot)
{
	static const char *const verify_default[] = { "hostname" };
	static const char *const secure_default[] = { "nexthop",
						      "dot-nexthop" };
	const char *const *list = p->match;
	size_t count = p->match_count, n = 0;

	if (count == 0) {
		bool v = p->level == TLS_POLICY_VERIFY;
		list = v ? verify_default : secure_default;
		count = v ? 1 : 2;
	}
	for (size_t i = 0; i < count && n < max; i++) {
		const char *m = list[i], *name = m;
		if (str_eq_ci(m, "hostname")) {
			bool ok = p->level != TLS_POLICY_SECURE ||
				  p->host_is_secure;
			name = ok ? p->host : NULL;
		} else if (str_eq_ci(m, "nexthop")) {
			name = p->nexthop;
		} else if (str_eq_ci(m, "dot-nexthop")) {
			if (p->nexthop != NULL && *dot == NULL)
				*dot = dup_printf(".%s", p->nexthop);
			name = p->nexthop != NULL ? *dot : NULL;
		}
		if (name != NULL && *name != '\0')
			names[n++] = name;
	}
	return n;
}

static void check_names(X509 *cert, const struct tls_client_params *p,
			struct tls_client_result *r)
{
	const char *names[TLS_POLICY_NAMES_MAX];
	char *dot = NULL, *peer = NULL;
	size_t n = match_names(p, names, TLS_POLICY_NAMES_MAX, &dot);

	for (size_t i = 0; i < n; i++) {
		if (X509_check_host(cert, names[i], strlen(names[i]),
				    MATCH_FLAGS, &peer) == 1) {
			r->trust = TLS_CLIENT_VERIFIED;
			r->matched = printable((const unsigned char *)peer,
					       strlen(peer));
			OPENSSL_free(peer);
			break;
		}
	}
	if (r->trust != TLS_CLIENT_VERIFIED) {
		struct buf b;
		buf_init(&b, 1024);
		for (size_t i = 0; i < n; i++)
			if (buf_printf(&b, "%s%s", i ? ", " : "",
				       names[i]) < 0)
				break;
		r->reason = dup_printf("server certificate name mismatch "
				       "(wanted %s)",
				       n == 0 ? "no usable name"
					      : buf_cstr(&b));
		buf_deinit(&b);
	}
	ERR_clear_error();
	free(dot);
}

static void judge(SSL *ssl, const struct tls_client_params *p,
		  struct tls_client_result *r)
{
	X509 *cert = SSL_get0_peer_certificate(ssl);

	r->trust = TLS_CLIENT_ANONYMOUS;
	if (cert == NULL) {
		r->reason = xstrdup("no server certificate");
	} else {
		long v = SSL_get_verify_result(ssl);
		r->peer_cn = name_entry(X509_get_subject_name(cert),
					NID_commonName);
		r->issuer_cn = name_entry(X509_get_issuer_name(cert),
					  NID_commonName);
		if (r->issuer_cn == NULL)
			r->issuer_cn = name_entry(X509_get_issuer_name(cert),
						  NID_organizationName);
		if (v != X509_V_OK) {
			r->trust = TLS_CLIENT_UNTRUSTED;
			r->reason = xstrdup(X509_verify_cert_error_string(v));
		} else {
			r->trust = TLS_CLIENT_TRUSTED;
			if (p->level >= TLS_POLICY_VERIFY)
				check_names(cert, p, r);
		}
	}
	r->abort = p->level >= TLS_POLICY_VERIFY &&
		   r->trust != TLS_CLIENT_VERIFIED;
}

/* --- a connection --- */

static bool ip_literal(const char *host)
{
	unsigned char a[16];

	return inet_pton(AF_INET, host, a) == 1 ||
	       inet_pton(AF_INET6, host, a) == 1;
}

static int set_sni(SSL *ssl, const struct tls_client_params *p,
		   const char **error_r)
{
	const char *name = p->servername;

	if (name == NULL || str_eq_ci(name, "hostname"))
		name = p->host;
	if (name == NULL || *name == '\0' || ip_literal(name))
		return 0;
	if (SSL_set_tlsext_host_name(ssl, name) != 1) {
		*error_r = tls_error_set("SNI %.100s: %s", name,
					 tls_ssl_reason());
		return -1;
	}
	return 0;
}

static void fill_session(SSL *ssl, const struct tls_client_params *p,
			 struct tls_client_result *r)
{
	const SSL_CIPHER *cipher = SSL_get_current_cipher(ssl);

	r->encrypted = true;
	r->protocol = xstrdup(SSL_get_version(ssl));
	r->cipher = xstrdup(cipher != NULL ? SSL_CIPHER_get_name(cipher)
					   : "unknown");
	r->bits = cipher != NULL ? SSL_CIPHER_get_bits(cipher, &r->alg_bits)
				 : 0;
	r->log = dup_printf("%s TLS connection established to %s[%s]:%u: "
			    "%s with cipher %s (%d/%d bits)",
			    tls_client_trust_name(r->trust),
			    p->host != NULL ? p->host : "unknown",
			    p->addr != NULL ? p->addr : "unknown", p->port,
			    r->protocol, r->cipher, r->bits, r->alg_bits);
}

static bool level_handled(enum tls_policy_level level)
{
	return level == TLS_POLICY_MAY || level == TLS_POLICY_ENCRYPT ||
	       level == TLS_POLICY_VERIFY || level == TLS_POLICY_SECURE;
}

int tls_client_start(struct tls_client *tc, struct stream *s, int timeout_ms,
		     const struct tls_client_params *p,
		     struct tls_conn **conn_r, struct tls_client_result *r,
		     const char **error_r)
{
	struct tls_conn *c;

	memset(r, 0, sizeof(*r));
	*conn_r = NULL;
	r->abort = mandatory(p->level);
	if (!level_handled(p->level)) {
		*error_r = tls_error_set("TLS security level %s is not "
					 "supported here",
					 tls_policy_level_name(p->level));
		return -1;
	}
	c = tls_conn_begin(tc->ctx, tc->bio_method, s, false, NULL, error_r);
	if (c == NULL)
		return -1;
	if (configure(tc, c->ssl, p->level, p, error_r) < 0 ||
	    set_sni(c->ssl, p, error_r) < 0 ||
	    tls_conn_handshake(c, timeout_ms, error_r) < 0) {
		c->failed = true;	/* nothing was said: no close_notify */
		tls_conn_free(&c, NULL);
		return -1;
	}
	judge(c->ssl, p, r);
	fill_session(c->ssl, p, r);
	if (r->abort) {
		*error_r = tls_error_set("Server certificate not verified: %s",
					 r->reason);
		tls_conn_free(&c, NULL);
		return -1;
	}
	tls_conn_attach(c, s);
	*conn_r = c;
	return 0;
}
