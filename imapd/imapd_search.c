/* imapd_search: SEARCH and UID SEARCH (RFC 3501 6.4.4, RFC 9051 6.4.4)
 * with ESEARCH's RETURN options (RFC 4731), SEARCHRES's SAVE (RFC 5182)
 * and CONDSTORE's MODSEQ (RFC 7162 3.1.5); the program is parsed by
 * lib/imap_search and run by imapd_search_match.c.
 *
 * Replies: "* SEARCH n ..." (UIDs for UID SEARCH) with " (MODSEQ m)"
 * when a MODSEQ key was used and something matched; with RETURN, or
 * always once IMAP4rev2 is enabled, "* ESEARCH (TAG "t") [UID] [MIN n]
 * [MAX n] [ALL set] [COUNT n] [MODSEQ m]" in that order, as Dovecot
 * writes it: MIN, MAX and ALL only when something matched, COUNT always,
 * nothing at all for RETURN (SAVE) alone. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "imap_string.h"
#include "imapd_search.h"
#include "mem.h"

/* Output is written in pieces of about this size. */
#define OUT_CHUNK 65536

static const struct imap_search_limits search_limits = {
	.depth_max = IMAPD_SEARCH_DEPTH_MAX,
	.keys_max = IMAPD_SEARCH_KEYS_MAX,
	.ranges_max = IMAPD_RANGES_MAX,
};

struct imap_search_program *
imapd_search_parse(struct imapd_session *s, const struct imap_arg *args,
		   bool with_return, bool *bad_r)
{
	struct imap_search_program *prog;
	enum imap_search_error code;
	const char *error;

	if (bad_r != NULL)
		*bad_r = true;
	if (imap_search_parse(args, &search_limits, &prog, &code, &error) < 0) {
		if (code == IMAP_SEARCH_ERR_BADCHARSET) {
			if (bad_r != NULL)
				*bad_r = false;
			imapd_no(s, "[BADCHARSET (UTF-8 US-ASCII)] %s", error);
		} else {
			imapd_bad(s, "%s", error);
		}
		return NULL;
	}
	if (!with_return && (prog->has_return || prog->has_charset)) {
		imapd_bad(s, "Unexpected %s", prog->has_return ? "RETURN" :
							         "CHARSET");
		imap_search_program_free(&prog);
		return NULL;
	}
	return prog;
}

bool imapd_search_charset_ok(struct imapd_session *s,
			     const struct imap_arg *arg)
{
	const char *cs;
	size_t len;

	if (!imap_arg_get_astring(arg, &cs, &len)) {
		imapd_bad(s, "Missing charset");
		return false;
	}
	if (strcasecmp(cs, "UTF-8") == 0 || strcasecmp(cs, "US-ASCII") == 0)
		return true;
	imapd_no(s, "[BADCHARSET (UTF-8 US-ASCII)] Unsupported charset");
	return false;
}

void imapd_search_condstore(struct imapd_session *s)
{
	if ((s->enabled & IMAPD_ENABLED_CONDSTORE) != 0)
		return;
	s->enabled |= IMAPD_ENABLED_CONDSTORE;
	imapd_untagged(s, "OK [HIGHESTMODSEQ %llu] Highest",
		       (unsigned long long)s->sel->highest_modseq);
}

void imapd_search_reply_matches(struct imapd_session *s,
				const struct imap_arg *args,
				imapd_search_reply_fn *reply, void *ctx,
				const char *done_text)
{
	struct imap_search_program *prog;
	struct imapd_search_result res;

	if (!imapd_search_charset_ok(s, args))
		return;
	if ((prog = imapd_search_parse(s, args->next, false, NULL)) == NULL)
		return;
	s->stats.search_count++;
	if (imapd_search_run(s, prog, &res) == 0 && res.modseq_used)
		imapd_search_condstore(s);
	if (res.msns == NULL || reply(s, &res, ctx) < 0) {
		free(res.msns);
		imap_search_program_free(&prog);
		imapd_no(s, "[SERVERBUG] Internal error occurred. "
			    "Refer to server log for more information.");
		return;
	}
	free(res.msns);
	imap_search_program_free(&prog);
	imapd_ok(s, "%s", done_text);
}

