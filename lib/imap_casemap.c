/* imap_casemap: the case-insensitive fold of UTF-8 text and substring
 * search in it (see imap_casemap.h). The table comes from
 * dev/gen-casemap. SEARCH spends its time here, so ASCII, which most
 * mail is, takes short paths: the fold of an ASCII octet is computed,
 * not looked up, and an ASCII needle is looked for in the unfolded text
 * with a Horspool skip table over ASCII-folded octets. That is exact
 * because ASCII folds to ASCII, a run of ASCII stays a run, and only the
 * characters counted in casemap_ascii_leads can add ASCII to a fold. */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "imap_casemap.h"
#include "mem.h"

#include "imap_casemap_table.h"

#define CHUNK 1024

static inline unsigned char fold_ascii(unsigned char c)
{
	return (unsigned char)(c - ((unsigned char)(c - 'a') < 26u) * 32);
}

/* The valid UTF-8 sequence at s[0..len): its length and *cp_r, or 0. */
static size_t utf8_get(const unsigned char *s, size_t len, uint32_t *cp_r)
{
	unsigned char c = s[0];
	size_t n;
	uint32_t cp;

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
	*cp_r = cp;
	return n;
}

static size_t utf8_put(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	out[0] = (char)(0xe0 | cp >> 12);
	out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[2] = (char)(0x80 | (cp & 0x3f));
	return 3;
}

/* The fold of cp from the table, or NULL when cp is its own fold. */
static const uint16_t *fold_lookup(uint32_t cp)
{
	if (cp >= 0x80 && cp < 0x530)
		return casemap_0080[cp - 0x80];
	if (cp >= 0x1e00 && cp < 0x2000)
		return casemap_1e00[cp - 0x1e00];
	return NULL;
}

/* Folds one non-ASCII character (or invalid octet) at s[0..len) into
 * out (room for 12 octets); returns the input octets used. */
static size_t fold_char(const unsigned char *s, size_t len, char *out,
			size_t *out_len)
{
	uint32_t cp;
	size_t n = utf8_get(s, len, &cp), o = 0;
	const uint16_t *f;

	if (n == 0) {
		out[0] = (char)s[0];
		*out_len = 1;
		return 1;
	}
	if ((f = fold_lookup(cp)) == NULL) {
		memcpy(out, s, n);
		*out_len = n;
		return n;
	}
	for (size_t k = 0; k < 4 && f[k] != 0; k++)
		o += utf8_put(out + o, f[k]);
	*out_len = o;
	return n;
}

int imap_casemap_fold(const char *s, size_t len, struct buf *out)
{
	const unsigned char *u = (const unsigned char *)s;
	char chunk[CHUNK];
	size_t i = 0, n = 0;

	while (i < len) {
		if (n > CHUNK - 16) {
			if (buf_append(out, chunk, n) < 0)
				return -1;
			n = 0;
		}
		if (u[i] < 0x80) {
			chunk[n++] = (char)fold_ascii(u[i++]);
		} else {
			size_t o;

			i += fold_char(u + i, len - i, chunk + n, &o);
			n += o;
		}
	}
	return buf_append(out, chunk, n);
}

int imap_casemap_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int r = memcmp(a, b, alen < blen ? alen : blen);

	if (r != 0)
		return r;
	return alen < blen ? -1 : alen > blen ? 1 : 0;
}

void imap_casemap_needle_init(struct imap_casemap_needle *n, const char *s,
			      size_t len)
{
	struct buf b;

	buf_init(&b, len * IMAP_CASEMAP_GROWTH + 16);
	if (imap_casemap_fold(s, len, &b) < 0)
		abort();	/* cannot happen: the bound is the growth */
	n->len = b.len;
	n->folded = xmemdup(b.data, b.len + 1);
	buf_deinit(&b);
	n->ascii = true;
	for (size_t i = 0; i < n->len; i++)
		if ((unsigned char)n->folded[i] >= 0x80)
			n->ascii = false;
	for (size_t c = 0; c < 256; c++)
		n->skip[c] = n->len > 0 ? n->len : 1;
	for (size_t i = 0; i + 1 < n->len; i++)
		n->skip[(unsigned char)n->folded[i]] = n->len - 1 - i;
}

void imap_casemap_needle_deinit(struct imap_casemap_needle *n)
{
	xfree(&n->folded);
	n->len = 0;
}

/* Horspool over the ASCII-folded octets of text. */
static bool find_ascii(const struct imap_casemap_needle *n,
		       const unsigned char *t, size_t len)
{
	const unsigned char *p = (const unsigned char *)n->folded;
	size_t m = n->len, last, pos = 0;

	if (m == 0)
		return true;
	if (m > len)
		return false;
	last = m - 1;
	if (m == 1) {
		unsigned char c = p[0], lc = (unsigned char)(c | 0x20);

		if (c < 'A' || c > 'Z')
			return memchr(t, c, len) != NULL;
		for (size_t i = 0; i < len; i++)
			if ((t[i] | 0x20) == lc)
				return true;
		return false;
	}
	while (pos <= len - m) {
		unsigned char c = fold_ascii(t[pos + last]);

		if (c == p[last]) {
			size_t k = 0;

			while (k < last && fold_ascii(t[pos + k]) == p[k])
				k++;
			if (k == last)
				return true;
		}
		pos += n->skip[c];
	}
	return false;
}

/* Whether text holds a character whose fold holds ASCII. */
static bool has_ascii_producer(const unsigned char *t, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint64_t w;

		while (i + 8 <= len) {
			memcpy(&w, t + i, 8);
			if ((w & 0x8080808080808080ull) != 0)
				break;
			i += 8;
		}
		for (size_t end = i + 8 < len ? i + 8 : len; i < end; i++) {
			unsigned char c = t[i];

			if (c >= 0x80 &&
			    (casemap_ascii_leads[c >> 5] >> (c & 31) & 1))
				return true;
		}
	}
	return false;
}

bool imap_casemap_find_folded(const struct imap_casemap_needle *n,
			      const char *folded, size_t len)
{
	if (n->len == 0)
		return true;
	return memmem(folded, len, n->folded, n->len) != NULL;
}

int imap_casemap_find(const struct imap_casemap_needle *n, const char *text,
		      size_t len, struct buf *scratch)
{
	const unsigned char *t = (const unsigned char *)text;

	if (n->ascii) {
		if (find_ascii(n, t, len))
			return 1;
		if (!has_ascii_producer(t, len))
			return 0;
	}
	buf_reset(scratch);
	if (imap_casemap_fold(text, len, scratch) < 0)
		return -1;
	return imap_casemap_find_folded(n, scratch->data, scratch->len) ? 1 : 0;
}
