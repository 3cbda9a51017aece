/* imap_envelope: ENVELOPE from a header block (see the header). The
 * address lists are read by a lexer (words, quoted strings, domain
 * literals and specials, with comments and white space skipped; comment
 * nesting is a counter, so nothing recurses) and a parser that takes one
 * token of look-ahead and never goes back, so the work is linear in the
 * field's length. The header is walked once for the ten fields (a long
 * Received: chain is not read ten times), and a field needs no memory
 * but the caller's buffer unless it is long: this runs for every message
 * of a first FETCH 1:* ENVELOPE. */
#include "config.h"
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "imap_envelope.h"
#include "imap_string.h"
#include "log.h"
#include "mem.h"
#include "mime.h"

/* Fields up to this long are unfolded and parsed on the stack. */
#define SMALL_FIELD 1024

enum tok_type { TOK_END, TOK_WORD, TOK_QUOTED, TOK_SPECIAL };

struct tok {
	enum tok_type type;
	char c;	       /* TOK_SPECIAL */
	const char *s; /* TOK_WORD, TOK_QUOTED (without the quotes) */
	size_t len;
};

/* A piece of an address being collected: sized never to fill. */
struct scratch {
	char *data;
	size_t len, cap;
};

struct addr_parser {
	const char *s;
	size_t len, pos;
	struct tok tok;				   /* the look-ahead */
	struct scratch name, route, local, domain;
	struct buf *out;
	unsigned flags;
	size_t count; /* entries written */
	bool in_group, full, failed;
};

/* Character classes: a table rather than a strchr per octet. */
#define C_SPECIAL 0x1	/* a token of its own: <>@,;: */
#define C_NOT_ATOM 0x2	/* ends an atom: the specials, ()"[] */
static const unsigned char char_class[256] = {
	['<'] = C_SPECIAL | C_NOT_ATOM, ['>'] = C_SPECIAL | C_NOT_ATOM,
	['@'] = C_SPECIAL | C_NOT_ATOM, [','] = C_SPECIAL | C_NOT_ATOM,
	[';'] = C_SPECIAL | C_NOT_ATOM, [':'] = C_SPECIAL | C_NOT_ATOM,
	['('] = C_NOT_ATOM, [')'] = C_NOT_ATOM, ['"'] = C_NOT_ATOM,
	['['] = C_NOT_ATOM, [']'] = C_NOT_ATOM,
};

static bool is_special(char c)
{
	return (char_class[(unsigned char)c] & C_SPECIAL) != 0;
}

static bool is_atom(unsigned char c)
{
	return c > 0x20 && c != 0x7f && (char_class[c] & C_NOT_ATOM) == 0;
}

static void skip_cfws(struct addr_parser *p)
{
	size_t depth = 0;

	while (p->pos < p->len) {
		unsigned char c = (unsigned char)p->s[p->pos];

		if (depth > 0) {
			if (c == '\\' && p->pos + 1 < p->len)
				p->pos++;
			else if (c == '(')
				depth++;
			else if (c == ')')
				depth--;
		} else if (c == '(') {
			depth = 1;
		} else if (c != ')' && c > 0x20 && c != 0x7f) {
			return; /* a stray ")" is skipped like a space */
		}
		p->pos++;
	}
}

/* From open (a '"' or '['), up to its unescaped closer or the end. */
static size_t scan_delimited(const struct addr_parser *p, size_t i, char closer)
{
	for (; i < p->len && p->s[i] != closer; i++)
		if (p->s[i] == '\\' && i + 1 < p->len)
			i++;
	return i;
}