/* ---- output ---- */

static void out_flush(struct imapd_session *s, struct buf *out, bool all)
{
	if (all || out->len >= OUT_CHUNK) {
		imapd_write(s, out->data, out->len);
		buf_reset(out);
	}
}

/* " n" for each id. */
static void write_ids(struct imapd_session *s, const uint32_t *ids,
		      size_t n, struct buf *out)
{
	for (size_t i = 0; i < n; i++) {
		if (buf_printf(out, " %u", ids[i]) < 0)
			abort();	/* OUT_CHUNK leaves room */
		out_flush(s, out, false);
	}
}

/* ids (ascending) as a sequence set: "1:3,5,7:9". */
static void write_set(struct imapd_session *s, const uint32_t *ids,
		      size_t n, struct buf *out)
{
	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j + 1 < n && ids[j + 1] == ids[j] + 1)
			j++;
		if (buf_printf(out, "%s%u", i > 0 ? "," : "", ids[i]) < 0 ||
		    (j > i && buf_printf(out, ":%u", ids[j]) < 0))
			abort();
		out_flush(s, out, false);
		i = j + 1;
	}
}

static void reply_search(struct imapd_session *s, const uint32_t *ids,
			 const struct imapd_search_result *res)
{
	struct buf out;

	buf_init(&out, OUT_CHUNK * 2);
	if (buf_append_str(&out, "* SEARCH") < 0)
		abort();
	write_ids(s, ids, res->count, &out);
	if (res->modseq_used && res->count > 0 &&
	    buf_printf(&out, " (MODSEQ %llu)",
		       (unsigned long long)res->highest_modseq) < 0)
		abort();
	if (buf_append(&out, "\r\n", 2) < 0)
		abort();
	out_flush(s, &out, true);
	buf_deinit(&out);
}

/* Whether only MIN and/or MAX stand for the result (RFC 5182 2.4, RFC
 * 7162 3.1.5): SAVE keeps, and MODSEQ covers, just those messages. */
static bool only_min_max(unsigned opts)
{
	return (opts & (IMAP_SEARCH_RETURN_MIN | IMAP_SEARCH_RETURN_MAX)) !=
		       0 &&
	       (opts & (IMAP_SEARCH_RETURN_ALL | IMAP_SEARCH_RETURN_COUNT)) ==
		       0;
}

/* The highest MODSEQ of the messages the reply stands for. */
static uint64_t reply_modseq(struct imapd_session *s, unsigned opts,
			     const struct imapd_search_result *res)
{
	uint64_t hi = 0;

	if (!only_min_max(opts))
		return res->highest_modseq;
	for (int k = 0; k < 2; k++) {
		unsigned want = k == 0 ? IMAP_SEARCH_RETURN_MIN :
					 IMAP_SEARCH_RETURN_MAX;
		uint32_t msn = res->msns[k == 0 ? 0 : res->count - 1];
		long idx = imapd_view_index(s, msn);

		if ((opts & want) != 0 && idx >= 0) {
			uint64_t m = mailstore_msg(s->sel->box,
						   (size_t)idx)->modseq;
			if (m > hi)
				hi = m;
		}
	}
	return hi;
}

static void reply_esearch(struct imapd_session *s, unsigned opts,
			  const uint32_t *ids,
			  const struct imapd_search_result *res)
{
	size_t n = res->count;
	struct buf out;

	buf_init(&out, OUT_CHUNK * 2);
	if (buf_append_str(&out, "* ESEARCH (TAG ") < 0 ||
	    imap_string_append(&out, s->tag, strlen(s->tag), 0) < 0 ||
	    buf_append_char(&out, ')') < 0 ||
	    (s->cmd_uid && buf_append_str(&out, " UID") < 0) ||
	    ((opts & IMAP_SEARCH_RETURN_MIN) && n > 0 &&
	     buf_printf(&out, " MIN %u", ids[0]) < 0) ||
	    ((opts & IMAP_SEARCH_RETURN_MAX) && n > 0 &&
	     buf_printf(&out, " MAX %u", ids[n - 1]) < 0))
		abort();
	if ((opts & IMAP_SEARCH_RETURN_ALL) && n > 0) {
		if (buf_append_str(&out, " ALL ") < 0)
			abort();
		write_set(s, ids, n, &out);
	}
	if (((opts & IMAP_SEARCH_RETURN_COUNT) &&
	     buf_printf(&out, " COUNT %zu", n) < 0) ||
	    (res->modseq_used && n > 0 &&
	     buf_printf(&out, " MODSEQ %llu", (unsigned long long)
			reply_modseq(s, opts, res)) < 0) ||
	    buf_append(&out, "\r\n", 2) < 0)
		abort();
	out_flush(s, &out, true);
	buf_deinit(&out);
}

