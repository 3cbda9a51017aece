/* imapd_sort: SORT and UID SORT (RFC 5256), with DISPLAYFROM/DISPLAYTO
 * (RFC 5957): the search program is run (imapd_search_match.c), each
 * match gets its sort values (header fields from the cache of
 * imapd_msgdata), and lib/imap_sort orders them.
 *
 *   SORT (criteria) charset search-key...
 *
 * String keys are compared in their i;unicode-casemap fold (ASCII as
 * i;ascii-casemap), ties by sequence number. A missing field sorts as
 * the empty string; a missing or unreadable Date: as the INTERNALDATE. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "imap_casemap.h"
#include "imap_date.h"
#include "imap_sort.h"
#include "imapd_search.h"
#include "mem.h"
#include "mime.h"

#define OUT_CHUNK 65536

int64_t imapd_sort_sent_date(const char *hdr, size_t len, int64_t internal)
{
	struct mime_field f;
	int64_t t;
	int zone;

	if (mime_header_find(hdr, len, "Date", &f) != 1)
		return internal;
	char *v = xmalloc(f.value_len + 1);
	long n = mime_header_unfold(f.value, f.value_len, v, f.value_len + 1);
	if (n < 0 || imap_date_rfc5322_parse(v, (size_t)n, &t, &zone) < 0)
		t = internal;
	free(v);
	return t;
}

/* The field's raw value (NULL/0 when absent). */
static void field_value(const char *hdr, size_t len, const char *name,
			const char **v_r, size_t *len_r)
{
	struct mime_field f;

	*v_r = NULL;
	*len_r = 0;
	if (mime_header_find(hdr, len, name, &f) == 1) {
		*v_r = f.value;
		*len_r = f.value_len;
	}
}

/* Appends the unfolded string key of a message to key. */
static int string_key(enum imap_sort_key k, const char *hdr, size_t len,
		      struct buf *key)
{
	static const char *const fields[IMAP_SORT_KEY_COUNT] = {
		[IMAP_SORT_CC] = "Cc", [IMAP_SORT_FROM] = "From",
		[IMAP_SORT_SUBJECT] = "Subject", [IMAP_SORT_TO] = "To",
		[IMAP_SORT_DISPLAYFROM] = "From", [IMAP_SORT_DISPLAYTO] = "To",
	};
	const char *v;
	size_t vlen;

	field_value(hdr, len, fields[k], &v, &vlen);
	if (k == IMAP_SORT_SUBJECT)
		return imap_sort_base_subject(v, vlen, key, NULL);
	return imap_sort_address_key(v, vlen,
				     k == IMAP_SORT_DISPLAYFROM ||
					     k == IMAP_SORT_DISPLAYTO ?
					     IMAP_SORT_ADDR_DISPLAY :
					     IMAP_SORT_ADDR_MAILBOX, key);
}

/* Fills vals[0..ncrit) of message msn. String values are appended to
 * the arena, which may still move: until the caller turns them into
 * pointers, a string's offset is kept in len and its length in num.
 * 1, 0 gone, -1 error. */
static int sort_values(struct imapd_session *s, uint32_t msn,
		       const struct imap_sort_criterion *crit, size_t ncrit,
		       struct imap_sort_value *vals, struct buf *arena,
		       struct buf *key)
{
	long idx = imapd_view_index(s, msn);
	const struct mailstore_msg *m;
	const char *hdr = NULL;
	size_t hlen = 0;
	int r;

	if (idx < 0)
		return 0;
	m = mailstore_msg(s->sel->box, (size_t)idx);
	for (size_t c = 0; c < ncrit; c++) {
		enum imap_sort_key k = crit[c].key;

		memset(&vals[c], 0, sizeof(vals[c]));
		if (k == IMAP_SORT_ARRIVAL) {
			vals[c].num = m->mtime;
			continue;
		}
		if (k == IMAP_SORT_SIZE) {
			vals[c].num = (int64_t)m->vsize;
			continue;
		}
		if (hdr == NULL &&
		    (r = imapd_msg_header(s, msn, &hdr, &hlen)) <= 0)
			return r;
		if (k == IMAP_SORT_DATE) {
			vals[c].num = imapd_sort_sent_date(hdr, hlen, m->mtime);
			continue;
		}
		buf_reset(key);
		vals[c].len = arena->len;	/* the offset, for now */
		if (string_key(k, hdr, hlen, key) < 0 ||
		    imap_casemap_fold(key->data, key->len, arena) < 0)
			return -1;
		vals[c].num = (int64_t)(arena->len - vals[c].len);
	}
	return 1;
}

