/* tls: the server side of TLS with OpenSSL 3, put underneath a struct
 * stream; see tls.h. Also the connection plumbing that lib/tls_client
 * shares (tls_impl.h): the socket BIO, the handshake loop, the stream
 * hookup, the protocol list parser.
 *
 * Choices: TLS 1.2 is the floor whatever smtpd_tls_protocols says; no
 * renegotiation and no compression (CRIME); the server's cipher order
 * wins. Session tickets and the session cache are off: each pre-forked
 * process would hold its own ticket key, so a ticket could be resumed
 * only by the same process, and the one-client-per-process model would
 * make that rare; a shared key store can turn them on later.
 *
 * The socket is reached through a small BIO of our own instead of
 * OpenSSL's socket BIO: it sends with MSG_NOSIGNAL, so a vanished client
 * is an error and never a SIGPIPE, as in lib/stream. */
#include "config.h"
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include "buf.h"
#include "conf.h"
#include "fsutil.h"
#include "mem.h"
#include "metrics.h"
#include "str.h"
#include "timeutil.h"
#include "tls.h"
#include "tls_impl.h"

#define TLS_ERROR_MAX 1024

struct tls_server {
	SSL_CTX *ctx;
	BIO_METHOD *bio_method;
};

static struct buf tls_error;

const char *tls_error_set(const char *fmt, ...)
{
	va_list ap;
	const char *msg;

	va_start(ap, fmt);
	msg = buf_error_vset(&tls_error, TLS_ERROR_MAX, "TLS error", fmt, ap);
	va_end(ap);
	return msg;
}

/* The reason of OpenSSL's most recent error ("no shared cipher"), and
 * the queue emptied: a stale error would confuse the next call. */
const char *tls_ssl_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *reason = e != 0 ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	return reason != NULL ? reason : "unknown error";
}

/* --- the socket BIO --- */

static int bio_sock_write(BIO *b, const char *data, int len)
{
	struct tls_conn *c = BIO_get_data(b);
	ssize_t n = send(c->fd, data, (size_t)len, MSG_NOSIGNAL);

	if (n < 0 && errno == ENOTSOCK)
		n = write(c->fd, data, (size_t)len);
	BIO_clear_retry_flags(b);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		      errno == EINTR))
		BIO_set_retry_write(b);
	return (int)n;
}

static int bio_sock_read(BIO *b, char *data, int len)
{
	struct tls_conn *c = BIO_get_data(b);
	ssize_t n = read(c->fd, data, (size_t)len);

	BIO_clear_retry_flags(b);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		      errno == EINTR))
		BIO_set_retry_read(b);
	if (n == 0)
		c->eof = true;
	return (int)n;
}

static long bio_sock_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	struct tls_conn *c = BIO_get_data(b);

	(void)num;
	(void)ptr;
	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return 1;
	case BIO_CTRL_EOF:
		/* Lets OpenSSL tell a peer that just closed from a failed
		 * read. */
		return c != NULL && c->eof;
	default:
		return 0;
	}
}

BIO_METHOD *tls_bio_method_new(void)
{
	BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
				     "surel socket");

	if (m == NULL || BIO_meth_set_write(m, bio_sock_write) != 1 ||
	    BIO_meth_set_read(m, bio_sock_read) != 1 ||
	    BIO_meth_set_ctrl(m, bio_sock_ctrl) != 1) {
		BIO_meth_free(m);
		return NULL;
	}
	return m;
}

/* --- the context --- */

/* smtpd_tls_protocols' names, oldest first: bit i of a mask is
 * tls_versions[i]. */
static const struct {
	const char *name;
	int version;
} tls_versions[] = {
	{ "SSLv2", 0 },
	{ "SSLv3", SSL3_VERSION },
	{ "TLSv1", TLS1_VERSION },
	{ "TLSv1.1", TLS1_1_VERSION },
	{ "TLSv1.2", TLS1_2_VERSION },
	{ "TLSv1.3", TLS1_3_VERSION },
};
#define TLS_NVERSIONS (sizeof(tls_versions) / sizeof(tls_versions[0]))
#define TLS_FLOOR 4	/* TLSv1.2: nothing older is ever offered */

static int version_index(const char *name)
{
	for (size_t i = 0; i < TLS_NVERSIONS; i++)
		if (str_eq_ci(tls_versions[i].name, name))
			return (int)i;
	return -1;
}

/* Postfix's syntax: ">=TLSv1.2", "<=TLSv1.3", "!TLSv1" excludes, a bare
 * name includes (only the names given are then offered); separated by
 * white space, commas or colons. *min_r / *max_r: OpenSSL versions. */
