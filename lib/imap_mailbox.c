/* imap_mailbox: modified UTF-7, IMAP name <-> Maildir++ folder mapping
 * and LIST patterns. The contracts are in imap_mailbox.h. */
#include "config.h"
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include "imap_mailbox.h"
#include "base64.h"
#include "mailstore.h"
#include "utf8.h"

static const char b64_chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/* Modified BASE64 (RFC 3501 5.1.3): RFC 4648's alphabet with ',' for
 * '/'. */
static int b64_value(unsigned char c)
{
	if (c == ',')
		return 63;
	return c == '/' ? -1 : base64_value(c);
}

static bool is_direct(unsigned char c)
{
	return c >= 0x20 && c <= 0x7e;
}

/* Reads one strict UTF-8 sequence at s[*i]; advances *i. */
static int utf8_next(const unsigned char *s, size_t len, size_t *i,
		     uint32_t *cp_r)
{
	size_t n = utf8_decode(s + *i, len - *i, cp_r);

	if (n == 0)
		return -1;
	*i += n;
	return 0;
}

bool imap_mailbox_utf8_valid(const char *s, size_t len)
{
	return utf8_valid(s, len);
}

static int put_utf8(struct buf *out, uint32_t cp)
{
	char b[4];

	return buf_append(out, b, utf8_encode(cp, b));
}

static int fail(struct buf *out, size_t start, const char **error_r,
		const char *error)
{
	buf_truncate(out, start);
	*error_r = error;
	return -1;
}

/* Decodes one shift's UTF-16 units: in[*i] is the first character after
 * '&' (not '-'); on success *i is past the closing '-'. */
static int decode_shift(const char *in, size_t len, size_t *i,
			struct buf *out, const char **error_r)
{
	uint32_t bits = 0, high = 0;
	unsigned nbits = 0;
	size_t units = 0;

	for (; *i < len && in[*i] != '-'; (*i)++) {
		int v = b64_value((unsigned char)in[*i]);
		uint32_t u;

		if (v < 0) {
			*error_r = "invalid character in modified BASE64";
			return -1;
		}
		bits = (bits << 6) | (uint32_t)v;
		nbits += 6;
		if (nbits < 16)
			continue;
		nbits -= 16;
		u = (bits >> nbits) & 0xffff;
		bits &= (1u << nbits) - 1;
		units++;
		if (high != 0) {
			if (u < 0xdc00 || u > 0xdfff) {
				*error_r = "unpaired UTF-16 surrogate";
				return -1;
			}
			u = 0x10000 + ((high - 0xd800) << 10) + (u - 0xdc00);
			high = 0;
		} else if (u >= 0xd800 && u <= 0xdbff) {
			high = u;
			continue;
		} else if (u >= 0xdc00 && u <= 0xdfff) {
			*error_r = "unpaired UTF-16 surrogate";
			return -1;
		} else if (is_direct((unsigned char)u) && u < 0x80) {
			*error_r = "printable ASCII in modified BASE64";
			return -1;
		}
		if (put_utf8(out, u) < 0) {
			*error_r = "mailbox name too long";
			return -1;
		}
	}
	if (*i >= len) {
		*error_r = "unterminated modified BASE64";
		return -1;
	}
	(*i)++;
	if (units == 0 || nbits >= 6 || bits != 0) {
		*error_r = "non-canonical modified BASE64";
		return -1;
	}
	if (high != 0) {
		*error_r = "unpaired UTF-16 surrogate";
		return -1;
	}
	return 0;
}

