/* Unit tests of lib/tls: a key and a self-signed certificate are made
 * with OpenSSL into a temporary directory, main.cf points at them, and
 * tls_server_start runs over a socketpair against an OpenSSL client in a
 * thread. Covered: the context's configuration errors (no certificate, a
 * key that does not match, unreadable files, protocol and cipher
 * settings), STARTTLS with pipelined plaintext dropped, data both ways
 * (more than a socket buffer holds), close_notify both ways, a client
 * that stops at TLS 1.1, a plaintext client, a client that vanishes
 * mid-handshake, the handshake timeout, and clients that drip their
 * ClientHello or a record an octet at a time (the timeout bounds the
 * whole, not each wait). */
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
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include "conf.h"
#include "stream.h"
#include "timeutil.h"
#include "tls.h"
#include "unit.h"

#define BIG_SIZE (1024 * 1024)

static char dir[64];
static char cert_path[128], key_path[128], other_key_path[128];

/* --- certificate and configuration --- */

static EVP_PKEY *make_key(void)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");

	if (key == NULL) {
		fprintf(stderr, "EVP_EC_gen failed\n");
		exit(2);
	}
	return key;
}

static void write_key(const char *path, EVP_PKEY *key)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL,
					      NULL) != 1) {
		fprintf(stderr, "cannot write %s\n", path);
		exit(2);
	}
	fclose(f);
}

static void write_cert(const char *path, EVP_PKEY *key)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_get_subject_name(x);
	FILE *f;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				   (const unsigned char *)"mx.example.test",
				   -1, -1, 0);
	X509_set_issuer_name(x, name);
	X509_set_pubkey(x, key);
	if (X509_sign(x, key, EVP_sha256()) == 0 ||
	    (f = fopen(path, "w")) == NULL || PEM_write_X509(f, x) != 1) {
		fprintf(stderr, "cannot make %s\n", path);
		exit(2);
	}
	fclose(f);
	X509_free(x);
}

static void make_files(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_tls.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(2);
	}
	snprintf(cert_path, sizeof(cert_path), "%s/cert.pem", dir);
	snprintf(key_path, sizeof(key_path), "%s/key.pem", dir);
	snprintf(other_key_path, sizeof(other_key_path), "%s/other.pem", dir);
	EVP_PKEY *key = make_key(), *other = make_key();
	write_key(key_path, key);
	write_key(other_key_path, other);
	write_cert(cert_path, key);
	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
}

/* Loads main.cf text made of the given lines. */
static void config(const char *text)
{
	const char *error;

	if (conf_load_buffer("main.cf", text, strlen(text), NULL, &error) < 0) {
		fprintf(stderr, "conf: %s\n", error);
		exit(2);
	}
}

/* main.cf text with the good certificate and key, then extra. */
static const char *tls_text(const char *extra)
{
	static char text[4096];

	snprintf(text, sizeof(text), "smtpd_tls_cert_file = %s\n"
		 "smtpd_tls_key_file = %s\n%s", cert_path, key_path, extra);
	return text;
}

static void config_tls(const char *extra)
{
	config(tls_text(extra));
}

/* Expects tls_server_new to fail with an error containing what. */
static void expect_config_error(const char *text, const char *what)
{
	struct tls_server *ts = NULL;
	const char *error = "";

	config(text);
	UNIT_CHECK(tls_server_new(&ts, &error) == -1);
	UNIT_CHECK(ts == NULL);
	if (strstr(error, what) == NULL) {
		fprintf(stderr, "error \"%s\" lacks \"%s\"\n", error, what);
		UNIT_CHECK(false);
	}
}