int tls_protocols_parse(const char *param, const char *value, int *min_r,
			int *max_r, const char **error_r)
{
	char *copy = xstrdup(value), *p = copy, *tok;
	unsigned include = 0, exclude = 0, lo = 0, hi = TLS_NVERSIONS - 1;
	int ret = 0;

	while (ret == 0 && (tok = str_next_token(&p, " \t,:")) != NULL) {
		size_t skip = strncmp(tok, ">=", 2) == 0 ||
			      strncmp(tok, "<=", 2) == 0 ? 2
			      : tok[0] == '!' ? 1 : 0;
		int i = version_index(tok + skip);
		if (i < 0) {
			*error_r = tls_error_set("%s: unknown protocol "
						 "'%s'", param, tok);
			ret = -1;
		} else if (tok[0] == '>') {
			lo = (unsigned)i;
		} else if (tok[0] == '<') {
			hi = (unsigned)i;
		} else if (tok[0] == '!') {
			exclude |= 1u << i;
		} else {
			include |= 1u << i;
		}
	}
	free(copy);
	if (ret < 0)
		return -1;
	unsigned mask = include != 0 ? include : (1u << TLS_NVERSIONS) - 1;
	mask &= ~exclude;
	int first = -1, last = -1;
	for (unsigned i = TLS_FLOOR; i < TLS_NVERSIONS; i++) {
		if ((mask & (1u << i)) == 0 || i < lo || i > hi)
			continue;
		if (first < 0)
			first = (int)i;
		last = (int)i;
	}
	if (first < 0) {
		*error_r = tls_error_set("%s = %s: no protocol left "
					 "(TLSv1.2 is the oldest offered)",
					 param, value);
		return -1;
	}
	/* Between TLSv1.2 and TLSv1.3 every set is a range. */
	*min_r = tls_versions[first].version;
	*max_r = tls_versions[last].version;
	return 0;
}

static int ctx_settings(SSL_CTX *ctx, const char **error_r)
{
	const char *list = conf_str("smtpd_tls_cipherlist");
	const char *suites = conf_str("smtpd_tls_ciphersuites");
	int min, max;

	if (tls_protocols_parse("smtpd_tls_protocols",
				conf_str("smtpd_tls_protocols"), &min, &max,
				error_r) < 0)
		return -1;
	if (SSL_CTX_set_min_proto_version(ctx, min) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, max) != 1) {
		*error_r = tls_error_set("smtpd_tls_protocols: %s",
					 tls_ssl_reason());
		return -1;
	}
	if (*list != '\0' && SSL_CTX_set_cipher_list(ctx, list) != 1) {
		*error_r = tls_error_set("smtpd_tls_cipherlist = %s: %s", list,
					 tls_ssl_reason());
		return -1;
	}
	if (*suites != '\0' && SSL_CTX_set_ciphersuites(ctx, suites) != 1) {
		*error_r = tls_error_set("smtpd_tls_ciphersuites = %s: %s",
					 suites, tls_ssl_reason());
		return -1;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
				 SSL_OP_NO_COMPRESSION |
				 SSL_OP_CIPHER_SERVER_PREFERENCE |
				 SSL_OP_NO_TICKET);
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
			      SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* DHE with a group as strong as the certificate's key. */
	SSL_CTX_set_dh_auto(ctx, 1);
	return 0;
}

/* An encrypted key would make OpenSSL prompt on the terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

static EVP_PKEY *read_key(const char *path, const char **error_r)
{
	FILE *f = fopen(path, "re");
	EVP_PKEY *key;

	if (f == NULL) {
		*error_r = tls_error_set("smtpd_tls_key_file %s: %s", path,
					 strerror(errno));
		return NULL;
	}
	key = PEM_read_PrivateKey(f, NULL, no_passphrase, NULL);
	fclose(f);
	if (key == NULL)
		*error_r = tls_error_set("smtpd_tls_key_file %s: no usable "
					 "private key (%s; encrypted keys "
					 "are not supported)", path,
					 tls_ssl_reason());
	return key;
}

static int ctx_keys(SSL_CTX *ctx, const char *cert, const char *key_path,
		    const char **error_r)
{
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		/* OpenSSL says "system lib" for a missing file. */
		const char *reason = access(cert, R_OK) < 0 ? strerror(errno)
							    : tls_ssl_reason();
		ERR_clear_error();
		*error_r = tls_error_set("smtpd_tls_cert_file %s: cannot load "
					 "the certificate: %s", cert, reason);
		return -1;
	}
	EVP_PKEY *key = read_key(key_path, error_r);
	if (key == NULL)
		return -1;
	int ok = SSL_CTX_use_PrivateKey(ctx, key) == 1 &&
		 SSL_CTX_check_private_key(ctx) == 1;
	EVP_PKEY_free(key);
	if (!ok) {
		ERR_clear_error();
		*error_r = tls_error_set("smtpd_tls_key_file %s: the key does "
					 "not match the certificate in %s",
					 key_path, cert);
		return -1;
	}
	return 0;
}

