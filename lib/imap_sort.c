/* imap_sort: base subjects, address keys and the ordering of SORT (see
 * imap_sort.h). Addresses are read by lib/imap_envelope, the parser
 * behind ENVELOPE, because RFC 5256 defines the FROM/TO/CC keys as the
 * ENVELOPE's addr-mailbox: its IMAP output is read back here, which keeps
 * one RFC 5322 address parser in the tree. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "imap_envelope.h"
#include "imap_sort.h"
#include "imap_string.h"
#include "mem.h"
#include "mime.h"
#include "mime_decode.h"

/* ---- base subject ---- */

/* Unfolds and decodes value into out with white space runs made one
 * space (RFC 5256 2.1 step 1). */
static int subject_normalise(const char *value, size_t len, struct buf *out)
{
	char *unfolded = xmalloc(len + 1);
	long n = mime_header_unfold(value, len, unfolded, len + 1);
	const char *error;
	struct buf dec;
	bool space = false;
	int r = 0;

	/* decoding never grows text more than 4 times (charset
	 * conversion), and a buffer too small only shortens the key */
	buf_init(&dec, len * 4 + 64);
	if (n >= 0)
		(void)!mime_decode_header(unfolded, (size_t)n, &dec, &error);
	for (size_t i = 0; i < dec.len && r == 0; i++) {
		char c = dec.data[i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
		    c == '\0') {
			space = true;
			continue;
		}
		if (space && buf_append_char(out, ' ') < 0)
			r = -1;
		space = false;
		if (r == 0 && buf_append_char(out, c) < 0)
			r = -1;
	}
	if (r == 0 && space)
		r = buf_append_char(out, ' ');
	buf_deinit(&dec);
	free(unfolded);
	return r;
}

static bool prefix_ci(const char *s, size_t b, size_t e, const char *word)
{
	size_t n = strlen(word);

	return e - b >= n && strncasecmp(s + b, word, n) == 0;
}

/* subj-blob = "[" *BLOBCHAR "]" *WSP at s[p..e): its end, or 0. */
static size_t blob_end(const char *s, size_t p, size_t e)
{
	size_t i;

	if (p >= e || s[p] != '[')
		return 0;
	for (i = p + 1; i < e && s[i] != '[' && s[i] != ']'; i++)
		;
	if (i >= e || s[i] != ']')
		return 0;
	for (i++; i < e && s[i] == ' '; i++)
		;
	return i;
}

/* subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":": its end, or
 * 0. */
static size_t refwd_end(const char *s, size_t p, size_t e)
{
	size_t q;

	if (prefix_ci(s, p, e, "re"))
		p += 2;
	else if (prefix_ci(s, p, e, "fwd"))
		p += 3;
	else if (prefix_ci(s, p, e, "fw"))
		p += 2;
	else
		return 0;
	while (p < e && s[p] == ' ')
		p++;
	if ((q = blob_end(s, p, e)) != 0)
		p = q;
	return p < e && s[p] == ':' ? p + 1 : 0;
}

static bool has_nonspace(const char *s, size_t p, size_t e)
{
	for (; p < e; p++)
		if (s[p] != ' ')
			return true;
	return false;
}

/* Steps 3 to 5: leaders and blobs off the front, while any goes. */
static void strip_leaders(const char *s, size_t *b, size_t e, bool *reply)
{
	for (;;) {
		size_t p = *b, q;

		if (p < e && s[p] == ' ') {
			(*b)++;
			continue;
		}
		while ((q = blob_end(s, p, e)) != 0)
			p = q;
		if ((q = refwd_end(s, p, e)) != 0) {
			*b = q;
			*reply = true;
			continue;
		}
		if ((q = blob_end(s, *b, e)) != 0 && has_nonspace(s, q, e)) {
			*b = q;
			continue;
		}
		return;
	}
}

int imap_sort_base_subject(const char *value, size_t len, struct buf *out,
			   bool *reply_r)
{
	struct buf norm;
	size_t b = 0, e;
	bool reply = false;
	const char *s;
	int r;

	if (reply_r != NULL)
		*reply_r = false;
	if (value == NULL || len == 0)
		return 0;
	buf_init(&norm, len * 4 + 64);
	if (subject_normalise(value, len, &norm) < 0) {
		buf_deinit(&norm);
		return -1;
	}
	s = norm.data;
	e = norm.len;
	for (;;) {
		/* step 2: trailers */
		for (;;) {
			if (e > b && s[e - 1] == ' ') {
				e--;
			} else if (e - b >= 5 &&
				   strncasecmp(s + e - 5, "(fwd)", 5) == 0) {
				e -= 5;
				reply = true;
			} else {
				break;
			}
		}
		strip_leaders(s, &b, e, &reply);
		/* step 6: "[fwd: ...]" */
		if (e - b >= 6 && prefix_ci(s, b, e, "[fwd:") &&
		    s[e - 1] == ']') {
			b += 5;
			e--;
			reply = true;
			continue;
		}
		break;
	}
	r = buf_append(out, s + b, e - b);
	buf_deinit(&norm);
	if (reply_r != NULL)
		*reply_r = reply;
	return r;
}

