/* imapd_tls: STARTTLS (RFC 3501 6.2.1, RFC 9051 6.2.1) and implicit TLS
 * on port 993 (RFC 8314). What a client pipelined behind STARTTLS in
 * plaintext is thrown away by tls_server_start, never run as if it had
 * come through TLS (CVE-2011-0411); that it happened is logged. */
#include "config.h"
#include "log.h"
#include "imapd.h"

int imapd_tls_start_implicit(struct imapd_session *s)
{
	const char *error;

	if (tls_server_start(imapd_tables.tls, s->stream,
			     s->p->tls_timeout_ms, &s->tls, NULL,
			     &error) < 0) {
		log_info("TLS handshake failed: rip=%s, lip=%s: %s", s->rip,
			 s->lip, error);
		s->end_reason = "TLS handshake failed";
		s->tls = NULL;
		return -1;
	}
	return 0;
}

void imapd_cmd_starttls(struct imapd_session *s, const struct imap_arg *args)
{
	const char *error;
	size_t dropped = 0;

	if (args != NULL) {
		imapd_bad(s, "Unexpected arguments.");
		return;
	}
	if (s->tls != NULL) {
		imapd_bad(s, "TLS is already active.");
		return;
	}
	/* RFC 3501 6.2.1 has no NO for STARTTLS: not offered is BAD. */
	if (imapd_tables.tls == NULL) {
		imapd_bad(s, "TLS support is not configured.");
		return;
	}
	imapd_ok(s, "Begin TLS negotiation now.");
	/* tls_server_start flushes the OK, drops the pipelined input and
	 * runs the handshake. */
	if (tls_server_start(imapd_tables.tls, s->stream,
			     s->p->tls_timeout_ms, &s->tls, &dropped,
			     &error) < 0) {
		log_info("STARTTLS handshake failed: rip=%s, lip=%s: %s",
			 s->rip, s->lip, error);
		s->tls = NULL;
		s->end_reason = "TLS handshake failed";
		s->closing = true;
		return;
	}
	s->stats.in_bytes += dropped;
	if (dropped > 0)
		log_warn("rip=%s: discarded %zu octets pipelined after "
			 "STARTTLS", s->rip, dropped);
	/* The parser may hold the start of a command that came in the
	 * same read as STARTTLS: that too was plaintext. */
	imap_parser_reset(s->parser);
}
