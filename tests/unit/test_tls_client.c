/* Unit tests of lib/tls_client: real handshakes over a socketpair against
 * a peer in a thread. Certificates are made with OpenSSL into a temporary
 * directory: a private CA; signed by it mx.example.test (DNS SAN),
 * *.example.test, an expired mx.example.test, other.test, example.test
 * with a CN and no SAN, and one whose CN says mx.example.test but whose
 * SAN does not; a self-signed mx.example.test; a client certificate.
 * The peer is OpenSSL's server (it records the SNI it got and the
 * client's certificate), lib/tls's own server once, or a peer that never
 * answers. Covered: each level's outcome and the log phrase, name
 * matching (SAN, CN fallback, wildcard rules, case, dot-nexthop, secure
 * never trusting an insecure MX name), SNI, plaintext injected before the
 * handshake, protocol mismatch at may and encrypt, the handshake timeout,
 * and the context's configuration errors. */
#include "config.h"
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include "conf.h"
#include "stream.h"
#include "timeutil.h"
#include "tls.h"
#include "tls_client.h"
#include "unit.h"

static char dir[64];
static EVP_PKEY *ca_key;
static X509 *ca_cert;

/* --- certificates --- */

static void die(const char *what)
{
	fprintf(stderr, "%s failed\n", what);
	exit(2);
}

static const char *path(const char *name, const char *ext)
{
	static char paths[8][160];
	static int next;
	char *p = paths[next++ % 8];

	snprintf(p, sizeof(paths[0]), "%s/%s.%s", dir, name, ext);
	return p;
}

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ext == NULL || X509_add_ext(x, ext, -1) != 1)
		die("X509_add_ext");
	X509_EXTENSION_free(ext);
}

static void write_pem(const char *name, X509 *x, EVP_PKEY *key)
{
	FILE *f = fopen(path(name, "crt"), "w");

	if (f == NULL || PEM_write_X509(f, x) != 1)
		die("write cert");
	fclose(f);
	f = fopen(path(name, "key"), "w");
	if (f == NULL || PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL,
					      NULL) != 1)
		die("write key");
	fclose(f);
}

/* name.crt / name.key: CN cn, SAN san (NULL: none), signed by the CA
 * (or by itself), valid from..until seconds from now. */
static X509 *make_cert(const char *name, const char *cn, const char *san,
		       bool self_signed, long from, long until, bool ca)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	static long serial = 1;

	if (key == NULL || x == NULL)
		die("EVP_EC_gen");
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), from);
	X509_gmtime_adj(X509_getm_notAfter(x), until);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
				   MBSTRING_ASC, (const unsigned char *)cn,
				   -1, -1, 0);
	X509 *issuer = self_signed ? x : ca_cert;
	X509_set_issuer_name(x, X509_get_subject_name(issuer));
	X509_set_pubkey(x, key);
	add_ext(x, issuer, NID_basic_constraints, ca ? "critical,CA:TRUE"
						     : "CA:FALSE");
	if (ca)
		add_ext(x, issuer, NID_key_usage, "critical,keyCertSign");
	if (san != NULL)
		add_ext(x, issuer, NID_subject_alt_name, san);
	if (X509_sign(x, self_signed ? key : ca_key, EVP_sha256()) == 0)
		die("X509_sign");
	write_pem(name, x, key);
	if (ca) {
		ca_key = key;
		return x;
	}
	EVP_PKEY_free(key);
	X509_free(x);
	return NULL;
}

static void make_files(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_tls_client.XXXXXX");
	if (mkdtemp(dir) == NULL)
		die("mkdtemp");
	ca_cert = make_cert("ca", "Surel Test CA", NULL, true, -3600,
			    86400 * 30, true);
	make_cert("mx", "mx.example.test", "DNS:mx.example.test", false,
		  -3600, 86400, false);
	make_cert("wild", "*.example.test", "DNS:*.example.test", false,
		  -3600, 86400, false);
	make_cert("expired", "mx.example.test", "DNS:mx.example.test", false,
		  -86400 * 10, -86400, false);
	make_cert("self", "mx.example.test", "DNS:mx.example.test", true,
		  -3600, 86400, false);
	make_cert("other", "other.test", "DNS:other.test", false, -3600,
		  86400, false);
	make_cert("cnonly", "example.test", NULL, false, -3600, 86400, false);
	make_cert("sanwins", "mx.example.test", "DNS:x.example.test", false,
		  -3600, 86400, false);
	make_cert("client", "client.example.test", NULL, false, -3600, 86400,
		  false);
}