int tls_server_new(struct tls_server **ts_r, const char **error_r)
{
	const char *cert = conf_str("smtpd_tls_cert_file");
	const char *key = conf_str("smtpd_tls_key_file");
	struct tls_server *ts;

	*ts_r = NULL;
	if (*cert == '\0')
		return 0;
	if (*key == '\0')
		key = cert;
	ERR_clear_error();
	ts = xcalloc(1, sizeof(*ts));
	ts->ctx = SSL_CTX_new(TLS_server_method());
	ts->bio_method = tls_bio_method_new();
	if (ts->ctx == NULL || ts->bio_method == NULL) {
		*error_r = tls_error_set("cannot make a TLS context: %s",
					 tls_ssl_reason());
		tls_server_free(&ts);
		return -1;
	}
	if (ctx_settings(ts->ctx, error_r) < 0 ||
	    ctx_keys(ts->ctx, cert, key, error_r) < 0) {
		tls_server_free(&ts);
		return -1;
	}
	*ts_r = ts;
	return 1;
}

void tls_server_free(struct tls_server **ts)
{
	if (*ts == NULL)
		return;
	SSL_CTX_free((*ts)->ctx);
	BIO_meth_free((*ts)->bio_method);
	xfree(ts);
}

/* --- a connection --- */

/* Maps an SSL_read/SSL_write failure to the read(2)/write(2) contract of
 * stream.h. saved_errno: errno right after the call. */
static ssize_t io_failure(struct tls_conn *c, int ret, int saved_errno,
			  bool reading)
{
	int err = SSL_get_error(c->ssl, ret);

	switch (err) {
	case SSL_ERROR_WANT_READ:
		c->want = POLLIN;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		c->want = POLLOUT;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		/* close_notify: the end of the peer's data. */
		if (reading)
			return 0;
		errno = EPIPE;
		return -1;
	default:
		break;
	}
	c->failed = true;
	unsigned long e = ERR_peek_last_error();
	ERR_clear_error();
	/* A peer that closes without close_notify: SMTP, POP3 and IMAP
	 * mark their own ends, so this is an ordinary EOF. */
	if (reading && (c->eof ||
			(err == SSL_ERROR_SYSCALL && saved_errno == 0) ||
			ERR_GET_REASON(e) ==
				SSL_R_UNEXPECTED_EOF_WHILE_READING))
		return 0;
	errno = err == SSL_ERROR_SYSCALL && saved_errno != 0 ? saved_errno
							     : EPROTO;
	return -1;
}

/* One SSL_read_ex or SSL_write_ex with the stream's read(2)/write(2)
 * conventions. */
static ssize_t tls_io(struct tls_conn *c, bool reading, void *buf, size_t len)
{
	size_t n;

	if (c->failed) {
		errno = EIO;
		return -1;
	}
	ERR_clear_error();
	errno = 0;
	int ret = reading ? SSL_read_ex(c->ssl, buf, len, &n)
			  : SSL_write_ex(c->ssl, buf, len, &n);
	int saved = errno;
	if (ret == 1)
		return (ssize_t)n;
	return io_failure(c, ret, saved, reading);
}

static ssize_t tls_read(void *ctx, void *buf, size_t len)
{
	return tls_io(ctx, true, buf, len);
}

static ssize_t tls_write(void *ctx, const void *buf, size_t len)
{
	/* SSL_write_ex only reads buf; tls_io shares one signature. */
	return tls_io(ctx, false, (void *)buf, len);
}

/* TLS may have to write while the stream reads (a key update) or read
 * while it writes: poll for what OpenSSL asked for. */
static short tls_wait(void *ctx, short events)
{
	struct tls_conn *c = ctx;

	return c->want != 0 ? c->want : events;
}

/* Why the handshake failed, for the log: "lost connection", "wrong version
 * number" (a plaintext client), "unsupported protocol"... */
static const char *handshake_failure(struct tls_conn *c, int ret,
				     int saved_errno)
{
	int err = SSL_get_error(c->ssl, ret);
	unsigned long e = ERR_peek_last_error();

	c->failed = true;
	if (err == SSL_ERROR_SSL &&
	    ERR_GET_REASON(e) != SSL_R_UNEXPECTED_EOF_WHILE_READING)
		return tls_error_set("%s", tls_ssl_reason());
	ERR_clear_error();
	if (err == SSL_ERROR_SYSCALL && saved_errno != 0 && !c->eof)
		return tls_error_set("%s", strerror(saved_errno));
	return "lost connection";
}

