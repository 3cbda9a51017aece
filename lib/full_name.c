/* full_name: the sender's full name (see full_name.h). */
#include "config.h"
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "full_name.h"
#include "utf8.h"

/* RFC 2047 5(3): at most 75 octets per encoded word. */
#define WORD_MAX 75
#define WORD_OPEN "=?utf-8?q?"
#define WORD_CLOSE "?="

int full_name_from_gecos(const char *gecos, const char *login, char *out,
			 size_t size)
{
	size_t n = 0;

	for (const char *p = gecos; *p != '\0' && *p != ','; p++) {
		const char *add = p;
		size_t len = 1;
		if (*p == '&') {
			/* The login with its first letter in upper case. */
			if (*login == '\0')
				continue;
			if (n + 1 >= size)
				return -1;
			out[n++] = (char)toupper((unsigned char)login[0]);
			add = login + 1;
			len = strlen(add);
		}
		if (n + len >= size)
			return -1;
		memcpy(out + n, add, len);
		n += len;
	}
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
	size_t lead = strspn(out, " ");
	memmove(out, out + lead, n - lead + 1);
	return out[0] == '\0' ? -1 : 0;
}

static bool plain_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < ' ' || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

/* RFC 5322 3.2.3: atoms and spaces as they are; else a quoted-string. */
static int phrase_ascii(struct buf *out, const char *name)
{
	static const char specials[] = "()<>[]:;@\\,.\"";
	bool quote = strpbrk(name, specials) != NULL;
	int ret = quote ? buf_append_char(out, '"') : 0;

	for (; ret == 0 && *name != '\0'; name++) {
		if (quote && (*name == '"' || *name == '\\'))
			ret = buf_append_char(out, '\\');
		if (ret == 0)
			ret = buf_append_char(out, *name);
	}
	if (ret == 0 && quote)
		ret = buf_append_char(out, '"');
	return ret;
}

/* One character in the Q encoding of RFC 2047 5(3) (a phrase: only
 * letters, digits and !*+-/ go as they are), into q; its length. */
static size_t q_char(const char *s, size_t len, char q[13])
{
	static const char hex[] = "0123456789ABCDEF";
	uint32_t cp;
	size_t n = utf8_decode((const unsigned char *)s, len, &cp);
	char raw[4];

	if (n == 0 || cp < ' ' || cp == 0x7f) {
		raw[0] = '?';		/* not UTF-8, or a control */
		n = 1;
	} else {
		memcpy(raw, s, n);
	}
	if (n == 1 && raw[0] == ' ') {
		q[0] = '_';
		return 1;
	}
	if (n == 1 && (isalnum((unsigned char)raw[0]) ||
		       strchr("!*+-/", raw[0]) != NULL)) {
		q[0] = raw[0];
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		q[3 * i] = '=';
		q[3 * i + 1] = hex[(unsigned char)raw[i] >> 4];
		q[3 * i + 2] = hex[(unsigned char)raw[i] & 15];
	}
	return 3 * n;
}

/* The length of the input character q_char encodes at s. */
static size_t char_len(const char *s, size_t len)
{
	size_t n = utf8_decode((const unsigned char *)s, len, NULL);

	return n == 0 ? 1 : n;
}

static int phrase_encoded(struct buf *out, const char *name)
{
	size_t len = strlen(name), used = 0;
	bool open = false;

	for (size_t i = 0; i < len; i += char_len(name + i, len - i)) {
		char q[13];
		size_t n = q_char(name + i, len - i, q);
		/* A character is never split across two words. */
		if (open && used + n + strlen(WORD_CLOSE) > WORD_MAX) {
			if (buf_append_str(out, WORD_CLOSE "\n ") < 0)
				return -1;
			open = false;
		}
		if (!open) {
			if (buf_append_str(out, WORD_OPEN) < 0)
				return -1;
			used = strlen(WORD_OPEN);
			open = true;
		}
		if (buf_append(out, q, n) < 0)
			return -1;
		used += n;
	}
	return open ? buf_append_str(out, WORD_CLOSE) : 0;
}

int full_name_phrase(struct buf *out, const char *name)
{
	return plain_ascii(name) ? phrase_ascii(out, name)
				 : phrase_encoded(out, name);
}
