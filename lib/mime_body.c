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
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "mime_body.h"
#include "base64.h"
#include "utf8.h"

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
		int v = base64_value((unsigned char)s[i]);

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

/* Quoted-printable output goes through a chunk on the stack: lines are
 * short and "=XX" frequent, so octets are copied one by one there and
 * appended to out in bulk. */
struct qp_out {
	char chunk[4096];
	size_t n;
	struct buf *out;
};

static int qp_flush(struct qp_out *q)
{
	int r = buf_append(q->out, q->chunk, q->n);

	q->n = 0;
	return r;
}

static int qp_put(struct qp_out *q, char c)
{
	if (q->n == sizeof(q->chunk) && qp_flush(q) < 0)
		return -1;
	q->chunk[q->n++] = c;
	return 0;
}

/* One line of quoted-printable (without its line end): trailing white
 * space dropped (RFC 2045 6.7 (3)); *soft_r tells whether it ended in a
 * soft line break. */
static int decode_qp_line(const char *s, size_t len, bool *soft_r,
			  struct qp_out *q)
{
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' ||
			   s[len - 1] == '\r'))
		len--;
	*soft_r = len > 0 && s[len - 1] == '=';
	if (*soft_r)
		len--;
	for (size_t i = 0; i < len; i++) {
		int hi, lo;
		char c = s[i];

		/* a malformed "=" stays as it is */
		if (c == '=' && i + 2 < len &&
		    (hi = hex_value((unsigned char)s[i + 1])) >= 0 &&
		    (lo = hex_value((unsigned char)s[i + 2])) >= 0) {
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if (qp_put(q, c) < 0)
			return -1;
	}
	return 0;
}