static void next(struct addr_parser *p)
{
	size_t start;

	skip_cfws(p);
	p->tok.type = TOK_END;
	if (p->pos >= p->len)
		return;
	start = p->pos;
	if (is_special(p->s[start])) {
		p->tok.type = TOK_SPECIAL;
		p->tok.c = p->s[start];
		p->pos++;
	} else if (p->s[start] == '"') {
		size_t end = scan_delimited(p, start + 1, '"');

		p->tok.type = TOK_QUOTED;
		p->tok.s = p->s + start + 1;
		p->tok.len = end - start - 1;
		p->pos = end < p->len ? end + 1 : end;
	} else if (p->s[start] == '[') {
		size_t end = scan_delimited(p, start + 1, ']');

		p->tok.type = TOK_WORD; /* kept whole, brackets included */
		p->pos = end < p->len ? end + 1 : end;
		p->tok.s = p->s + start;
		p->tok.len = p->pos - start;
	} else {
		while (p->pos < p->len && is_atom((unsigned char)p->s[p->pos]))
			p->pos++;
		if (p->pos == start)
			p->pos++; /* a stray "]" is a word of its own */
		p->tok.type = TOK_WORD;
		p->tok.s = p->s + start;
		p->tok.len = p->pos - start;
	}
}

static void scratch(struct scratch *b, const char *s, size_t len)
{
	/* Each scratch buffer can hold the whole field. */
	ASSERT(len <= b->cap - b->len);
	memcpy(b->data + b->len, s, len);
	b->len += len;
}

/* Appends the current word to b, unquoting a quoted string. */
static void take_word(struct addr_parser *p, struct scratch *b)
{
	const char *s = p->tok.s;
	size_t len = p->tok.len;

	if (p->tok.type != TOK_QUOTED) {
		scratch(b, s, len);
		return;
	}
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\\' && i + 1 < len)
			i++;
		scratch(b, s + i, 1);
	}
}

static bool is_word(const struct addr_parser *p)
{
	return p->tok.type == TOK_WORD || p->tok.type == TOK_QUOTED;
}

static bool is_char(const struct addr_parser *p, char c)
{
	return p->tok.type == TOK_SPECIAL && p->tok.c == c;
}

static void put(struct addr_parser *p, const char *s)
{
	if (buf_append_str(p->out, s) < 0)
		p->failed = true;
}

static void put_string(struct addr_parser *p, const struct scratch *b,
		       const char *empty)
{
	if (b->len == 0 && empty == NULL)
		put(p, "NIL");
	else if (b->len == 0)
		put(p, empty);
	else if (imap_string_append(p->out, b->data, b->len, p->flags) < 0)
		p->failed = true;
}

/* An entry fits when it leaves room for the open group's end. */
static bool room(struct addr_parser *p, size_t entries)
{
	if (p->count + entries + (p->in_group ? 1 : 0) >
	    IMAP_ENVELOPE_ADDRESSES_MAX)
		p->full = true;
	return !p->full;
}

static void emit_address(struct addr_parser *p)
{
	if (p->name.len == 0 && p->local.len == 0 && p->domain.len == 0)
		return; /* "<>" or nothing at all */
	if (!room(p, 1))
		return;
	put(p, "(");
	put_string(p, &p->name, NULL);
	put(p, " ");
	put_string(p, &p->route, NULL);
	put(p, " ");
	put_string(p, &p->local, "\"MISSING_MAILBOX\"");
	put(p, " ");
	put_string(p, &p->domain, "\"MISSING_DOMAIN\"");
	put(p, ")");
	p->count++;
}

static void emit_group_start(struct addr_parser *p)
{
	if (!room(p, 2))
		return;
	put(p, "(NIL NIL ");
	if (imap_string_append(p->out, p->name.data, p->name.len, p->flags) < 0)
		p->failed = true;
	put(p, " NIL)");
	p->count++;
	p->in_group = true;
}

static void emit_group_end(struct addr_parser *p)
{
	put(p, "(NIL NIL NIL NIL)");
	p->count++;
	p->in_group = false;
}

/* Words up to a special, joined by "" into b. */
static void take_words(struct addr_parser *p, struct scratch *b)
{
	while (is_word(p)) {
		take_word(p, b);
		next(p);
	}
}

