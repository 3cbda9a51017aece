/* smtpd_tls: TLS in the SMTP server: the context built before privileges
 * are dropped, STARTTLS (RFC 3207) with the session reset it requires,
 * implicit TLS for port 465 (smtpd_tls_wrappermode), the "encrypt"
 * security level, and the TLS facts for the log and the Received:
 * header. */
#include "config.h"
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "conf.h"
#include "log.h"
#include "smtpd.h"

enum smtpd_tls_level { SMTPD_TLS_NONE, SMTPD_TLS_MAY, SMTPD_TLS_ENCRYPT };

static struct {
	struct tls_server *server;	/* NULL: TLS is not offered */
	enum smtpd_tls_level level;
	bool wrapper;			/* TLS before the greeting (465) */
	int timeout_ms;			/* smtpd_starttls_timeout */
} smtpd_tls;

static enum smtpd_tls_level parse_level(const char *value)
{
	if (strcmp(value, "none") == 0)
		return SMTPD_TLS_NONE;
	if (strcmp(value, "may") == 0)
		return SMTPD_TLS_MAY;
	if (strcmp(value, "encrypt") == 0)
		return SMTPD_TLS_ENCRYPT;
	fatal("smtpd_tls_security_level = %s: expected none, may or encrypt",
	      value);
}

void smtpd_tls_init(void)
{
	uint64_t timeout = conf_time("smtpd_starttls_timeout");
	const char *error;

	smtpd_tls.level = parse_level(conf_str("smtpd_tls_security_level"));
	smtpd_tls.wrapper = conf_bool("smtpd_tls_wrappermode");
	smtpd_tls.timeout_ms = timeout > INT_MAX / 1000 ? INT_MAX
						       : (int)timeout * 1000;
	if (smtpd_tls.level == SMTPD_TLS_NONE && !smtpd_tls.wrapper)
		return;
	/* A broken certificate or key stops the process at start, where
	 * master's back-off and the log show it, not at the first client. */
	int ret = tls_server_new(&smtpd_tls.server, &error);
	if (ret < 0)
		fatal("%s", error);
	if (ret == 0 && smtpd_tls.wrapper)
		fatal("smtpd_tls_wrappermode = yes needs a certificate: "
		      "smtpd_tls_cert_file is empty");
	if (ret == 0 && smtpd_tls.level == SMTPD_TLS_ENCRYPT)
		fatal("smtpd_tls_security_level = encrypt needs a "
		      "certificate: smtpd_tls_cert_file is empty");
}

bool smtpd_tls_offered(const struct smtpd_session *s)
{
	return smtpd_tls.server != NULL &&
	       smtpd_tls.level != SMTPD_TLS_NONE && s->tls == NULL;
}

bool smtpd_tls_required(const struct smtpd_session *s)
{
	return smtpd_tls.level == SMTPD_TLS_ENCRYPT && s->tls == NULL;
}

/* The handshake on s's stream; logs its outcome. Returns 0 or -1. */
static int handshake(struct smtpd_session *s)
{
	const char *error;
	size_t dropped;
	char text[256];
	const char *data;
	size_t len;

	/* What the client sent behind STARTTLS came in plaintext and is
	 * thrown away unread (CVE-2011-0411); log a sample of it. */
	text[0] = '\0';
	if (stream_input_pending(s->stream) &&
	    stream_peek(s->stream, &data, &len) == 1)
		log_escape(text, sizeof(text), data, len < 60 ? len : 60);
	if (tls_server_start(smtpd_tls.server, s->stream, smtpd_tls.timeout_ms,
			     &s->tls, &dropped, &error) < 0) {
		log_info("SSL_accept error from %s[%s]: %s", s->client_name,
			 s->client_addr, error);
		return -1;
	}
	if (dropped > 0)
		log_info("improper command pipelining after STARTTLS from "
			 "%s[%s]: %zu octets of plaintext discarded: %s",
			 s->client_name, s->client_addr, dropped, text);
	int bits = tls_conn_bits(s->tls);
	log_info("Anonymous TLS connection established from %s[%s]: %s with "
		 "cipher %s (%d/%d bits)", s->client_name, s->client_addr,
		 tls_conn_protocol(s->tls), tls_conn_cipher(s->tls), bits,
		 bits);
	return 0;
}

int smtpd_tls_wrapper(struct smtpd_session *s)
{
	if (!smtpd_tls.wrapper)
		return 0;
	/* No plaintext reply is possible on a TLS port. */
	if (smtpd_anvil_newtls(s, false) < 0)
		return -1;
	return handshake(s);
}

bool smtpd_tls_is_starttls(const char *line, size_t len)
{
	return len >= 8 && strncasecmp(line, "STARTTLS", 8) == 0 &&
	       (len == 8 || line[8] == ' ');
}

enum smtpd_result smtpd_cmd_starttls(struct smtpd_session *s,
				     const char *line, size_t len)
{
	/* Trailing spaces are tolerated, as by the command parser. */
	while (len > 8 && line[len - 1] == ' ')
		len--;
	if (len != 8) {
		smtpd_reply(s, "501 5.5.4 Syntax: STARTTLS");
		return SMTPD_FAIL;
	}
	if (s->tls != NULL) {
		smtpd_reply(s, "554 5.5.1 Error: TLS already active");
		return SMTPD_FAIL;
	}
	if (smtpd_tls.server == NULL || smtpd_tls.level == SMTPD_TLS_NONE) {
		smtpd_reply(s, "502 5.5.1 Error: command not implemented");
		return SMTPD_FAIL;
	}
	if (smtpd_anvil_newtls(s, true) < 0)
		return SMTPD_CLOSE;
	smtpd_reply(s, "220 2.0.0 Ready to start TLS");
	if (handshake(s) < 0)
		return SMTPD_CLOSE;
	/* RFC 3207 4.2: forget everything learnt in plaintext; the client
	 * starts again with EHLO. */
	smtpd_txn_reset(s);
	smtpd_sasl_reset(s);
	free(s->helo);
	s->helo = NULL;
	s->esmtp = false;
	return SMTPD_OK;
}

int smtpd_tls_received(const struct smtpd_session *s, struct buf *b)
{
	if (s->tls == NULL)
		return 0;
	int bits = tls_conn_bits(s->tls);
	return buf_printf(b, "\n\t(using %s with cipher %s (%d/%d bits))",
			  tls_conn_protocol(s->tls), tls_conn_cipher(s->tls),
			  bits, bits);
}

void smtpd_tls_end(struct smtpd_session *s)
{
	tls_conn_free(&s->tls, s->stream);
}
