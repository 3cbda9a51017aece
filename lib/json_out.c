/* json_out: JSON strings and members into a buf; see json_out.h. */
#include "config.h"
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "json_out.h"
#include "utf8.h"

/* The short escapes JSON defines; every other control character takes
 * the \u form. */
static const struct {
	char c;
	char esc;
} short_escapes[] = {
	{ '"', '"' }, { '\\', '\\' }, { '\n', 'n' }, { '\r', 'r' },
	{ '\t', 't' }, { '\b', 'b' }, { '\f', 'f' },
};

static int escape_char(struct buf *b, unsigned char c)
{
	for (size_t i = 0; i < sizeof(short_escapes) / sizeof(short_escapes[0]);
	     i++)
		if (short_escapes[i].c == (char)c)
			return buf_printf(b, "\\%c", short_escapes[i].esc);
	return buf_printf(b, "\\u%04x", c);
}

int json_out_string(struct buf *b, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	if (buf_append_char(b, '"') < 0)
		return -1;
	while (i < len) {
		unsigned char c = p[i];
		int ret;

		if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
			ret = escape_char(b, c);
			i++;
		} else if (c < 0x80) {
			ret = buf_append_char(b, (char)c);
			i++;
		} else {
			size_t n = utf8_decode(p + i, len - i, NULL);
			/* U+FFFD for an octet that starts no valid
			 * sequence: the output stays valid UTF-8. */
			ret = n > 0 ? buf_append(b, p + i, n)
				    : buf_append_str(b, "\xef\xbf\xbd");
			i += n > 0 ? n : 1;
		}
		if (ret < 0)
			return -1;
	}
	return buf_append_char(b, '"');
}

static int member_name(struct buf *b, const char *name)
{
	if (json_out_string(b, name, strlen(name)) < 0)
		return -1;
	return buf_append_char(b, ':');
}

int json_out_member_str(struct buf *b, const char *name, const char *value)
{
	if (member_name(b, name) < 0)
		return -1;
	return json_out_string(b, value, strlen(value));
}

int json_out_member_u64(struct buf *b, const char *name, uint64_t value)
{
	if (member_name(b, name) < 0)
		return -1;
	return buf_printf(b, "%" PRIu64, value);
}

int json_out_member_bool(struct buf *b, const char *name, int value)
{
	if (member_name(b, name) < 0)
		return -1;
	return buf_append_str(b, value ? "true" : "false");
}