int imap_mailbox_mutf7_decode(const char *in, size_t len, struct buf *out,
			      const char **error_r)
{
	size_t start = out->len, i = 0;
	bool after_shift = false;

	while (i < len) {
		unsigned char c = (unsigned char)in[i++];

		if (!is_direct(c))
			return fail(out, start, error_r,
				    "octet not allowed in modified UTF-7");
		if (c == '&' && i < len && in[i] == '-') {
			i++;
		} else if (c == '&') {
			/* "&AOQ-&APY-" must be "&AOQA9g-": one form only. */
			if (after_shift)
				return fail(out, start, error_r,
					    "adjacent modified BASE64 shifts");
			if (decode_shift(in, len, &i, out, error_r) < 0)
				return fail(out, start, error_r, *error_r);
			after_shift = true;
			continue;
		}
		after_shift = false;
		if (buf_append_char(out, (char)c) < 0)
			return fail(out, start, error_r,
				    "mailbox name too long");
	}
	return 0;
}

static int put_b64(struct buf *out, uint32_t v)
{
	return buf_append_char(out, b64_chars[v & 63]);
}

/* Encodes the run of non-direct characters at in[*i] as one shift. */
static int encode_shift(const char *in, size_t len, size_t *i,
			struct buf *out, const char **error_r)
{
	uint32_t bits = 0;
	unsigned nbits = 0;
	int r = buf_append_char(out, '&');

	while (r == 0 && *i < len && !is_direct((unsigned char)in[*i])) {
		uint32_t cp, units[2];
		size_t n = 1;

		if (utf8_next((const unsigned char *)in, len, i, &cp) < 0) {
			*error_r = "invalid UTF-8";
			return -1;
		}
		units[0] = cp;
		if (cp >= 0x10000) {
			units[0] = 0xd800 + ((cp - 0x10000) >> 10);
			units[1] = 0xdc00 + ((cp - 0x10000) & 0x3ff);
			n = 2;
		}
		for (size_t k = 0; k < n; k++) {
			bits = (bits << 16) | units[k];
			nbits += 16;
			while (r == 0 && nbits >= 6) {
				nbits -= 6;
				r = put_b64(out, bits >> nbits);
			}
			bits &= (1u << nbits) - 1;
		}
	}
	if (r == 0 && nbits > 0)
		r = put_b64(out, bits << (6 - nbits));
	if (r == 0)
		r = buf_append_char(out, '-');
	if (r < 0)
		*error_r = "mailbox name too long";
	return r;
}

int imap_mailbox_mutf7_encode(const char *in, size_t len, struct buf *out,
			      const char **error_r)
{
	size_t start = out->len, i = 0;

	while (i < len) {
		unsigned char c = (unsigned char)in[i];
		int r;

		if (!is_direct(c)) {
			if (encode_shift(in, len, &i, out, error_r) < 0)
				return fail(out, start, error_r, *error_r);
			continue;
		}
		r = buf_append_char(out, (char)c);
		if (r == 0 && c == '&')
			r = buf_append_char(out, '-');
		if (r < 0)
			return fail(out, start, error_r,
				    "mailbox name too long");
		i++;
	}
	return 0;
}

/* The length of a first level "INBOX" (any case) of name, or 0. */
static size_t inbox_prefix(const char *name, size_t len, char sep)
{
	if (len >= 5 && strncasecmp(name, "INBOX", 5) == 0 &&
	    (len == 5 || name[5] == sep))
		return 5;
	return 0;
}

/* Checks the IMAP name octet by octet; NULL when it may be mapped. */
static const char *name_check(const char *name, size_t len, char sep)
{
	if (sep != '.' && sep != '/')
		return "invalid hierarchy delimiter";
	if (len == 0)
		return "empty mailbox name";
	if (!imap_mailbox_utf8_valid(name, len))
		return "mailbox name is not valid UTF-8";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c < 0x20 || c == 0x7f || (c == 0xc2 && i + 1 < len &&
		    (unsigned char)name[i + 1] < 0xa0))
			return "control character in mailbox name";
		if (c == '/' && sep == '.')
			return "'/' not allowed in mailbox names";
		/* On disk '.' separates levels; we never escape it. */
		if (c == '.' && sep == '/')
			return "'.' not allowed in mailbox names";
		if (c == (unsigned char)sep &&
		    (i == 0 || i + 1 == len || name[i + 1] == sep))
			return "empty level in mailbox name";
	}
	return NULL;
}