/* ---- address keys ---- */

/* A reader of imap_envelope's output. */
struct env_reader {
	const char *s;
	size_t len, pos;
};

/* Reads NIL, a quoted string (unescaped) or a literal into val. 1
 * string, 0 NIL, -1 anything else. */
static int env_nstring(struct env_reader *r, struct buf *val)
{
	const char *s = r->s;
	size_t n;
	char *end;

	buf_reset(val);
	if (r->pos + 3 <= r->len && memcmp(s + r->pos, "NIL", 3) == 0) {
		r->pos += 3;
		return 0;
	}
	if (r->pos < r->len && s[r->pos] == '{') {
		n = strtoul(s + r->pos + 1, &end, 10);
		if (end[0] != '}' || end[1] != '\r' || end[2] != '\n')
			return -1;
		r->pos = (size_t)(end + 3 - s);
		if (n > r->len - r->pos || buf_append(val, s + r->pos, n) < 0)
			return -1;
		r->pos += n;
		return 1;
	}
	if (r->pos >= r->len || s[r->pos] != '"')
		return -1;
	for (r->pos++; r->pos < r->len && s[r->pos] != '"'; r->pos++) {
		if (s[r->pos] == '\\' && r->pos + 1 < r->len)
			r->pos++;
		if (buf_append_char(val, s[r->pos]) < 0)
			return -1;
	}
	if (r->pos >= r->len)
		return -1;
	r->pos++;
	return 1;
}

/* The first address of an imap_envelope address list (not a group
 * marker): name (empty when NIL), mailbox and host. 1, or 0 when none. */
static int env_first_address(struct env_reader *r, struct buf *name,
			     struct buf *mailbox, struct buf *host)
{
	struct buf adl;
	int found = 0;

	buf_init(&adl, r->len);
	if (r->pos >= r->len || r->s[r->pos] != '(')
		goto out;
	r->pos++;
	while (r->pos < r->len && r->s[r->pos] == '(') {
		int hn;

		r->pos++;
		if (env_nstring(r, name) < 0 || r->s[r->pos++] != ' ' ||
		    env_nstring(r, &adl) < 0 || r->s[r->pos++] != ' ' ||
		    env_nstring(r, mailbox) < 0 || r->s[r->pos++] != ' ' ||
		    (hn = env_nstring(r, host)) < 0 || r->pos >= r->len ||
		    r->s[r->pos++] != ')')
			break;
		if (hn > 0) {
			found = 1;
			break;
		}
	}
out:
	buf_deinit(&adl);
	return found;
}

/* The display form of an address (RFC 5957): its decoded name, else
 * mailbox@host. */
static int display_key(const struct buf *name, const struct buf *mailbox,
		       const struct buf *host, struct buf *out)
{
	size_t start = out->len;
	const char *error;

	if (name->len > 0) {
		if (mime_decode_header(name->data, name->len, out, &error) < 0)
			return -1;
		for (size_t i = start; i < out->len; i++)
			if (out->data[i] != ' ')
				return 0;
		buf_truncate(out, start);
	}
	if (buf_append(out, mailbox->data, mailbox->len) < 0)
		return -1;
	if (strcmp(host->data, "MISSING_DOMAIN") == 0)
		return 0;
	if (buf_append_char(out, '@') < 0)
		return -1;
	return buf_append(out, host->data, host->len);
}

int imap_sort_address_key(const char *value, size_t len,
			  enum imap_sort_addr_kind kind, struct buf *out)
{
	struct buf list, name, mailbox, host;
	struct env_reader rd;
	char *unfolded;
	long n;
	int r = 0;

