/* imapd_fetch: FETCH and UID FETCH (RFC 3501 6.4.5, RFC 9051 6.4.5) with
 * the CHANGEDSINCE modifier (CONDSTORE, RFC 7162 3.1.4) and VANISHED
 * (QRESYNC, RFC 7162 3.2.6). The items are parsed by lib/imap_fetch_items,
 * each message's response is written by imapd_fetch_msg.c.
 *
 * Order of work: every check that can give BAD first; then VANISHED
 * (EARLIER); then the \Seen flag for all messages whose body is fetched
 * without .PEEK, in one store update (one MODSEQ step) before any
 * response, so that each response's FLAGS is the new state; then the
 * responses. A message expunged by another session meanwhile is skipped
 * and the command ends with NO [EXPUNGEISSUED] after sending all the
 * others (as Dovecot). */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "mem.h"
#include "imapd_fetch.h"

/* The response buffer's maximum: literals over IMAPD_FETCH_STREAM_MIN
 * bypass it, so only structures and many small items fill it. */
#define RESP_MAX (256u * 1024 * 1024)

/* The checks of the modifiers that need the session. NULL or a BAD text. */
static const char *modifiers_check(const struct imapd_session *s,
				   const struct imap_fetch_items *items)
{
	if (!items->vanished)
		return NULL;
	if (!s->cmd_uid)
		return "VANISHED only with UID FETCH";
	if ((s->enabled & IMAPD_ENABLED_QRESYNC) == 0)
		return "QRESYNC not enabled";
	if (!items->has_changedsince)
		return "VANISHED needs CHANGEDSINCE";
	return NULL;
}

/* RFC 7162 3.1: MODSEQ and CHANGEDSINCE enable CONDSTORE; the first time,
 * the client hears the mailbox's HIGHESTMODSEQ (as Dovecot). */
static void condstore_enable(struct imapd_session *s,
			     const struct imap_fetch_items *items)
{
	if ((items->mask & IMAP_FETCH_BIT(IMAP_FETCH_MODSEQ)) == 0 &&
	    !items->has_changedsince)
		return;
	if ((s->enabled & IMAPD_ENABLED_CONDSTORE) != 0)
		return;
	s->enabled |= IMAPD_ENABLED_CONDSTORE;
	imapd_untagged(s, "OK [HIGHESTMODSEQ %llu] Highest",
		       (unsigned long long)s->sel->highest_modseq);
}

static bool uid_in(const uint32_t *uids, size_t n, uint32_t uid)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && uids[lo] == uid;
}

/* Keeps those of uids[0..*n) that the command's UID set names. "*" is
 * taken as the highest UID ever given, so that "1:*" also covers the
 * last messages if they were expunged (naming UIDs that do not exist is
 * allowed, RFC 7162 3.2.6). */
static void vanished_filter(struct imapd_session *s, const struct imap_arg *arg,
			    uint32_t *uids, size_t *n)
{
	struct imap_seqset set, res;
	const char *error, *str;
	uint32_t star = s->sel->uidnext > 0 ? s->sel->uidnext - 1 : 0;
	size_t k = 0;

	if (!imap_arg_get_atom(arg, &str) ||
	    imap_seqset_parse(str, strlen(str), IMAPD_RANGES_MAX, &set,
			      &error) < 0) {
		*n = 0;		/* resolved before: cannot happen */
		return;
	}
	if (s->sel->count > 0 && s->sel->msgs[s->sel->count - 1].uid > star)
		star = s->sel->msgs[s->sel->count - 1].uid;
	if (set.saved) {
		for (size_t i = 0; i < *n; i++)
			if (s->saved.valid &&
			    uid_in(s->saved.uids, s->saved.count, uids[i]))
				uids[k++] = uids[i];
	} else if (imap_seqset_resolve(&set, star, &res) == 0) {
		for (size_t i = 0; i < *n; i++)
			if (imap_seqset_contains(&res, uids[i]))
				uids[k++] = uids[i];
		imap_seqset_deinit(&res);
	}
	imap_seqset_deinit(&set);
	*n = k;
}

