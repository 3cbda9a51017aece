/* tls: the server side of TLS (OpenSSL) for smtpd, pop3d and imapd, put
 * underneath a struct stream so that no protocol code changes.
 *
 * One set of main.cf names serves every protocol: smtpd_tls_cert_file,
 * smtpd_tls_key_file, smtpd_tls_protocols, smtpd_tls_cipherlist (TLS 1.2
 * cipher list), smtpd_tls_ciphersuites (TLS 1.3). The context is built
 * once per process, before privileges are dropped (the key may be readable
 * by root only), and serves every client of the process.
 *
 * STARTTLS / STLS: tls_server_start() first throws away whatever the
 * client sent after the command and before the handshake (plaintext
 * pipelined behind STARTTLS must never be executed: CVE-2011-0411) and
 * reports how many octets it dropped. Implicit TLS (465, 993, 995) calls
 * it right after accept, before any greeting. */
#ifndef SUREL_TLS_H
#define SUREL_TLS_H
#include <stdbool.h>
#include <stddef.h>
#include "stream.h"

struct tls_server;
struct tls_conn;

/* Builds the server context from main.cf (the parameters above). Returns
 * 1 with *ts_r, 0 when no certificate is configured (smtpd_tls_cert_file
 * empty: TLS is not offered), -1 with *error_r (static) when the files
 * cannot be read, the key does not match the certificate, or a protocol
 * or cipher setting is invalid. */
int tls_server_new(struct tls_server **ts_r, const char **error_r)
	__attribute__((warn_unused_result));
void tls_server_free(struct tls_server **ts);

/* Drops buffered plaintext input of s (*dropped_r octets, may be NULL),
 * flushes s's buffered output (the plaintext "go ahead" reply), runs the
 * server handshake within timeout_ms, and on success makes s read and
 * write through TLS. Returns 0 with *conn_r (free it with tls_conn_free
 * before stream_free), or -1 with *error_r (static; "lost connection",
 * "timeout", or OpenSSL's reason such as "unsupported protocol"): the
 * session cannot go on (the caller closes the connection). */
int tls_server_start(struct tls_server *ts, struct stream *s, int timeout_ms,
		     struct tls_conn **conn_r, size_t *dropped_r,
		     const char **error_r)
	__attribute__((warn_unused_result));
/* Sends close_notify (best effort, without waiting for the peer's), puts
 * the plain transport back into the stream (s may be NULL) and frees
 * conn. Flush s first: what it still buffers is not sent. */
void tls_conn_free(struct tls_conn **conn, struct stream *s);

/* "TLSv1.3", "TLS_AES_256_GCM_SHA384", 256: for logs and for the
 * Received: header ("using TLSv1.3 with cipher X (256/256 bits)"). */
const char *tls_conn_protocol(const struct tls_conn *conn);
const char *tls_conn_cipher(const struct tls_conn *conn);
int tls_conn_bits(const struct tls_conn *conn);

#endif
