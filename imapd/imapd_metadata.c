/* imapd_metadata: GETMETADATA and SETMETADATA (RFC 5464) for server
 * entries (mailbox "") and mailbox entries, /private and /shared alike
 * (one user owns the store, so both are kept; NOPRIVATE never applies).
 *
 * Storage: a mailbox's entries are in IMAPD_METADATA_FILE in its folder
 * directory, so they move with RENAME and go with DELETE (RFC 5464 4.1);
 * INBOX's directory is the Maildir root, so the server's entries have a
 * file of their own there. Files are rewritten whole under a dotlock
 * (lib/imap_metadata has the format), so two sessions setting entries at
 * once both keep their changes.
 *
 * Limits: imapd_metadata_size_limit bounds the octets (names and values)
 * of one mailbox or of the server: a value larger than the whole budget
 * gets [METADATA MAXSIZE n], a change that does not fit with what is
 * there already gets [METADATA TOOMANY]; so does an entry beyond
 * IMAP_METADATA_COUNT_MAX. A SETMETADATA that fails changes nothing.
 *
 * Where RFC 5464 leaves it open we follow Dovecot: an entry asked for
 * with DEPTH 0 that does not exist is returned as NIL; "/shared/admin"
 * of the server is read-only. Unlike Dovecot, values are binary-safe (a
 * value holding NUL is sent as a literal8) and DEPTH 1 works. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "imap_metadata.h"
#include "imap_string.h"
#include "imapd.h"
#include "imapd_mbox.h"
#include "log.h"
#include "mem.h"
#include "str.h"

/* Entries in one GETMETADATA or SETMETADATA. */
#define METADATA_ARGS_MAX 1000

/* The annotations of one mailbox or of the server. */
struct md_target {
	char *name;		/* UTF-8 IMAP name; "" for the server */
	char *file;		/* the metadata file */
};

static void target_free(struct md_target *t)
{
	xfree(&t->name);
	xfree(&t->file);
}

static char *path_join(const char *dir, const char *file)
{
	size_t d = strlen(dir), f = strlen(file);
	char *p = xmalloc(d + f + 2);

	memcpy(p, dir, d);
	p[d] = '/';
	memcpy(p + d + 1, file, f + 1);
	return p;
}

/* The mailbox argument: 0, or -1 after the NO reply. */
static int target_resolve(struct imapd_session *s, const struct imap_arg *arg,
			  struct md_target *t)
{
	char *folder, *path;
	const char *str, *error;
	size_t len;

	if (imap_arg_get_astring(arg, &str, &len) && len == 0) {
		t->name = xstrdup("");
		t->file = path_join(s->maildir, IMAPD_METADATA_SERVER_FILE);
		return 0;
	}
	if (imapd_name_resolve(s, arg, &t->name, &folder, &path, &error) < 0) {
		imapd_no(s, "[CANNOT] %s", error);
		return -1;
	}
	/* RFC 5464 3.3: only mailboxes that exist. */
	if (!imapd_folder_exists(path)) {
		imapd_no(s, "[NONEXISTENT] Mailbox doesn't exist.");
		free(folder);
		free(path);
		xfree(&t->name);
		return -1;
	}
	t->file = path_join(path, IMAPD_METADATA_FILE);
	free(folder);
	free(path);
	return 0;
}

static size_t file_max(const struct imapd_session *s)
{
	return (size_t)s->p->metadata_limit * 2 + IMAP_METADATA_COUNT_MAX * 48 +
	       64;
}

/* Reads the target's entries into md. 0, or -1 after a NO reply. */
static int md_load(struct imapd_session *s, const struct md_target *t,
		   struct imap_metadata *md)
{
	char *data;
	size_t len;
	const char *error;
	int ret = imapd_file_read(t->file, file_max(s), &data, &len, &error);

	if (ret > 0 && imap_metadata_parse(data, len, md, &error) < 0)
		ret = -1;
	free(data);
	if (ret < 0) {
		log_warn("user=%s: metadata %s: %s", s->user, t->file, error);
		imapd_no(s, "[SERVERBUG] Internal error, see the server log.");
		return -1;
	}
	return 0;
}

