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

/* libopendkim 2.11's dkim_free() releases the signing key of RSA only: an
 * Ed25519 key (a few hundred octets, allocated by OpenSSL) is never
 * freed, once per signature. The processes that sign are recycled by
 * master (max_use), which bounds it. Sanitizer builds are told about it
 * here: OpenSSL's frames carry no frame pointers, so the leak's stack
 * ends in libcrypto; full stacks would make every malloc of these
 * processes slow. Only programs that link this file (they sign) get
 * these suppressions: there an OpenSSL object leak is passed over. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:dkim_privkey_load\nleak:libcrypto.so\n";
}

/* The suppression is expected: no "Suppressions used" report either. */
const char *__lsan_default_options(void);
const char *__lsan_default_options(void)
{
	return "print_suppressions=0";
}

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
		if (end - p >= 5 && strncasecmp(p, "From:", 5) == 0)
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

/* The body with LF made CRLF, a piece at a time; *prev carries the last
 * octet over to the next call (a CR already before an LF). */
static DKIM_STAT feed_body(DKIM *dkim, const char *p, const char *end,
			   char *prev)
{
	char chunk[2 * SIGN_CHUNK];

	while (p < end) {
		size_t n = 0;
		for (; p < end && n < SIGN_CHUNK; p++) {
			if (*p == '\n' && *prev != '\r')
				chunk[n++] = '\r';
			chunk[n++] = *prev = *p;
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

struct dkim_signing {
	DKIM *dkim;
	char id[64];
	bool in_headers;	/* gathering the header section */
	struct buf head;
	char prev;		/* the body's last octet so far */
};

int dkim_signing_begin(struct dkim_signer *signer, const struct dkim_key *key,
		       const char *id, struct dkim_signing **signing_r,
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

	if (dkim == NULL)
		return sign_fail(id, "signing", st, error_r);
	struct dkim_signing *g = xcalloc(1, sizeof(*g));
	g->dkim = dkim;
	snprintf(g->id, sizeof(g->id), "%s", id);
	g->in_headers = true;
	buf_init(&g->head, DKIM_HEADER_SECTION_MAX);
	*signing_r = g;
	return 0;
}

void dkim_signing_abort(struct dkim_signing **signing)
{
	struct dkim_signing *g = *signing;

	if (g == NULL)
		return;
	dkim_free(g->dkim);
	buf_deinit(&g->head);
	xfree(signing);
}

/* The header section is complete (up to and with its empty line, or the
 * whole message when it has none): to libopendkim, and the rest of what
 * was gathered to the body. */
static int headers_done(struct dkim_signing *g, const char **error_r)
{
	const char *end = g->head.data + g->head.len, *body;
	bool have_from;
	DKIM_STAT st = feed_headers(g->dkim, g->head.data, end, &body,
				    &have_from);

	g->in_headers = false;
	if (!have_from) {
		/* libopendkim refuses it too, less clearly */
		snprintf(error_text, sizeof(error_text), "%s: DKIM: no From: "
			 "header field to sign", g->id);
		*error_r = error_text;
		return -1;
	}
	if (st == DKIM_STAT_OK)
		st = feed_body(g->dkim, body, end, &g->prev);
	if (st != DKIM_STAT_OK)
		return sign_fail(g->id, "header", st, error_r);
	buf_deinit(&g->head);
	return 0;
}

int dkim_signing_feed(struct dkim_signing *g, const char *data, size_t len,
		      const char **error_r)
{
	if (!g->in_headers) {
		DKIM_STAT st = feed_body(g->dkim, data, data + len, &g->prev);
		return st == DKIM_STAT_OK ? 0 :
		       sign_fail(g->id, "body", st, error_r);
	}
	size_t from = g->head.len > 1 ? g->head.len - 2 : 0;
	if (buf_append(&g->head, data, len) < 0) {
		snprintf(error_text, sizeof(error_text), "%s: DKIM: header "
			 "section larger than %d octets", g->id,
			 DKIM_HEADER_SECTION_MAX);
		*error_r = error_text;
		return -1;
	}
	/* The empty line, LF or CRLF, or a message that starts with it. */
	const char *h = g->head.data + from;
	size_t n = g->head.len - from;
	if (g->head.data[0] == '\n' || strncmp(g->head.data, "\r\n", 2) == 0 ||
	    memmem(h, n, "\n\n", 2) != NULL ||
	    memmem(h, n, "\n\r\n", 3) != NULL)
		return headers_done(g, error_r);
	return 0;
}

int dkim_signing_end(struct dkim_signing **signing, struct buf *out,
		     const char **error_r)
{
	struct dkim_signing *g = *signing;
	unsigned char *sig;
	size_t sig_len;
	DKIM_STAT st;
	int ret = -1;

	if (g->in_headers && headers_done(g, error_r) < 0)
		;
	else if ((st = dkim_eom(g->dkim, NULL)) != DKIM_STAT_OK)
		ret = sign_fail(g->id, "body", st, error_r);
	else if ((st = dkim_getsighdr_d(g->dkim, strlen("DKIM-Signature: "),
					&sig, &sig_len)) != DKIM_STAT_OK)
		ret = sign_fail(g->id, "signature", st, error_r);
	else if (sig_len > DKIM_SIGNATURE_MAX ||
		 append_field(sig, sig_len, out) < 0) {
		snprintf(error_text, sizeof(error_text), "%s: DKIM signature "
			 "too long", g->id);
		*error_r = error_text;
	} else
		ret = 0;
	dkim_signing_abort(signing);
	return ret;
}

int dkim_sign_message(struct dkim_signer *signer,
		      const struct dkim_key *key, const char *id,
		      const char *message, size_t len, struct buf *out,
		      const char **error_r)
{
	struct dkim_signing *g;

	if (dkim_signing_begin(signer, key, id, &g, error_r) < 0)
		return -1;
	if (dkim_signing_feed(g, message, len, error_r) < 0) {
		dkim_signing_abort(&g);
		return -1;
	}
	return dkim_signing_end(&g, out, error_r);
}