/* After "<": [route ":"] local ["@" domain] [">"]. */
static void parse_angle(struct addr_parser *p)
{
	p->local.len = 0;
	if (is_char(p, '@')) {
		while (p->tok.type != TOK_END && !is_char(p, ':') &&
		       !is_char(p, '>')) {
			if (is_word(p))
				take_word(p, &p->route);
			else
				scratch(&p->route, &p->tok.c, 1);
			next(p);
		}
		if (is_char(p, ':'))
			next(p);
	}
	take_words(p, &p->local);
	if (is_char(p, '@')) {
		next(p);
		take_words(p, &p->domain);
	}
	while (p->tok.type != TOK_END && !is_char(p, '>') && !is_char(p, ',') &&
	       !is_char(p, ';'))
		next(p);
	if (is_char(p, '>'))
		next(p);
}

static void reset_address(struct addr_parser *p)
{
	p->name.len = p->route.len = p->local.len = p->domain.len = 0;
}

/* One element of the list: a group start, an address, or junk. */
static void parse_element(struct addr_parser *p)
{
	reset_address(p);
	while (is_word(p)) { /* a display name, or a local part */
		if (p->name.len > 0)
			scratch(&p->name, " ", 1);
		take_word(p, &p->name);
		take_word(p, &p->local);
		next(p);
	}
	if (is_char(p, ':')) {
		next(p);
		if (!p->in_group)
			emit_group_start(p);
		return;
	}
	if (is_char(p, '<')) {
		next(p);
		parse_angle(p);
	} else {
		p->name.len = 0; /* it was a local part */
		if (is_char(p, '@')) {
			next(p);
			take_words(p, &p->domain);
		}
	}
	emit_address(p);
	while (p->tok.type != TOK_END && !is_char(p, ',') && !is_char(p, ';'))
		next(p);
	if (is_char(p, ';') && p->in_group)
		emit_group_end(p);
	if (p->tok.type != TOK_END)
		next(p);
}

long imap_envelope_write_addresses(struct buf *out, const char *value,
				   size_t len, unsigned flags)
{
	struct addr_parser p = {
	    .s = value, .len = len, .out = out, .flags = flags};
	size_t mark = out->len;
	/* A word and the space after it take at most twice its octets. */
	size_t cap = 2 * len + 2;
	char small[4 * SMALL_FIELD], *mem;

	mem = cap <= SMALL_FIELD ? small : xreallocarray(NULL, 4, cap);
	p.name = (struct scratch){ .data = mem, .cap = cap };
	p.route = (struct scratch){ .data = mem + cap, .cap = cap };
	p.local = (struct scratch){ .data = mem + 2 * cap, .cap = cap };
	p.domain = (struct scratch){ .data = mem + 3 * cap, .cap = cap };
	put(&p, "(");
	next(&p);
	while (p.tok.type != TOK_END && !p.full && !p.failed)
		parse_element(&p);
	if (p.in_group)
		emit_group_end(&p);
	put(&p, ")");
	if (mem != small)
		free(mem);
	if (p.failed)
		return -1;
	if (p.count == 0) {
		buf_truncate(out, mark);
		if (buf_append_str(out, "NIL") < 0)
			return -1;
	}
	return (long)p.count;
}

/* The fields of the envelope, in its order. */
enum env_field {
	ENV_DATE, ENV_SUBJECT, ENV_FROM, ENV_SENDER, ENV_REPLY_TO, ENV_TO,
	ENV_CC, ENV_BCC, ENV_IN_REPLY_TO, ENV_MESSAGE_ID, ENV_COUNT
};

static const struct {
	const char *name;
	size_t len;
} env_names[ENV_COUNT] = {
	{ "Date", 4 }, { "Subject", 7 }, { "From", 4 }, { "Sender", 6 },
	{ "Reply-To", 8 }, { "To", 2 }, { "Cc", 2 }, { "Bcc", 3 },
	{ "In-Reply-To", 11 }, { "Message-ID", 10 },
};

/* The first field of each name, found in one walk over the header. */
struct env_fields {
	struct mime_field f[ENV_COUNT];
	unsigned seen;	/* bit 1 << enum env_field */
};

static int env_field_of(const struct mime_field *f)
{
	for (int i = 0; i < ENV_COUNT; i++)
		if (f->name_len == env_names[i].len &&
		    strncasecmp(f->name, env_names[i].name, f->name_len) == 0)
			return i;
	return -1;
}