/* --- the peer --- */

enum peer_kind { PEER_OPENSSL, PEER_SILENT, PEER_SUREL };

struct peer {
	int fd;
	enum peer_kind kind;
	const char *cert;	/* name of the certificate */
	int max_version;	/* 0: any */
	const char *before;	/* plaintext sent before the handshake */
	bool want_client_cert;
	/* results */
	bool handshake_ok;
	char sni[256];
	char client_cn[128];
	char got[64];
};

static void peer_exchange(SSL *ssl, struct peer *p)
{
	size_t n, got = 0;

	while (got + 1 < sizeof(p->got) &&
	       SSL_read_ex(ssl, p->got + got, 1, &n) == 1) {
		if (p->got[got++] == '\n')
			break;
	}
	p->got[got] = '\0';
	if (strcmp(p->got, "ping\r\n") == 0)
		(void)SSL_write_ex(ssl, "pong\r\n", 6, &n);
	char byte;
	(void)SSL_read_ex(ssl, &byte, 1, &n);	/* till close_notify */
}

static int accept_any(int ok, X509_STORE_CTX *ctx)
{
	(void)ok;
	(void)ctx;
	return 1;
}

static void peer_openssl(struct peer *p)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	SSL *ssl;

	if (SSL_CTX_use_certificate_file(ctx, path(p->cert, "crt"),
					 SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, path(p->cert, "key"),
					SSL_FILETYPE_PEM) != 1)
		die("peer certificate");
	if (p->max_version != 0)
		SSL_CTX_set_max_proto_version(ctx, p->max_version);
	if (p->want_client_cert)
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, accept_any);
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, p->fd);
	if (SSL_accept(ssl) == 1) {
		p->handshake_ok = true;
		const char *sni = SSL_get_servername(ssl,
						     TLSEXT_NAMETYPE_host_name);
		snprintf(p->sni, sizeof(p->sni), "%s", sni ? sni : "");
		X509 *c = SSL_get0_peer_certificate(ssl);
		if (c != NULL)
			X509_NAME_get_text_by_NID(X509_get_subject_name(c),
						  NID_commonName, p->client_cn,
						  sizeof(p->client_cn));
		peer_exchange(ssl, p);
	}
	SSL_free(ssl);
	SSL_CTX_free(ctx);
}

/* lib/tls's server, configured as smtpd would be. */
static void peer_surel(struct peer *p)
{
	struct tls_server *ts = NULL;
	struct tls_conn *conn = NULL;
	struct stream *s = stream_new(p->fd, 1000);
	const char *error, *line;
	size_t len;

	stream_set_timeout(s, 5000);
	if (tls_server_new(&ts, &error) != 1)
		die("tls_server_new");
	if (tls_server_start(ts, s, 5000, &conn, NULL, &error) == 0) {
		p->handshake_ok = true;
		if (stream_read_line(s, &line, &len) == 1) {
			snprintf(p->got, sizeof(p->got), "%s", line);
			(void)stream_write(s, "pong\r\n", 6);
			(void)stream_flush(s);
		}
		/* Waits till the client is gone. */
		int end = stream_read_line(s, &line, &len);
		(void)end;
	}
	tls_conn_free(&conn, s);
	stream_free(&s);
	tls_server_free(&ts);
}

static void *peer_main(void *arg)
{
	struct peer *p = arg;
	sigset_t pipe;
	char buf[512];

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, NULL);
	if (p->before != NULL &&
	    write(p->fd, p->before, strlen(p->before)) < 0)
		return NULL;
	if (p->kind == PEER_SILENT) {
		/* Takes the ClientHello, never answers. */
		while (read(p->fd, buf, sizeof(buf)) > 0)
			;
	} else if (p->kind == PEER_SUREL) {
		peer_surel(p);
	} else {
		peer_openssl(p);
	}
	ERR_clear_error();
	shutdown(p->fd, SHUT_WR);
	return NULL;
}

/* --- the client --- */

static struct tls_client *client_new(bool with_ca, bool with_cert)
{
	struct tls_client_settings set = { 0 };
	struct tls_client *tc = NULL;
	const char *error = NULL;