static void test_config(void)
{
	struct tls_server *ts = NULL;
	const char *error = NULL;
	char text[1024];

	config("");
	UNIT_CHECK(tls_server_new(&ts, &error) == 0 && ts == NULL);
	config_tls("");
	UNIT_CHECK(tls_server_new(&ts, &error) == 1 && ts != NULL);
	tls_server_free(&ts);
	UNIT_CHECK(ts == NULL);
	tls_server_free(&ts);

	/* The key file defaults to the certificate file: one without a
	 * key is an error that says so. */
	snprintf(text, sizeof(text), "smtpd_tls_cert_file = %s\n", cert_path);
	expect_config_error(text, "private key");
	snprintf(text, sizeof(text), "smtpd_tls_cert_file = %s\n"
		 "smtpd_tls_key_file = %s\n", cert_path, other_key_path);
	expect_config_error(text, "does not match");
	snprintf(text, sizeof(text), "smtpd_tls_cert_file = %s/nothing\n",
		 dir);
	expect_config_error(text, "No such file");
	snprintf(text, sizeof(text), "smtpd_tls_cert_file = %s\n"
		 "smtpd_tls_key_file = %s/nothing\n", cert_path, dir);
	expect_config_error(text, "No such file");
	/* A key where the certificate should be. */
	snprintf(text, sizeof(text), "smtpd_tls_cert_file = %s\n"
		 "smtpd_tls_key_file = %s\n", key_path, key_path);
	expect_config_error(text, "cannot load the certificate");

	/* Protocols: Postfix's forms; nothing below TLS 1.2 is left. */
	static const char *const good[] = {
		">=TLSv1.2", "!SSLv2, !SSLv3, !TLSv1, !TLSv1.1", ">=TLSv1",
		"TLSv1.2 TLSv1.3", "TLSv1.3", "<=TLSv1.2", "!SSLv3:!TLSv1",
		">=tlsv1.2",
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text), "smtpd_tls_protocols = %s\n",
			 good[i]);
		config_tls(text);
		UNIT_CHECK(tls_server_new(&ts, &error) == 1);
		tls_server_free(&ts);
	}
	static const struct {
		const char *line, *error;
	} bad[] = {
		{ "smtpd_tls_protocols = TLSv1 TLSv1.1\n", "no protocol left" },
		{ "smtpd_tls_protocols = <=TLSv1.1\n", "no protocol left" },
		{ "smtpd_tls_protocols = !TLSv1.2, !TLSv1.3\n",
		  "no protocol left" },
		{ "smtpd_tls_protocols = >=TLSv2\n", "unknown protocol" },
		{ "smtpd_tls_protocols = TLSv1.2 SSLv4\n", "unknown protocol" },
		{ "smtpd_tls_cipherlist = NO-SUCH-CIPHER\n",
		  "smtpd_tls_cipherlist" },
		{ "smtpd_tls_ciphersuites = TLS_NO_SUCH\n",
		  "smtpd_tls_ciphersuites" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		expect_config_error(tls_text(bad[i].line), bad[i].error);
	}
}

/* --- the client thread --- */

struct client {
	int fd;
	int max_version;	/* 0: OpenSSL's default */
	const char *plaintext;	/* sent before the handshake */
	bool expect_reply;	/* read one plaintext line first */
	bool big;		/* exchange BIG_SIZE octets each way */
	bool close_notify;	/* end with SSL_shutdown */
	/* results */
	bool handshake_ok;
	char reply[128];
	char got[64];
	size_t big_received;
	bool saw_close_notify;
	char version[16];
};

/* One plaintext line, byte by byte: nothing of the handshake that
 * follows may be read here. */
static void read_plain_line(int fd, char *out, size_t size)
{
	size_t n = 0;
	char c;

	while (n + 1 < size && read(fd, &c, 1) == 1) {
		out[n++] = c;
		if (c == '\n')
			break;
	}
	out[n] = '\0';
}

static size_t ssl_read_all(SSL *ssl, char *buf, size_t want)
{
	size_t got = 0, n;

	while (got < want && SSL_read_ex(ssl, buf + got, want - got, &n) == 1)
		got += n;
	return got;
}

static void client_exchange(struct client *c, SSL *ssl)
{
	size_t n;

	snprintf(c->version, sizeof(c->version), "%s", SSL_get_version(ssl));
	if (SSL_write_ex(ssl, "hello\r\n", 7, &n) != 1)
		return;
	c->got[ssl_read_all(ssl, c->got, 7)] = '\0';
	if (c->big) {
		char *buf = malloc(BIG_SIZE);
		memset(buf, 'b', BIG_SIZE);
		/* The server reads all of this before it answers; the "done"
		 * tells it that its answer was read, so that its close_notify
		 * finds room in the socket (it is sent without waiting). */
		if (SSL_write_ex(ssl, buf, BIG_SIZE, &n) == 1)
			c->big_received = ssl_read_all(ssl, buf, BIG_SIZE);
		free(buf);
		if (SSL_write_ex(ssl, "done\r\n", 6, &n) != 1)
			return;
	}
	if (c->close_notify) {
		SSL_shutdown(ssl);
		return;
	}
	/* Waits for the server's close_notify. */
	char byte;
	int ret = SSL_read_ex(ssl, &byte, 1, &n);
	c->saw_close_notify = ret == 0 &&
			      SSL_get_error(ssl, ret) == SSL_ERROR_ZERO_RETURN;
}

