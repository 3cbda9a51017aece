/* imap_seqset: sequence sets parsed, resolved and normalised; see
 * imap_seqset.h. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "mem.h"
#include "imap_seqset.h"

/* One value at s[*pos]: "*" or a nz-number up to 2^32-1. */
static int parse_value(const char *s, size_t len, size_t *pos,
		       uint32_t *value_r)
{
	size_t i = *pos;
	uint64_t v = 0;

	if (i < len && s[i] == '*') {
		*pos = i + 1;
		*value_r = IMAP_SEQ_STAR;
		return 0;
	}
	if (i >= len || s[i] < '1' || s[i] > '9')
		return -1;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		v = v * 10 + (uint64_t)(s[i] - '0');
		if (v > UINT32_MAX)
			return -1;
	}
	*pos = i;
	*value_r = (uint32_t)v;
	return 0;
}

static int parse_fail(struct imap_seqset *set, const char *error,
		      const char **error_r)
{
	imap_seqset_deinit(set);
	*error_r = error;
	return -1;
}

int imap_seqset_parse(const char *s, size_t len, size_t ranges_max,
		      struct imap_seqset *set_r, const char **error_r)
{
	size_t pos = 0, cap = 0;

	memset(set_r, 0, sizeof(*set_r));
	if (len == 1 && s[0] == '$') {
		set_r->saved = true;
		return 0;
	}
	for (;;) {
		struct imap_seq_range r;

		if (parse_value(s, len, &pos, &r.lo) < 0)
			return parse_fail(set_r, "Invalid sequence number",
					  error_r);
		r.hi = r.lo;
		if (pos < len && s[pos] == ':') {
			pos++;
			if (parse_value(s, len, &pos, &r.hi) < 0)
				return parse_fail(set_r,
						  "Invalid sequence number",
						  error_r);
		}
		if (set_r->count >= ranges_max)
			return parse_fail(set_r, "Too many sequence ranges",
					  error_r);
		if (set_r->count == cap) {
			cap = cap == 0 ? 4 : cap * 2;
			if (cap > ranges_max)
				cap = ranges_max;
			set_r->ranges = xreallocarray(set_r->ranges, cap,
						      sizeof(*set_r->ranges));
		}
		set_r->ranges[set_r->count++] = r;
		if (pos == len)
			return 0;
		if (s[pos] != ',')
			return parse_fail(set_r, "Invalid sequence set",
					  error_r);
		pos++;
	}
}

static int range_cmp(const void *a, const void *b)
{
	const struct imap_seq_range *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->hi < y->hi ? -1 : x->hi > y->hi;
}

int imap_seqset_resolve(const struct imap_seqset *set, uint32_t star,
			struct imap_seqset *out_r)
{
	size_t n = 0;

	memset(out_r, 0, sizeof(*out_r));
	if (set->saved)
		return -1;
	if (set->count == 0)
		return 0;
	out_r->ranges = xreallocarray(NULL, set->count, sizeof(*out_r->ranges));
	for (size_t i = 0; i < set->count; i++) {
		struct imap_seq_range r = set->ranges[i];

		if (r.lo == IMAP_SEQ_STAR || r.hi == IMAP_SEQ_STAR) {
			if (star == 0)
				continue;
			if (r.lo == IMAP_SEQ_STAR)
				r.lo = star;
			if (r.hi == IMAP_SEQ_STAR)
				r.hi = star;
		}
		if (r.lo > r.hi) {
			uint32_t t = r.lo;
			r.lo = r.hi;
			r.hi = t;
		}
		out_r->ranges[n++] = r;
	}
	qsort(out_r->ranges, n, sizeof(*out_r->ranges), range_cmp);
	/* Merge overlapping and adjacent ranges (hi + 1 as 64 bits). */
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		struct imap_seq_range *last = m > 0 ? &out_r->ranges[m - 1] :
			NULL;
		struct imap_seq_range r = out_r->ranges[i];

		if (last != NULL && (uint64_t)r.lo <= (uint64_t)last->hi + 1) {
			if (r.hi > last->hi)
				last->hi = r.hi;
		} else {
			out_r->ranges[m++] = r;
		}
	}
	out_r->count = m;
	if (m == 0)
		xfree(&out_r->ranges);
	return 0;
}

bool imap_seqset_contains(const struct imap_seqset *set, uint32_t n)
{
	size_t lo = 0, hi = set->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (n < set->ranges[mid].lo)
			hi = mid;
		else if (n > set->ranges[mid].hi)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

uint64_t imap_seqset_total(const struct imap_seqset *set)
{
	uint64_t total = 0;

	for (size_t i = 0; i < set->count; i++)
		total += (uint64_t)set->ranges[i].hi - set->ranges[i].lo + 1;
	return total;
}

void imap_seqset_deinit(struct imap_seqset *set)
{
	xfree(&set->ranges);
	set->count = 0;
	set->saved = false;
}
