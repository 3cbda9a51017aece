/* smtp_reply: the incremental parser of SMTP server replies, the EHLO
 * keyword reader and the reply classifier (contract in smtp_reply.h).
 * The byte loop only splits lines and enforces the limits; each complete
 * line is then checked and stored by line_done(). */
#include "config.h"
#include "smtp_reply.h"
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "buf.h"
#include "mem.h"
#include "str.h"
#include "utf8.h"

#define ERROR_MAX 200
/* Octets of a bad line quoted in an error text. */
#define QUOTE_MAX 40

enum parser_state {
	STATE_LINE = 0,	/* inside a line */
	STATE_CR,	/* after a CR: only LF may follow */
	STATE_DONE,	/* a reply was returned; the next feed starts anew */
	STATE_FAILED	/* a malformed reply: sticky until reset */
};

struct smtp_reply_parser {
	struct smtp_reply_limits limits;
	enum parser_state state;
	struct buf line;	/* the current line, without its end */
	size_t total;		/* octets of the current reply so far */
	unsigned code;
	char status[SMTP_REPLY_STATUS_SIZE];
	struct buf store;	/* each line's text, NUL-terminated */
	size_t *offsets;	/* of each line's text in store */
	const char **ptrs;	/* built when the reply is complete */
	size_t count, cap;
	struct buf text;	/* the joined reply */
	struct smtp_reply reply;
	struct buf error;
	const char *error_text;
};

struct smtp_reply_parser *
smtp_reply_parser_new(const struct smtp_reply_limits *limits)
{
	struct smtp_reply_parser *p = xcalloc(1, sizeof(*p));
	size_t room;

	p->limits = *limits;
	/* Every octet of a reply lands once in store and once in text, plus
	 * a NUL or a space per line: the limits bound both buffers. */
	if (__builtin_add_overflow(limits->total_max, limits->lines_max,
				   &room))
		room = SIZE_MAX;
	buf_init(&p->line, limits->line_max);
	buf_init(&p->store, room);
	buf_init(&p->text, room);
	return p;
}

void smtp_reply_parser_free(struct smtp_reply_parser **pp)
{
	struct smtp_reply_parser *p = *pp;

	if (p == NULL)
		return;
	buf_deinit(&p->line);
	buf_deinit(&p->store);
	buf_deinit(&p->text);
	if (p->error.data != NULL)
		buf_deinit(&p->error);
	free(p->offsets);
	free(p->ptrs);
	free(p);
	*pp = NULL;
}

/* Starts a new reply (keeps the allocations). */
static void reply_clear(struct smtp_reply_parser *p)
{
	p->state = STATE_LINE;
	buf_reset(&p->line);
	buf_reset(&p->store);
	buf_reset(&p->text);
	p->total = 0;
	p->code = 0;
	p->status[0] = '\0';
	p->count = 0;
}

void smtp_reply_parser_reset(struct smtp_reply_parser *p)
{
	reply_clear(p);
	p->error_text = NULL;
}

/* Replaces, in place, each control octet but TAB and each octet that is
 * not part of valid UTF-8 by '?'. The length does not change. */
static void sanitise(char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		size_t n = 1;

		if (c >= 0x80)
			n = utf8_decode((const unsigned char *)s + i, len - i,
					NULL);
		if (n == 0 || c == 0x7f || (c < 0x20 && c != '\t')) {
			s[i] = '?';
			n = 1;
		}
		i += n;
	}
}

