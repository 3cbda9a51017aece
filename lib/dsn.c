/* dsn: composes delivery status notifications. lib/dsn.h holds the
 * contract and the choices made where the RFCs leave room. The three
 * parts are built first in their own buffers so that the boundary can be
 * chosen knowing everything it must not collide with. What the caller
 * may pass in is checked first, by dsn_check.c. */
#include "config.h"
#include "dsn.h"
#include "dsn_impl.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "mem.h"
#include "timeutil.h"
#include "utf8.h"

#define FOLD_WIDTH 78		/* RFC 5322 2.1.1: SHOULD */
#define LINE_OCTETS_MAX 998	/* RFC 5322 2.1.1: MUST */
#define XTEXT_MAX 500		/* RFC 3461: ORCPT 500, ENVID 100 */
#define FIELD_MAX 8192		/* one field or text line before folding */
#define PART_MAX (4u << 20)	/* parts 1 and 2; the output max rules */
#define ERR_MAX 256

static const struct {
	const char *subject;
	const char *intro;	/* after the line naming the host */
	const char *orig_desc;	/* Content-Description of part 3 */
} kinds[DSN_KIND_COUNT] = {
	[DSN_KIND_FAILURE] = {
		"Undelivered Mail Returned to Sender",
		"Your message could not be delivered to one or more of its\n"
		"recipients, and no further attempts will be made for them.\n"
		"Each is listed below with the reason; the message (or its\n"
		"header) is attached.\n\n"
		"If you need help, write to the postmaster of this system and\n"
		"include this report.\n\n",
		"Undelivered Message Headers" },
	[DSN_KIND_DELAY] = {
		"Delayed Mail (still being retried)",
		"Your message has not yet reached the recipients listed below:\n"
		"every attempt so far met a temporary problem. This is only a\n"
		"warning; the mail system keeps trying, and you need not send\n"
		"the message again. You will be told if it finally fails.\n\n",
		"Delayed Message Headers" },
	[DSN_KIND_SUCCESS] = {
		"Successful Mail Delivery Report",
		"As you asked, here is how your message was handled for the\n"
		"recipients listed below. Where it was relayed, the next\n"
		"system does not send such reports, so none may follow.\n\n",
		"Delivered Message Headers" },
	[DSN_KIND_VERIFY] = {
		"Mail Delivery Status Report",
		"Here is the address verification report you asked for (with\n"
		"sendmail -bv). Nothing was delivered: each recipient is listed\n"
		"with what a delivery to it would do.\n\n",
		"Message Headers" },
};

static const char *const diag_names[] = {
	[DSN_DIAG_NONE] = NULL,
	[DSN_DIAG_SMTP] = "smtp",
	[DSN_DIAG_LOCAL] = "X-Surel",
};

/* Everything one composition needs; appends record overflow in a sticky
 * flag so that the part builders read as straight text. */
struct ctx {
	const struct dsn_notice *n;
	bool utf8;		/* SMTPUTF8 mode */
	bool overflow;
	struct buf text, status, scratch;
	const char *orig;	/* slice of n->content returned */
	size_t orig_len;
	bool full, truncated;
};

/* ---- output helpers ---- */

static void put(struct ctx *c, struct buf *b, const void *p, size_t len)
{
	if (!c->overflow && buf_append(b, p, len) < 0)
		c->overflow = true;
}

