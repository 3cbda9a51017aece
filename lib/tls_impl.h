/* tls_impl: the connection plumbing that lib/tls (server) and
 * lib/tls_client share: struct tls_conn, the socket BIO, the handshake
 * loop with its deadline, the hookup under a struct stream, the protocol
 * list parser and the error texts. Internal to the two; nothing else
 * includes it. Implemented in tls.c. */
#ifndef SUREL_TLS_IMPL_H
#define SUREL_TLS_IMPL_H
#include <stdbool.h>
#include <openssl/ssl.h>
#include "stream.h"

struct tls_conn {
	SSL *ssl;
	int fd;
	short want;	/* poll events wanted after the last EAGAIN */
	bool eof;	/* the socket read returned 0 */
	bool failed;	/* a fatal error: no more SSL calls but SSL_free */
	const char *protocol, *cipher;
	int bits, alg_bits;
};

/* Formats the static error text behind error_r (valid until the next
 * call of any tls_* function). */
const char *tls_error_set(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
/* The reason of OpenSSL's most recent error, the error queue emptied. */
const char *tls_ssl_reason(void);

/* The BIO over a socket (MSG_NOSIGNAL sends). NULL when OpenSSL fails. */
BIO_METHOD *tls_bio_method_new(void);

/* Postfix's protocol list syntax (see tls.c); param names the setting in
 * the error. *min_r / *max_r: OpenSSL versions, TLS 1.2 at least. */
int tls_protocols_parse(const char *param, const char *value, int *min_r,
			int *max_r, const char **error_r)
	__attribute__((warn_unused_result));

/* Runs the handshake within timeout_ms. -1 with *error_r ("timeout",
 * "lost connection" or OpenSSL's reason) and c marked failed. */
/* What both sides do before a handshake on stream s: drop the plaintext
 * input buffered behind STARTTLS (never to be executed: CVE-2011-0411;
 * *dropped_r octets, may be NULL), flush the plaintext output (the "go
 * ahead" reply, or the STARTTLS command's leftovers), and make the
 * connection over s's fd. NULL with *error_r on failure. */
struct tls_conn *tls_conn_begin(SSL_CTX *ctx, BIO_METHOD *method,
				struct stream *s, bool server,
				size_t *dropped_r, const char **error_r);
int tls_conn_handshake(struct tls_conn *c, int timeout_ms,
		       const char **error_r)
	__attribute__((warn_unused_result));
/* After the handshake: notes protocol, cipher and bits, and makes s read
 * and write through c. */
void tls_conn_attach(struct tls_conn *c, struct stream *s);

#endif