	if (value == NULL || len == 0)
		return 0;
	unfolded = xmalloc(len + 1);
	n = mime_header_unfold(value, len, unfolded, len + 1);
	/* the list written is at most a few times the value */
	buf_init(&list, len * 4 + 256);
	buf_init(&name, len + 16);
	buf_init(&mailbox, len + 16);
	buf_init(&host, len + 16);
	if (n > 0 && imap_envelope_write_addresses(&list, unfolded, (size_t)n,
						   IMAP_STRING_UTF8) > 0) {
		rd.s = list.data;
		rd.len = list.len;
		rd.pos = 0;
		if (env_first_address(&rd, &name, &mailbox, &host) > 0)
			r = kind == IMAP_SORT_ADDR_MAILBOX ?
				    buf_append(out, mailbox.data, mailbox.len) :
				    display_key(&name, &mailbox, &host, out);
	}
	buf_deinit(&host);
	buf_deinit(&mailbox);
	buf_deinit(&name);
	buf_deinit(&list);
	free(unfolded);
	return r;
}

/* ---- criteria and ordering ---- */

static const struct {
	const char *name;
	enum imap_sort_key key;
	bool display;		/* SORT=DISPLAY only */
} sort_keys[] = {
	{ "ARRIVAL", IMAP_SORT_ARRIVAL, false },
	{ "CC", IMAP_SORT_CC, false },
	{ "DATE", IMAP_SORT_DATE, false },
	{ "FROM", IMAP_SORT_FROM, false },
	{ "SIZE", IMAP_SORT_SIZE, false },
	{ "SUBJECT", IMAP_SORT_SUBJECT, false },
	{ "TO", IMAP_SORT_TO, false },
	{ "DISPLAYFROM", IMAP_SORT_DISPLAYFROM, true },
	{ "DISPLAYTO", IMAP_SORT_DISPLAYTO, true },
};

int imap_sort_criteria_parse(const struct imap_arg *arg, bool display,
			     struct imap_sort_criterion *crit,
			     const char **error_r)
{
	const struct imap_arg *a;
	bool reverse = false;
	int n = 0;

	if (arg == NULL || arg->type != IMAP_ARG_LIST || arg->list == NULL) {
		*error_r = "Sort criteria must be a non-empty list";
		return -1;
	}
	for (a = arg->list; a != NULL; a = a->next) {
		const char *name;
		size_t i;

		if (!imap_arg_get_atom(a, &name)) {
			*error_r = "Invalid sort criterion";
			return -1;
		}
		if (strcasecmp(name, "REVERSE") == 0 && !reverse) {
			reverse = true;
			continue;
		}
		for (i = 0; i < sizeof(sort_keys) / sizeof(sort_keys[0]); i++)
			if (strcasecmp(name, sort_keys[i].name) == 0 &&
			    (display || !sort_keys[i].display))
				break;
		if (i == sizeof(sort_keys) / sizeof(sort_keys[0])) {
			*error_r = "Unknown sort criterion";
			return -1;
		}
		if (n == IMAP_SORT_CRITERIA_MAX) {
			*error_r = "Too many sort criteria";
			return -1;
		}
		crit[n].key = sort_keys[i].key;
		crit[n++].reverse = reverse;
		reverse = false;
	}
	if (reverse || n == 0) {
		*error_r = "REVERSE must be followed by a sort key";
		return -1;
	}
	return n;
}

bool imap_sort_key_is_string(enum imap_sort_key key)
{
	return key != IMAP_SORT_ARRIVAL && key != IMAP_SORT_DATE &&
	       key != IMAP_SORT_SIZE;
}

struct sort_ctx {
	const struct imap_sort_criterion *crit;
	size_t ncrit;
};

static int item_cmp(const void *pa, const void *pb, void *arg)
{
	const struct imap_sort_item *a = pa, *b = pb;
	const struct sort_ctx *ctx = arg;

	for (size_t i = 0; i < ctx->ncrit; i++) {
		const struct imap_sort_value *va = &a->values[i];
		const struct imap_sort_value *vb = &b->values[i];
		int r;

		if (imap_sort_key_is_string(ctx->crit[i].key)) {
			size_t n = va->len < vb->len ? va->len : vb->len;

			r = n > 0 ? memcmp(va->str, vb->str, n) : 0;
			if (r == 0)
				r = va->len < vb->len ? -1 : va->len > vb->len;
		} else {
			r = va->num < vb->num ? -1 : va->num > vb->num;
		}
		if (r != 0)
			return ctx->crit[i].reverse ? -r : r;
	}
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

void imap_sort_items(struct imap_sort_item *items, size_t count,
		     const struct imap_sort_criterion *crit, size_t ncrit)
{
	struct sort_ctx ctx = { crit, ncrit };

	if (count > 1)
		qsort_r(items, count, sizeof(*items), item_cmp, &ctx);
}
