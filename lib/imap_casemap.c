/* imap_casemap: the case-insensitive fold of UTF-8 text and substring
 * search in it (see imap_casemap.h). The table comes from
 * dev/gen-casemap. SEARCH spends its time here, so ASCII, which most
 * mail is, takes short paths: the fold of ASCII is computed eight octets
 * at a time, not looked up, and an ASCII needle is looked for in the
 * unfolded text with ASCII case folded on the fly. That is exact because
 * ASCII folds to ASCII, a run of ASCII stays a run, and only the
 * characters counted in casemap_ascii_leads can add ASCII to a fold:
 * only around those (and only those whose fold adds one of the needle's
 * octets) is the text folded when the first look fails. */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "imap_casemap.h"
#include "mem.h"
#include "utf8.h"

#include "imap_casemap_table.h"

#define IS_LITTLE_ENDIAN (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)

/* Characters in the table: U+0080..U+052F, then U+1E00..U+1FFF. */
#define TABLE_SIZE (0x4b0 + 0x200)

#define CHUNK 1024

static inline unsigned char fold_ascii(unsigned char c)
{
	return (unsigned char)(c - ((unsigned char)(c - 'a') < 26u) * 32);
}

/* Eight ASCII octets with a..z made A..Z at once: adding 0x1f sets the
 * high bit of the octets >= 'a', adding 0x05 that of those > 'z' (no
 * carry crosses an octet below 0x80). */
static inline uint64_t upper8(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ull;
	uint64_t lower = (w + 0x1f * ones) & ~(w + 0x05 * ones) &
			 (0x80 * ones);

	return w - (lower >> 2);
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
 * out (room for 12 octets); returns the input octets used. *invalid is
 * set for an octet that is not part of a valid sequence. */
static size_t fold_char(const unsigned char *s, size_t len, char *out,
			size_t *out_len, bool *invalid)
{
	uint32_t cp;
	size_t n = utf8_decode(s, len, &cp), o = 0;
	const uint16_t *f;

	if (n == 0) {
		out[0] = (char)s[0];
		*out_len = 1;
		*invalid = true;
		return 1;
	}
	if ((f = fold_lookup(cp)) == NULL) {
		memcpy(out, s, n);
		*out_len = n;
		return n;
	}
	for (size_t k = 0; k < 4 && f[k] != 0; k++)
		o += utf8_encode(f[k], out + o);
	*out_len = o;
	return n;
}

/* imap_casemap_fold(), telling whether an invalid octet was seen. */
static int fold(const char *s, size_t len, struct buf *out, bool *invalid)
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
		if (i + 8 <= len && n + 8 <= CHUNK) {
			uint64_t w;

			memcpy(&w, u + i, 8);
			if ((w & 0x8080808080808080ull) == 0) {
				w = upper8(w);
				memcpy(chunk + n, &w, 8);
				n += 8;
				i += 8;
				continue;
			}
		}
		if (u[i] < 0x80) {
			chunk[n++] = (char)fold_ascii(u[i++]);
		} else {
			size_t o;

			i += fold_char(u + i, len - i, chunk + n, &o, invalid);
			n += o;
		}
	}
	return buf_append(out, chunk, n);
}

int imap_casemap_fold(const char *s, size_t len, struct buf *out)
{
	bool invalid = false;

	return fold(s, len, out, &invalid);
}

int imap_casemap_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int r = memcmp(a, b, alen < blen ? alen : blen);

	if (r != 0)
		return r;
	return alen < blen ? -1 : alen > blen ? 1 : 0;
}

/* Whether c is one of the needle's (ASCII) octets. */
static bool needle_has(const struct imap_casemap_needle *n, unsigned c)
{
	return c < 0x80 && (n->ascii_set[c >> 6] >> (c & 63) & 1);
}