/* "* VANISHED (EARLIER) uids" of the messages of the set expunged since
 * the CHANGEDSINCE MODSEQ. */
static void fetch_vanished(struct imapd_session *s, const struct imap_arg *arg,
			   uint64_t since)
{
	uint32_t *uids;
	size_t n;
	const char *error;

	if (mailstore_expunged_since(s->sel->box, since, &uids, &n,
				     &error) < 0) {
		log_warn("user=<%s>: %s: expunged since: %s", s->user,
			 s->sel->path, error);
		return;
	}
	vanished_filter(s, arg, uids, &n);
	if (n > 0)
		imapd_view_vanished(s, true, uids, n);
	free(uids);
}

/* CHANGEDSINCE: drops the messages whose MODSEQ is not above it. */
static void changedsince_filter(struct imapd_session *s, uint64_t since,
				uint32_t *msns, size_t *n)
{
	size_t k = 0;

	for (size_t i = 0; i < *n; i++) {
		long idx = imapd_view_index(s, msns[i]);

		if (idx < 0 ||
		    mailstore_msg(s->sel->box, (size_t)idx)->modseq > since)
			msns[k++] = msns[i];
	}
	*n = k;
}

/* Sets \Seen on the messages that lack it (not in EXAMINE). Their numbers
 * (ascending) go to *seen_r, their count to *seen_n. 0, or -1 with
 * *error_r. */
static int seen_set(struct imapd_session *s, const uint32_t *msns, size_t n,
		    uint32_t **seen_r, size_t *seen_n, const char **error_r)
{
	uint32_t *seen = xcalloc(n + 1, sizeof(*seen));
	size_t k = 0;

	for (size_t i = 0; i < n && !s->sel->readonly; i++) {
		long idx = imapd_view_index(s, msns[i]);

		if (idx >= 0 && (mailstore_msg(s->sel->box, (size_t)idx)->flags &
				 MAILSTORE_FLAG_SEEN) == 0)
			seen[k++] = msns[i];
	}
	*seen_r = seen;
	*seen_n = k;
	return k > 0 ? imapd_store_add_seen(s, seen, k, error_r) : 0;
}

/* What the items need of each message. */
static void ctx_plan(struct imapd_fetch_ctx *ctx)
{
	const struct imap_fetch_items *items = &ctx->items;

	ctx->add_uid = ctx->s->cmd_uid;
	for (size_t i = 0; i < items->count; i++)
		ctx->need |= imapd_fetch_body_need(&items->items[i]);
}

enum fetch_outcome { OUTCOME_OK, OUTCOME_EXPUNGED, OUTCOME_ERROR,
		     OUTCOME_CTE };

/* The responses, in message order. */
static enum fetch_outcome fetch_all(struct imapd_fetch_ctx *ctx,
				    const uint32_t *msns, size_t n,
				    const uint32_t *seen, size_t seen_n)
{
	struct imapd_session *s = ctx->s;
	enum fetch_outcome outcome = OUTCOME_OK;
	size_t j = 0;

	for (size_t i = 0; i < n && !s->closing; i++) {
		long idx = imapd_view_index(s, msns[i]);
		enum imapd_fetch_result r = IMAPD_FETCH_GONE;
		bool seen_now;

		while (j < seen_n && seen[j] < msns[i])
			j++;
		seen_now = j < seen_n && seen[j] == msns[i];
		if (idx >= 0)
			r = imapd_fetch_msg_write(ctx, msns[i], (size_t)idx,
						  seen_now);
		if (r == IMAPD_FETCH_UNKNOWN_CTE)
			return OUTCOME_CTE;
		if (r == IMAPD_FETCH_GONE && outcome == OUTCOME_OK)
			outcome = OUTCOME_EXPUNGED;
		if (r == IMAPD_FETCH_ERROR)
			outcome = OUTCOME_ERROR;
		/* The client is gone: no point in going on. */
		if (stream_error(s->stream) != 0)
			break;
	}
	return outcome;
}

