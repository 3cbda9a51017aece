/* imap_string: quoted strings and literals for IMAP responses (see the
 * header). The choice is made once per string by a scan of its octets. */
#include "config.h"
#include <stdbool.h>
#include <string.h>
#include "addr.h"
#include "imap_string.h"

/* True when s[0..len) can be sent as a quoted string. */
static bool quotable(const char *s, size_t len, unsigned flags)
{
	bool high = false;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\0' || c == '\r' || c == '\n')
			return false;
		if (c >= 0x80)
			high = true;
	}
	if (!high)
		return true;
	return (flags & IMAP_STRING_UTF8) != 0 && addr_utf8_valid(s, len);
}

int imap_string_append(struct buf *out, const char *s, size_t len,
		       unsigned flags)
{
	size_t start = 0;

	if (!quotable(s, len, flags)) {
		if (buf_printf(out, "{%zu}\r\n", len) < 0)
			return -1;
		return buf_append(out, s, len);
	}
	if (buf_append_char(out, '"') < 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '"' && s[i] != '\\')
			continue;
		if (buf_append(out, s + start, i - start) < 0 ||
		    buf_append_char(out, '\\') < 0)
			return -1;
		start = i;
	}
	if (buf_append(out, s + start, len - start) < 0)
		return -1;
	return buf_append_char(out, '"');
}

int imap_string_append_nstring(struct buf *out, const char *s, unsigned flags)
{
	if (s == NULL)
		return buf_append_str(out, "NIL");
	return imap_string_append(out, s, strlen(s), flags);
}
