/* pop3d_uidl: the unique ids of messages (RFC 1939 7) from
 * pop3d_uidl_format. Pure: no I/O, so that main.c can check the format
 * at start and the unit test can drive it. */
#include "config.h"
#include <string.h>
#include "pop3d_uidl.h"

bool pop3d_uidl_valid(const char *uidl)
{
	size_t len = strlen(uidl);

	if (len == 0 || len > POP3D_UIDL_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)uidl[i] < 0x21 || (unsigned char)uidl[i] > 0x7e)
			return false;
	return true;
}

/* value in decimal ('u') or hex ('X', 'x') into out; returns its
 * length (at most 10). Hex is lower-case for both letters: Dovecot's X
 * modifier writes lower-case, and a client that moved from Dovecot must
 * see the very same UIDLs. */
static size_t format_number(char *out, uint32_t value, char conv)
{
	const char *digits = "0123456789abcdef";
	unsigned base = conv == 'u' ? 10 : 16;
	char rev[16];
	size_t n = 0;

	do {
		rev[n++] = digits[value % base];
		value /= base;
	} while (value != 0);
	for (size_t i = 0; i < n; i++)
		out[i] = rev[n - 1 - i];
	return n;
}

/* One "[0][width][X|x](u|v)" or "%" at fmt (after a '%'), appended to
 * out at *len. Returns the octets of fmt used, or 0 when invalid or too
 * long. Without the zero flag a width pads with spaces, which no UIDL
 * may hold: such a format is refused by the caller's check. */
static size_t format_one(const char *fmt, uint32_t uid, uint32_t uidvalidity,
			 char *out, size_t *len)
{
	const char *p = fmt;
	char pad = ' ', conv = 'u', text[16];
	unsigned width = 0;
	uint32_t value;

	if (*p == '%') {
		if (*len >= POP3D_UIDL_MAX)
			return 0;
		out[(*len)++] = '%';
		return 1;
	}
	if (*p == '0')
		pad = '0', p++;
	while (*p >= '0' && *p <= '9' && width <= POP3D_UIDL_MAX)
		width = width * 10 + (unsigned)(*p++ - '0');
	if (*p == 'X' || *p == 'x')
		conv = *p++;
	if (*p == 'u')
		value = uid;
	else if (*p == 'v')
		value = uidvalidity;
	else
		return 0;
	p++;
	size_t n = format_number(text, value, conv);
	size_t padding = width > n ? width - n : 0;
	if (*len + padding + n > POP3D_UIDL_MAX)
		return 0;
	memset(out + *len, pad, padding);
	memcpy(out + *len + padding, text, n);
	*len += padding + n;
	return (size_t)(p - fmt);
}

int pop3d_uidl_format(const char *fmt, uint32_t uid, uint32_t uidvalidity,
		      char *out)
{
	size_t len = 0;

	while (*fmt != '\0') {
		if (*fmt == '%') {
			size_t used = format_one(fmt + 1, uid, uidvalidity,
						 out, &len);
			if (used == 0)
				return -1;
			fmt += 1 + used;
			continue;
		}
		if (len >= POP3D_UIDL_MAX)
			return -1;
		out[len++] = *fmt++;
	}
	out[len] = '\0';
	return pop3d_uidl_valid(out) ? 0 : -1;
}