static void fields_find(const char *header, size_t len,
			struct env_fields *ef)
{
	struct mime_header_iter it;
	struct mime_field f;

	ef->seen = 0;
	mime_header_iter_init(&it, header, len);
	while (ef->seen != (1u << ENV_COUNT) - 1 &&
	       mime_header_next(&it, &f) == 1) {
		int i = env_field_of(&f);

		if (i >= 0 && (ef->seen & (1u << i)) == 0) {
			ef->f[i] = f;
			ef->seen |= 1u << i;
		}
	}
}

/* A field's value unfolded: into small when it fits, else into memory
 * to be freed (*mem_r). */
struct unfolded {
	char small[SMALL_FIELD];
	char *mem;
	const char *value;
	size_t len;
};

static void unfold(const struct mime_field *f, struct unfolded *u)
{
	char *dst = u->small;
	long n;

	u->mem = NULL;
	if (f->value_len + 1 > sizeof(u->small))
		dst = u->mem = xmalloc(f->value_len + 1);
	n = mime_header_unfold(f->value, f->value_len, dst, f->value_len + 1);
	ASSERT(n >= 0);
	u->value = dst;
	u->len = (size_t)n;
}

static int write_text(struct buf *out, const struct env_fields *ef,
		      enum env_field i, unsigned flags)
{
	struct unfolded u;
	int ret;

	if ((ef->seen & (1u << i)) == 0)
		return buf_append_str(out, "NIL");
	unfold(&ef->f[i], &u);
	ret = imap_string_append(out, u.value, u.len, flags);
	free(u.mem);
	return ret;
}

/* Returns the entries written, or -1. */
static long write_list(struct buf *out, const struct env_fields *ef,
		       enum env_field i, unsigned flags)
{
	struct unfolded u;
	long ret;

	if ((ef->seen & (1u << i)) == 0)
		return buf_append_str(out, "NIL") < 0 ? -1 : 0;
	unfold(&ef->f[i], &u);
	ret = imap_envelope_write_addresses(out, u.value, u.len, flags);
	free(u.mem);
	return ret;
}

/* sender and reply-to: from's list when theirs is absent or empty. */
static int write_list_or_from(struct buf *out, const struct env_fields *ef,
			      enum env_field i, unsigned flags)
{
	size_t mark = out->len;
	long n = write_list(out, ef, i, flags);

	if (n != 0)
		return n < 0 ? -1 : 0;
	buf_truncate(out, mark);
	return write_list(out, ef, ENV_FROM, flags) < 0 ? -1 : 0;
}

int imap_envelope_write(struct buf *out, const char *header, size_t len,
			unsigned flags, const char **error_r)
{
	static const enum env_field lists[] = { ENV_TO, ENV_CC, ENV_BCC };
	struct env_fields ef;
	int ret = 0;

	fields_find(header, len, &ef);
	ret |= buf_append_char(out, '(');
	ret |= write_text(out, &ef, ENV_DATE, flags);
	ret |= buf_append_char(out, ' ');
	ret |= write_text(out, &ef, ENV_SUBJECT, flags);
	ret |= buf_append_char(out, ' ');
	ret |= write_list(out, &ef, ENV_FROM, flags) < 0 ? -1 : 0;
	ret |= buf_append_char(out, ' ');
	ret |= write_list_or_from(out, &ef, ENV_SENDER, flags);
	ret |= buf_append_char(out, ' ');
	ret |= write_list_or_from(out, &ef, ENV_REPLY_TO, flags);
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		ret |= buf_append_char(out, ' ');
		ret |= write_list(out, &ef, lists[i], flags) < 0 ? -1 : 0;
	}
	ret |= buf_append_char(out, ' ');
	ret |= write_text(out, &ef, ENV_IN_REPLY_TO, flags);
	ret |= buf_append_char(out, ' ');
	ret |= write_text(out, &ef, ENV_MESSAGE_ID, flags);
	ret |= buf_append_char(out, ')');
	if (ret != 0) {
		*error_r = "response too large";
		return -1;
	}
	return 0;
}