static int fail(struct smtp_reply_parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int fail(struct smtp_reply_parser *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	p->error_text = buf_error_vset(&p->error, ERROR_MAX,
				       "malformed reply", fmt, ap);
	va_end(ap);
	p->state = STATE_FAILED;
	return -1;
}

/* Fails with the start of the current line quoted. */
static int fail_quote(struct smtp_reply_parser *p, const char *why)
{
	size_t n = p->line.len < QUOTE_MAX ? p->line.len : QUOTE_MAX;

	sanitise(p->line.data, n);
	return fail(p, "malformed reply: %s: \"%.*s%s\"", why, (int)n,
		    p->line.data, n < p->line.len ? "..." : "");
}

bool smtp_reply_status_valid(const char *s, size_t len, size_t *code_len_r)
{
	size_t i = 1;

	if (len < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5'))
		return false;
	/* Two dot-led groups of 1 to 3 digits: subject and detail. */
	for (int group = 0; group < 2; group++) {
		size_t digits = 0;

		if (i >= len || s[i] != '.')
			return false;
		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			digits++;
		if (digits == 0 || digits > 3)
			return false;
	}
	if (i < len && s[i] != ' ')
		return false;
	*code_len_r = i;
	return true;
}

/* Checks the code and separator of the current line; 1 if it is the last
 * line, 0 if more follow, -1 on error. */
static int line_check(struct smtp_reply_parser *p, unsigned *code_r)
{
	const char *l = p->line.data;
	size_t n = p->line.len;

	if (n < 3 || l[0] < '0' || l[0] > '9' || l[1] < '0' || l[1] > '9' ||
	    l[2] < '0' || l[2] > '9')
		return fail_quote(p, "no 3-digit reply code");
	if (l[0] < '2' || l[0] > '5' || l[1] > '5')
		return fail_quote(p, "reply code out of range");
	if (n > 3 && l[3] != ' ' && l[3] != '-')
		return fail_quote(p, "no space or hyphen after the reply code");
	*code_r = (unsigned)(l[0] - '0') * 100 + (unsigned)(l[1] - '0') * 10 +
		(unsigned)(l[2] - '0');
	if (p->count > 0 && *code_r != p->code)
		return fail(p, "malformed reply: mixed reply codes %u and %u",
			    p->code, *code_r);
	if (p->count >= p->limits.lines_max)
		return fail(p, "malformed reply: more than %zu lines",
			    p->limits.lines_max);
	return n == 3 || l[3] == ' ' ? 1 : 0;
}

/* Stores the current, checked line. */
static void line_store(struct smtp_reply_parser *p, unsigned code)
{
	const char *l = p->line.data;
	size_t n = p->line.len, tlen = n > 4 ? n - 4 : 0, slen;

	sanitise(p->line.data, n);
	if (p->count == p->cap) {
		p->cap = p->cap == 0 ? 4 : p->cap * 2;
		p->offsets = xreallocarray(p->offsets, p->cap,
					   sizeof(*p->offsets));
		p->ptrs = xreallocarray(p->ptrs, p->cap, sizeof(*p->ptrs));
	}
	p->offsets[p->count] = p->store.len;
	/* The limits bound store and text (see _new): cannot fail. */
	if (buf_append(&p->store, l + (n > 4 ? 4 : n), tlen) < 0 ||
	    buf_append_char(&p->store, '\0') < 0 ||
	    (p->count > 0 && buf_append_char(&p->text, ' ') < 0) ||
	    buf_append(&p->text, l, n) < 0)
		abort();
	if (p->count == 0)
		p->code = code;
	if (p->status[0] == '\0' && tlen > 0 && l[4] == l[0] &&
	    smtp_reply_status_valid(l + 4, tlen, &slen)) {
		memcpy(p->status, l + 4, slen);
		p->status[slen] = '\0';
	}
	p->count++;
}

static void reply_finish(struct smtp_reply_parser *p)
{
	for (size_t i = 0; i < p->count; i++)
		p->ptrs[i] = p->store.data + p->offsets[i];
	p->reply.code = p->code;
	memcpy(p->reply.status, p->status, sizeof(p->status));
	p->reply.line_count = p->count;
	p->reply.lines = p->ptrs;
	p->reply.text = buf_cstr(&p->text);
	p->state = STATE_DONE;
}

/* A line has ended: 1 reply complete, 0 more lines, -1 error. */
static int line_done(struct smtp_reply_parser *p)
{
	unsigned code = 0;
	int last = line_check(p, &code);

	if (last < 0)
		return -1;
	line_store(p, code);
	buf_reset(&p->line);
	p->state = STATE_LINE;
	if (last == 0)
		return 0;
	reply_finish(p);
	return 1;
}

/* One octet; returns as line_done(), or 0 within a line. */
static int feed_octet(struct smtp_reply_parser *p, char c)
{
	if (++p->total > p->limits.total_max)
		return fail(p, "malformed reply: longer than %zu octets",
			    p->limits.total_max);
	if (p->state == STATE_CR) {
		if (c != '\n')
			return fail_quote(p, "CR without LF");
		return line_done(p);
	}
	if (c == '\r') {
		p->state = STATE_CR;
		return 0;
	}
	if (c == '\n')
		return line_done(p);
	if (c == '\0')
		return fail_quote(p, "NUL octet");
	if (buf_append_char(&p->line, c) < 0)
		return fail(p, "malformed reply: line longer than %zu octets",
			    p->limits.line_max);
	return 0;
}

int smtp_reply_parser_feed(struct smtp_reply_parser *p, const void *data,
			   size_t len, size_t *used_r,
			   const struct smtp_reply **reply_r,
			   const char **error_r)
{
	const char *d = data;

	*used_r = 0;
	*reply_r = NULL;
	*error_r = NULL;
	if (p->state == STATE_FAILED) {
		*error_r = p->error_text;
		return -1;
	}
	if (p->state == STATE_DONE)
		reply_clear(p);
	for (size_t i = 0; i < len; i++) {
		int r = feed_octet(p, d[i]);

		if (r == 0)
			continue;
		*used_r = i + 1;
		if (r < 0) {
			*error_r = p->error_text;
			return -1;
		}
		*reply_r = &p->reply;
		return 1;
	}
	*used_r = len;
	return 0;
}

void smtp_reply_classify(const struct smtp_reply *reply, unsigned flags,
			 struct smtp_reply_result *result_r)
{
	static const enum smtp_reply_class classes[] = {
		[2] = SMTP_REPLY_OK, [3] = SMTP_REPLY_INTERMEDIATE,
		[4] = SMTP_REPLY_TEMPORARY, [5] = SMTP_REPLY_PERMANENT };
	unsigned first = reply->code / 100;

	/* The parser only makes codes 200-559; anything else is a caller's
	 * hand-made reply: treat it as the temporary failure it cannot be
	 * sure it is not. */
	if (first < 2 || first > 5)
		first = 4;
	result_r->code = reply->code;
	result_r->class = classes[first];
	if (reply->status[0] != '\0' && reply->status[0] == (char)('0' + first))
		memcpy(result_r->status, reply->status,
		       sizeof(result_r->status));
	else if (first == 3)
		result_r->status[0] = '\0';
	else if (str_copy(result_r->status, sizeof(result_r->status),
			  first == 2 ? "2.0.0" : first == 4 ? "4.0.0" :
			  "5.0.0") < 0)
		abort();
	if ((flags & SMTP_REPLY_FLAG_RCPT) != 0 && result_r->code == 552) {
		result_r->code = 452;
		result_r->class = SMTP_REPLY_TEMPORARY;
		result_r->status[0] = '4';
	}
}

/* The keywords that are plain flags; SIZE and AUTH take parameters. */
static const struct {
	const char *name;
	unsigned ext;
} ehlo_keywords[] = {
	{ "PIPELINING", SMTP_EXT_PIPELINING },
	{ "SIZE", SMTP_EXT_SIZE },
	{ "8BITMIME", SMTP_EXT_8BITMIME },
	{ "SMTPUTF8", SMTP_EXT_SMTPUTF8 },
	{ "STARTTLS", SMTP_EXT_STARTTLS },
	{ "CHUNKING", SMTP_EXT_CHUNKING },
	{ "DSN", SMTP_EXT_DSN },
	{ "ENHANCEDSTATUSCODES", SMTP_EXT_ENHANCEDSTATUSCODES },
	{ "AUTH", SMTP_EXT_AUTH },
};

#define KEYWORD_MAX 32

static bool mech_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		(c >= '0' && c <= '9') || c == '-' || c == '_';
}

bool smtp_reply_ehlo_has_auth(const struct smtp_ehlo *ehlo, const char *mech)
{
	size_t mlen = strlen(mech);

	for (const char *s = ehlo->auth; *s != '\0';) {
		size_t n = strcspn(s, " ");

		if (n == mlen && strncasecmp(s, mech, n) == 0)
			return true;
		s += n;
		s += *s == ' ';
	}
	return false;
}

/* Adds the valid mechanism s[0..n), upper-cased, unless known or too many. */
static void ehlo_add_mech(struct smtp_ehlo *e, const char *s, size_t n)
{
	size_t len = strlen(e->auth), need = n + (len > 0);
	char mech[SMTP_EHLO_MECH_MAX + 1];

	if (n == 0 || n > SMTP_EHLO_MECH_MAX || len + need > SMTP_EHLO_AUTH_MAX)
		return;
	for (size_t i = 0; i < n; i++) {
		if (!mech_char(s[i]))
			return;
		mech[i] = s[i] >= 'a' && s[i] <= 'z' ? (char)(s[i] - 32) : s[i];
	}
	mech[n] = '\0';
	if (smtp_reply_ehlo_has_auth(e, mech))
		return;
	if (len > 0)
		e->auth[len++] = ' ';
	memcpy(e->auth + len, mech, n + 1);
}

static void ehlo_params(struct smtp_ehlo *e, unsigned ext, const char *s)
{
	while (*s != '\0') {
		size_t n;

		s += strspn(s, " \t");
		n = strcspn(s, " \t");
		if (n == 0)
			break;
		if (ext == SMTP_EXT_AUTH) {
			ehlo_add_mech(e, s, n);
		} else if (ext == SMTP_EXT_SIZE) {
			/* Only the first parameter counts; junk means no
			 * limit known, as RFC 1870 gives no other reading. */
			char num[24];
			uint64_t v = 0;

			if (n < sizeof(num)) {
				memcpy(num, s, n);
				num[n] = '\0';
				if (str_to_u64(num, &v) < 0)
					v = 0;
			}
			e->size_max = v;
			return;
		}
		s += n;
	}
}

/* One keyword line: "KEYWORD *(SP param)" or the old "AUTH=mechs". */
static void ehlo_line(struct smtp_ehlo *e, const char *line)
{
	size_t n = strcspn(line, " \t=");
	char kw[KEYWORD_MAX + 1];

	if (n == 0 || n > KEYWORD_MAX)
		return;
	memcpy(kw, line, n);
	kw[n] = '\0';
	if (line[n] == '=' && !str_eq_ci(kw, "AUTH"))
		return;
	for (size_t i = 0; i < sizeof(ehlo_keywords) / sizeof(*ehlo_keywords);
	     i++) {
		if (!str_eq_ci(kw, ehlo_keywords[i].name))
			continue;
		e->ext |= ehlo_keywords[i].ext;
		ehlo_params(e, ehlo_keywords[i].ext,
			    line + n + (line[n] != '\0'));
		return;
	}
}

int smtp_reply_ehlo_parse(const struct smtp_reply *reply,
			  struct smtp_ehlo *ehlo_r, const char **error_r)
{
	memset(ehlo_r, 0, sizeof(*ehlo_r));
	if (reply->code != 250) {
		*error_r = "EHLO reply is not 250";
		return -1;
	}
	for (size_t i = 1; i < reply->line_count; i++)
		ehlo_line(ehlo_r, reply->lines[i]);
	return 0;
}
