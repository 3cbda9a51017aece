/* dkim_sign: a DKIM-Signature for a message, computed by libopendkim.
 * The message arrives as the queue stores it (LF line endings); header
 * fields are handed over one by one (folded lines joined with CRLF, as
 * libopendkim wants them), the body with CRLF line endings in pieces. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <opendkim/dkim.h>
#include "dkim.h"
#include "mem.h"

#define SIGN_CHUNK 8192		/* body octets converted at a time */
#define HEADER_FIELD_MAX 65536	/* one (unfolded) header field */

struct dkim_signer {
	DKIM_LIB *lib;
};

static char error_text[256];

static int sign_fail(const char *id, const char *what, DKIM_STAT st,
		     const char **error_r)
{
	snprintf(error_text, sizeof(error_text), "%s: DKIM %s: %s", id, what,
		 dkim_getresultstr(st));
	*error_r = error_text;
	return -1;
}

int dkim_signer_new(struct dkim_signer **signer_r, const char **error_r)
{
	static const char *sign_headers[] = { DKIM_SIGN_HEADERS, NULL };
	static const char *oversign[] = { "from", NULL };
	struct dkim_signer *s = xcalloc(1, sizeof(*s));

	s->lib = dkim_init(NULL, NULL);
	if (s->lib == NULL ||
	    /* libopendkim takes the list itself and the size of a
	     * pointer to one. */
	    dkim_options(s->lib, DKIM_OP_SETOPT, DKIM_OPTS_SIGNHDRS,
			 sign_headers, sizeof(char **)) != DKIM_STAT_OK ||
	    dkim_options(s->lib, DKIM_OP_SETOPT, DKIM_OPTS_OVERSIGNHDRS,
			 oversign, sizeof(char **)) != DKIM_STAT_OK) {
		dkim_signer_free(&s);
		*error_r = "cannot initialise libopendkim";
		return -1;
	}
	*signer_r = s;
	return 0;
}

void dkim_signer_free(struct dkim_signer **signer)
{
	if (*signer == NULL)
		return;
	if ((*signer)->lib != NULL)
		dkim_close((*signer)->lib);
	xfree(signer);
}

/* The end of the header field that starts at p: past its continuation
 * lines (those starting with a space or tab). */
static const char *field_end(const char *p, const char *end)
{
	for (;;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			return end;
		p = nl + 1;
		if (p >= end || (*p != ' ' && *p != '\t'))
			return p;
	}
}

/* One header field (with its LF line ends and the final LF) given to
 * libopendkim with CRLF inside and no line end at the end. */
static DKIM_STAT feed_header(DKIM *dkim, const char *p, size_t len)
{
	static char field[HEADER_FIELD_MAX];
	size_t n = 0;

	if (len > 0 && p[len - 1] == '\n')
		len--;
	for (size_t i = 0; i < len; i++) {
		if (n + 2 > sizeof(field))
			return DKIM_STAT_SYNTAX;
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			field[n++] = '\r';
		field[n++] = p[i];
	}
	return dkim_header(dkim, (u_char *)field, n);
}

/* The header section; *body_r is where the body starts (after the empty
 * line), or end when there is none. */
static DKIM_STAT feed_headers(DKIM *dkim, const char *msg, const char *end,
			      const char **body_r, bool *have_from_r)
{
	const char *p = msg;

	*have_from_r = false;
	while (p < end && *p != '\n' && !(*p == '\r' && p + 1 < end &&
					  p[1] == '\n')) {
		const char *next = field_end(p, end);
		if (strncasecmp(p, "From:", 5) == 0)
			*have_from_r = true;
		DKIM_STAT st = feed_header(dkim, p, (size_t)(next - p));
		if (st != DKIM_STAT_OK)
			return st;
		p = next;
	}
	if (p < end)
		p += *p == '\r' ? 2 : 1;
	*body_r = p;
	return dkim_eoh(dkim);
}

/* The body with LF made CRLF, a piece at a time. */
static DKIM_STAT feed_body(DKIM *dkim, const char *p, const char *end)
{
	char chunk[2 * SIGN_CHUNK];
	char prev = '\0';	/* across pieces: a CR already before an LF */

	while (p < end) {
		size_t n = 0;
		for (; p < end && n < SIGN_CHUNK; p++) {
			if (*p == '\n' && prev != '\r')
				chunk[n++] = '\r';
			chunk[n++] = prev = *p;
		}
		DKIM_STAT st = dkim_body(dkim, (u_char *)chunk, n);
		if (st != DKIM_STAT_OK)
			return st;
	}
	return DKIM_STAT_OK;
}

/* The signature field, refolded with LF line ends. */
static int append_field(const unsigned char *sig, size_t len, struct buf *out)
{
	if (buf_append_str(out, "DKIM-Signature: ") < 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (sig[i] == '\r')
			continue;
		if (buf_append_char(out, (char)sig[i]) < 0)
			return -1;
	}
	return buf_append_char(out, '\n');
}

int dkim_sign_message(struct dkim_signer *signer,
		      const struct dkim_key *key, const char *id,
		      const char *message, size_t len, struct buf *out,
		      const char **error_r)
{
	DKIM_STAT st;
	dkim_alg_t alg = key->type == DKIM_KEY_ED25519 ?
				 DKIM_SIGN_ED25519SHA256 : DKIM_SIGN_RSASHA256;
	DKIM *dkim = dkim_sign(signer->lib, (const u_char *)id, NULL,
			       (dkim_sigkey_t)key->pem.data,
			       (const u_char *)key->selector,
			       (const u_char *)key->domain, DKIM_CANON_RELAXED,
			       DKIM_CANON_RELAXED, alg, -1, &st);
	const char *end = message + len, *body;
	bool have_from;
	unsigned char *sig;
	size_t sig_len;
	int ret = -1;

	if (dkim == NULL)
		return sign_fail(id, "signing", st, error_r);
	st = feed_headers(dkim, message, end, &body, &have_from);
	if (!have_from) {
		/* libopendkim refuses it too, less clearly */
		snprintf(error_text, sizeof(error_text), "%s: DKIM: no From: "
			 "header field to sign", id);
		*error_r = error_text;
	} else if (st != DKIM_STAT_OK)
		ret = sign_fail(id, "header", st, error_r);
	else if ((st = feed_body(dkim, body, end)) != DKIM_STAT_OK ||
		   (st = dkim_eom(dkim, NULL)) != DKIM_STAT_OK)
		ret = sign_fail(id, "body", st, error_r);
	else if ((st = dkim_getsighdr_d(dkim, strlen("DKIM-Signature: "),
					&sig, &sig_len)) != DKIM_STAT_OK)
		ret = sign_fail(id, "signature", st, error_r);
	else if (sig_len > DKIM_SIGNATURE_MAX ||
		 append_field(sig, sig_len, out) < 0) {
		snprintf(error_text, sizeof(error_text), "%s: DKIM signature "
			 "too long", id);
		*error_r = error_text;
	} else
		ret = 0;
	dkim_free(dkim);
	return ret;
}