static void putf(struct ctx *c, struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void putf(struct ctx *c, struct buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (!c->overflow && buf_vprintf(b, fmt, ap) < 0)
		c->overflow = true;
	va_end(ap);
}

/* Writes s[0..len) as one logical line, folded before a space where the
 * line would pass FOLD_WIDTH. A fold point has a non-space on both sides,
 * so no line is white space only and unfolding restores s exactly. */
static void put_folded(struct ctx *c, struct buf *b, const char *s,
		       size_t len)
{
	size_t start = 0;

	while (len - start > FOLD_WIDTH) {
		size_t cut = 0;
		for (size_t i = start + 1; i + 1 < len; i++) {
			if (s[i] != ' ' || s[i - 1] == ' ' || s[i + 1] == ' ')
				continue;
			if (i - start <= FOLD_WIDTH || cut == 0)
				cut = i;
			if (i - start >= FOLD_WIDTH)
				break;
		}
		if (cut == 0)
			break;
		put(c, b, s + start, cut - start);
		put(c, b, "\n", 1);
		start = cut;
	}
	put(c, b, s + start, len - start);
	put(c, b, "\n", 1);
}

/* printf into scratch, then folded into b. */
static void put_field(struct ctx *c, struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void put_field(struct ctx *c, struct buf *b, const char *fmt, ...)
{
	va_list ap;

	buf_reset(&c->scratch);
	va_start(ap, fmt);
	if (buf_vprintf(&c->scratch, fmt, ap) < 0)
		c->overflow = true;
	va_end(ap);
	put_folded(c, b, c->scratch.data, c->scratch.len);
}

static void put_date(struct ctx *c, struct buf *b, const char *name,
		     time_t when)
{
	char date[64];

	time_rfc5322(date, sizeof(date), when);
	putf(c, b, "%s: %s\n", name, date);
}

static size_t wide_char(const struct ctx *c, const char *s, size_t len)
{
	return c->utf8 ? utf8_decode((const unsigned char *)s, len, NULL) : 0;
}

/* The diagnostic as one line of safe text (see dsn.h). */
static void clean_text(struct ctx *c, struct buf *b, const char *in,
		       size_t len)
{
	size_t start = b->len, i = 0;
	bool space = false;

	while (i < len) {
		unsigned char ch = (unsigned char)in[i];
		const char *p = in + i;
		size_t n = 1;
		if (strchr(" \t\r\n\v\f", ch) != NULL && ch != '\0') {
			space = b->len > start;
			i++;
			continue;
		}
		if (ch < 0x20 || ch == 0x7f)
			p = "?";
		else if (ch >= 0x80 && (n = wide_char(c, p, len - i)) == 0) {
			p = "?";
			n = 1;
		}
		if (b->len - start + space + n > DSN_DIAG_MAX) {
			put(c, b, "...", 3);
			return;
		}
		if (space)
			put(c, b, " ", 1);
		space = false;
		put(c, b, p, p == in + i ? n : 1);
		i += n;
	}
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

/* xtext (RFC 3461 4) decoded; what would be unsafe stays encoded. */
static void put_xtext(struct ctx *c, struct buf *b, const char *x)
{
	size_t len = strlen(x);

	for (size_t i = 0; i < len;) {
		unsigned char ch = (unsigned char)x[i];
		size_t n;
		if (ch == '+' && i + 2 < len && hexval(x[i + 1]) >= 0 &&
		    hexval(x[i + 2]) >= 0) {
			char v = (char)(hexval(x[i + 1]) * 16 + hexval(x[i + 2]));
			if (v >= 0x20 && v < 0x7f)
				put(c, b, &v, 1);
			else
				put(c, b, x + i, 3);
			i += 3;
		} else if (ch > 0x20 && ch < 0x7f) {
			put(c, b, x + i++, 1);
		} else if (ch >= 0x80 && (n = wide_char(c, x + i, len - i)) > 0) {
			put(c, b, x + i, n);
			i += n;
		} else {
			put(c, b, "?", 1);
			i++;
		}
	}
}

/* "type; decoded" of an ORCPT into scratch; false when malformed. */
static bool orcpt_format(struct ctx *c, const char *orcpt)
{
	const char *semi = orcpt != NULL ? strchr(orcpt, ';') : NULL;
	char type[33];

	if (semi == NULL || semi == orcpt || semi - orcpt >= (long)sizeof(type) ||
	    strlen(orcpt) > XTEXT_MAX)
		return false;
	memcpy(type, orcpt, (size_t)(semi - orcpt));
	type[semi - orcpt] = '\0';
	if (!dsn_all_of(type, sizeof(type) - 1, "-_.+"))
		return false;
	buf_reset(&c->scratch);
	putf(c, &c->scratch, "Original-Recipient: %s; ", type);
	put_xtext(c, &c->scratch, semi + 1);
	return true;
}

/* "rfc822" for ASCII addresses, RFC 6533 "utf-8" for the others. */
static const char *addr_type(const char *address)
{
	return dsn_addr_check(address) == 1 ? "utf-8" : "rfc822";
}

/* ---- the original message ---- */

static bool line_ok(const char *s, size_t len)
{
	return len <= LINE_OCTETS_MAX && memchr(s, '\0', len) == NULL &&
	       memchr(s, '\r', len) == NULL;
}

/* The end of the line that starts at pos (after its LF, or len). */
static size_t line_end(const char *s, size_t len, size_t pos, bool *ok)
{
	const char *lf = memchr(s + pos, '\n', len - pos);
	size_t end = lf != NULL ? (size_t)(lf - s) + 1 : len;

	*ok = line_ok(s + pos, end - pos - (lf != NULL));
	return end;
}

static bool lines_ok(const char *s, size_t len)
{
	bool ok = true;

	for (size_t pos = 0; pos < len && ok;)
		pos = line_end(s, len, pos, &ok);
	return ok;
}

/* The header block's whole fields that are returnable and end within
 * limit; *cut set when something had to be left out. */
static size_t headers_keep(const char *s, size_t len, size_t limit,
			   bool *cut)
{
	size_t keep = 0, pos = 0;
	bool ok = true;

	while (pos < len && s[pos] != '\n') {
		do {
			pos = line_end(s, len, pos, &ok);
		} while (ok && pos < len && (s[pos] == ' ' || s[pos] == '\t'));
		if (!ok || pos > limit) {
			*cut = true;
			break;
		}
		keep = pos;
	}
	return keep;
}

static void choose_original(struct ctx *c)
{
	const struct dsn_notice *n = c->n;

	c->orig = n->content;
	if (n->content == NULL) {
		c->orig_len = 0;
		return;
	}
	if (n->kind == DSN_KIND_FAILURE && n->ret != SMTP_RET_HDRS &&
	    n->content_len <= n->return_limit &&
	    lines_ok(n->content, n->content_len)) {
		c->full = true;
		c->orig_len = n->content_len;
		return;
	}
	c->orig_len = headers_keep(n->content, n->content_len,
				   n->return_limit, &c->truncated);
}

/* ---- the parts ---- */

static void text_rcpt(struct ctx *c, const struct dsn_rcpt *r)
{
	struct buf *s = &c->scratch;

	buf_reset(s);
	putf(c, s, "<%s>", r->address);
	if (r->orig_rcpt != NULL && strcmp(r->orig_rcpt, r->address) != 0)
		putf(c, s, " (expanded from <%s>)", r->orig_rcpt);
	put(c, s, ": ", 2);
	/* The verify report says what happened before why. */
	if (r->action == DSN_ACTION_DELIVERABLE && r->via != NULL)
		putf(c, s, "delivery via %s: ", r->via);
	else if (r->action == DSN_ACTION_UNDELIVERABLE)
		putf(c, s, "undeliverable: ");
	if (r->diag == NULL || r->diag_type == DSN_DIAG_NONE)
		putf(c, s, "%s", dsn_actions[r->action].reason);
	else {
		if (r->diag_type == DSN_DIAG_SMTP && r->remote_mta != NULL)
			putf(c, s, "host %s said: ", r->remote_mta);
		clean_text(c, s, r->diag, r->diag_len);
	}
	if (r->in_reply_to != NULL)
		putf(c, s, " (in reply to %s command)", r->in_reply_to);
	if (r->action == DSN_ACTION_DELAYED && r->retry_until != 0) {
		char date[64];
		time_rfc5322(date, sizeof(date), r->retry_until);
		putf(c, s, " (will be retried until %s)", date);
	}
	put_folded(c, &c->text, s->data, s->len);
	put(c, &c->text, "\n", 1);
}

static void text_part(struct ctx *c)
{
	const struct dsn_notice *n = c->n;

	putf(c, &c->text, "This report comes from the mail system at %s.\n\n%s",
	     n->myhostname, kinds[n->kind].intro);
	if (c->truncated)
		putf(c, &c->text, "The attached header of your message is "
				  "incomplete: it was too long.\n\n");
	for (size_t i = 0; i < n->rcpt_count; i++)
		text_rcpt(c, &n->rcpts[i]);
}

static void status_rcpt(struct ctx *c, const struct dsn_rcpt *r)
{
	struct buf *b = &c->status;

	put(c, b, "\n", 1);
	put_field(c, b, "Final-Recipient: %s; %s", addr_type(r->address),
		  r->address);
	if (r->orcpt != NULL && orcpt_format(c, r->orcpt))
		put_folded(c, b, c->scratch.data, c->scratch.len);
	putf(c, b, "Action: %s\nStatus: %s\n", dsn_actions[r->action].name,
	     r->status);
	if (r->remote_mta != NULL)
		put_field(c, b, "Remote-MTA: dns; %s", r->remote_mta);
	if (r->diag != NULL && r->diag_type != DSN_DIAG_NONE) {
		buf_reset(&c->scratch);
		putf(c, &c->scratch, "Diagnostic-Code: %s; ",
		     diag_names[r->diag_type]);
		clean_text(c, &c->scratch, r->diag, r->diag_len);
		put_folded(c, b, c->scratch.data, c->scratch.len);
	}
	if (r->last_attempt != 0)
		put_date(c, b, "Last-Attempt-Date", r->last_attempt);
	if (r->action == DSN_ACTION_DELAYED && r->retry_until != 0)
		put_date(c, b, "Will-Retry-Until", r->retry_until);
}

static void status_part(struct ctx *c)
{
	const struct dsn_notice *n = c->n;
	struct buf *b = &c->status;

	put_field(c, b, "Reporting-MTA: dns; %s", n->myhostname);
	if (n->queue_id != NULL)
		put_field(c, b, "X-Surel-Queue-ID: %s", n->queue_id);
	put_field(c, b, "X-Surel-Sender: %s; %s", addr_type(n->sender),
		  n->sender);
	if (n->envid != NULL && strlen(n->envid) <= XTEXT_MAX) {
		buf_reset(&c->scratch);
		put(c, &c->scratch, "Original-Envelope-Id: ", 22);
		put_xtext(c, &c->scratch, n->envid);
		put_folded(c, b, c->scratch.data, c->scratch.len);
	}
	if (n->client_name != NULL && n->client_address != NULL)
		put_field(c, b, "Received-From-MTA: dns; %s ([%s])",
			  n->client_name, n->client_address);
	else if (n->client_name != NULL)
		put_field(c, b, "Received-From-MTA: dns; %s", n->client_name);
	if (n->arrival != 0)
		put_date(c, b, "Arrival-Date", n->arrival);
	for (size_t i = 0; i < n->rcpt_count; i++)
		status_rcpt(c, &n->rcpts[i]);
}

/* ---- the boundary ---- */

/* Marks in used[] every number k for which prefix k "." occurs in s. */
static void mark_used(const char *s, size_t len, const char *prefix,
		      bool *used, size_t used_count)
{
	size_t plen = strlen(prefix);
	const char *p = s, *end = s + len;

	while ((p = memmem(p, (size_t)(end - p), prefix, plen)) != NULL) {
		p += plen;
		size_t v = 0, digits = 0;
		while (p < end && *p >= '0' && *p <= '9' && digits < 19) {
			v = v * 10 + (size_t)(*p++ - '0');
			digits++;
		}
		if (digits > 0 && p < end && *p == '.' && v < used_count)
			used[v] = true;
	}
}

/* "=_surel_<token>_<k>." with the least k not in use: each occurrence of
 * the prefix rules out at most one k, so k <= occurrences. */
static void choose_boundary(struct ctx *c, char *out, size_t size)
{
	char prefix[DSN_TOKEN_MAX + 16];
	size_t total = c->text.len + c->status.len + c->orig_len, k = 0;

	snprintf(prefix, sizeof(prefix), "=_surel_%s_", c->n->token);
	size_t used_count = total / strlen(prefix) + 1;
	bool *used = xcalloc(used_count, sizeof(*used));
	mark_used(c->text.data, c->text.len, prefix, used, used_count);
	mark_used(c->status.data, c->status.len, prefix, used, used_count);
	if (c->orig_len > 0)
		mark_used(c->orig, c->orig_len, prefix, used, used_count);
	while (k < used_count && used[k])
		k++;
	free(used);
	snprintf(out, size, "%s%zu.", prefix, k);
}

/* ---- assembly ---- */

static bool has_8bit(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)s[i] >= 0x80)
			return true;
	}
	return false;
}

