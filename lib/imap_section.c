/* imap_section: FETCH sections and partials; see imap_section.h. A small
 * cursor over the text, one function per grammar rule; nothing recurses. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "mem.h"
#include "imap_section.h"

struct cursor {
	const char *s;
	size_t len, pos;
};

static bool at_end(const struct cursor *c)
{
	return c->pos >= c->len;
}

static bool eat(struct cursor *c, char ch)
{
	if (at_end(c) || c->s[c->pos] != ch)
		return false;
	c->pos++;
	return true;
}

/* A keyword, case-insensitive. What may follow it is checked by the
 * caller (so "HEADER.FIELDS" must be tried before "HEADER"). */
static bool eat_word(struct cursor *c, const char *word)
{
	size_t n = strlen(word);

	if (c->len - c->pos < n || strncasecmp(c->s + c->pos, word, n) != 0)
		return false;
	c->pos += n;
	return true;
}

/* number (zero allowed when !nz), up to 2^32-1, no leading zeros. */
static int parse_number(struct cursor *c, bool nz, uint32_t *value_r)
{
	uint64_t v = 0;
	size_t start = c->pos;

	while (!at_end(c) && c->s[c->pos] >= '0' && c->s[c->pos] <= '9') {
		v = v * 10 + (uint64_t)(c->s[c->pos] - '0');
		if (v > UINT32_MAX)
			return -1;
		c->pos++;
	}
	if (c->pos == start || (c->s[start] == '0' && c->pos - start > 1) ||
	    (nz && v == 0))
		return -1;
	*value_r = (uint32_t)v;
	return 0;
}

static bool is_field_char(unsigned char ch)
{
	return ch > 0x20 && ch < 0x7f && ch != ':';
}

/* One field name: an atom up to SP or ")", or a quoted string. */
static int parse_field(struct cursor *c, char **name_r)
{
	char *name = xmalloc(c->len - c->pos + 1);
	size_t n = 0;

	if (eat(c, '"')) {
		while (!at_end(c) && c->s[c->pos] != '"') {
			if (c->s[c->pos] == '\\' && c->pos + 1 < c->len)
				c->pos++;
			name[n++] = c->s[c->pos++];
		}
		if (!eat(c, '"'))
			n = 0;
	} else {
		while (!at_end(c) && c->s[c->pos] != ' ' &&
		       c->s[c->pos] != ')' && strchr("(){%*\"\\]",
						     c->s[c->pos]) == NULL)
			name[n++] = c->s[c->pos++];
	}
	name[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (!is_field_char((unsigned char)name[i]))
			n = 0;
	if (n == 0) {
		free(name);
		return -1;
	}
	*name_r = xrealloc(name, n + 1);
	return 0;
}

/* SP "(" name *(SP name) ")" */
static int parse_fields(struct cursor *c, size_t fields_max,
			struct imap_section *sec, const char **error_r)
{
	if (!eat(c, ' ') || !eat(c, '(')) {
		*error_r = "Missing header field list";
		return -1;
	}
	do {
		char *name;

		if (sec->field_count >= fields_max) {
			*error_r = "Too many header fields";
			return -1;
		}
		if (parse_field(c, &name) < 0) {
			*error_r = "Invalid header field name";
			return -1;
		}
		sec->fields = xreallocarray(sec->fields, sec->field_count + 1,
					    sizeof(*sec->fields));
		sec->fields[sec->field_count++] = name;
	} while (eat(c, ' '));
	if (!eat(c, ')')) {
		*error_r = "Invalid header field list";
		return -1;
	}
	return 0;
}

/* msgtext, or MIME when after a part. */
static int parse_text(struct cursor *c, size_t fields_max,
		      struct imap_section *sec, const char **error_r)
{
	*error_r = "Invalid section";
	if (eat_word(c, "HEADER.FIELDS")) {
		sec->kind = eat_word(c, ".NOT") ?
			IMAP_SECTION_HEADER_FIELDS_NOT :
			IMAP_SECTION_HEADER_FIELDS;
		return parse_fields(c, fields_max, sec, error_r);
	}
	if (eat_word(c, "HEADER"))
		sec->kind = IMAP_SECTION_HEADER;
	else if (eat_word(c, "TEXT"))
		sec->kind = IMAP_SECTION_TEXT;
	else if (sec->part_count > 0 && eat_word(c, "MIME"))
		sec->kind = IMAP_SECTION_MIME;
	else
		return -1;
	return 0;
}

static int parse_spec(struct cursor *c, size_t fields_max,
		      struct imap_section *sec, const char **error_r)
{
	*error_r = "Invalid section part";
	while (!at_end(c) && c->s[c->pos] >= '0' && c->s[c->pos] <= '9') {
		if (sec->part_count >= IMAP_SECTION_PARTS_MAX) {
			*error_r = "Section part too deep";
			return -1;
		}
		if (parse_number(c, true, &sec->parts[sec->part_count]) < 0)
			return -1;
		sec->part_count++;
		sec->kind = IMAP_SECTION_PART;
		if (!eat(c, '.'))
			return 0;
	}
	return parse_text(c, fields_max, sec, error_r);
}

static int parse_partial(struct cursor *c, struct imap_section *sec,
			 const char **error_r)
{
	if (at_end(c))
		return 0;
	if (!eat(c, '<') ||
	    parse_number(c, false, &sec->partial_offset) < 0 ||
	    !eat(c, '.') ||
	    parse_number(c, true, &sec->partial_length) < 0 ||
	    !eat(c, '>') || !at_end(c)) {
		*error_r = "Invalid partial";
		return -1;
	}
	sec->has_partial = true;
	return 0;
}

int imap_section_parse(const char *s, size_t len, size_t fields_max,
		       struct imap_section *sec_r, const char **error_r)
{
	struct cursor c = { .s = s, .len = len, .pos = 0 };

	memset(sec_r, 0, sizeof(*sec_r));
	if (!eat(&c, '[')) {
		*error_r = "Missing [";
		return -1;
	}
	if (!eat(&c, ']')) {
		if (parse_spec(&c, fields_max, sec_r, error_r) < 0)
			goto fail;
		if (!eat(&c, ']')) {
			*error_r = "Invalid section";
			goto fail;
		}
	}
	if (parse_partial(&c, sec_r, error_r) < 0)
		goto fail;
	return 0;
fail:
	imap_section_deinit(sec_r);
	return -1;
}

void imap_section_deinit(struct imap_section *sec)
{
	for (size_t i = 0; i < sec->field_count; i++)
		free(sec->fields[i]);
	free(sec->fields);
	memset(sec, 0, sizeof(*sec));
}