/* ---- GETMETADATA ---- */

struct get_req {
	uint64_t maxsize;	/* UINT64_MAX: none */
	int depth;
	char *entries[METADATA_ARGS_MAX];
	size_t count;
};

static void get_req_free(struct get_req *r)
{
	for (size_t i = 0; i < r->count; i++)
		free(r->entries[i]);
	r->count = 0;
}

static int get_option(struct get_req *r, const struct imap_arg **a)
{
	const char *name, *value;

	if (!imap_arg_get_atom(*a, &name) || (*a)->next == NULL ||
	    !imap_arg_get_atom((*a)->next, &value))
		return -1;
	*a = (*a)->next;
	if (strcasecmp(name, "MAXSIZE") == 0)
		return str_to_u64(value, &r->maxsize);
	if (strcasecmp(name, "DEPTH") != 0)
		return -1;
	if (strcmp(value, "0") == 0)
		r->depth = 0;
	else if (strcmp(value, "1") == 0)
		r->depth = 1;
	else if (strcasecmp(value, "infinity") == 0)
		r->depth = IMAP_METADATA_DEPTH_INFINITY;
	else
		return -1;
	return 0;
}

static int get_entry(struct get_req *r, const struct imap_arg *a,
		     const char **error_r)
{
	const char *str;
	size_t len;
	struct buf name;

	if (!imap_arg_get_astring(a, &str, &len)) {
		*error_r = "Invalid entry name.";
		return -1;
	}
	if (r->count == METADATA_ARGS_MAX) {
		*error_r = "Too many entries.";
		return -1;
	}
	buf_init(&name, IMAP_METADATA_ENTRY_MAX + 1);
	int ret = imap_metadata_entry_check(str, len, &name, error_r);
	if (ret == 0)
		r->entries[r->count++] = xstrdup(name.data);
	buf_deinit(&name);
	return ret;
}

/* [options] mailbox entries: returns the mailbox argument, or NULL after
 * a BAD reply. */
static const struct imap_arg *get_parse(struct imapd_session *s,
					const struct imap_arg *a,
					struct get_req *r)
{
	const struct imap_arg *mailbox, *entries;
	const char *error = "Invalid GETMETADATA arguments.";

	if (a != NULL && a->type == IMAP_ARG_LIST) {
		for (const struct imap_arg *o = a->list; o != NULL; o = o->next)
			if (get_option(r, &o) < 0)
				goto bad;
		a = a->next;
	}
	mailbox = a;
	entries = mailbox != NULL ? mailbox->next : NULL;
	if (entries == NULL || entries->next != NULL)
		goto bad;
	if (entries->type != IMAP_ARG_LIST) {
		if (get_entry(r, entries, &error) < 0)
			goto bad;
		return mailbox;
	}
	if (entries->list_count == 0)
		goto bad;
	for (const struct imap_arg *e = entries->list; e != NULL; e = e->next)
		if (get_entry(r, e, &error) < 0)
			goto bad;
	return mailbox;
bad:
	imapd_bad(s, "%s", error);
	return NULL;
}

/* Appends "entry value" to out, or records a value over MAXSIZE. */
static int get_put(struct imapd_session *s, const struct get_req *r,
		   const char *name, const struct imap_metadata_entry *e,
		   struct buf *out, uint64_t *longest)
{
	if (e != NULL && e->value_len > r->maxsize) {
		if (e->value_len > *longest)
			*longest = e->value_len;
		return 0;
	}
	if (out->len > 0 && buf_append_char(out, ' ') < 0)
		return -1;
	if (imap_string_append(out, name, strlen(name),
			       imapd_string_flags(s)) < 0 ||
	    buf_append_char(out, ' ') < 0)
		return -1;
	if (e == NULL)
		return buf_append_str(out, "NIL");
	if (memchr(e->value, '\0', e->value_len) != NULL)
		return buf_printf(out, "~{%zu}\r\n", e->value_len) < 0 ? -1 :
			buf_append(out, e->value, e->value_len);
	return imap_string_append(out, e->value, e->value_len,
				  imapd_string_flags(s));
}