	if (with_ca)
		set.ca_file = path("ca", "crt");
	if (with_cert) {
		set.cert_file = path("client", "crt");
		set.key_file = path("client", "key");
	}
	if (tls_client_new(&set, &tc, &error) < 0) {
		fprintf(stderr, "tls_client_new: %s\n", error);
		exit(2);
	}
	return tc;
}

struct run {
	struct tls_client_params p;
	int ret;
	const char *error;
	struct tls_client_result r;
	bool pong;		/* data went both ways */
	uint64_t took_ms;
};

/* One connection of tc to peer with params p (level, host...); a
 * successful one says ping and expects pong. */
static void run(struct tls_client *tc, struct peer *peer, struct run *out,
		int timeout_ms, const char *first_line)
{
	struct tls_conn *conn = NULL;
	const char *line;
	size_t len;
	pthread_t th;
	int fds[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) < 0)
		die("socketpair");
	peer->fd = fds[1];
	struct stream *s = stream_new(fds[0], 1000);
	stream_set_timeout(s, 5000);
	pthread_create(&th, NULL, peer_main, peer);
	if (first_line != NULL) {
		UNIT_CHECK(stream_read_line(s, &line, &len) == 1);
		UNIT_STREQ(line, first_line);
	}
	uint64_t t0 = time_mono_ms();
	out->error = "";
	out->ret = tls_client_start(tc, s, timeout_ms, &out->p, &conn,
				    &out->r, &out->error);
	out->took_ms = time_mono_ms() - t0;
	UNIT_CHECK((out->ret == 0) == (conn != NULL));
	if (conn != NULL) {
		UNIT_CHECK(stream_write(s, "ping\r\n", 6) == 0 &&
			   stream_flush(s) == 0);
		out->pong = stream_read_line(s, &line, &len) == 1 &&
			    strcmp(line, "pong\r") == 0;
		tls_conn_free(&conn, s);
	}
	shutdown(fds[0], SHUT_RDWR);
	pthread_join(th, NULL);
	stream_free(&s);
	close(fds[0]);
	close(fds[1]);
}

static struct tls_client_params params(enum tls_policy_level level,
				       const char *host)
{
	struct tls_client_params p = {
		.level = level, .host = host, .addr = "192.0.2.1",
		.port = 25, .nexthop = "example.test",
	};
	return p;
}

/* A connection that must succeed with trust. */
static void expect_ok(struct tls_client *tc, const char *cert,
		      struct tls_client_params p, enum tls_client_trust trust)
{
	struct peer peer = { .cert = cert };
	struct run r = { .p = p };

	run(tc, &peer, &r, 5000, NULL);
	UNIT_CHECK(r.ret == 0);
	if (r.ret != 0)
		fprintf(stderr, "%s at %s: %s\n", cert,
			tls_policy_level_name(p.level), r.error);
	UNIT_CHECK(r.r.encrypted && !r.r.abort);
	UNIT_CHECK(r.r.trust == trust);
	UNIT_CHECK(r.pong);
	UNIT_STREQ(peer.got, "ping\r\n");
	tls_client_result_deinit(&r.r);
}

/* A connection that must be refused after the handshake; returns
 * whether error contains what. */
static void expect_abort(struct tls_client *tc, const char *cert,
			 struct tls_client_params p,
			 enum tls_client_trust trust, const char *what)
{
	struct peer peer = { .cert = cert };
	struct run r = { .p = p };

	run(tc, &peer, &r, 5000, NULL);
	UNIT_CHECK(r.ret == -1 && r.r.abort && r.r.encrypted);
	UNIT_CHECK(r.r.trust == trust);
	UNIT_CHECK(peer.handshake_ok && peer.got[0] == '\0');
	if (strstr(r.error, what) == NULL ||
	    strstr(r.error, "Server certificate not verified") == NULL) {
		fprintf(stderr, "%s: error \"%s\" lacks \"%s\"\n", cert,
			r.error, what);
		UNIT_CHECK(false);
	}
	UNIT_CHECK(r.r.reason != NULL && strstr(r.error, r.r.reason) != NULL);
	tls_client_result_deinit(&r.r);
}

/* --- the tests --- */