static void *client_main(void *arg)
{
	struct client *c = arg;
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl;
	sigset_t pipe;

	/* OpenSSL's client writes with write(2): a server that hung up
	 * must give this thread EPIPE, not kill the test. */
	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, NULL);

	if (c->max_version != 0) {
		/* OpenSSL 3 allows TLS 1.1 only at security level 0. */
		SSL_CTX_set_security_level(ctx, 0);
		SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
		SSL_CTX_set_max_proto_version(ctx, c->max_version);
		SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0");
	}
	if (c->plaintext != NULL &&
	    write(c->fd, c->plaintext, strlen(c->plaintext)) < 0)
		goto out;
	if (c->expect_reply)
		read_plain_line(c->fd, c->reply, sizeof(c->reply));
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, c->fd);
	if (SSL_connect(ssl) == 1) {
		c->handshake_ok = true;
		client_exchange(c, ssl);
	}
	SSL_free(ssl);
out:
	SSL_CTX_free(ctx);
	ERR_clear_error();
	shutdown(c->fd, SHUT_WR);
	return NULL;
}

static struct tls_server *server_new(void)
{
	struct tls_server *ts = NULL;
	const char *error = NULL;

	config_tls("");
	if (tls_server_new(&ts, &error) != 1) {
		fprintf(stderr, "tls_server_new: %s\n", error);
		exit(2);
	}
	return ts;
}

static void pair(int fds[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) < 0) {
		perror("socketpair");
		exit(2);
	}
}

/* --- the tests --- */

/* The big echo: reads BIG_SIZE octets, then writes as many. */
static void server_big(struct stream *s)
{
	const char *data;
	size_t len, got = 0;
	bool same = true;

	while (got < BIG_SIZE && stream_peek(s, &data, &len) == 1) {
		for (size_t i = 0; i < len; i++)
			same &= data[i] == 'b';
		got += len;
		stream_skip(s, len);
	}
	UNIT_CHECK(got == BIG_SIZE && same);
	char chunk[8192];
	memset(chunk, 'c', sizeof(chunk));
	for (size_t i = 0; i < BIG_SIZE / sizeof(chunk); i++)
		UNIT_CHECK(stream_write(s, chunk, sizeof(chunk)) == 0);
	UNIT_CHECK(stream_flush(s) == 0);
	UNIT_CHECK(stream_read_line(s, &data, &len) == 1);
	UNIT_STREQ(data, "done\r");
}