/* Whether a character folding to f (up to four code points) can take
 * part in a match of the ASCII needle. Such a match is a run of ASCII in
 * the folded text; where f mixes ASCII and other code points, the match
 * lies inside one of f's ASCII runs, or runs on from a run at f's start
 * into the text before (then the needle ends with the run's beginning),
 * or from a run at f's end into the text after (the needle starts with
 * the run's end). "\xc3\xa9" folds to "E" and a combining mark: it can
 * only end a match, of a needle ending in "E". */
static bool fold_relevant(const struct imap_casemap_needle *n,
			  const uint16_t *f)
{
	size_t cnt = 0, i = 0, m = n->len;
	bool all_ascii = true;

	while (cnt < 4 && f[cnt] != 0)
		all_ascii &= f[cnt++] < 0x80;
	if (all_ascii) {
		for (size_t j = 0; j < cnt; j++)
			if (needle_has(n, f[j]))
				return true;
		return false;
	}
	while (i < cnt) {
		char run[4];
		size_t a = i, rl = 0;

		if (f[i] >= 0x80) {
			i++;
			continue;
		}
		while (i < cnt && f[i] < 0x80)
			run[rl++] = (char)f[i++];
		if (m <= rl && memmem(run, rl, n->folded, m) != NULL)
			return true;
		for (size_t k = 1; k <= rl && k <= m; k++)
			if ((a == 0 &&
			     memcmp(n->folded + m - k, run, k) == 0) ||
			    (i == cnt &&
			     memcmp(n->folded, run + rl - k, k) == 0))
				return true;
	}
	return false;
}

/* What the vector search compares a needle octet with: letters with
 * their case bit set on both sides (A-Z and a-z then meet), other
 * octets as they are. */
static void lane(unsigned char c, unsigned char *mask_r, unsigned char *want_r)
{
	*mask_r = c >= 'A' && c <= 'Z' ? 0x20 : 0;
	*want_r = (unsigned char)(c | *mask_r);
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
	n->ascii_set[0] = n->ascii_set[1] = 0;
	for (size_t i = 0; i < n->len; i++) {
		unsigned char c = (unsigned char)n->folded[i];

		if (c >= 0x80)
			n->ascii = false;
		else
			n->ascii_set[c >> 6] |= (uint64_t)1 << (c & 63);
	}
	/* the table's characters whose fold could take part in a match */
	memset(n->relevant, 0, sizeof(n->relevant));
	for (uint32_t k = 0; n->ascii && n->len > 0 && k < TABLE_SIZE; k++)
		if (fold_relevant(n, k < 0x4b0 ? casemap_0080[k] :
					      casemap_1e00[k - 0x4b0]))
			n->relevant[k >> 6] |= (uint64_t)1 << (k & 63);
	if (n->len > 0) {
		lane((unsigned char)n->folded[0], &n->first_mask,
		     &n->first_want);
		lane((unsigned char)n->folded[n->len - 1], &n->last_mask,
		     &n->last_want);
	}
}

void imap_casemap_needle_deinit(struct imap_casemap_needle *n)
{
	xfree(&n->folded);
	n->len = 0;
}

/* Whether the needle is at t (its first and last octets are known to
 * match). */
static bool middle_matches(const struct imap_casemap_needle *n,
			   const unsigned char *t)
{
	const unsigned char *p = (const unsigned char *)n->folded;

	for (size_t k = 1; k + 1 < n->len; k++)
		if (fold_ascii(t[k]) != p[k])
			return false;
	return true;
}

static bool candidate(const struct imap_casemap_needle *n,
		      const unsigned char *t)
{
	return (t[0] | n->first_mask) == n->first_want &&
	       (t[n->len - 1] | n->last_mask) == n->last_want &&
	       middle_matches(n, t);
}

typedef unsigned char v16 __attribute__((vector_size(16)));

/* An ASCII needle in the text itself, ASCII case folded on the fly:
 * sixteen positions at a time are tested for the needle's first and last
 * octets (GCC vectors: SSE2, NEON or plain code), and only where both
 * meet is the rest compared. */