static void test_may_encrypt(struct tls_client *tc)
{
	struct peer peer = { .cert = "self" };
	struct run r = { .p = params(TLS_POLICY_MAY, "mx.example.test") };
	char want[256];

	run(tc, &peer, &r, 5000, NULL);
	UNIT_CHECK(r.ret == 0 && r.pong);
	UNIT_CHECK(r.r.encrypted && !r.r.abort);
	UNIT_CHECK(r.r.trust == TLS_CLIENT_UNTRUSTED);
	UNIT_STREQ(tls_client_trust_name(r.r.trust), "Untrusted");
	UNIT_STREQ(r.r.protocol, "TLSv1.3");
	UNIT_CHECK(r.r.bits >= 128 && r.r.alg_bits == r.r.bits);
	UNIT_STREQ(r.r.peer_cn, "mx.example.test");
	UNIT_STREQ(r.r.issuer_cn, "mx.example.test");
	UNIT_CHECK(r.r.reason != NULL && strstr(r.r.reason, "self") != NULL);
	snprintf(want, sizeof(want), "Untrusted TLS connection established "
		 "to mx.example.test[192.0.2.1]:25: TLSv1.3 with cipher %s "
		 "(%d/%d bits)", r.r.cipher, r.r.bits, r.r.alg_bits);
	UNIT_STREQ(r.r.log, want);
	UNIT_STREQ(peer.sni, "mx.example.test");
	tls_client_result_deinit(&r.r);

	expect_ok(tc, "self", params(TLS_POLICY_ENCRYPT, "mx.example.test"),
		  TLS_CLIENT_UNTRUSTED);
	expect_ok(tc, "expired", params(TLS_POLICY_MAY, "mx.example.test"),
		  TLS_CLIENT_UNTRUSTED);
	/* A good chain at may is Trusted, never Verified: no name check. */
	expect_ok(tc, "mx", params(TLS_POLICY_MAY, "mx.example.test"),
		  TLS_CLIENT_TRUSTED);
	expect_ok(tc, "other", params(TLS_POLICY_ENCRYPT, "mx.example.test"),
		  TLS_CLIENT_TRUSTED);
}

static void test_verify(struct tls_client *tc, struct tls_client *no_ca)
{
	struct peer peer = { .cert = "mx" };
	struct run r = { .p = params(TLS_POLICY_VERIFY, "mx.example.test") };

	run(tc, &peer, &r, 5000, NULL);
	UNIT_CHECK(r.ret == 0 && r.pong && !r.r.abort);
	UNIT_CHECK(r.r.trust == TLS_CLIENT_VERIFIED);
	UNIT_STREQ(r.r.matched, "mx.example.test");
	UNIT_STREQ(r.r.issuer_cn, "Surel Test CA");
	static const char prefix[] = "Verified TLS connection established "
				     "to mx.example.test[192.0.2.1]:25: "
				     "TLSv1.3 with cipher ";
	UNIT_CHECK(r.r.log != NULL &&
		   strncmp(r.r.log, prefix, sizeof(prefix) - 1) == 0);
	tls_client_result_deinit(&r.r);

	/* Names compare case-insensitively. */
	expect_ok(tc, "mx", params(TLS_POLICY_VERIFY, "MX.Example.TEST"),
		  TLS_CLIENT_VERIFIED);
	expect_abort(tc, "other", params(TLS_POLICY_VERIFY, "mx.example.test"),
		     TLS_CLIENT_TRUSTED, "name mismatch (wanted "
		     "mx.example.test)");
	expect_abort(tc, "expired", params(TLS_POLICY_VERIFY,
					   "mx.example.test"),
		     TLS_CLIENT_UNTRUSTED, "certificate has expired");
	expect_abort(tc, "self", params(TLS_POLICY_VERIFY, "mx.example.test"),
		     TLS_CLIENT_UNTRUSTED, "self-signed");
	/* The private CA is not in the system store. */
	expect_abort(no_ca, "mx", params(TLS_POLICY_VERIFY,
					 "mx.example.test"),
		     TLS_CLIENT_UNTRUSTED, "unable to get local issuer");

	/* Explicit names replace "hostname". */
	struct tls_client_params p = params(TLS_POLICY_VERIFY,
					    "mx.example.test");
	const char *const names[] = { "nothing.test", "other.test" };
	p.match = names;
	p.match_count = 2;
	expect_ok(tc, "other", p, TLS_CLIENT_VERIFIED);
	expect_abort(tc, "mx", p, TLS_CLIENT_TRUSTED,
		     "wanted nothing.test, other.test");

	/* The CN counts only when there is no DNS SAN. */
	expect_ok(tc, "cnonly", params(TLS_POLICY_VERIFY, "example.test"),
		  TLS_CLIENT_VERIFIED);
	expect_abort(tc, "sanwins", params(TLS_POLICY_VERIFY,
					   "mx.example.test"),
		     TLS_CLIENT_TRUSTED, "name mismatch");
	expect_ok(tc, "sanwins", params(TLS_POLICY_VERIFY, "x.example.test"),
		  TLS_CLIENT_VERIFIED);
}

