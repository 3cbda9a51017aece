/* dkim_verify: the DKIM-Signature fields of a received message checked
 * by libopendkim, one result per signature (lib/dkim.h states the
 * mapping). The message arrives as the queue stores it (LF line endings)
 * and goes to libopendkim's dkim_chunk() with CRLF, a piece at a time;
 * libopendkim gathers the header section itself, which we bound. */
#include "config.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <opendkim/dkim.h>
#include "dkim.h"
#include "mem.h"
#include "str.h"

#define VERIFY_CHUNK 8192	/* octets converted to CRLF at a time */

struct dkim_verifier {
	DKIM_LIB *lib;
	dkim_lookup_fn *lookup;
	void *context;
};

struct dkim_verifying {
	struct dkim_verifier *verifier;
	DKIM *dkim;
	char id[64];
	bool in_headers;	/* the empty line not seen yet */
	size_t header_len;
	char prev;		/* the last octet fed */
	char prev2;		/* the one before it */
	/* libopendkim stopped early (no signature, a header section it
	 * cannot read, or a key look-up that failed temporarily: every
	 * signature is then a temperror); the rest is not fed. */
	bool stopped;
	DKIM_STAT stop_status;	/* why */
	unsigned sig_fields;	/* DKIM-Signature fields in the header */
	int match;		/* octets of "dkim-signature" matched at the
				 * start of this line, -1: not this line */
	DKIM_SIGINFO *tempfailed[DKIM_VERIFY_SIGS_MAX];
	size_t tempfailed_count;
};

static char error_text[256];

static int verify_fail(const char *id, const char *what, DKIM_STAT st,
		       const char **error_r)
{
	snprintf(error_text, sizeof(error_text), "%s: DKIM %s: %s", id, what,
		 dkim_getresultstr(st));
	*error_r = error_text;
	return -1;
}

/* libopendkim asks for the key of sig: the caller's look-up answers. */
static DKIM_CBSTAT verify_key_lookup(DKIM *dkim, DKIM_SIGINFO *sig,
				     u_char *buf, size_t buflen)
{
	struct dkim_verifying *v = dkim_get_user_context(dkim);
	const char *sel = (const char *)dkim_sig_getselector(sig);
	const char *dom = (const char *)dkim_sig_getdomain(sig);
	char name[DKIM_SELECTOR_MAX + DKIM_DOMAIN_MAX + 16];

	if (v == NULL || sel == NULL || dom == NULL || buflen < 2)
		return DKIM_CBSTAT_ERROR;
	int n = snprintf(name, sizeof(name), "%s._domainkey.%s", sel, dom);
	/* A name that cannot exist in the DNS has no key. */
	if (n < 0 || (size_t)n >= sizeof(name) || n > 253)
		return DKIM_CBSTAT_NOTFOUND;
	size_t size = buflen < DKIM_KEY_RECORD_MAX ? buflen :
		      DKIM_KEY_RECORD_MAX;
	buf[0] = '\0';
	switch (v->verifier->lookup(v->verifier->context, name, (char *)buf,
				    size)) {
	case DKIM_LOOKUP_FOUND:
		buf[size - 1] = '\0';
		return DKIM_CBSTAT_CONTINUE;
	case DKIM_LOOKUP_NOTFOUND:
		return DKIM_CBSTAT_NOTFOUND;
	default:
		if (v->tempfailed_count < DKIM_VERIFY_SIGS_MAX)
			v->tempfailed[v->tempfailed_count++] = sig;
		return DKIM_CBSTAT_TRYAGAIN;
	}
}

/* Before any key is looked up: signatures past the bound, and rsa-sha1
 * ones (RFC 8301), are not processed. */
static DKIM_CBSTAT verify_prescreen(DKIM *dkim, DKIM_SIGINFO **sigs,
				    int nsigs)
{
	(void)dkim;
	for (int i = 0; i < nsigs; i++) {
		dkim_alg_t alg;
		if (i >= DKIM_VERIFY_SIGS_MAX ||
		    (dkim_sig_getsignalg(sigs[i], &alg) == DKIM_STAT_OK &&
		     alg == DKIM_SIGN_RSASHA1))
			dkim_sig_ignore(sigs[i]);
	}
	return DKIM_CBSTAT_CONTINUE;
}