/* The entries of one request, each at most once, into out. */
static int get_collect(struct imapd_session *s, const struct get_req *r,
		       const struct imap_metadata *md, struct buf *out,
		       uint64_t *longest)
{
	bool *sent = xcalloc(md->count + 1, sizeof(*sent));
	int ret = 0;

	for (size_t i = 0; i < r->count && ret == 0; i++) {
		long k = imap_metadata_find(md, r->entries[i]);
		size_t first, end;

		if (k >= 0 && !sent[k]) {
			sent[k] = true;
			ret = get_put(s, r, r->entries[i], &md->entries[k], out,
				      longest);
		} else if (k < 0 && r->depth == 0) {
			ret = get_put(s, r, r->entries[i], NULL, out, longest);
		}
		if (r->depth == 0)
			continue;
		imap_metadata_descendants(md, r->entries[i], &first, &end);
		for (size_t j = first; j < end && ret == 0; j++) {
			const struct imap_metadata_entry *e = &md->entries[j];
			if (sent[j] || !imap_metadata_in_scope(r->entries[i],
							       e->name,
							       r->depth))
				continue;
			sent[j] = true;
			ret = get_put(s, r, e->name, e, out, longest);
		}
	}
	free(sent);
	return ret;
}

static void get_reply(struct imapd_session *s, const struct md_target *t,
		      const struct get_req *r, const struct imap_metadata *md)
{
	struct buf items, head;
	uint64_t longest = 0;

	buf_init(&items, md->octets * 2 + (md->count + r->count) * 64 + 64);
	buf_init(&head, IMAPD_MAILBOX_NAME_MAX * 4 + 64);
	if (get_collect(s, r, md, &items, &longest) < 0 ||
	    buf_append_str(&head, "* METADATA ") < 0 ||
	    (t->name[0] == '\0' ? buf_append_str(&head, "\"\"") :
	     imapd_name_write(s, &head, t->name)) < 0) {
		imapd_no(s, "[SERVERBUG] Response too large.");
	} else {
		if (items.len > 0) {
			imapd_write(s, head.data, head.len);
			imapd_write_str(s, " (");
			imapd_write(s, items.data, items.len);
			imapd_write_str(s, ")\r\n");
		}
		if (longest > 0)
			imapd_ok(s, "[METADATA LONGENTRIES %llu] Getmetadata "
				 "completed.", (unsigned long long)longest);
		else
			imapd_ok(s, "Getmetadata completed.");
	}
	buf_deinit(&items);
	buf_deinit(&head);
}

void imapd_cmd_getmetadata(struct imapd_session *s,
			   const struct imap_arg *args)
{
	struct get_req r = { .maxsize = UINT64_MAX, .depth = 0 };
	struct md_target t = { 0 };
	struct imap_metadata md;
	const struct imap_arg *mailbox = get_parse(s, args, &r);

	imap_metadata_init(&md);
	if (mailbox != NULL && target_resolve(s, mailbox, &t) == 0 &&
	    md_load(s, &t, &md) == 0)
		get_reply(s, &t, &r, &md);
	imap_metadata_deinit(&md);
	target_free(&t);
	get_req_free(&r);
}

/* ---- SETMETADATA ---- */

struct set_item {
	char *entry;
	const char *value;	/* NULL: remove */
	size_t len;
};

struct set_req {
	struct set_item items[METADATA_ARGS_MAX];
	size_t count;
};

static void set_req_free(struct set_req *r)
{
	for (size_t i = 0; i < r->count; i++)
		free(r->items[i].entry);
	r->count = 0;
}

static int set_value(const struct imap_arg *a, struct set_item *it)
{
	if (a->type == IMAP_ARG_LITERAL8) {
		it->value = a->str;
		it->len = a->len;
		return 0;
	}
	return imap_arg_get_nstring(a, &it->value, &it->len) ? 0 : -1;
}

/* "(entry value ...)": 0, or -1 after a BAD reply. */
static int set_parse(struct imapd_session *s, const struct imap_arg *list,
		     struct set_req *r)
{
	const char *error = "Invalid SETMETADATA arguments.", *str;
	struct buf name;
	size_t len;
	int ret = 0;

