/* imapd_names: IMAP mailbox names as clients send and see them, mapped
 * to the user's Maildir++ folders. A rev1 client speaks modified UTF-7,
 * one that enabled UTF8=ACCEPT or IMAP4rev2 speaks UTF-8 (RFC 6855, RFC
 * 9051 5.1); inside, every name is UTF-8, and lib/imap_mailbox does the
 * strict codec and the safe mapping to folders on disk. */
#include "config.h"
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include "imap_mailbox.h"
#include "imap_string.h"
#include "imapd.h"
#include "imapd_mbox.h"
#include "mem.h"

/* A decoded name is at most this long (UTF-8 of a mUTF-7 name is never
 * longer than the name itself plus a third). */
#define NAME_BUF_MAX (IMAPD_MAILBOX_NAME_MAX * 2)

static bool utf8_names(const struct imapd_session *s)
{
	return (s->enabled & (IMAPD_ENABLED_UTF8 | IMAPD_ENABLED_REV2)) != 0;
}

/* "Invalid mailbox name: <detail>" (static). */
static const char *name_error(const char *detail)
{
	static struct buf err;

	return buf_error_set(&err, 512, "Invalid mailbox name",
			     "Invalid mailbox name: %s", detail);
}

int imapd_name_decode(const struct imapd_session *s, const char *str,
		      size_t len, struct buf *out, const char **error_r)
{
	const char *error;

	if (memchr(str, '\0', len) != NULL) {
		*error_r = "Invalid mailbox name: contains NUL";
		return -1;
	}
	if (utf8_names(s)) {
		if (!imap_mailbox_utf8_valid(str, len)) {
			*error_r = "Invalid mailbox name: not valid UTF-8";
			return -1;
		}
		if (buf_append(out, str, len) < 0) {
			*error_r = "Mailbox name too long";
			return -1;
		}
		return 0;
	}
	if (imap_mailbox_mutf7_decode(str, len, out, &error) < 0) {
		*error_r = name_error(error);
		return -1;
	}
	return 0;
}

/* "inbox" and "inbox/x" (any case) name INBOX: spelled "INBOX". */
static void normalize_inbox(struct buf *name, char sep)
{
	if (name->len >= 5 && strncasecmp(name->data, "INBOX", 5) == 0 &&
	    (name->len == 5 || name->data[5] == sep))
		memcpy(name->data, "INBOX", 5);
}

int imapd_name_resolve_str(struct imapd_session *s, const char *str,
			   size_t len, char **name_r, char **folder_r,
			   char **path_r, const char **error_r)
{
	struct buf name, folder;
	char path[PATH_MAX];
	const char *error;
	int ret = -1;

	if (len > IMAPD_MAILBOX_NAME_MAX) {
		*error_r = "Mailbox name too long";
		return -1;
	}
	buf_init(&name, NAME_BUF_MAX);
	buf_init(&folder, MAILSTORE_FOLDER_MAX + 1);
	if (imapd_name_decode(s, str, len, &name, error_r) < 0)
		goto out;
	normalize_inbox(&name, s->p->separator);
	if (imap_mailbox_to_folder(name.data, name.len, s->p->separator,
				   &folder, &error) < 0) {
		*error_r = name_error(error);
		goto out;
	}
	if (mailstore_folder_path(s->maildir, folder.data, path, sizeof(path),
				  &error) < 0) {
		*error_r = name_error(error);
		goto out;
	}
	*name_r = xstrdup(name.data);
	*folder_r = xstrdup(folder.data);
	*path_r = xstrdup(path);
	ret = 0;
out:
	buf_deinit(&name);
	buf_deinit(&folder);
	return ret;
}

int imapd_name_resolve(struct imapd_session *s, const struct imap_arg *arg,
		       char **name_r, char **folder_r, char **path_r,
		       const char **error_r)
{
	const char *str;
	size_t len;

	if (!imap_arg_get_astring(arg, &str, &len)) {
		*error_r = "Invalid mailbox name: not a string";
		return -1;
	}
	return imapd_name_resolve_str(s, str, len, name_r, folder_r, path_r,
				      error_r);
}

int imapd_name_write(const struct imapd_session *s, struct buf *out,
		     const char *name)
{
	struct buf wire;
	const char *error;
	int ret;

	if (utf8_names(s))
		return imap_string_append(out, name, strlen(name),
					  imapd_string_flags(s));
	buf_init(&wire, NAME_BUF_MAX * 2);
	ret = imap_mailbox_mutf7_encode(name, strlen(name), &wire, &error);
	if (ret == 0)
		ret = imap_string_append(out, wire.data, wire.len, 0);
	buf_deinit(&wire);
	return ret;
}

int imapd_name_from_folder(const struct imapd_session *s, const char *folder,
			   struct buf *out)
{
	const char *error;

	if (strcmp(folder, "INBOX") == 0)
		return buf_append_str(out, "INBOX");
	return imap_mailbox_from_folder(folder, s->p->separator, out, &error);
}

static bool is_list_sep(char c)
{
	return c == ',' || c == ' ' || c == '\t' || c == '\n';
}

bool imapd_special_use_next(const char **cursor, struct buf *name,
			    struct buf *attr)
{
	const char *p = *cursor;

	while (p != NULL && *p != '\0') {
		while (is_list_sep(*p))
			p++;
		const char *word = p;
		while (*p != '\0' && !is_list_sep(*p))
			p++;
		const char *eq = memchr(word, '=', (size_t)(p - word));
		if (eq == NULL || eq == word || eq + 2 >= p || eq[1] != '\\')
			continue;
		buf_reset(name);
		buf_reset(attr);
		if (buf_append(name, word, (size_t)(eq - word)) < 0 ||
		    buf_append(attr, eq + 1, (size_t)(p - eq - 1)) < 0)
			continue;
		*cursor = p;
		return true;
	}
	*cursor = p;
	return false;
}

const char *imapd_special_use_of(const struct imapd_session *s,
				 const char *name)
{
	/* The attributes RFC 6154 defines: returned as these constants so
	 * that the pointer outlives the parsing below. */
	static const char *const known[] = {
		"\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk",
		"\\Sent", "\\Trash", "\\Important",
	};
	const char *cursor = s->p->special_use;
	const char *found = NULL;
	struct buf n, a;

	buf_init(&n, IMAPD_MAILBOX_NAME_MAX + 1);
	buf_init(&a, 64);
	while (found == NULL && imapd_special_use_next(&cursor, &n, &a)) {
		if (strcmp(n.data, name) != 0)
			continue;
		for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (strcasecmp(known[i], a.data) == 0)
				found = known[i];
	}
	buf_deinit(&n);
	buf_deinit(&a);
	return found;
}

bool imapd_folder_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}