static int decode_qp(const char *s, size_t len, struct buf *out)
{
	struct qp_out q = { .n = 0, .out = out };
	size_t i = 0;

	while (i < len) {
		const char *lf = memchr(s + i, '\n', len - i);
		size_t end = lf == NULL ? len : (size_t)(lf - s);
		bool soft;

		if (decode_qp_line(s + i, end - i, &soft, &q) < 0)
			return -1;
		if (lf == NULL)
			break;
		if (!soft && (qp_put(&q, '\r') < 0 || qp_put(&q, '\n') < 0))
			return -1;
		i = end + 1;
	}
	return qp_flush(&q);
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

bool mime_body_utf8_valid(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		uint64_t w;
		size_t n;

		if (i + 8 <= len) {
			memcpy(&w, u + i, 8);
			w &= 0x8080808080808080ull;
			if (w == 0) {
				i += 8;
				continue;
			}
			/* straight to the first non-ASCII octet (the
			 * lowest in memory: little-endian) */
			if (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)
				i += (size_t)__builtin_ctzll(w) / 8;
		}
		if (u[i] < 0x80) {
			i++;
			continue;
		}
		/* two-octet characters (Latin, Greek, Cyrillic) inline */
		if (u[i] >= 0xc2 && u[i] <= 0xdf && i + 1 < len &&
		    (u[i + 1] & 0xc0) == 0x80) {
			i += 2;
			continue;
		}
		if ((n = utf8_decode(u + i, len - i, NULL)) == 0)
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
		uint64_t w;
		size_t n;

		if (i + 8 <= len) {
			memcpy(&w, s + i, 8);
			if ((w & 0x8080808080808080ull) == 0) {
				i += 8;
				continue;
			}
		}
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((n = utf8_decode(s + i, len - i, NULL)) > 0) {
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

/* body[0..len) decoded (transfer encoding, then charset) into out. Text
 * in UTF-8 (or labelled so) is decoded straight into out and only
 * converted when it turns out not to be valid. */
static int text_decode(const char *encoding, const char *charset,
		       const char *body, size_t len, struct buf *out)
{
	size_t start = out->len;
	struct buf tmp;
	int r;

	if (charset_is_utf8(charset)) {
		r = mime_body_decode(encoding, body, len, out);
		if (r == -2)	/* an encoding not known: the text as it is */
			r = buf_append(out, body, len);
		if (r < 0 ||
		    mime_body_utf8_valid(out->data + start, out->len - start))
			return r < 0 ? -1 : 0;
		buf_init(&tmp, out->len - start);
		if (buf_append(&tmp, out->data + start, out->len - start) < 0)
			abort();	/* cannot happen: the size is known */
		buf_truncate(out, start);
		r = convert_utf8_lenient(tmp.data, tmp.len, out);
		buf_deinit(&tmp);
		return r;
	}
	/* the transfer encoding at most doubles the text (LF -> CRLF) */
	buf_init(&tmp, len * 2 + 64);
	r = mime_body_decode(encoding, body, len, &tmp);
	if (r == -2) {
		buf_reset(&tmp);
		r = buf_append(&tmp, body, len);
	}
	if (r == 0)
		r = mime_body_to_utf8(charset, tmp.data, tmp.len, out);
	buf_deinit(&tmp);
	return r < 0 ? -1 : 0;
}

int mime_body_text(const char *data, size_t len, const struct mime_part *part,
		   struct buf *out)
{
	size_t body_len;

	if (!mime_body_is_text(part) || part->body_offset > len)
		return 0;
	body_len = part->body_len;
	if (body_len > len - part->body_offset)
		body_len = len - part->body_offset;
	return text_decode(part->encoding,
			   mime_param_get(part->params, part->param_count,
					  "charset"),
			   data + part->body_offset, body_len, out);
}

/* ---- text maps ---- */

/* Whether s can stand as a token of a text map. */
static bool token_ok(const char *s)
{
	return s != NULL && s[0] != '\0' && charset_name_ok(s);
}

static int map_piece(struct buf *out, bool header, size_t off, size_t len,
		     const struct mime_part *p)
{
	const char *cs;

	if (header)
		return buf_printf(out, "H %zu %zu\n", off, len);
	cs = mime_param_get(p->params, p->param_count, "charset");
	return buf_printf(out, "B %zu %zu %s %s\n", off, len,
			  token_ok(p->encoding) ? p->encoding : "x-unknown",
			  token_ok(cs) ? cs : "-");
}

int mime_body_textmap_write(const struct mime_message *msg, size_t len,
			    struct buf *out)
{
	const struct mime_part *p = msg->root;

	while (p != NULL) {
		size_t ho = p->header_offset, hl = p->header_len;
		size_t bo = p->body_offset, bl = p->body_len;

		if (ho > len)
			ho = len;
		if (hl > len - ho)
			hl = len - ho;
		if (bo > len)
			bo = len;
		if (bl > len - bo)
			bl = len - bo;
		if ((p != msg->root && map_piece(out, true, ho, hl, p) < 0) ||
		    (mime_body_is_text(p) &&
		     map_piece(out, false, bo, bl, p) < 0))
			return -1;
		p = mime_part_next(p, true);
	}
	return 0;
}

/* A decimal size at s[*i..len) followed by sep. */
static bool map_number(const char *s, size_t len, size_t *i, char sep,
		       size_t *value_r)
{
	size_t v = 0, start = *i;

	while (*i < len && s[*i] >= '0' && s[*i] <= '9') {
		if (v > (SIZE_MAX - 9) / 10 || (*i > start && v == 0))
			return false;
		v = v * 10 + (size_t)(s[*i] - '0');
		(*i)++;
	}
	if (*i == start || *i >= len || s[*i] != sep)
		return false;
	(*i)++;
	*value_r = v;
	return true;
}

/* A token at s[*i..len) followed by sep, copied into out (size 41). */
static bool map_token(const char *s, size_t len, size_t *i, char sep,
		      char *out)
{
	size_t n = 0;

	while (*i < len && s[*i] != sep && s[*i] != ' ' && s[*i] != '\n') {
		if (n == CHARSET_NAME_MAX)
			return false;
		out[n++] = s[(*i)++];
	}
	out[n] = '\0';
	if (n == 0 || *i >= len || s[*i] != sep)
		return false;
	(*i)++;
	return token_ok(out) || strcmp(out, "-") == 0;
}

int mime_body_textmap_next(const char *map, size_t len, size_t *pos,
			   struct mime_body_piece *piece)
{
	size_t i = *pos;

	if (i >= len)
		return 0;
	if (i + 2 > len || (map[i] != 'H' && map[i] != 'B') ||
	    map[i + 1] != ' ')
		return -1;
	piece->header = map[i] == 'H';
	i += 2;
	piece->encoding[0] = piece->charset[0] = '\0';
	if (piece->header) {
		if (!map_number(map, len, &i, ' ', &piece->offset) ||
		    !map_number(map, len, &i, '\n', &piece->len))
			return -1;
	} else if (!map_number(map, len, &i, ' ', &piece->offset) ||
		   !map_number(map, len, &i, ' ', &piece->len) ||
		   !map_token(map, len, &i, ' ', piece->encoding) ||
		   !map_token(map, len, &i, '\n', piece->charset)) {
		return -1;
	}
	*pos = i;
	return 1;
}

int mime_body_piece_text(const struct mime_body_piece *piece,
			 const char *raw, size_t len, struct buf *out)
{
	if (piece->header)
		return buf_append(out, raw, len);
	return text_decode(piece->encoding,
			   strcmp(piece->charset, "-") == 0 ? NULL :
							      piece->charset,
			   raw, len, out);
}