int dkim_verifier_new(dkim_lookup_fn *lookup, void *context,
		      struct dkim_verifier **verifier_r, const char **error_r)
{
	struct dkim_verifier *r = xcalloc(1, sizeof(*r));
	/* Malformed signatures keep their handles, to be reported. */
	unsigned int flags = DKIM_LIBFLAGS_BADSIGHANDLES;
	unsigned int min_bits = DKIM_RSA_BITS_MIN;

	r->lookup = lookup;
	r->context = context;
	r->lib = dkim_init(NULL, NULL);
	if (r->lib == NULL ||
	    dkim_options(r->lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags,
			 sizeof(flags)) != DKIM_STAT_OK ||
	    dkim_options(r->lib, DKIM_OP_SETOPT, DKIM_OPTS_MINKEYBITS,
			 &min_bits, sizeof(min_bits)) != DKIM_STAT_OK ||
	    dkim_set_key_lookup(r->lib, verify_key_lookup) != DKIM_STAT_OK ||
	    dkim_set_prescreen(r->lib, verify_prescreen) != DKIM_STAT_OK) {
		dkim_verifier_free(&r);
		*error_r = "cannot initialise libopendkim";
		return -1;
	}
	*verifier_r = r;
	return 0;
}

void dkim_verifier_free(struct dkim_verifier **verifier)
{
	if (*verifier == NULL)
		return;
	if ((*verifier)->lib != NULL)
		dkim_close((*verifier)->lib);
	xfree(verifier);
}

int dkim_verifying_begin(struct dkim_verifier *verifier, const char *id,
			 struct dkim_verifying **verifying_r,
			 const char **error_r)
{
	DKIM_STAT st;
	DKIM *dkim = dkim_verify(verifier->lib, (const u_char *)id, NULL, &st);

	if (dkim == NULL)
		return verify_fail(id, "verification", st, error_r);
	struct dkim_verifying *v = xcalloc(1, sizeof(*v));
	v->verifier = verifier;
	v->dkim = dkim;
	snprintf(v->id, sizeof(v->id), "%s", id);
	v->in_headers = true;
	if (dkim_set_user_context(dkim, v) != DKIM_STAT_OK) {
		dkim_verifying_abort(&v);
		*error_r = "cannot initialise libopendkim";
		return -1;
	}
	*verifying_r = v;
	return 0;
}

void dkim_verifying_abort(struct dkim_verifying **verifying)
{
	if (*verifying == NULL)
		return;
	dkim_free((*verifying)->dkim);
	xfree(verifying);
}

/* Counts the DKIM-Signature fields: the name at a line's start, white
 * space, a colon. */
static void verify_match_name(struct dkim_verifying *v, char c)
{
	static const char name[] = "dkim-signature";
	const int len = (int)sizeof(name) - 1;

	if (v->prev == '\n' || v->header_len == 0)
		v->match = 0;
	if (v->match < 0)
		return;
	if (v->match < len)
		v->match = tolower((unsigned char)c) == name[v->match] ?
			   v->match + 1 : -1;
	else if (c == ':') {
		v->sig_fields++;
		v->match = -1;
	} else if (c != ' ' && c != '\t')
		v->match = -1;
}

/* Counts the header section's octets until its empty line (LF LF, or
 * LF CR LF); -1 when it grows past the bound. */
static int verify_track_header(struct dkim_verifying *v, char c)
{
	if (!v->in_headers)
		return 0;
	verify_match_name(v, c);
	if (c == '\n' && (v->prev == '\n' || v->header_len == 0 ||
			  (v->prev == '\r' && (v->prev2 == '\n' ||
					       v->header_len == 1))))
		v->in_headers = false;
	else if (++v->header_len > DKIM_HEADER_SECTION_MAX)
		return -1;
	return 0;
}

int dkim_verifying_feed(struct dkim_verifying *v, const char *data,
			size_t len, const char **error_r)
{
	char chunk[2 * VERIFY_CHUNK];
	const char *p = data, *end = data + len;

	while (p < end && !v->stopped) {
		size_t n = 0;
		for (; p < end && n < VERIFY_CHUNK; p++) {
			if (verify_track_header(v, *p) < 0) {
				snprintf(error_text, sizeof(error_text),
					 "%s: DKIM: header section larger "
					 "than %d octets", v->id,
					 DKIM_HEADER_SECTION_MAX);
				*error_r = error_text;
				return -1;
			}
			if (*p == '\n' && v->prev != '\r')
				chunk[n++] = '\r';
			v->prev2 = v->prev;
			chunk[n++] = v->prev = *p;
		}
		DKIM_STAT st = dkim_chunk(v->dkim, (u_char *)chunk, n);
		/* No signature, a key look-up that failed for now, a
		 * header section libopendkim cannot read: its verdict is
		 * made; the rest changes nothing. */
		if (st != DKIM_STAT_OK) {
			v->stopped = true;
			v->stop_status = st;
		}
	}
	return 0;
}

