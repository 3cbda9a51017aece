/* mime_body: transfer decoding and charset conversion of MIME bodies (see
 * mime_body.h). Decoders run in one pass and append runs of octets, not
 * single octets, so that a large text part costs a few memcpy()s. The
 * charsets nearly all mail uses (UTF-8, US-ASCII, ISO-8859-1) are
 * converted here; iconv(3) does the rest, with invalid input replaced by
 * U+FFFD so that one bad octet does not hide the rest of a part from
 * SEARCH. */
#include "config.h"
#include <errno.h>
#include <iconv.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include "mime_body.h"

/* Longer names are not registered charsets (RFC 2978 allows 40). */
#define CHARSET_NAME_MAX 40
#define ICONV_CHUNK 4096

static const char replacement[] = "\xef\xbf\xbd";	/* U+FFFD */

/* ---- transfer encodings ---- */

/* Appends text with every bare LF turned into CRLF. */
static int append_crlf(const char *s, size_t len, struct buf *out)
{
	size_t i = 0;

	while (i < len) {
		const char *lf = memchr(s + i, '\n', len - i);
		size_t end = lf == NULL ? len : (size_t)(lf - s);

		if (buf_append(out, s + i, end - i) < 0)
			return -1;
		if (lf == NULL)
			break;
		if ((end == 0 || s[end - 1] != '\r') &&
		    buf_append_char(out, '\r') < 0)
			return -1;
		if (buf_append_char(out, '\n') < 0)
			return -1;
		i = end + 1;
	}
	return 0;
}

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Base64 with everything outside the alphabet skipped (RFC 2045 6.8). A
 * "=" ends the current quantum; decoding goes on after it, because mail
 * programs do concatenate encoded blocks. */
static int decode_base64(const char *s, size_t len, struct buf *out)
{
	unsigned char chunk[3 * 256];
	size_t n = 0;
	uint32_t acc = 0;
	unsigned bits = 0;

	for (size_t i = 0; i < len; i++) {
		int v = b64_value((unsigned char)s[i]);

		if (v < 0) {
			if (s[i] == '=') {
				acc = 0;
				bits = 0;
			}
			continue;
		}
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			chunk[n++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
		if (n == sizeof(chunk)) {
			if (buf_append(out, chunk, n) < 0)
				return -1;
			n = 0;
		}
	}
	return buf_append(out, chunk, n);
}

static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* One line of quoted-printable (without its line end): trailing white
 * space dropped (RFC 2045 6.7 (3)); *soft_r tells whether it ended in a
 * soft line break. */
static int decode_qp_line(const char *s, size_t len, bool *soft_r,
			  struct buf *out)
{
	size_t i = 0;

	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' ||
			   s[len - 1] == '\r'))
		len--;
	*soft_r = len > 0 && s[len - 1] == '=';
	if (*soft_r)
		len--;
	while (i < len) {
		const char *eq = memchr(s + i, '=', len - i);
		size_t end = eq == NULL ? len : (size_t)(eq - s);
		int hi, lo;

		if (buf_append(out, s + i, end - i) < 0)
			return -1;
		if (eq == NULL)
			break;
		if (end + 2 < len &&
		    (hi = hex_value((unsigned char)s[end + 1])) >= 0 &&
		    (lo = hex_value((unsigned char)s[end + 2])) >= 0) {
			if (buf_append_char(out, (char)(hi << 4 | lo)) < 0)
				return -1;
			i = end + 3;
		} else {
			/* malformed: the "=" stays as it is */
			if (buf_append_char(out, '=') < 0)
				return -1;
			i = end + 1;
		}
	}
	return 0;
}

static int decode_qp(const char *s, size_t len, struct buf *out)
{
	size_t i = 0;

	while (i < len) {
		const char *lf = memchr(s + i, '\n', len - i);
		size_t end = lf == NULL ? len : (size_t)(lf - s);
		bool soft;

		if (decode_qp_line(s + i, end - i, &soft, out) < 0)
			return -1;
		if (lf == NULL)
			break;
		if (!soft && buf_append(out, "\r\n", 2) < 0)
			return -1;
		i = end + 1;
	}
	return 0;
}

static bool name_is(const char *name, const char *what)
{
	return name != NULL && strcasecmp(name, what) == 0;
}

int mime_body_decode(const char *encoding, const char *body, size_t len,
		     struct buf *out)
{
	if (encoding == NULL || name_is(encoding, "7bit") ||
	    name_is(encoding, "8bit"))
		return append_crlf(body, len, out);
	if (name_is(encoding, "binary"))
		return buf_append(out, body, len);
	if (name_is(encoding, "base64"))
		return decode_base64(body, len, out);
	if (name_is(encoding, "quoted-printable"))
		return decode_qp(body, len, out);
	return -2;
}

/* ---- charsets ---- */

/* Length of the valid UTF-8 sequence at s[0..len), or 0 when there is
 * none (overlongs, surrogates and values past U+10FFFF are invalid). */
static size_t utf8_seq_len(const unsigned char *s, size_t len)
{
	unsigned char c = s[0];
	size_t n;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t k = 1; k < n; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[k] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

bool mime_body_utf8_valid(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		uint64_t w;
		size_t n;

		if (i + 8 <= len) {
			memcpy(&w, u + i, 8);
			if ((w & 0x8080808080808080ull) == 0) {
				i += 8;
				continue;
			}
		}
		if (u[i] < 0x80) {
			i++;
			continue;
		}
		if ((n = utf8_seq_len(u + i, len - i)) == 0)
			return false;
		i += n;
	}
	return true;
}