static void put_headers(struct ctx *c, struct buf *out, const char *boundary,
			bool eightbit)
{
	const struct dsn_notice *n = c->n;
	char date[64];

	time_rfc5322(date, sizeof(date), n->now);
	putf(c, out, "From: MAILER-DAEMON@%s (Mail Delivery System)\n",
	     n->myhostname);
	put_field(c, out, "To: <%s>", n->sender);
	putf(c, out, "Subject: %s\nDate: %s\nMessage-ID: <%s@%s>\n",
	     kinds[n->kind].subject, date, n->token, n->myhostname);
	putf(c, out, "Auto-Submitted: auto-replied\nMIME-Version: 1.0\n"
		     "Content-Type: multipart/report; report-type=%s;\n"
		     "\tboundary=\"%s\"\n",
	     c->utf8 ? "global-delivery-status" : "delivery-status",
	     boundary);
	if (eightbit)
		putf(c, out, "Content-Transfer-Encoding: 8bit\n");
	putf(c, out, "\nThis is a MIME-encapsulated message.\n");
}

static void put_parts(struct ctx *c, struct buf *out, const char *boundary)
{
	const char *cte = c->utf8 ? "Content-Transfer-Encoding: 8bit\n" : "";
	static const char *const orig_types[2][2] = {
		{ "text/rfc822-headers", "message/rfc822" },
		{ "message/global-headers", "message/global" },
	};

	putf(c, out, "\n--%s\nContent-Description: Notification\n"
		     "Content-Type: text/plain; charset=%s\n%s\n",
	     boundary, c->utf8 ? "utf-8" : "us-ascii", cte);
	put(c, out, c->text.data, c->text.len);
	putf(c, out, "\n--%s\nContent-Description: Delivery report\n"
		     "Content-Type: message/%sdelivery-status\n%s\n",
	     boundary, c->utf8 ? "global-" : "", cte);
	put(c, out, c->status.data, c->status.len);
	if (c->orig_len > 0) {
		putf(c, out, "\n--%s\nContent-Description: %s\n"
			     "Content-Type: %s\n%s\n",
		     boundary,
		     c->full ? "Undelivered Message"
			     : kinds[c->n->kind].orig_desc,
		     orig_types[c->utf8][c->full],
		     has_8bit(c->orig, c->orig_len)
			     ? "Content-Transfer-Encoding: 8bit\n" : "");
		put(c, out, c->orig, c->orig_len);
		if (c->orig[c->orig_len - 1] != '\n')
			put(c, out, "\n", 1);
	}
	putf(c, out, "\n--%s--\n", boundary);
}

