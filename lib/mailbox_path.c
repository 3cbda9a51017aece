/* mailbox_path: a user's Maildir from virtual_mailbox_maps and
 * virtual_mailbox_base. Whatever the map says must stay below the base:
 * the map is configuration, but a typo in it must not make delivery (or
 * a mail access daemon) write or read anywhere else. */
#include "config.h"
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
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
