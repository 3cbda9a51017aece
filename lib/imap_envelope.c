/* imap_envelope: ENVELOPE from a header block (see the header). The
 * address lists are read by a lexer (words, quoted strings, domain
 * literals and specials, with comments and white space skipped; comment
 * nesting is a counter, so nothing recurses) and a parser that takes one
 * token of look-ahead and never goes back, so the work is linear in the
 * field's length. */
#include "config.h"
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "imap_envelope.h"
#include "imap_string.h"
#include "log.h"
#include "mem.h"
#include "mime.h"

enum tok_type { TOK_END, TOK_WORD, TOK_QUOTED, TOK_SPECIAL };

struct tok {
	enum tok_type type;
	char c;	       /* TOK_SPECIAL */
	const char *s; /* TOK_WORD, TOK_QUOTED (without the quotes) */
	size_t len;
};

struct addr_parser {
	const char *s;
	size_t len, pos;
	struct tok tok;			       /* the look-ahead */
	struct buf name, route, local, domain; /* sized never to fill */
	struct buf *out;
	unsigned flags;
	size_t count; /* entries written */
	bool in_group, full, failed;
};

static bool is_special(char c)
{
	return strchr("<>@,;:", c) != NULL;
}

static bool is_atom(unsigned char c)
{
	return c > 0x20 && c != 0x7f && strchr("()<>@,;:\"[]", c) == NULL;
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

static void scratch(struct buf *b, const char *s, size_t len)
{
	/* Each scratch buffer can hold the whole field. */
	ASSERT(buf_append(b, s, len) == 0);
}

/* Appends the current word to b, unquoting a quoted string. */
static void take_word(struct addr_parser *p, struct buf *b)
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

static void put_string(struct addr_parser *p, const struct buf *b,
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
static void take_words(struct addr_parser *p, struct buf *b)
{
	while (is_word(p)) {
		take_word(p, b);
		next(p);
	}
}

/* After "<": [route ":"] local ["@" domain] [">"]. */
static void parse_angle(struct addr_parser *p)
{
	buf_reset(&p->local);
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
	buf_reset(&p->name);
	buf_reset(&p->route);
	buf_reset(&p->local);
	buf_reset(&p->domain);
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
		buf_reset(&p->name); /* it was a local part */
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
	buf_init(&p.name, 2 * len + 2);
	buf_init(&p.route, 2 * len + 2);
	buf_init(&p.local, 2 * len + 2);
	buf_init(&p.domain, 2 * len + 2);
	put(&p, "(");
	next(&p);
	while (p.tok.type != TOK_END && !p.full && !p.failed)
		parse_element(&p);
	if (p.in_group)
		emit_group_end(&p);
	put(&p, ")");
	buf_deinit(&p.name);
	buf_deinit(&p.route);
	buf_deinit(&p.local);
	buf_deinit(&p.domain);
	if (p.failed)
		return -1;
	if (p.count == 0) {
		buf_truncate(out, mark);
		if (buf_append_str(out, "NIL") < 0)
			return -1;
	}
	return (long)p.count;
}

/* The first field called name, unfolded into *value_r (to be freed), or
 * false when there is none. */
static bool field_get(const char *header, size_t len, const char *name,
		      char **value_r, size_t *len_r)
{
	struct mime_field f;
	long n;

	if (mime_header_find(header, len, name, &f) != 1)
		return false;
	*value_r = xmalloc(f.value_len + 1);
	n = mime_header_unfold(f.value, f.value_len, *value_r, f.value_len + 1);
	ASSERT(n >= 0);
	*len_r = (size_t)n;
	return true;
}

static int write_text(struct buf *out, const char *header, size_t len,
		      const char *name, unsigned flags)
{
	char *value;
	size_t value_len;
	int ret;

	if (!field_get(header, len, name, &value, &value_len))
		return buf_append_str(out, "NIL");
	ret = imap_string_append(out, value, value_len, flags);
	free(value);
	return ret;
}

/* Returns the entries written, or -1. */
static long write_list(struct buf *out, const char *header, size_t len,
		       const char *name, unsigned flags)
{
	char *value;
	size_t value_len;
	long ret;

	if (!field_get(header, len, name, &value, &value_len))
		return buf_append_str(out, "NIL") < 0 ? -1 : 0;
	ret = imap_envelope_write_addresses(out, value, value_len, flags);
	free(value);
	return ret;
}

/* sender and reply-to: from's list when theirs is absent or empty. */
static int write_list_or_from(struct buf *out, const char *header, size_t len,
			      const char *name, unsigned flags)
{
	size_t mark = out->len;
	long n = write_list(out, header, len, name, flags);

	if (n != 0)
		return n < 0 ? -1 : 0;
	buf_truncate(out, mark);
	return write_list(out, header, len, "From", flags) < 0 ? -1 : 0;
}

int imap_envelope_write(struct buf *out, const char *header, size_t len,
			unsigned flags, const char **error_r)
{
	static const char *const lists[] = {"To", "Cc", "Bcc"};
	int ret = 0;

	ret |= buf_append_char(out, '(');
	ret |= write_text(out, header, len, "Date", flags);
	ret |= buf_append_char(out, ' ');
	ret |= write_text(out, header, len, "Subject", flags);
	ret |= buf_append_char(out, ' ');
	ret |= write_list(out, header, len, "From", flags) < 0 ? -1 : 0;
	ret |= buf_append_char(out, ' ');
	ret |= write_list_or_from(out, header, len, "Sender", flags);
	ret |= buf_append_char(out, ' ');
	ret |= write_list_or_from(out, header, len, "Reply-To", flags);
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		ret |= buf_append_char(out, ' ');
		ret |=
		    write_list(out, header, len, lists[i], flags) < 0 ? -1 : 0;
	}
	ret |= buf_append_char(out, ' ');
	ret |= write_text(out, header, len, "In-Reply-To", flags);
	ret |= buf_append_char(out, ' ');
	ret |= write_text(out, header, len, "Message-ID", flags);
	ret |= buf_append_char(out, ')');
	if (ret != 0) {
		*error_r = "response too large";
		return -1;
	}
	return 0;
}