static void reply_sort(struct imapd_session *s,
		       const struct imap_sort_item *items, size_t n,
		       const struct imapd_search_result *res)
{
	struct buf out;

	buf_init(&out, OUT_CHUNK * 2);
	if (buf_append_str(&out, "* SORT") < 0)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (buf_printf(&out, " %u", items[i].id) < 0)
			abort();
		if (out.len >= OUT_CHUNK) {
			imapd_write(s, out.data, out.len);
			buf_reset(&out);
		}
	}
	if ((res->modseq_used && n > 0 &&
	     buf_printf(&out, " (MODSEQ %llu)",
			(unsigned long long)res->highest_modseq) < 0) ||
	    buf_append(&out, "\r\n", 2) < 0)
		abort();
	imapd_write(s, out.data, out.len);
	buf_deinit(&out);
}

/* Sorts the matches and replies; -1 when a message could not be read. */
static int sort_matches(struct imapd_session *s,
			const struct imap_sort_criterion *crit, size_t ncrit,
			const struct imapd_search_result *res)
{
	struct imap_sort_value *vals =
		xreallocarray(NULL, res->count * ncrit + 1, sizeof(*vals));
	struct imap_sort_item *items =
		xreallocarray(NULL, res->count + 1, sizeof(*items));
	struct buf arena, key;
	size_t n = 0;
	int ret = 0;

	buf_init(&arena, (size_t)1 << 40);
	buf_init(&key, (size_t)1 << 40);
	for (size_t i = 0; i < res->count && ret == 0; i++) {
		uint32_t msn = res->msns[i];
		int r = sort_values(s, msn, crit, ncrit, &vals[n * ncrit],
				    &arena, &key);

		if (r < 0)
			ret = -1;
		if (r <= 0)
			continue;	/* gone meanwhile: not a match now */
		items[n].seq = msn;
		items[n].id = s->cmd_uid ? s->sel->msgs[msn - 1].uid : msn;
		items[n].values = &vals[n * ncrit];
		n++;
	}
	/* The arena no longer moves: offsets become pointers. */
	for (size_t i = 0; i < n * ncrit; i++)
		if (imap_sort_key_is_string(crit[i % ncrit].key)) {
			size_t off = vals[i].len;

			vals[i].len = (size_t)vals[i].num;
			vals[i].str = arena.data + off;
			vals[i].num = 0;
		}
	if (ret == 0) {
		imap_sort_items(items, n, crit, ncrit);
		reply_sort(s, items, n, res);
	}
	buf_deinit(&key);
	buf_deinit(&arena);
	free(items);
	free(vals);
	return ret;
}

struct sort_ctx {
	const struct imap_sort_criterion *crit;
	size_t ncrit;
};

static int sort_reply(struct imapd_session *s,
		      const struct imapd_search_result *res, void *ctx)
{
	const struct sort_ctx *c = ctx;

	return sort_matches(s, c->crit, c->ncrit, res);
}

void imapd_cmd_sort(struct imapd_session *s, const struct imap_arg *args)
{
	struct imap_sort_criterion crit[IMAP_SORT_CRITERIA_MAX];
	struct sort_ctx c = { .crit = crit };
	const char *error;
	int ncrit;

	if ((ncrit = imap_sort_criteria_parse(args, true, crit, &error)) < 0) {
		imapd_bad(s, "%s", error);
		return;
	}
	c.ncrit = (size_t)ncrit;
	imapd_search_reply_matches(s, args->next, sort_reply, &c,
				   "Sort completed.");
}