static void test_wildcard(struct tls_client *tc)
{
	struct peer peer = { .cert = "wild" };
	struct run r = { .p = params(TLS_POLICY_VERIFY, "a.example.test") };

	run(tc, &peer, &r, 5000, NULL);
	UNIT_CHECK(r.ret == 0 && r.r.trust == TLS_CLIENT_VERIFIED);
	UNIT_STREQ(r.r.matched, "*.example.test");
	tls_client_result_deinit(&r.r);
	/* One label only, and not the parent itself. */
	expect_abort(tc, "wild", params(TLS_POLICY_VERIFY, "a.b.example.test"),
		     TLS_CLIENT_TRUSTED, "name mismatch");
	expect_abort(tc, "wild", params(TLS_POLICY_VERIFY, "example.test"),
		     TLS_CLIENT_TRUSTED, "name mismatch");
}

static void test_secure(struct tls_client *tc)
{
	struct tls_client_params p = params(TLS_POLICY_SECURE,
					    "mx.example.test");

	/* The default: nexthop, dot-nexthop: mx.example.test is a
	 * subdomain of the nexthop example.test. */
	expect_ok(tc, "mx", p, TLS_CLIENT_VERIFIED);
	expect_ok(tc, "cnonly", p, TLS_CLIENT_VERIFIED);
	expect_abort(tc, "other", p, TLS_CLIENT_TRUSTED,
		     "wanted example.test, .example.test");

	const char *const nexthop[] = { "nexthop" };
	p.match = nexthop;
	p.match_count = 1;
	expect_ok(tc, "cnonly", p, TLS_CLIENT_VERIFIED);
	expect_abort(tc, "mx", p, TLS_CLIENT_TRUSTED, "wanted example.test)");

	/* The MX host name from an insecure lookup never counts. */
	const char *const hostname[] = { "hostname" };
	p.match = hostname;
	expect_abort(tc, "mx", p, TLS_CLIENT_TRUSTED, "no usable name");
	p.host_is_secure = true;
	expect_ok(tc, "mx", p, TLS_CLIENT_VERIFIED);

	/* dot-nexthop alone does not match the nexthop itself. */
	const char *const dot[] = { "dot-nexthop" };
	p.match = dot;
	expect_abort(tc, "cnonly", p, TLS_CLIENT_TRUSTED, ".example.test");
	expect_ok(tc, "wild", p, TLS_CLIENT_VERIFIED);
}

static void test_sni(struct tls_client *tc)
{
	struct peer peer = { .cert = "mx" };
	struct run r = { .p = params(TLS_POLICY_ENCRYPT, "192.0.2.1") };

	/* No SNI for an address. */
	run(tc, &peer, &r, 5000, NULL);
	UNIT_CHECK(r.ret == 0 && peer.handshake_ok);
	UNIT_STREQ(peer.sni, "");
	tls_client_result_deinit(&r.r);

	memset(&peer, 0, sizeof(peer));
	peer.cert = "mx";
	r.p = params(TLS_POLICY_MAY, "2001:db8::1");
	run(tc, &peer, &r, 5000, NULL);
	UNIT_CHECK(r.ret == 0);
	UNIT_STREQ(peer.sni, "");
	tls_client_result_deinit(&r.r);

	memset(&peer, 0, sizeof(peer));
	peer.cert = "mx";
	r.p = params(TLS_POLICY_MAY, "mx.example.test");
	r.p.servername = "smtp.example.test";
	run(tc, &peer, &r, 5000, NULL);
	UNIT_CHECK(r.ret == 0);
	UNIT_STREQ(peer.sni, "smtp.example.test");
	tls_client_result_deinit(&r.r);
}