/* The result of a signature libopendkim reported an error for, by that
 * error: a table, the rest being permerror (RFC 6376's PERMFAILs). */
static const struct {
	int error;
	enum dkim_verify_result result;
	const char *reason;
} verify_errors[] = {
	{ DKIM_SIGERROR_BADSIG, DKIM_VERIFY_FAIL, "signature did not verify" },
	{ DKIM_SIGERROR_KEYTOOSMALL, DKIM_VERIFY_FAIL,
	  "key shorter than 1024 bits" },
	{ DKIM_SIGERROR_KEYFAIL, DKIM_VERIFY_TEMPERROR,
	  "key look-up failed" },
	{ DKIM_SIGERROR_EXPIRED, DKIM_VERIFY_NEUTRAL, "signature expired" },
	{ DKIM_SIGERROR_FUTURE, DKIM_VERIFY_NEUTRAL,
	  "signature in the future" },
	{ DKIM_SIGERROR_NOKEY, DKIM_VERIFY_PERMERROR, "no key" },
	{ DKIM_SIGERROR_KEYREVOKED, DKIM_VERIFY_PERMERROR, "key revoked" },
};

/* reason: text safe inside an RFC 8601 comment (printable ASCII, no
 * parentheses or backslashes). */
static void verify_set_reason(struct dkim_verify_sig *out, const char *text)
{
	size_t n = 0;

	for (; *text != '\0' && n + 1 < sizeof(out->reason); text++) {
		unsigned char c = (unsigned char)*text;
		out->reason[n++] = c < 0x20 || c > 0x7e || c == '(' ||
				   c == ')' || c == '\\' ? ' ' : (char)c;
	}
	out->reason[n] = '\0';
}

/* A tag's value copied into out when it fits and is printable. */
static void verify_copy_tag(char *out, size_t size, const char *value)
{
	out[0] = '\0';
	if (value == NULL || strlen(value) >= size)
		return;
	for (const char *p = value; *p != '\0'; p++) {
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p > 0x7e)
			return;
	}
	memcpy(out, value, strlen(value) + 1);
}

static void verify_one(DKIM_SIGINFO *sig, struct dkim_verify_sig *out)
{
	unsigned int flags = dkim_sig_getflags(sig);
	int error = dkim_sig_geterror(sig);
	const char *b = (const char *)dkim_sig_gettagvalue(sig, false,
							   (u_char *)"b");

	memset(out, 0, sizeof(*out));
	verify_copy_tag(out->domain, sizeof(out->domain),
			(const char *)dkim_sig_getdomain(sig));
	verify_copy_tag(out->selector, sizeof(out->selector),
			(const char *)dkim_sig_getselector(sig));
	if (b != NULL) {
		/* b= may be folded: its first 8 base64 characters. */
		size_t n = 0;
		for (; *b != '\0' && n < 8; b++) {
			if ((unsigned char)*b > 0x20 && (unsigned char)*b < 0x7f)
				out->b[n++] = *b;
		}
		out->b[n] = '\0';
	}
	dkim_alg_t alg;
	if ((flags & DKIM_SIGFLAG_IGNORE) != 0 &&
	    dkim_sig_getsignalg(sig, &alg) == DKIM_STAT_OK &&
	    alg == DKIM_SIGN_RSASHA1) {
		out->result = DKIM_VERIFY_PERMERROR;
		verify_set_reason(out, "rsa-sha1 not accepted");
		return;
	}
	int bh = dkim_sig_getbh(sig);
	/* libopendkim calls a body hash mismatch a bad signature too. */
	if (error == DKIM_SIGERROR_BADSIG && bh == DKIM_SIGBH_MISMATCH)
		error = DKIM_SIGERROR_OK;
	if (error != DKIM_SIGERROR_OK && error != DKIM_SIGERROR_UNKNOWN) {
		out->result = DKIM_VERIFY_PERMERROR;
		verify_set_reason(out, dkim_sig_geterrorstr(error));
		for (size_t i = 0; i < sizeof(verify_errors) /
		     sizeof(verify_errors[0]); i++) {
			if (verify_errors[i].error == error) {
				out->result = verify_errors[i].result;
				verify_set_reason(out, verify_errors[i].reason);
			}
		}
		return;
	}
	if (bh == DKIM_SIGBH_MATCH && (flags & DKIM_SIGFLAG_PASSED) != 0)
		out->result = DKIM_VERIFY_PASS;
	else if ((flags & DKIM_SIGFLAG_PASSED) != 0 ||
		 bh == DKIM_SIGBH_MISMATCH) {
		out->result = DKIM_VERIFY_FAIL;
		verify_set_reason(out, "body hash did not verify");
	} else if ((flags & DKIM_SIGFLAG_PROCESSED) != 0) {
		out->result = DKIM_VERIFY_FAIL;
		verify_set_reason(out, "signature did not verify");
	} else {
		out->result = DKIM_VERIFY_NEUTRAL;
		verify_set_reason(out, "signature not processed");
	}
}