int tls_conn_handshake(struct tls_conn *c, int timeout_ms,
		       const char **error_r)
{
	uint64_t deadline = time_mono_ms() + (uint64_t)(timeout_ms < 0 ? 0
							: timeout_ms);

	for (;;) {
		ERR_clear_error();
		errno = 0;
		int ret = SSL_do_handshake(c->ssl);
		int saved = errno;
		if (ret == 1)
			return 0;
		int err = SSL_get_error(c->ssl, ret);
		if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
			*error_r = handshake_failure(c, ret, saved);
			return -1;
		}
		int w = fs_wait_fd(c->fd, err == SSL_ERROR_WANT_READ ? POLLIN
								 : POLLOUT,
				 deadline);
		if (w <= 0) {
			c->failed = true;
			*error_r = w == 0 ? "timeout" : tls_error_set(
				"poll: %s", strerror(errno));
			return -1;
		}
	}
}

/* A connection on fd with a new SSL of ctx over a BIO of method, in the
 * accept (server) or connect state. NULL when OpenSSL fails. */
static struct tls_conn *tls_conn_new(SSL_CTX *ctx, BIO_METHOD *method,
				     int fd, bool server)
{
	struct tls_conn *c = xcalloc(1, sizeof(*c));
	BIO *bio;

	c->fd = fd;
	c->ssl = SSL_new(ctx);
	bio = BIO_new(method);
	if (c->ssl == NULL || bio == NULL) {
		BIO_free(bio);
		SSL_free(c->ssl);
		free(c);
		return NULL;
	}
	BIO_set_data(bio, c);
	BIO_set_init(bio, 1);
	SSL_set_bio(c->ssl, bio, bio);	/* the SSL owns the BIO now */
	if (server)
		SSL_set_accept_state(c->ssl);
	else
		SSL_set_connect_state(c->ssl);
	return c;
}

void tls_conn_attach(struct tls_conn *c, struct stream *s)
{
	const SSL_CIPHER *cipher = SSL_get_current_cipher(c->ssl);

	c->protocol = SSL_get_version(c->ssl);
	metrics_count_tls(c->protocol);
	c->cipher = cipher != NULL ? SSL_CIPHER_get_name(cipher) : "unknown";
	c->bits = cipher != NULL ? SSL_CIPHER_get_bits(cipher, &c->alg_bits)
				 : 0;
	stream_set_io(s, tls_read, tls_write, c);
	stream_set_io_wait(s, tls_wait);
}

struct tls_conn *tls_conn_begin(SSL_CTX *ctx, BIO_METHOD *method,
				struct stream *s, bool server,
				size_t *dropped_r, const char **error_r)
{
	struct tls_conn *c;
	size_t dropped = stream_drop_input(s);

	if (dropped_r != NULL)
		*dropped_r = dropped;
	if (stream_flush(s) < 0) {
		*error_r = "lost connection";
		return NULL;
	}
	ERR_clear_error();
	c = tls_conn_new(ctx, method, stream_fd(s), server);
	if (c == NULL)
		*error_r = tls_error_set("SSL_new: %s", tls_ssl_reason());
	return c;
}

int tls_server_start(struct tls_server *ts, struct stream *s, int timeout_ms,
		     struct tls_conn **conn_r, size_t *dropped_r,
		     const char **error_r)
{
	struct tls_conn *c;

	*conn_r = NULL;
	c = tls_conn_begin(ts->ctx, ts->bio_method, s, true, dropped_r,
			   error_r);
	if (c == NULL)
		return -1;
	if (tls_conn_handshake(c, timeout_ms, error_r) < 0) {
		SSL_free(c->ssl);
		free(c);
		return -1;
	}
	tls_conn_attach(c, s);
	*conn_r = c;
	return 0;
}

void tls_conn_free(struct tls_conn **conn, struct stream *s)
{
	struct tls_conn *c = *conn;

	if (c == NULL)
		return;
	/* One try: the client may be gone or not reading, and nobody waits
	 * for its close_notify (the protocol has said goodbye). */
	if (!c->failed) {
		ERR_clear_error();
		(void)SSL_shutdown(c->ssl);
	}
	ERR_clear_error();
	SSL_free(c->ssl);
	if (s != NULL)
		stream_set_io(s, NULL, NULL, NULL);
	xfree(conn);
}

const char *tls_conn_protocol(const struct tls_conn *conn)
{
	return conn->protocol;
}

const char *tls_conn_cipher(const struct tls_conn *conn)
{
	return conn->cipher;
}

int tls_conn_bits(const struct tls_conn *conn) { return conn->bits; }