int imap_mailbox_to_folder(const char *name, size_t len, char sep,
			   struct buf *out, const char **error_r)
{
	const char *error = name_check(name, len, sep);
	size_t start = out->len, skip = inbox_prefix(name, len, sep);

	if (error != NULL)
		return fail(out, start, error_r, error);
	if (skip > 0 && buf_append_str(out, "INBOX") < 0)
		return fail(out, start, error_r, "mailbox name too long");
	if (imap_mailbox_mutf7_encode(name + skip, len - skip, out,
				      error_r) < 0)
		return fail(out, start, error_r, *error_r);
	/* BASE64 here uses ',' not '/': every '/' left is a delimiter. */
	for (size_t i = start; i < out->len; i++)
		if (out->data[i] == '/')
			out->data[i] = '.';
	if (out->len - start > MAILSTORE_FOLDER_MAX)
		return fail(out, start, error_r, "mailbox name too long");
	return 0;
}

int imap_mailbox_from_folder(const char *folder, char sep, struct buf *out,
			     const char **error_r)
{
	size_t start = out->len, flen = strlen(folder);
	struct buf check;
	bool same;

	if (sep != '.' && sep != '/')
		return fail(out, start, error_r, "invalid hierarchy delimiter");
	if (imap_mailbox_mutf7_decode(folder, flen, out, error_r) < 0)
		return fail(out, start, error_r, *error_r);
	for (size_t i = start; i < out->len; i++) {
		if (sep == '/' && out->data[i] == '/')
			return fail(out, start, error_r,
				    "'/' in folder name");
		if (sep == '/' && out->data[i] == '.')
			out->data[i] = '/';
	}
	/* Only names that map back to this very folder are shown: that
	 * rules out "inbox.x", controls, empty levels and the like. */
	buf_init(&check, MAILSTORE_FOLDER_MAX + 1);
	same = imap_mailbox_to_folder(out->data + start, out->len - start,
				      sep, &check, error_r) == 0 &&
	       check.len == flen && memcmp(check.data, folder, flen) == 0;
	buf_deinit(&check);
	if (!same)
		return fail(out, start, error_r,
			    "folder name has no IMAP form");
	return 0;
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool pat_wild(char p)
{
	return p == '*' || p == '%';
}

/* Adds the positions reachable by letting wildcards match nothing. */
static void pat_closure(bool *st, const char *pattern, size_t plen)
{
	for (size_t k = 0; k < plen; k++)
		if (st[k] && pat_wild(pattern[k]))
			st[k + 1] = true;
}

int imap_mailbox_match(const char *pattern, size_t plen, const char *name,
		       size_t nlen, char sep)
{
	/* st[k]: pattern[0..k) matches the name read so far. */
	bool st[IMAP_MAILBOX_PATTERN_MAX + 1];
	size_t ci = inbox_prefix(name, nlen, sep);

	if (plen > IMAP_MAILBOX_PATTERN_MAX)
		return -1;
	memset(st, 0, plen + 1);
	st[0] = true;
	pat_closure(st, pattern, plen);
	for (size_t i = 0; i < nlen; i++) {
		char c = name[i];
		bool alive = false;

		/* Downwards, so that st[k - 1] is still the old value. */
		for (size_t k = plen + 1; k-- > 0;) {
			bool stay = k < plen && st[k] && (pattern[k] == '*' ||
				    (pattern[k] == '%' && c != sep));
			bool step = k > 0 && st[k - 1] &&
				    !pat_wild(pattern[k - 1]) &&
				    (pattern[k - 1] == c ||
				     (i < ci && lower(pattern[k - 1]) ==
				      lower(c)));

			st[k] = stay || step;
			alive |= st[k];
		}
		if (!alive)
			return 0;
		pat_closure(st, pattern, plen);
	}
	return st[plen] ? 1 : 0;
}
