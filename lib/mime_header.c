/* mime_header: the header-field layer of lib/mime (see mime.h): finding the
 * end of a header block, iterating its fields, unfolding, look-up by name.
 * Works on the caller's buffer in place; allocates nothing. */
#include "config.h"
#include <string.h>
#include <strings.h>
#include "mime.h"

/* End of the line starting at pos: the index just past its LF, or len. */
static size_t line_end(const char *data, size_t len, size_t pos)
{
	const char *lf = memchr(data + pos, '\n', len - pos);

	return lf == NULL ? len : (size_t)(lf - data) + 1;
}

/* An empty line: "LF", "CR LF", or (at the very end) "CR" / nothing. */
static bool line_is_empty(const char *data, size_t start, size_t end)
{
	size_t n = end - start;

	if (n > 0 && data[end - 1] == '\n')
		n--;
	if (n > 0 && data[start + n - 1] == '\r')
		n--;
	return n == 0 && end > start;
}

size_t mime_header_block_len(const char *data, size_t len)
{
	size_t pos = 0;

	while (pos < len) {
		size_t end = line_end(data, len, pos);

		if (line_is_empty(data, pos, end))
			return end;
		pos = end;
	}
	return len;
}

void mime_header_iter_init(struct mime_header_iter *it, const char *data,
			   size_t len)
{
	it->data = data;
	it->len = len;
	it->pos = 0;
}

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* Length of the field name on a line, or 0 if the line is not "name:".
 * A name is 1+ octets other than ":", white space and controls (RFC 5322
 * ftext, tolerating 8-bit); white space before the colon is obsolete
 * syntax that is accepted. *colon_r is the index of the colon. */
static size_t field_name_len(const char *line, size_t n, size_t *colon_r)
{
	size_t i = 0, name_len;

	while (i < n && (unsigned char)line[i] > ' ' && line[i] != ':' &&
	       line[i] != 0x7f)
		i++;
	name_len = i;
	while (i < n && is_wsp(line[i]))
		i++;
	if (name_len == 0 || i >= n || line[i] != ':')
		return 0;
	*colon_r = i;
	return name_len;
}

int mime_header_next(struct mime_header_iter *it, struct mime_field *field_r)
{
	const char *d = it->data;

	while (it->pos < it->len) {
		size_t start = it->pos, end = line_end(d, it->len, start);
		size_t colon = 0, name_len, vstart, vend;

		if (line_is_empty(d, start, end)) {
			it->pos = it->len;	/* the end of the block */
			return 0;
		}
		/* The field runs on over continuation lines. */
		while (end < it->len && is_wsp(d[end]))
			end = line_end(d, it->len, end);
		it->pos = end;
		name_len = field_name_len(d + start, end - start, &colon);
		if (name_len == 0)
			continue;	/* malformed: skipped */
		vstart = start + colon + 1;
		while (vstart < end && is_wsp(d[vstart]))
			vstart++;
		vend = end;
		if (vend > vstart && d[vend - 1] == '\n')
			vend--;
		if (vend > vstart && d[vend - 1] == '\r')
			vend--;
		field_r->name = d + start;
		field_r->name_len = name_len;
		field_r->value = d + vstart;
		field_r->value_len = vend - vstart;
		field_r->offset = start;
		field_r->len = end - start;
		return 1;
	}
	return 0;
}

long mime_header_unfold(const char *value, size_t len, char *out,
			size_t outsize)
{
	size_t o = 0;

	if (outsize == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = value[i];

		if (c == '\n' || (c == '\r' && i + 1 < len &&
				  value[i + 1] == '\n'))
			continue;
		if (o + 1 >= outsize) {
			out[0] = '\0';
			return -1;
		}
		out[o++] = c == '\0' ? ' ' : c;
	}
	while (o > 0 && (is_wsp(out[o - 1]) || out[o - 1] == '\r'))
		o--;
	out[o] = '\0';
	return (long)o;
}

int mime_header_find(const char *data, size_t len, const char *name,
		     struct mime_field *field_r)
{
	struct mime_header_iter it;
	size_t n = strlen(name);

	mime_header_iter_init(&it, data, len);
	while (mime_header_next(&it, field_r) == 1)
		if (field_r->name_len == n &&
		    strncasecmp(field_r->name, name, n) == 0)
			return 1;
	return 0;
}