static void run_session(bool big, bool client_closes)
{
	struct tls_server *ts = server_new();
	struct tls_conn *conn = NULL;
	struct client c = { 0 };
	const char *line, *error = NULL;
	size_t len, dropped = 0;
	pthread_t th;
	int fds[2];

	pair(fds);
	c.fd = fds[1];
	c.plaintext = "STARTTLS\r\nMAIL FROM:<x@y>\r\n";
	c.expect_reply = true;
	c.big = big;
	c.close_notify = client_closes;
	struct stream *s = stream_new(fds[0], 1000);
	stream_set_timeout(s, 10000);
	pthread_create(&th, NULL, client_main, &c);

	UNIT_CHECK(stream_read_line(s, &line, &len) == 1);
	UNIT_STREQ(line, "STARTTLS\r");
	/* The rest of the client's write is already buffered. */
	UNIT_CHECK(stream_input_pending(s));
	UNIT_CHECK(stream_write(s, "220 2.0.0 Ready\r\n", 17) == 0);
	int ret = tls_server_start(ts, s, 10000, &conn, &dropped, &error);
	UNIT_CHECK(ret == 0 && conn != NULL);
	if (ret < 0) {
		fprintf(stderr, "tls_server_start: %s\n", error);
		pthread_join(th, NULL);
		goto out;
	}
	UNIT_CHECK(dropped == strlen("MAIL FROM:<x@y>\r\n"));
	UNIT_STREQ(tls_conn_protocol(conn), "TLSv1.3");
	/* The server's preference: the first of smtpd_tls_ciphersuites. */
	UNIT_STREQ(tls_conn_cipher(conn), "TLS_AES_256_GCM_SHA384");
	UNIT_CHECK(tls_conn_bits(conn) == 256);
	/* The first line through TLS is the client's, not the plaintext. */
	UNIT_CHECK(stream_read_line(s, &line, &len) == 1);
	UNIT_STREQ(line, "hello\r");
	UNIT_CHECK(stream_write(s, "world\r\n", 7) == 0);
	UNIT_CHECK(stream_flush(s) == 0);
	if (big)
		server_big(s);
	if (client_closes)
		UNIT_CHECK(stream_read_line(s, &line, &len) == STREAM_EOF);
	tls_conn_free(&conn, s);
	UNIT_CHECK(conn == NULL);
	pthread_join(th, NULL);
	UNIT_STREQ(c.reply, "220 2.0.0 Ready\r\n");
	UNIT_CHECK(c.handshake_ok);
	UNIT_STREQ(c.got, "world\r\n");
	UNIT_STREQ(c.version, "TLSv1.3");
	if (big)
		UNIT_CHECK(c.big_received == BIG_SIZE);
	if (!client_closes)
		UNIT_CHECK(c.saw_close_notify);
	/* The plain transport is back. */
	UNIT_CHECK(stream_write(s, "x", 1) == 0);
	(void)stream_flush(s);
out:
	stream_free(&s);
	close(fds[0]);
	close(fds[1]);
	tls_server_free(&ts);
}

/* A handshake that must fail; returns its error (static). */
static const char *failed_handshake(struct client *c, int timeout_ms,
				    bool close_early)
{
	struct tls_server *ts = server_new();
	struct tls_conn *conn = NULL;
	const char *error = "";
	size_t dropped = 99;
	pthread_t th;
	int fds[2];

	pair(fds);
	struct stream *s = stream_new(fds[0], 1000);
	stream_set_timeout(s, 10000);
	c->fd = fds[1];
	if (close_early) {
		/* Half a ClientHello, then gone. */
		static const char part[] = "\x16\x03\x01\x02\x00\x01\x00\x01";
		UNIT_CHECK(write(fds[1], part, sizeof(part) - 1) > 0);
		close(fds[1]);
		fds[1] = -1;
	} else {
		pthread_create(&th, NULL, client_main, c);
	}
	int ret = tls_server_start(ts, s, timeout_ms, &conn, &dropped, &error);
	UNIT_CHECK(ret == -1 && conn == NULL);
	UNIT_CHECK(dropped == 0);
	if (!close_early) {
		/* The client may wait for more: unblock it. */
		shutdown(fds[0], SHUT_RDWR);
		pthread_join(th, NULL);
		UNIT_CHECK(!c->handshake_ok);
		close(fds[1]);
	}
	stream_free(&s);
	close(fds[0]);
	tls_server_free(&ts);
	return error;
}

static void test_failures(void)
{
	struct client c;
	const char *error;

	/* TLS 1.1 at most: below the floor. */
	memset(&c, 0, sizeof(c));
	c.max_version = TLS1_1_VERSION;
	error = failed_handshake(&c, 10000, false);
	UNIT_STREQ(error, "unsupported protocol");

	/* A plaintext client on an implicit-TLS port. */
	memset(&c, 0, sizeof(c));
	c.plaintext = "EHLO client.example\r\n";
	c.expect_reply = true;	/* waits: it gets nothing but the close */
	error = failed_handshake(&c, 10000, false);
	UNIT_CHECK(strcmp(error, "timeout") != 0 &&
		   strcmp(error, "lost connection") != 0);

	/* A client that says nothing: the timeout, promptly. */
	memset(&c, 0, sizeof(c));
	c.plaintext = "";
	c.expect_reply = true;
	uint64_t t0 = time_mono_ms();
	error = failed_handshake(&c, 300, false);
	UNIT_STREQ(error, "timeout");
	UNIT_CHECK(time_mono_ms() - t0 < 5000);

	/* Gone in the middle of its ClientHello. */
	memset(&c, 0, sizeof(c));
	error = failed_handshake(&c, 10000, true);
	UNIT_STREQ(error, "lost connection");
}