static void fetch_reply(struct imapd_session *s, enum fetch_outcome outcome)
{
	switch (outcome) {
	case OUTCOME_CTE:
		imapd_no(s, "[UNKNOWN-CTE] Unknown Content-Transfer-Encoding.");
		break;
	case OUTCOME_ERROR:
		imapd_no(s, "[SERVERBUG] Internal error occurred. Refer to "
			 "server log for more information.");
		break;
	case OUTCOME_EXPUNGED:
		imapd_no(s, "[EXPUNGEISSUED] Some of the requested messages "
			 "no longer exist.");
		break;
	default:
		imapd_ok(s, "Fetch completed.");
	}
}

/* Parses and checks; 0, or -1 after a BAD reply. */
static int fetch_prepare(struct imapd_session *s, const struct imap_arg *args,
			 struct imapd_fetch_ctx *ctx, uint32_t **msns_r,
			 size_t *n_r)
{
	const char *error;

	if (args == NULL) {
		imapd_bad(s, "Missing sequence set.");
		return -1;
	}
	if (imap_fetch_items_parse(args->next, IMAP_FETCH_ITEMS_MAX,
				   IMAPD_FIELDS_MAX, &ctx->items,
				   &error) < 0 ||
	    (error = modifiers_check(s, &ctx->items)) != NULL) {
		imapd_bad(s, "%s.", error);
		return -1;
	}
	if (imapd_view_resolve(s, args, s->cmd_uid, msns_r, n_r, &error) < 0) {
		imapd_bad(s, "%s.", error);
		return -1;
	}
	return 0;
}

void imapd_cmd_fetch(struct imapd_session *s, const struct imap_arg *args)
{
	struct imapd_fetch_ctx ctx;
	uint32_t *msns = NULL, *seen = NULL;
	size_t n = 0, seen_n = 0;
	uint64_t out_before = s->stats.out_bytes;
	const char *error;
	enum fetch_outcome outcome;
	bool seen_failed = false;

	memset(&ctx, 0, sizeof(ctx));
	ctx.s = s;
	if (fetch_prepare(s, args, &ctx, &msns, &n) < 0) {
		imap_fetch_items_deinit(&ctx.items);
		return;
	}
	s->stats.fetch_count++;
	condstore_enable(s, &ctx.items);
	if (ctx.items.vanished)
		fetch_vanished(s, args, ctx.items.changedsince);
	if (ctx.items.has_changedsince)
		changedsince_filter(s, ctx.items.changedsince, msns, &n);
	if (ctx.items.sets_seen &&
	    seen_set(s, msns, n, &seen, &seen_n, &error) < 0) {
		log_error("user=<%s>: %s: fetch: setting \\Seen: %s", s->user,
			  s->sel->path, error);
		free(seen);
		seen = NULL;
		seen_n = 0;
		seen_failed = true;
	}
	ctx_plan(&ctx);
	buf_init(&ctx.resp, RESP_MAX);
	buf_init(&ctx.tmp, 64);
	ctx.block = xmalloc(2 * IMAPD_FETCH_BLOCK);
	buf_init(&ctx.env, RESP_MAX);
	outcome = fetch_all(&ctx, msns, n, seen, seen_n);
	if (seen_failed && outcome != OUTCOME_CTE)
		outcome = OUTCOME_ERROR;
	imapd_msg_release(s);
	buf_deinit(&ctx.resp);
	buf_deinit(&ctx.tmp);
	free(ctx.block);
	buf_deinit(&ctx.env);
	imap_fetch_items_deinit(&ctx.items);
	free(msns);
	free(seen);
	s->stats.fetch_bytes += s->stats.out_bytes - out_before;
	fetch_reply(s, outcome);
}