static bool find_ascii(const struct imap_casemap_needle *n,
		       const unsigned char *t, size_t len)
{
	size_t m = n->len, i = 0;
	v16 fm, fw, lm, lw;

	if (m == 0)
		return true;
	if (m > len)
		return false;
	memset(&fm, n->first_mask, 16);
	memset(&fw, n->first_want, 16);
	memset(&lm, n->last_mask, 16);
	memset(&lw, n->last_want, 16);
	for (; i + 16 + m - 1 <= len; i += 16) {
		v16 a, b, eq;
		uint64_t half[2];

		memcpy(&a, t + i, 16);
		memcpy(&b, t + i + m - 1, 16);
		eq = (v16)((a | fm) == fw) & (v16)((b | lm) == lw);
		memcpy(half, &eq, 16);
		if ((half[0] | half[1]) == 0)
			continue;
		for (size_t k = 0; k < 16; k++)
			if (eq[k] != 0 && middle_matches(n, t + i + k))
				return true;
	}
	for (; i + m <= len; i++)
		if (candidate(n, t + i))
			return true;
	return false;
}

/* Whether the character cp (a producer's) is relevant to the needle. */
static bool relevant(const struct imap_casemap_needle *n, uint32_t cp)
{
	uint32_t k;

	if (cp >= 0x80 && cp < 0x530)
		k = cp - 0x80;
	else if (cp >= 0x1e00 && cp < 0x2000)
		k = 0x4b0 + cp - 0x1e00;
	else
		return false;
	return n->relevant[k >> 6] >> (k & 63) & 1;
}

/* The length of the sequence a lead octet announces when the octets that
 * follow are continuation octets, else 0 (the fold takes the lead as an
 * invalid octet of its own; skipping a well-formed but overlong or
 * surrogate sequence whole never skips a producer, whose lead is never
 * a continuation octet). */
static size_t seq_len_loose(const unsigned char *t, size_t len)
{
	size_t sl = t[0] < 0xc2 ? 0 : t[0] < 0xe0 ? 2 : t[0] < 0xf0 ? 3 :
		    t[0] < 0xf5 ? 4 : 0;

	if (sl == 0 || sl > len)
		return 0;
	for (size_t k = 1; k < sl; k++)
		if ((t[k] & 0xc0) != 0x80)
			return 0;
	return sl;
}

/* The next character at or after i whose fold holds an ASCII octet of
 * the needle (a "producer" that matters), or len. ASCII is skipped
 * eight octets at a time. An invalid octet is its own fold: with strict,
 * every sequence is checked and at the first invalid octet *invalid is
 * set and len returned. */
static size_t next_producer(const struct imap_casemap_needle *n,
			    const unsigned char *t, size_t len, size_t i,
			    bool strict, bool *invalid)
{
	while (i < len) {
		uint64_t w;
		uint32_t cp = 0;
		size_t sl;

		if (i + 8 <= len) {
			memcpy(&w, t + i, 8);
			w &= 0x8080808080808080ull;
			if (w == 0) {
				i += 8;
				continue;
			}
			/* straight to the first non-ASCII octet (the
			 * lowest in memory: little-endian) */
			if (IS_LITTLE_ENDIAN)
				i += (size_t)__builtin_ctzll(w) / 8;
		}
		if (t[i] < 0x80) {
			i++;
			continue;
		}
		sl = strict ? utf8_decode(t + i, len - i, &cp) :
			      seq_len_loose(t + i, len - i);
		if (sl == 0) {
			if (strict) {
				*invalid = true;
				return len;
			}
			i++;
			continue;
		}
		if (casemap_ascii_leads[t[i] >> 5] >> (t[i] & 31) & 1) {
			/* producers are two-octet characters, or three with
			 * lead 0xe1: well-formed once their continuation
			 * octets are */
			if (!strict)
				cp = sl == 2 ? (uint32_t)(t[i] & 0x1f) << 6 |
						       (t[i + 1] & 0x3f) :
				     (uint32_t)(t[i] & 0x0f) << 12 |
					     (uint32_t)(t[i + 1] & 0x3f) << 6 |
					     (t[i + 2] & 0x3f);
			if (relevant(n, cp))
				return i;
		}
		i += sl;
	}
	return len;
}

