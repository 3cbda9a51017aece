/* mime_decode: RFC 2047 encoded-word decoding (see mime_decode.h). One
 * pass over the text: each "=?" is tried as an encoded word; on any
 * failure the two octets are copied and the scan goes on, so malformed
 * words come out as they went in. */
#include "config.h"
#include <errno.h>
#include <iconv.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "base64.h"
#include "mem.h"
#include "mime_decode.h"
#include "utf8.h"

/* Longer names are not charsets anyone registered (RFC 2978 allows 40). */
#define CHARSET_NAME_MAX 40

struct word {
	const char *charset;	/* not NUL-terminated */
	size_t charset_len;
	char enc;		/* 'B' or 'Q' */
	const char *text;
	size_t text_len;
	size_t total;		/* octets of the whole word */
};

static bool is_lws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The encoded word at s[0..len) (s starts with "=?"), if one is there. */
static bool word_scan(const char *s, size_t len, struct word *w)
{
	size_t i = 2, end;

	while (i < len && s[i] != '?' && !is_lws(s[i]) &&
	       (unsigned char)s[i] > 32 && (unsigned char)s[i] < 127)
		i++;
	if (i == 2 || i + 2 >= len || s[i] != '?' || s[i + 2] != '?')
		return false;
	w->charset = s + 2;
	w->charset_len = i - 2;
	/* RFC 2231 language suffix: "utf-8*en" */
	for (size_t k = 0; k < w->charset_len; k++)
		if (w->charset[k] == '*') {
			w->charset_len = k;
			break;
		}
	w->enc = (char)(s[i + 1] & ~0x20);
	if ((w->enc != 'B' && w->enc != 'Q') || w->charset_len == 0 ||
	    w->charset_len > CHARSET_NAME_MAX)
		return false;
	w->text = s + i + 3;
	for (end = i + 3; end < len; end++)
		if (s[end] == '?' || (unsigned char)s[end] <= 32 ||
		    (unsigned char)s[end] >= 127)
			break;
	if (end + 1 >= len || s[end] != '?' || s[end + 1] != '=')
		return false;
	w->text_len = end - (i + 3);
	w->total = end + 2;
	return true;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c & ~0x20);
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes the word's text into out (room for text_len + 3 octets). */
static ssize_t word_decode(const struct word *w, char *out)
{
	const char *error;
	size_t n = 0;

	if (w->enc == 'B') {
		char tmp[4];
		size_t full = w->text_len - w->text_len % 4, rest;
		ssize_t r, r2;

		if (w->text_len % 4 == 1)
			return -1;
		r = base64_decode(w->text, full, out, w->text_len + 3, &error);
		if (r < 0 || (rest = w->text_len % 4) == 0)
			return r;
		/* unpadded last group */
		memcpy(tmp, w->text + full, rest);
		memset(tmp + rest, '=', 4 - rest);
		r2 = base64_decode(tmp, 4, out + r, 3, &error);
		return r2 < 0 ? -1 : r + r2;
	}
	for (size_t i = 0; i < w->text_len; i++) {
		char c = w->text[i];

		if (c == '_') {
			out[n++] = ' ';
		} else if (c == '=') {
			int hi, lo;

			if (i + 2 >= w->text_len)
				return -1;
			hi = hexval(w->text[i + 1]);
			lo = hexval(w->text[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			out[n++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			out[n++] = c;
		}
	}
	return (ssize_t)n;
}

static bool charset_is(const struct word *w, const char *name)
{
	return strlen(name) == w->charset_len &&
	       strncasecmp(w->charset, name, w->charset_len) == 0;
}

/* Converts data[0..len) via iconv into a new buffer; -1 if it cannot. */
static ssize_t convert_iconv(const struct word *w, const char *data,
			     size_t len, char **out_r)
{
	char name[CHARSET_NAME_MAX + 1];
	size_t cap = len * 4 + 16, left = cap, inleft = len;
	char *in = (char *)data, *out, *p;
	iconv_t cd;

	memcpy(name, w->charset, w->charset_len);
	name[w->charset_len] = '\0';
	if ((cd = iconv_open("UTF-8", name)) == (iconv_t)-1)
		return -1;
	p = out = xmalloc(cap);
	if (iconv(cd, &in, &inleft, &p, &left) == (size_t)-1 ||
	    iconv(cd, NULL, NULL, &p, &left) == (size_t)-1) {
		iconv_close(cd);
		free(out);
		return -1;
	}
	iconv_close(cd);
	*out_r = out;
	return (ssize_t)(cap - left);
}

/* Appends the word's decoded text as UTF-8; 1 done, 0 malformed (nothing
 * appended), -1 out full. */
static int word_append(const struct word *w, struct buf *out)
{
	char *raw = xmalloc(w->text_len + 3), *conv = NULL;
	ssize_t n = word_decode(w, raw);
	int r = 0;

	if (n < 0) {
		r = 0;
	} else if (charset_is(w, "utf-8") || charset_is(w, "us-ascii")) {
		bool ascii = charset_is(w, "us-ascii");
		bool ok = true;

		for (ssize_t i = 0; ascii && i < n; i++)
			if ((unsigned char)raw[i] >= 0x80)
				ok = false;
		if (ok && utf8_valid(raw, (size_t)n))
			r = buf_append(out, raw, (size_t)n) < 0 ? -1 : 1;
	} else if (charset_is(w, "iso-8859-1") || charset_is(w, "latin1")) {
		r = 1;
		for (ssize_t i = 0; r == 1 && i < n; i++) {
			unsigned char c = (unsigned char)raw[i];
			char u[2] = { (char)(0xc0 | c >> 6),
				      (char)(0x80 | (c & 0x3f)) };

			if (c < 0x80 ? buf_append_char(out, (char)c) < 0 :
			    buf_append(out, u, 2) < 0)
				r = -1;
		}
	} else if ((n = convert_iconv(w, raw, (size_t)n, &conv)) >= 0) {
		r = buf_append(out, conv, (size_t)n) < 0 ? -1 : 1;
	}
	free(conv);
	free(raw);
	return r;
}

int mime_decode_header(const char *in, size_t len, struct buf *out,
		       const char **error_r)
{
	size_t i = 0, lws = 0;	/* lws: start of white space after a word */
	bool after_word = false;
	struct word w;

	while (i < len) {
		int r;

		if (in[i] == '=' && i + 1 < len && in[i + 1] == '?' &&
		    word_scan(in + i, len - i, &w) &&
		    (r = word_append(&w, out)) != 0) {
			if (r < 0)
				goto full;
			i += w.total;
			after_word = true;
			lws = i;
			continue;
		}
		if (after_word && is_lws(in[i])) {
			/* held back until we know what follows */
			size_t k = i;

			while (k < len && is_lws(in[k]))
				k++;
			if (k < len && in[k] == '=' && k + 1 < len &&
			    in[k + 1] == '?' && word_scan(in + k, len - k, &w)) {
				i = k;	/* dropped if the word decodes */
				if ((r = word_append(&w, out)) > 0) {
					i += w.total;
					lws = i;
					continue;
				}
				if (r < 0)
					goto full;
				/* malformed: the space stays */
			}
			if (buf_append(out, in + lws, k - lws) < 0)
				goto full;
			i = k;
			after_word = false;
			continue;
		}
		after_word = false;
		if (buf_append_char(out, in[i]) < 0)
			goto full;
		i++;
	}
	return 0;
full:
	*error_r = "Decoded header too long";
	return -1;
}