/* Plaintext after "220 ready" and before the handshake is dropped. */
static void test_injection(struct tls_client *tc)
{
	struct peer peer = { .cert = "mx",
			     .before = "220 2.0.0 Ready\r\n250 injected\r\n" };
	struct run r = { .p = params(TLS_POLICY_VERIFY, "mx.example.test") };

	run(tc, &peer, &r, 5000, "220 2.0.0 Ready\r");
	UNIT_CHECK(r.ret == 0 && r.pong);
	UNIT_CHECK(r.r.trust == TLS_CLIENT_VERIFIED);
	tls_client_result_deinit(&r.r);
}

static void test_failures(struct tls_client *tc)
{
	/* The server stops at TLS 1.2, the client wants 1.3. */
	for (int level = TLS_POLICY_MAY; level <= TLS_POLICY_ENCRYPT; level++) {
		struct peer peer = { .cert = "mx",
				     .max_version = TLS1_2_VERSION };
		struct run r = { .p = params(level, "mx.example.test") };
		r.p.protocols = "TLSv1.3";
		run(tc, &peer, &r, 5000, NULL);
		UNIT_CHECK(r.ret == -1 && !r.r.encrypted);
		UNIT_CHECK(r.r.abort == (level == TLS_POLICY_ENCRYPT));
		UNIT_CHECK(strstr(r.error, "protocol") != NULL);
		UNIT_CHECK(!peer.handshake_ok);
		tls_client_result_deinit(&r.r);
	}
	/* A policy's protocols that leave nothing: named in the error, no
	 * handshake tried. */
	struct peer none = { .kind = PEER_SILENT };
	struct run bad = { .p = params(TLS_POLICY_ENCRYPT, "mx.example.test") };
	bad.p.protocols = "TLSv1:TLSv1.1";
	run(tc, &none, &bad, 5000, NULL);
	UNIT_CHECK(bad.ret == -1 && bad.r.abort && bad.took_ms < 1000);
	UNIT_STREQ(bad.error, "protocols = TLSv1:TLSv1.1: no protocol left "
		   "(TLSv1.2 is the oldest offered)");
	tls_client_result_deinit(&bad.r);
	/* A peer that never answers: the timeout, promptly. */
	for (int level = TLS_POLICY_MAY; level <= TLS_POLICY_ENCRYPT; level++) {
		struct peer peer = { .kind = PEER_SILENT };
		struct run r = { .p = params(level, "mx.example.test") };
		run(tc, &peer, &r, 300, NULL);
		UNIT_CHECK(r.ret == -1);
		UNIT_STREQ(r.error, "timeout");
		UNIT_CHECK(r.took_ms >= 250 && r.took_ms < 3000);
		UNIT_CHECK(r.r.abort == (level == TLS_POLICY_ENCRYPT));
		tls_client_result_deinit(&r.r);
	}
	/* Levels this module does not do: refused before any I/O. */
	static const enum tls_policy_level other[] = {
		TLS_POLICY_NONE, TLS_POLICY_DANE, TLS_POLICY_DANE_ONLY,
		TLS_POLICY_FINGERPRINT,
	};
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		struct tls_client_params p = params(other[i], "mx.example.test");
		struct tls_client_result res;
		struct tls_conn *conn = NULL;
		const char *error = "";
		struct stream *s = stream_new(-1, 100);
		UNIT_CHECK(tls_client_start(tc, s, 100, &p, &conn, &res,
					    &error) == -1);
		UNIT_CHECK(conn == NULL && strstr(error, "not supported"));
		UNIT_CHECK(res.abort == (other[i] != TLS_POLICY_NONE));
		tls_client_result_deinit(&res);
		stream_free(&s);
	}
}

