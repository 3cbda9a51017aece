/* authd_fields: turns a user table entry's home field and Dovecot-style
 * extra fields into what the reply carries: home=, mail= (the Maildir)
 * and quota= (bytes). Only the few fields surel honours are read; the
 * rest are ignored, so a Dovecot passwd-file can be used unchanged. */
#include "config.h"
#include <string.h>
#include <strings.h>
#include "authd.h"
#include "buf.h"
#include "str.h"

#define FIELDS_EXTRA_MAX PASSWD_FILE_MAX_LINE

int authd_fields_size(const char *s, uint64_t *bytes_r)
{
	static const char units[] = "bkmgt";
	char digits[32];
	size_t n = strspn(s, "0123456789");
	uint64_t v, mult = 1;

	if (n == 0 || n >= sizeof(digits))
		return -1;
	memcpy(digits, s, n);
	digits[n] = '\0';
	if (str_to_u64(digits, &v) < 0)
		return -1;
	if (s[n] != '\0') {
		const char *u = strchr(units, s[n] | 0x20);
		const char *end = s + n + 1;

		/* "1G" and "1GB" alike */
		if (u != NULL && u != units && (*end | 0x20) == 'b')
			end++;
		if (u == NULL || *end != '\0')
			return -1;
		for (const char *p = units; p < u; p++)
			mult *= 1024;
	}
	if (__builtin_mul_overflow(v, mult, bytes_r))
		return -1;
	return 0;
}

/* Expands %u (user), %n (local part), %d (domain), %% and a leading
 * "~/" (the home) of src into out. */
static int fields_expand(const char *src, const char *user, const char *home,
			 char *out, size_t outsize, const char **error_r)
{
	const char *at = strchr(user, '@');
	size_t nlen = at != NULL ? (size_t)(at - user) : strlen(user);
	struct buf b;
	int ret = 0;

	buf_init(&b, outsize - 1);
	if (src[0] == '~' && (src[1] == '/' || src[1] == '\0')) {
		if (home[0] == '\0') {
			*error_r = "~ in a path, but no home";
			buf_deinit(&b);
			return -1;
		}
		ret = buf_append_str(&b, home);
		src++;
	}
	for (; *src != '\0' && ret == 0; src++) {
		if (*src != '%') {
			ret = buf_append_char(&b, *src);
			continue;
		}
		switch (*++src) {
		case 'u': ret = buf_append_str(&b, user); break;
		case 'n': ret = buf_append(&b, user, nlen); break;
		case 'd': ret = buf_append_str(&b, at != NULL ? at + 1 : "");
			  break;
		case '%': ret = buf_append_char(&b, '%'); break;
		default:
			*error_r = "unknown %variable in a path";
			buf_deinit(&b);
			return -1;
		}
	}
	if (ret < 0 || str_copy(out, outsize, buf_cstr(&b)) < 0) {
		*error_r = "path too long";
		ret = -1;
	}
	buf_deinit(&b);
	return ret;
}

static int fields_path(const char *src, const struct authd_user *u,
		       char *out, size_t outsize, const char **error_r)
{
	if (fields_expand(src, u->name, u->home, out, outsize, error_r) < 0)
		return -1;
	if (out[0] != '/') {
		*error_r = "path is not absolute";
		return -1;
	}
	return 0;
}

/* mail=maildir:PATH[:OPTIONS] or a bare PATH. */
static int fields_mail(char *value, struct authd_user *u,
		       const char **error_r)
{
	char *path = value;

	if (strncasecmp(value, "maildir:", 8) == 0)
		path = value + 8;
	else if (value[0] != '/' && value[0] != '~') {
		*error_r = "mail location is not maildir:";
		return -1;
	}
	path[strcspn(path, ":")] = '\0';	/* Dovecot's :INDEX=... */
	return fields_path(path, u, u->mail, sizeof(u->mail), error_r);
}

/* quota_rule=*:storage=SIZE (or Dovecot 1's *:bytes=SIZE); rules for a
 * single folder ("Trash:storage=+10M") are not ours to enforce. */
static int fields_quota(const char *value, struct authd_user *u,
			const char **error_r)
{
	const char *size;

	if (strncmp(value, "*:", 2) != 0)
		return 0;
	if (strncmp(value + 2, "storage=", 8) == 0)
		size = value + 10;
	else if (strncmp(value + 2, "bytes=", 6) == 0)
		size = value + 8;
	else
		return 0;
	if (authd_fields_size(size, &u->quota) < 0) {
		*error_r = "bad quota size";
		return -1;
	}
	return 0;
}

static int fields_extra(char *field, struct authd_user *u,
			const char **error_r)
{
	char *eq = strchr(field, '=');
	const char *name = field;

	if (eq == NULL)
		return 0;
	*eq = '\0';
	if (strncmp(name, "userdb_", 7) == 0)
		name += 7;
	if (strcmp(name, "mail") == 0)
		return fields_mail(eq + 1, u, error_r);
	if (strcmp(name, "quota_rule") == 0)
		return fields_quota(eq + 1, u, error_r);
	return 0;
}

int authd_fields_apply(const struct passwd_file_entry *e,
		       struct authd_user *out, const char **error_r)
{
	char extra[FIELDS_EXTRA_MAX + 1], *p = extra, *field;

	out->home[0] = out->mail[0] = '\0';
	out->quota = 0;
	if (e->home[0] != '\0' &&
	    fields_path(e->home, out, out->home, sizeof(out->home),
			error_r) < 0)
		return -1;
	if (str_copy(extra, sizeof(extra), e->extra) < 0) {
		*error_r = "extra fields too long";
		return -1;
	}
	while ((field = str_next_token(&p, " \t")) != NULL)
		if (fields_extra(field, out, error_r) < 0)
			return -1;
	return 0;
}