static int append_latin1_char(unsigned char c, struct buf *out)
{
	char u[2] = { (char)(0xc0 | c >> 6), (char)(0x80 | (c & 0x3f)) };

	return c < 0x80 ? buf_append_char(out, (char)c) : buf_append(out, u, 2);
}

/* Valid UTF-8 as it is; any other octet taken as ISO-8859-1. */
static int convert_utf8_lenient(const char *in, size_t len, struct buf *out)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0, start = 0;

	while (i < len) {
		size_t n;

		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((n = utf8_seq_len(s + i, len - i)) > 0) {
			i += n;
			continue;
		}
		if (buf_append(out, in + start, i - start) < 0 ||
		    append_latin1_char(s[i], out) < 0)
			return -1;
		start = ++i;
	}
	return buf_append(out, in + start, i - start);
}

static int convert_latin1(const char *in, size_t len, struct buf *out)
{
	size_t i = 0, start = 0;

	while (i < len) {
		if ((unsigned char)in[i] < 0x80) {
			i++;
			continue;
		}
		if (buf_append(out, in + start, i - start) < 0 ||
		    append_latin1_char((unsigned char)in[i], out) < 0)
			return -1;
		start = ++i;
	}
	return buf_append(out, in + start, i - start);
}

/* Converts with cd; invalid or truncated input becomes U+FFFD. */
static int convert_iconv(iconv_t cd, const char *in, size_t len,
			 struct buf *out)
{
	char chunk[ICONV_CHUNK];
	char *ip = (char *)in, *op;
	size_t ileft = len, oleft;

	while (ileft > 0) {
		size_t r;
		int err;

		op = chunk;
		oleft = sizeof(chunk);
		r = iconv(cd, &ip, &ileft, &op, &oleft);
		err = errno;
		if (buf_append(out, chunk, sizeof(chunk) - oleft) < 0)
			return -1;
		if (r != (size_t)-1 || err == E2BIG)
			continue;
		if (buf_append(out, replacement, 3) < 0)
			return -1;
		if (err != EILSEQ)
			break;	/* EINVAL: a sequence cut off at the end */
		ip++;
		ileft--;
	}
	op = chunk;
	oleft = sizeof(chunk);
	(void)iconv(cd, NULL, NULL, &op, &oleft);	/* shift state */
	return buf_append(out, chunk, sizeof(chunk) - oleft);
}

/* Whether name looks like a charset name (and not something iconv would
 * read as options, such as "//TRANSLIT"). */
static bool charset_name_ok(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > CHARSET_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		      c == '.' || c == ':' || c == '+'))
			return false;
	}
	return true;
}

static bool charset_is_latin1(const char *cs)
{
	return name_is(cs, "iso-8859-1") || name_is(cs, "iso8859-1") ||
	       name_is(cs, "iso_8859-1") || name_is(cs, "latin1") ||
	       name_is(cs, "l1");
}

static bool charset_is_utf8(const char *cs)
{
	return cs == NULL || name_is(cs, "utf-8") || name_is(cs, "utf8") ||
	       name_is(cs, "us-ascii") || name_is(cs, "ascii");
}

int mime_body_to_utf8(const char *charset, const char *in, size_t len,
		      struct buf *out)
{
	iconv_t cd;
	int r;

	if (charset_is_utf8(charset))
		return convert_utf8_lenient(in, len, out);
	if (charset_is_latin1(charset))
		return convert_latin1(in, len, out);
	if (!charset_name_ok(charset) ||
	    (cd = iconv_open("UTF-8", charset)) == (iconv_t)-1)
		return convert_utf8_lenient(in, len, out);
	r = convert_iconv(cd, in, len, out);
	iconv_close(cd);
	return r;
}

/* ---- text of a part ---- */

bool mime_body_is_text(const struct mime_part *part)
{
	if (part->children != NULL)
		return false;
	return strcmp(part->type, "text") == 0 ||
	       strcmp(part->type, "message") == 0;
}

int mime_body_text(const char *data, size_t len, const struct mime_part *part,
		   struct buf *out)
{
	const char *charset, *body;
	size_t body_len;
	struct buf tmp;
	int r;

	if (!mime_body_is_text(part) || part->body_offset > len)
		return 0;
	body = data + part->body_offset;
	body_len = part->body_len;
	if (body_len > len - part->body_offset)
		body_len = len - part->body_offset;
	charset = mime_param_get(part->params, part->param_count, "charset");
	/* the transfer encoding at most doubles the text (LF -> CRLF) */
	buf_init(&tmp, body_len * 2 + 64);
	r = mime_body_decode(part->encoding, body, body_len, &tmp);
	if (r == -2) {
		/* an encoding not known: the text as it is */
		buf_reset(&tmp);
		r = buf_append(&tmp, body, body_len);
	}
	if (r == 0)
		r = mime_body_to_utf8(charset, tmp.data, tmp.len, out);
	buf_deinit(&tmp);
	return r < 0 ? -1 : 0;
}