/* --- clients that drip --- */

struct drip {
	int fd;
	bool after_handshake;	/* drip a record, not the ClientHello */
	bool handshake_ok;
	size_t total;		/* octets to drip */
	size_t sent;		/* octets dripped before the server hung up */
};

/* Sends data one octet every 40 ms until it is all sent or the server
 * hangs up. */
static void drip_out(struct drip *d, const unsigned char *data, size_t len)
{
	d->total = len;
	for (size_t i = 0; i < len; i++) {
		if (send(d->fd, data + i, 1, MSG_NOSIGNAL) != 1)
			return;
		d->sent++;
		usleep(40 * 1000);
	}
}

/* Makes the ClientHello (or, after a real handshake over the socket, one
 * application record) into a memory BIO and drips it onto the socket. */
static void *drip_main(void *arg)
{
	struct drip *d = arg;
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl = SSL_new(ctx);
	BIO *mem = BIO_new(BIO_s_mem());
	unsigned char *data;
	size_t n;
	sigset_t pipe;

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, NULL);
	if (d->after_handshake) {
		SSL_set_fd(ssl, d->fd);
		d->handshake_ok = SSL_connect(ssl) == 1;
		if (!d->handshake_ok)
			goto out;
		SSL_set0_wbio(ssl, mem);	/* ssl owns mem now */
		(void)SSL_write_ex(ssl, "hello\r\n", 7, &n);
	} else {
		/* Nothing to read: the hello is all it writes. */
		SSL_set_bio(ssl, BIO_new(BIO_s_mem()), mem);
		(void)SSL_connect(ssl);		/* WANT_READ: hello written */
	}
	mem = NULL;
	long len = BIO_get_mem_data(SSL_get_wbio(ssl), (char **)&data);
	if (len > 0)
		drip_out(d, data, (size_t)len);
out:
	BIO_free(mem);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return NULL;
}

/* A client that sends its ClientHello, or a record after the handshake,
 * an octet at a time, each well within the timeout: the timeout bounds
 * the whole handshake and the whole record, not each wait. */
static void test_drip(bool after_handshake)
{
	struct tls_server *ts = server_new();
	struct tls_conn *conn = NULL;
	struct drip d = { .after_handshake = after_handshake };
	const char *error = "", *line;
	size_t len;
	pthread_t th;
	int fds[2];

	pair(fds);
	d.fd = fds[1];
	struct stream *s = stream_new(fds[0], 1000);
	pthread_create(&th, NULL, drip_main, &d);
	uint64_t t0 = time_mono_ms();
	int ret = tls_server_start(ts, s, after_handshake ? 10000 : 400,
				   &conn, NULL, &error);
	if (after_handshake) {
		UNIT_CHECK(ret == 0);
		stream_set_timeout(s, 400);
		t0 = time_mono_ms();
		if (ret == 0)
			UNIT_CHECK(stream_read_line(s, &line, &len) ==
				   STREAM_TIMEOUT);
	} else {
		UNIT_CHECK(ret == -1);
		UNIT_STREQ(error, "timeout");
	}
	uint64_t took = time_mono_ms() - t0;
	UNIT_CHECK(took >= 350 && took < 2000);
	tls_conn_free(&conn, s);
	shutdown(fds[0], SHUT_RDWR);
	pthread_join(th, NULL);
	if (after_handshake)
		UNIT_CHECK(d.handshake_ok);
	/* The server gave up with more to come. */
	UNIT_CHECK(d.total > 0 && d.sent < d.total);
	stream_free(&s);
	close(fds[0]);
	close(fds[1]);
	tls_server_free(&ts);
}

int main(void)
{
	signal(SIGPIPE, SIG_DFL);	/* lib/tls must not raise it */
	make_files();
	test_config();
	run_session(false, false);
	run_session(true, false);
	run_session(false, true);
	test_failures();
	test_drip(false);
	test_drip(true);
	unit_rmtree(dir);
	return unit_done();
}