/* ---- SEARCHRES ---- */

static void saved_set(struct imapd_session *s, uint32_t *uids, size_t n)
{
	xfree(&s->saved.uids);
	s->saved.uids = uids;
	s->saved.count = n;
	s->saved.valid = true;
}

/* SAVE: the UIDs of the result, or of its MIN/MAX only. */
static void save_result(struct imapd_session *s, unsigned opts,
			const struct imapd_search_result *res)
{
	uint32_t *uids = xreallocarray(NULL, res->count + 1, sizeof(*uids));
	size_t n = 0;

	for (size_t i = 0; i < res->count; i++) {
		bool keep = !only_min_max(opts) ||
			    (i == 0 && (opts & IMAP_SEARCH_RETURN_MIN)) ||
			    (i == res->count - 1 &&
			     (opts & IMAP_SEARCH_RETURN_MAX));

		if (keep)
			uids[n++] = s->sel->msgs[res->msns[i] - 1].uid;
	}
	saved_set(s, uids, n);
}

/* Whether the arguments ask for SAVE ("RETURN (... SAVE ...)"), looked
 * at when the program did not parse: a NO then empties "$". */
static bool args_want_save(const struct imap_arg *args)
{
	const char *atom;

	if (args == NULL || !imap_arg_get_atom(args, &atom) ||
	    strcasecmp(atom, "RETURN") != 0 || args->next == NULL ||
	    args->next->type != IMAP_ARG_LIST)
		return false;
	for (const struct imap_arg *a = args->next->list; a != NULL;
	     a = a->next)
		if (imap_arg_get_atom(a, &atom) &&
		    strcasecmp(atom, "SAVE") == 0)
			return true;
	return false;
}

/* ---- the command ---- */

void imapd_cmd_search(struct imapd_session *s, const struct imap_arg *args)
{
	struct imapd_search_result res;
	struct imap_search_program *prog;
	unsigned opts;
	uint32_t *ids;
	bool bad;

	if ((prog = imapd_search_parse(s, args, true, &bad)) == NULL) {
		/* RFC 5182 2.1: a SAVE that ends in NO empties "$"; BAD
		 * leaves it alone. */
		if (!bad && args_want_save(args))
			saved_set(s, NULL, 0);
		return;
	}
	s->stats.search_count++;
	opts = prog->has_return ? prog->return_opts : IMAP_SEARCH_RETURN_ALL;
	if (imapd_search_run(s, prog, &res) < 0) {
		if (opts & IMAP_SEARCH_RETURN_SAVE)
			saved_set(s, NULL, 0);
		imap_search_program_free(&prog);
		imapd_no(s, "[SERVERBUG] Internal error occurred. "
			    "Refer to server log for more information.");
		return;
	}
	if (res.modseq_used)
		imapd_search_condstore(s);
	ids = res.msns;
	if (s->cmd_uid) {
		ids = xreallocarray(NULL, res.count + 1, sizeof(*ids));
		for (size_t i = 0; i < res.count; i++)
			ids[i] = s->sel->msgs[res.msns[i] - 1].uid;
	}
	if (!prog->has_return && (s->enabled & IMAPD_ENABLED_REV2) == 0)
		reply_search(s, ids, &res);
	else if (opts != IMAP_SEARCH_RETURN_SAVE)
		reply_esearch(s, opts, ids, &res);
	if (opts & IMAP_SEARCH_RETURN_SAVE)
		save_result(s, opts, &res);
	if (ids != res.msns)
		free(ids);
	free(res.msns);
	imap_search_program_free(&prog);
	imapd_ok(s, "Search completed.");
}