	if (list == NULL || list->type != IMAP_ARG_LIST ||
	    list->list_count == 0 || list->list_count % 2 != 0 ||
	    list->list_count / 2 > METADATA_ARGS_MAX || list->next != NULL) {
		imapd_bad(s, "%s", error);
		return -1;
	}
	buf_init(&name, IMAP_METADATA_ENTRY_MAX + 1);
	for (const struct imap_arg *a = list->list; a != NULL && ret == 0;
	     a = a->next->next) {
		struct set_item *it = &r->items[r->count];
		buf_reset(&name);
		if (!imap_arg_get_astring(a, &str, &len) ||
		    imap_metadata_entry_check(str, len, &name, &error) < 0 ||
		    set_value(a->next, it) < 0) {
			ret = -1;
		} else if (imap_metadata_entry_is_root(name.data)) {
			error = "Entry name must be below /private or /shared.";
			ret = -1;
		} else {
			it->entry = xstrdup(name.data);
			r->count++;
		}
	}
	buf_deinit(&name);
	if (ret < 0)
		imapd_bad(s, "%s", error);
	return ret;
}

/* Applies the request to md and checks the limits: 0, or -1 after a NO
 * reply. */
static int set_apply(struct imapd_session *s, const struct md_target *t,
		     const struct set_req *r, struct imap_metadata *md)
{
	uint64_t limit = s->p->metadata_limit;

	for (size_t i = 0; i < r->count; i++) {
		const struct set_item *it = &r->items[i];
		if (t->name[0] == '\0' &&
		    strcmp(it->entry, "/shared/admin") == 0) {
			imapd_no(s, "[CANNOT] /shared/admin is read-only.");
			return -1;
		}
		if (it->value != NULL && strlen(it->entry) + it->len > limit) {
			imapd_no(s, "[METADATA MAXSIZE %llu] Value too large.",
				 (unsigned long long)(limit > strlen(it->entry) ?
				 limit - strlen(it->entry) : 0));
			return -1;
		}
		imap_metadata_set(md, it->entry, it->value, it->len);
	}
	if (md->octets > limit || md->count > IMAP_METADATA_COUNT_MAX) {
		imapd_no(s, "[METADATA TOOMANY] Too many annotations.");
		return -1;
	}
	return 0;
}

static void set_run(struct imapd_session *s, const struct md_target *t,
		    const struct set_req *r)
{
	struct imapd_locked_file f = { .fd = -1 };
	struct imap_metadata md;
	struct buf out;
	const char *error;

	imap_metadata_init(&md);
	buf_init(&out, file_max(s));
	if (imapd_file_lock(&f, t->file, &error) < 0) {
		log_warn("user=%s: metadata %s: %s", s->user, t->file, error);
		imapd_no(s, "[INUSE] Annotations are being changed by another "
			 "session, try again.");
	} else if (md_load(s, t, &md) == 0 && set_apply(s, t, r, &md) == 0) {
		if (imap_metadata_format(&md, &out) < 0 ||
		    imapd_file_commit(&f, out.data, out.len, &error) < 0) {
			log_warn("user=%s: metadata %s: %s", s->user, t->file,
				 out.len == 0 ? "too large" : error);
			imapd_no(s, "[SERVERBUG] Internal error, see the "
				 "server log.");
		} else {
			imapd_ok(s, "Setmetadata completed.");
		}
	}
	imapd_file_unlock(&f);
	buf_deinit(&out);
	imap_metadata_deinit(&md);
}

void imapd_cmd_setmetadata(struct imapd_session *s,
			   const struct imap_arg *args)
{
	struct set_req *r = xcalloc(1, sizeof(*r));
	struct md_target t = { 0 };

	if (args == NULL || set_parse(s, args->next, r) < 0) {
		if (args == NULL)
			imapd_bad(s, "Invalid SETMETADATA arguments.");
	} else if (target_resolve(s, args, &t) == 0) {
		set_run(s, &t, r);
	}
	target_free(&t);
	set_req_free(r);
	free(r);
}