/* libopendkim gave up after a temporary key look-up failure: no signature
 * was checked to the end. */
static void verify_stopped(const struct dkim_verifying *v, DKIM_SIGINFO *sig,
			   struct dkim_verify_sig *out)
{
	if (out->result == DKIM_VERIFY_PERMERROR)
		return;		/* malformed, or no key: known already */
	out->result = DKIM_VERIFY_TEMPERROR;
	verify_set_reason(out, "verification not completed");
	for (size_t i = 0; i < v->tempfailed_count; i++) {
		if (v->tempfailed[i] == sig)
			verify_set_reason(out, "key look-up failed");
	}
}

/* The fields libopendkim found no usable signature in (it drops some
 * malformed ones even with BADSIGHANDLES): one permerror for them. */
static void verify_unusable(struct dkim_verify_sig *out)
{
	memset(out, 0, sizeof(*out));
	out->result = DKIM_VERIFY_PERMERROR;
	verify_set_reason(out, "malformed signature");
}

int dkim_verifying_end(struct dkim_verifying **verifying,
		       struct dkim_verify_sig sigs[DKIM_VERIFY_SIGS_MAX],
		       size_t *count_r, const char **error_r)
{
	struct dkim_verifying *v = *verifying;
	DKIM_SIGINFO **list = NULL;
	int nsigs = 0;
	DKIM_STAT st = v->stopped ? v->stop_status :
		       dkim_chunk(v->dkim, NULL, 0);

	*count_r = 0;
	/* The verdict is in each signature's state, whatever the status
	 * (BADSIG, NOKEY, ... are about one signature). */
	if (st == DKIM_STAT_OK)
		st = dkim_eom(v->dkim, NULL);
	if (dkim_getsiglist(v->dkim, &list, &nsigs) != DKIM_STAT_OK ||
	    list == NULL)
		nsigs = 0;
	if (nsigs == 0 && v->tempfailed_count > 0) {
		/* libopendkim gave up before listing them. */
		list = v->tempfailed;
		nsigs = (int)v->tempfailed_count;
	}
	for (int i = 0; i < nsigs && i < DKIM_VERIFY_SIGS_MAX; i++) {
		struct dkim_verify_sig *out = &sigs[(*count_r)++];
		verify_one(list[i], out);
		if (v->tempfailed_count > 0)
			verify_stopped(v, list[i], out);
	}
	if (nsigs == 0 && v->sig_fields > 0)
		verify_unusable(&sigs[(*count_r)++]);
	else if (nsigs == 0 && st != DKIM_STAT_OK && st != DKIM_STAT_NOSIG) {
		dkim_verifying_abort(verifying);
		return verify_fail(v->id, "verification", st, error_r);
	}
	dkim_verifying_abort(verifying);
	return 0;
}

const char *dkim_verify_result_name(enum dkim_verify_result result)
{
	static const char *const names[] = {
		[DKIM_VERIFY_PASS] = "pass", [DKIM_VERIFY_FAIL] = "fail",
		[DKIM_VERIFY_NEUTRAL] = "neutral",
		[DKIM_VERIFY_TEMPERROR] = "temperror",
		[DKIM_VERIFY_PERMERROR] = "permerror",
	};

	return (unsigned)result < sizeof(names) / sizeof(names[0]) ?
	       names[result] : "permerror";
}
