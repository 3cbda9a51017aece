/* imap_bodystrip: BODY from BODYSTRUCTURE (see imap_bodystrip.h). A
 * small reader of IMAP values (atoms, quoted strings, literals, lists)
 * walks the structure; kept values are copied as they are written, so
 * that quoting and literals stay byte for byte what the writer made. */
#include "config.h"
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include "imap_bodystrip.h"

#define LIST_DEPTH_MAX 1000
/* Digits of a literal's length ("{n}"): more is damage. */
#define LITERAL_DIGITS_MAX 9

struct strip {
	const char *s;
	size_t len;
	size_t pos;
	struct buf *out;
	bool bad;
};

static bool at(const struct strip *st, char c)
{
	return st->pos < st->len && st->s[st->pos] == c;
}

static void expect(struct strip *st, char c)
{
	if (at(st, c))
		st->pos++;
	else
		st->bad = true;
}

static void emit(struct strip *st, const char *p, size_t n)
{
	if (!st->bad && buf_append(st->out, p, n) < 0)
		st->bad = true;
}

/* Skips one string or atom at pos; its content (quoted: without the
 * quotes, escapes kept) in *content_r / *clen_r. */
static void skip_scalar(struct strip *st, const char **content_r,
			size_t *clen_r)
{
	const char *s = st->s;
	size_t i = st->pos;

	*content_r = "";
	*clen_r = 0;
	if (i >= st->len) {
		st->bad = true;
	} else if (s[i] == '"') {
		for (i++; i < st->len && s[i] != '"'; i++)
			if (s[i] == '\\')
				i++;
		if (i >= st->len) {
			st->bad = true;
			return;
		}
		*content_r = s + st->pos + 1;
		*clen_r = i - st->pos - 1;
		st->pos = i + 1;
	} else if (s[i] == '{') {
		size_t n = 0, digits = 0;
		for (i++; i < st->len && s[i] >= '0' && s[i] <= '9'; i++) {
			n = n * 10 + (size_t)(s[i] - '0');
			if (++digits > LITERAL_DIGITS_MAX)
				break;
		}
		if (digits == 0 || digits > LITERAL_DIGITS_MAX ||
		    st->len - i < 3 || memcmp(s + i, "}\r\n", 3) != 0 ||
		    st->len - i - 3 < n) {
			st->bad = true;
			return;
		}
		*content_r = s + i + 3;
		*clen_r = n;
		st->pos = i + 3 + n;
	} else {
		while (i < st->len && s[i] != ' ' && s[i] != '(' &&
		       s[i] != ')' && s[i] != '"' && s[i] != '{')
			i++;
		if (i == st->pos)
			st->bad = true;
		*content_r = s + st->pos;
		*clen_r = i - st->pos;
		st->pos = i;
	}
}

/* Skips one value (a list with everything in it, iteratively). */
static void skip_value(struct strip *st)
{
	size_t depth = 0;
	const char *c;
	size_t n;

	do {
		if (st->bad)
			return;
		if (at(st, '(')) {
			if (++depth > LIST_DEPTH_MAX)
				st->bad = true;
			st->pos++;
			continue;
		}
		if (depth > 0 && at(st, ')')) {
			depth--;
			st->pos++;
		} else {
			skip_scalar(st, &c, &n);
		}
		if (depth > 0 && at(st, ' '))
			st->pos++;
	} while (depth > 0 && !st->bad);
}

/* Copies " value" (the space before it included). */
static void copy_value(struct strip *st)
{
	size_t from = st->pos;

	expect(st, ' ');
	skip_value(st);
	emit(st, st->s + from, st->pos - from);
}

/* Skips the rest of the current part (its extension data) up to and
 * including its ")". */
static void skip_extension(struct strip *st)
{
	while (!st->bad && at(st, ' ')) {
		st->pos++;
		skip_value(st);
	}
	expect(st, ')');
	emit(st, ")", 1);
}

static bool is_word(const char *p, size_t n, const char *word)
{
	return n == strlen(word) && strncasecmp(p, word, n) == 0;
}

static void strip_body(struct strip *st, unsigned depth);

static void strip_basic(struct strip *st, unsigned depth)
{
	const char *type, *subtype;
	size_t tlen, slen, from = st->pos;

	skip_scalar(st, &type, &tlen);
	expect(st, ' ');
	skip_scalar(st, &subtype, &slen);
	emit(st, st->s + from, st->pos - from);
	for (int i = 0; i < 5; i++)	/* params id desc enc size */
		copy_value(st);
	if (is_word(type, tlen, "message") &&
	    (is_word(subtype, slen, "rfc822") ||
	     is_word(subtype, slen, "global"))) {
		copy_value(st);		/* envelope */
		expect(st, ' ');
		emit(st, " ", 1);
		strip_body(st, depth + 1);
		copy_value(st);		/* lines */
	} else if (is_word(type, tlen, "text")) {
		copy_value(st);		/* lines */
	}
	skip_extension(st);
}

/* Recursion: one level per body level, at most DEPTH_MAX. */
static void strip_body(struct strip *st, unsigned depth)
{
	if (depth > IMAP_BODYSTRIP_DEPTH_MAX)
		st->bad = true;
	expect(st, '(');
	emit(st, "(", 1);
	if (st->bad)
		return;
	if (!at(st, '(')) {
		strip_basic(st, depth);
		return;
	}
	while (!st->bad && at(st, '('))
		strip_body(st, depth + 1);
	copy_value(st);			/* subtype */
	skip_extension(st);
}

int imap_bodystrip(const char *bs, size_t len, struct buf *out)
{
	struct strip st = { .s = bs, .len = len, .out = out };
	size_t start = out->len;

	strip_body(&st, 0);
	if (st.bad || st.pos != len) {
		buf_truncate(out, start);
		return -1;
	}
	return 0;
}