/* Both ends are surel's; the client presents a certificate. */
static void test_interop(void)
{
	struct tls_client *tc = client_new(true, true);
	char text[512];
	const char *error;

	snprintf(text, sizeof(text), "smtpd_tls_cert_file = %s\n"
		 "smtpd_tls_key_file = %s\n", path("mx", "crt"),
		 path("mx", "key"));
	if (conf_load_buffer("main.cf", text, strlen(text), NULL, &error) < 0)
		die("conf_load_buffer");
	struct peer peer = { .kind = PEER_SUREL };
	struct run r = { .p = params(TLS_POLICY_VERIFY, "mx.example.test") };
	run(tc, &peer, &r, 5000, NULL);
	UNIT_CHECK(r.ret == 0 && r.pong && peer.handshake_ok);
	UNIT_STREQ(peer.got, "ping\r");
	UNIT_CHECK(r.r.trust == TLS_CLIENT_VERIFIED);
	UNIT_STREQ(r.r.cipher, "TLS_AES_256_GCM_SHA384");
	tls_client_result_deinit(&r.r);

	struct peer p2 = { .cert = "mx", .want_client_cert = true };
	r.p = params(TLS_POLICY_ENCRYPT, "mx.example.test");
	run(tc, &p2, &r, 5000, NULL);
	UNIT_CHECK(r.ret == 0 && r.pong);
	UNIT_STREQ(p2.client_cn, "client.example.test");
	tls_client_result_deinit(&r.r);
	tls_client_free(&tc);
	UNIT_CHECK(tc == NULL);
	tls_client_free(&tc);
}

static void expect_config_error(struct tls_client_settings set,
				const char *what)
{
	struct tls_client *tc = NULL;
	const char *error = "";

	UNIT_CHECK(tls_client_new(&set, &tc, &error) == -1 && tc == NULL);
	if (strstr(error, what) == NULL) {
		fprintf(stderr, "error \"%s\" lacks \"%s\"\n", error, what);
		UNIT_CHECK(false);
	}
}

static void test_config(void)
{
	struct tls_client_settings set = { .ca_file = path("nothing", "crt") };

	expect_config_error(set, "smtp_tls_CAfile");
	set = (struct tls_client_settings){ .protocols = "TLSv1 TLSv1.1" };
	expect_config_error(set, "smtp_tls_protocols = TLSv1 TLSv1.1: no "
			    "protocol left");
	set = (struct tls_client_settings){ .mandatory_protocols = "TLSv9" };
	expect_config_error(set, "smtp_tls_mandatory_protocols: unknown");
	set = (struct tls_client_settings){ .mandatory_ciphers = "null" };
	expect_config_error(set, "cipher grade 'null' is not supported");
	set = (struct tls_client_settings){ .ciphers = "superb" };
	expect_config_error(set, "cipher grade 'superb'");
	set = (struct tls_client_settings){ .exclude_ciphers = "ALL" };
	expect_config_error(set, "cipher list");
	set = (struct tls_client_settings){ .cert_file = path("client", "crt"),
					    .key_file = path("mx", "key") };
	expect_config_error(set, "smtp_tls_key_file");
	set = (struct tls_client_settings){ .cert_file = path("none", "crt") };
	expect_config_error(set, "smtp_tls_cert_file");

	/* Good settings, and defaults when empty. */
	struct tls_client *tc = NULL;
	const char *error;
	set = (struct tls_client_settings){
		.ca_path = dir, .protocols = "", .ciphers = "HIGH",
		.mandatory_ciphers = "low", .exclude_ciphers = "RC4, MD5",
		.mandatory_exclude_ciphers = "3DES:SHA1",
	};
	UNIT_CHECK(tls_client_new(&set, &tc, &error) == 0 && tc != NULL);
	tls_client_free(&tc);
	UNIT_STREQ(tls_client_trust_name(TLS_CLIENT_ANONYMOUS), "Anonymous");
	UNIT_STREQ(tls_client_trust_name(TLS_CLIENT_TRUSTED), "Trusted");
	UNIT_STREQ(tls_client_trust_name(TLS_CLIENT_VERIFIED), "Verified");
}

int main(void)
{
	signal(SIGPIPE, SIG_DFL);	/* lib/tls must not raise it */
	make_files();
	struct tls_client *tc = client_new(true, false);
	struct tls_client *no_ca = client_new(false, false);
	test_config();
	test_may_encrypt(tc);
	test_verify(tc, no_ca);
	test_wildcard(tc);
	test_secure(tc);
	test_sni(tc);
	test_injection(tc);
	test_failures(tc);
	test_interop();
	tls_client_free(&tc);
	tls_client_free(&no_ca);
	X509_free(ca_cert);
	EVP_PKEY_free(ca_key);
	unit_rmtree(dir);
	return unit_done();
}
