/* imapd_thread: THREAD and UID THREAD (RFC 5256) with the REFERENCES and
 * ORDEREDSUBJECT algorithms of lib/imap_thread.
 *
 *   THREAD algorithm charset search-key...
 *
 * The messages the search program matches are threaded; each gives its
 * Message-ID, References, In-Reply-To, base subject and sent date (the
 * INTERNALDATE when it has no readable Date:), from the header cache of
 * imapd_msgdata. Those are copied (the header is only valid until the
 * next message is loaded): only the last REFS_KEEP octets of a References
 * field are kept, which bounds the memory a mailbox of huge References
 * fields can take; the IDs nearest the message, the ones that decide
 * its place, are at the end. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "imap_casemap.h"
#include "imap_sort.h"
#include "imap_thread.h"
#include "imapd_search.h"
#include "mem.h"
#include "mime.h"

#define REFS_KEEP (64 * 1024)

/* Copies a field's value (its last keep octets, started at an ID) into
 * the arena; *off_r and *len_r get where it went (0 and 0 when absent). */
static int copy_field(const char *hdr, size_t len, const char *name,
		      size_t keep, struct buf *arena, size_t *off_r,
		      size_t *len_r)
{
	struct mime_field f;
	const char *v;
	size_t vlen;

	*off_r = *len_r = 0;
	if (mime_header_find(hdr, len, name, &f) != 1)
		return 0;
	v = f.value;
	vlen = f.value_len;
	if (vlen > keep) {
		const char *lt = memchr(v + vlen - keep, '<', keep);

		vlen = lt == NULL ? 0 : (size_t)(v + vlen - lt);
		v = lt;
	}
	*off_r = arena->len;
	*len_r = vlen;
	return buf_append(arena, v, vlen);
}

/* A message's fields as offsets into the arena (made pointers later). */
struct thread_fields {
	size_t id_off, id_len, refs_off, refs_len, irt_off, irt_len;
	size_t subj_off, subj_len;
};

/* Reads message msn into *m and *f. 1, 0 gone, -1 error. */
static int thread_values(struct imapd_session *s, uint32_t msn,
			 struct imap_thread_msg *m, struct thread_fields *f,
			 struct buf *arena, struct buf *subj)
{
	long idx = imapd_view_index(s, msn);
	const char *hdr, *v = NULL;
	size_t hlen, vlen = 0;
	struct mime_field fld;
	int r;

	if (idx < 0)
		return 0;
	if ((r = imapd_msg_header(s, msn, &hdr, &hlen)) <= 0)
		return r;
	memset(m, 0, sizeof(*m));
	m->id = s->cmd_uid ? s->sel->msgs[msn - 1].uid : msn;
	m->date = imapd_sort_sent_date(hdr, hlen,
				       mailstore_msg(s->sel->box,
						     (size_t)idx)->mtime);
	if (mime_header_find(hdr, hlen, "Subject", &fld) == 1) {
		v = fld.value;
		vlen = fld.value_len;
	}
	buf_reset(subj);
	if (imap_sort_base_subject(v, vlen, subj, &m->reply) < 0 ||
	    copy_field(hdr, hlen, "Message-ID", REFS_KEEP, arena, &f->id_off,
		       &f->id_len) < 0 ||
	    copy_field(hdr, hlen, "References", REFS_KEEP, arena,
		       &f->refs_off, &f->refs_len) < 0 ||
	    copy_field(hdr, hlen, "In-Reply-To", REFS_KEEP, arena,
		       &f->irt_off, &f->irt_len) < 0)
		return -1;
	f->subj_off = arena->len;
	if (imap_casemap_fold(subj->data, subj->len, arena) < 0)
		return -1;
	f->subj_len = arena->len - f->subj_off;
	return 1;
}

static void fields_fix(struct imap_thread_msg *m,
		       const struct thread_fields *f, const char *base)
{
	m->message_id = f->id_len > 0 ? base + f->id_off : NULL;
	m->message_id_len = f->id_len;
	m->references = f->refs_len > 0 ? base + f->refs_off : NULL;
	m->references_len = f->refs_len;
	m->in_reply_to = f->irt_len > 0 ? base + f->irt_off : NULL;
	m->in_reply_to_len = f->irt_len;
	m->subject = base + f->subj_off;
	m->subject_len = f->subj_len;
}

/* Threads the matches and replies; -1 when a message could not be
 * read. */
static int thread_matches(struct imapd_session *s, enum imap_thread_alg alg,
			  const struct imapd_search_result *res)
{
	struct imap_thread_msg *msgs =
		xreallocarray(NULL, res->count + 1, sizeof(*msgs));
	struct thread_fields *fields =
		xreallocarray(NULL, res->count + 1, sizeof(*fields));
	struct buf arena, subj, out;
	size_t n = 0;
	int ret = 0;

	buf_init(&arena, (size_t)1 << 40);
	buf_init(&subj, (size_t)1 << 40);
	for (size_t i = 0; i < res->count && ret == 0; i++) {
		int r = thread_values(s, res->msns[i], &msgs[n], &fields[n],
				      &arena, &subj);

		if (r < 0)
			ret = -1;
		else if (r > 0)
			n++;
	}
	if (ret == 0) {
		for (size_t i = 0; i < n; i++)
			fields_fix(&msgs[i], &fields[i], arena.data);
		buf_init(&out, (size_t)1 << 40);
		/* "* THREAD" alone when nothing matched */
		const char *head = n > 0 ? "* THREAD " : "* THREAD";

		if (buf_append_str(&out, head) < 0 ||
		    imap_thread_write(alg, msgs, n, &out) < 0 ||
		    buf_append(&out, "\r\n", 2) < 0)
			ret = -1;
		else
			imapd_write(s, out.data, out.len);
		buf_deinit(&out);
	}
	buf_deinit(&subj);
	buf_deinit(&arena);
	free(fields);
	free(msgs);
	return ret;
}

static int thread_reply(struct imapd_session *s,
			const struct imapd_search_result *res, void *ctx)
{
	return thread_matches(s, *(const enum imap_thread_alg *)ctx, res);
}

void imapd_cmd_thread(struct imapd_session *s, const struct imap_arg *args)
{
	enum imap_thread_alg alg;
	const char *name;

	if (!imap_arg_get_atom(args, &name) ||
	    imap_thread_alg_parse(name, &alg) == 0) {
		imapd_bad(s, "Unknown thread algorithm");
		return;
	}
	imapd_search_reply_matches(s, args->next, thread_reply, &alg,
				   "Thread completed.");
}