int dsn_compose(const struct dsn_notice *n, struct buf *out,
		struct dsn_info *info_r, const char **error_r)
{
	static struct buf err;
	struct ctx c = { .n = n };
	char boundary[DSN_TOKEN_MAX + 40];
	bool wide = false;
	size_t start = out->len;
	const char *why = dsn_check_notice(n, &wide);

	for (size_t i = 0; why == NULL && i < n->rcpt_count; i++) {
		if ((why = dsn_check_rcpt(n, &n->rcpts[i], &wide)) != NULL) {
			*error_r = buf_error_set(&err, ERR_MAX, why,
						 "recipient %zu: %s", i + 1,
						 why);
			return -1;
		}
	}
	if (why != NULL) {
		*error_r = why;
		return -1;
	}
	c.utf8 = n->smtputf8 || wide;
	buf_init(&c.text, PART_MAX);
	buf_init(&c.status, PART_MAX);
	buf_init(&c.scratch, FIELD_MAX);
	choose_original(&c);
	text_part(&c);
	status_part(&c);
	choose_boundary(&c, boundary, sizeof(boundary));
	bool eightbit = c.utf8 || has_8bit(c.orig, c.orig_len);
	put_headers(&c, out, boundary, eightbit);
	put_parts(&c, out, boundary);
	buf_deinit(&c.text);
	buf_deinit(&c.status);
	buf_deinit(&c.scratch);
	if (c.overflow) {
		buf_truncate(out, start);
		*error_r = "notice too large";
		return -1;
	}
	if (info_r != NULL)
		*info_r = (struct dsn_info){ .smtputf8 = c.utf8,
					     .eightbit = eightbit,
					     .content_full = c.full,
					     .headers_truncated = c.truncated };
	return 0;
}
