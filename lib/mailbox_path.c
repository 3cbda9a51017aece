/* mailbox_path: a user's Maildir from virtual_mailbox_maps and
 * virtual_mailbox_base. Whatever the map says must stay below the base:
 * the map is configuration, but a typo in it must not make delivery (or
 * a mail access daemon) write or read anywhere else. */
#include "config.h"
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "str.h"
#include "mailbox_path.h"

/* Long enough for a map value quoted in a message, bounded for a log. */
static char mailbox_path_errbuf[512];

static int mailbox_path_fail(const char **dsn_r, const char *dsn,
			     const char **error_r, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int mailbox_path_fail(const char **dsn_r, const char *dsn,
			     const char **error_r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(mailbox_path_errbuf, sizeof(mailbox_path_errbuf), fmt, ap);
	va_end(ap);
	*dsn_r = dsn;
	*error_r = mailbox_path_errbuf;
	return -1;
}

/* Relative, not empty, and no ".." component. */
static bool mailbox_path_ok(const char *path)
{
	if (path[0] == '/' || path[0] == '\0')
		return false;
	for (const char *p = path; *p != '\0';) {
		size_t len = strcspn(p, "/");
		if (len == 2 && p[0] == '.' && p[1] == '.')
			return false;
		p += len;
		p += *p == '/';
	}
	return true;
}

int mailbox_path_resolve(struct maps *maps, const char *base,
			 const char *delimiter, const char *address,
			 char *out, size_t outsize, const char **dsn_r,
			 const char **error_r)
{
	const char *value, *error;
	int ret = maps_lookup_addr(maps, address, delimiter, &value, &error);

	if (ret < 0)
		return mailbox_path_fail(dsn_r, "4.3.0", error_r,
					 "virtual_mailbox_maps lookup failure: "
					 "%s", error);
	if (ret == 0)
		return 0;
	if (base[0] != '/')
		return mailbox_path_fail(dsn_r, "4.3.5", error_r,
					 "configuration error: "
					 "virtual_mailbox_base must be an "
					 "absolute path");
	if (!mailbox_path_ok(value))
		return mailbox_path_fail(dsn_r, "4.3.5", error_r,
					 "configuration error: mailbox path "
					 "\"%.200s\" is empty, absolute or "
					 "contains \"..\"", value);
	size_t len = strlen(value);
	if (value[len - 1] != '/')
		return mailbox_path_fail(dsn_r, "4.3.5", error_r,
					 "configuration error: mailbox "
					 "\"%.200s\" is not a Maildir (no "
					 "trailing /): mbox delivery is not "
					 "supported", value);
	int n = snprintf(out, outsize, "%s/%.*s", base, (int)(len - 1), value);
	if (n < 0 || (size_t)n >= outsize) {
		if (outsize > 0)
			out[0] = '\0';
		return mailbox_path_fail(dsn_r, "4.3.5", error_r,
					 "configuration error: mailbox path "
					 "too long");
	}
	return 1;
}

bool mailbox_path_user_valid(const char *name, size_t max)
{
	if (name[0] == '\0' || strlen(name) > max)
		return false;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p < 32 || *p == 127)
			return false;
	return strchr(name, '/') == NULL && strstr(name, "..") == NULL;
}

int mailbox_path_user(struct maps *maps, const char *base,
		      const char *delimiter, const char *user,
		      const char *mail_dir, char *out, size_t outsize,
		      const char **error_r)
{
	const char *dsn;
	struct stat st;

	if (mail_dir != NULL && mail_dir[0] != '\0') {
		if (mail_dir[0] != '/') {
			*error_r = "authd's mail= is not an absolute path";
			return -1;
		}
		if (str_copy(out, outsize, mail_dir) < 0) {
			*error_r = "authd's mail= is too long";
			return -1;
		}
		return 0;
	}
	int ret = mailbox_path_resolve(maps, base, delimiter, user, out,
				       outsize, &dsn, error_r);
	if (ret == 0)
		*error_r = "not in virtual_mailbox_maps";
	if (ret <= 0)
		return -1;
	if (stat(base, &st) < 0 || !S_ISDIR(st.st_mode)) {
		*error_r = "virtual_mailbox_base is not a directory";
		return -1;
	}
	return 0;
}

/* A quota value: decimal digits with an optional k, m or g (K, M, G)
 * suffix, 1024-based, as virtual_mailbox_quota takes. 0 or -1. */
static int mailbox_path_parse_size(const char *s, uint64_t *bytes_r)
{
	static const char units[] = "kKmMgG";
	static const unsigned shifts[] = { 10, 10, 20, 20, 30, 30 };
	char digits[24];
	size_t n = strspn(s, "0123456789");
	unsigned shift = 0;
	uint64_t v;

	if (n == 0 || n >= sizeof(digits))
		return -1;
	if (s[n] != '\0') {
		const char *u = strchr(units, s[n]);
		if (u == NULL || s[n + 1] != '\0')
			return -1;
		shift = shifts[u - units];
	}
	memcpy(digits, s, n);
	digits[n] = '\0';
	if (str_to_u64(digits, &v) < 0 || v > ((uint64_t)INT64_MAX >> shift))
		return -1;
	*bytes_r = v << shift;
	return 0;
}

int mailbox_path_quota(struct maps *quota_maps, const char *delimiter,
		       const char *address, uint64_t default_bytes,
		       uint64_t *bytes_r, const char **dsn_r,
		       const char **error_r)
{
	const char *value, *error;
	int ret = maps_lookup_addr(quota_maps, address, delimiter, &value,
				   &error);

	if (ret < 0)
		return mailbox_path_fail(dsn_r, "4.3.0", error_r,
					 "virtual_mailbox_quota_maps lookup "
					 "failure: %s", error);
	if (ret == 0) {
		*bytes_r = default_bytes;
		return 0;
	}
	if (mailbox_path_parse_size(value, bytes_r) < 0)
		return mailbox_path_fail(dsn_r, "4.3.5", error_r,
					 "configuration error: "
					 "virtual_mailbox_quota_maps: "
					 "\"%.100s\" is not a size (like 500m, "
					 "or 0 for none)", value);
	return 0;
}