/* The start of the character before the one at i (over at most three
 * continuation octets: an invalid octet is a character of its own, as
 * imap_casemap_fold() has it). */
static size_t char_prev(const unsigned char *t, size_t i)
{
	if (i == 0)
		return 0;
	i--;
	for (int k = 0; k < 3 && i > 0 && (t[i] & 0xc0) == 0x80; k++)
		i--;
	return i;
}

static size_t char_next(const unsigned char *t, size_t len, size_t i)
{
	if (i >= len)
		return len;
	i++;
	for (int k = 0; k < 3 && i < len && (t[i] & 0xc0) == 0x80; k++)
		i++;
	return i;
}

/* The window around the producer at p: needle-length - 1 characters on
 * each side. */
static void window(const unsigned char *t, size_t len, size_t p, size_t m,
		   size_t *start_r, size_t *end_r)
{
	size_t a = p, b = char_next(t, len, p);

	for (size_t k = 1; k < m; k++) {
		a = char_prev(t, a);
		b = char_next(t, len, b);
	}
	*start_r = a;
	*end_r = b;
}

/* An ASCII needle not in the text itself can still be in its fold, but
 * only where the fold of a producer ("\xc3\xa9" gives "E" and a
 * combining mark) takes part. Such a match spans at most needle-length
 * characters, every one of which adds at least one octet to it: it lies
 * within needle-length - 1 characters of the producer. Only those
 * windows (merged where they meet) are folded. 1, 0, -1 (scratch full),
 * -2 (strict: invalid UTF-8). */
static int find_ascii_windows(const struct imap_casemap_needle *n,
			      const unsigned char *t, size_t len,
			      struct buf *scratch, bool strict)
{
	bool invalid = false;
	size_t i = next_producer(n, t, len, 0, strict, &invalid);

	while (i < len) {
		size_t start, end, next, s2, e2;

		window(t, len, i, n->len, &start, &end);
		/* merge the windows of the producers that follow closely */
		while ((next = next_producer(n, t, len, i + 1, strict,
					     &invalid)) < len) {
			window(t, len, next, n->len, &s2, &e2);
			if (s2 > end)
				break;
			end = e2;
			i = next;
		}
		buf_reset(scratch);
		if (imap_casemap_fold((const char *)t + start, end - start,
				      scratch) < 0)
			return -1;
		if (memmem(scratch->data, scratch->len, n->folded, n->len))
			return 1;
		i = next;
	}
	return invalid ? -2 : 0;
}

bool imap_casemap_find_folded(const struct imap_casemap_needle *n,
			      const char *folded, size_t len)
{
	if (n->len == 0)
		return true;
	return memmem(folded, len, n->folded, n->len) != NULL;
}

static int find(const struct imap_casemap_needle *n, const char *text,
		size_t len, struct buf *scratch, bool strict)
{
	const unsigned char *t = (const unsigned char *)text;
	bool invalid = false;

	if (n->len == 0)
		return 1;
	if (n->ascii) {
		if (find_ascii(n, t, len))
			return 1;
		return find_ascii_windows(n, t, len, scratch, strict);
	}
	buf_reset(scratch);
	if (fold(text, len, scratch, &invalid) < 0)
		return -1;
	if (strict && invalid)
		return -2;
	return imap_casemap_find_folded(n, scratch->data, scratch->len) ? 1 : 0;
}

int imap_casemap_find(const struct imap_casemap_needle *n, const char *text,
		      size_t len, struct buf *scratch)
{
	return find(n, text, len, scratch, false);
}

int imap_casemap_find_utf8(const struct imap_casemap_needle *n,
			   const char *text, size_t len, struct buf *scratch)
{
	return find(n, text, len, scratch, true);
}
