/* dmarc_from: the RFC5322.From domain DMARC evaluates (RFC 7489 6.6.1).
 * Every From: field of the header section is counted (RFC 5322 3.6
 * allows exactly one); the one field's value is unfolded, its comments
 * dropped, and its address list split into mailboxes (group syntax
 * "name: a@x, b@y;" included); all of them must share one domain. */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "addr.h"
#include "dmarc.h"
#include "str.h"

#define FROM_VALUE_MAX 8192	/* the unfolded From: value, at most */

/* Whether the line at p (end: the section's end) starts a From: field
 * (RFC 5322 obsolete syntax: white space before the colon). */
static bool is_from(const char *p, const char *end)
{
	if (end - p < 4 || strncasecmp(p, "From", 4) != 0)
		return false;
	for (p += 4; p < end && (*p == ' ' || *p == '\t'); p++)
		;
	return p < end && *p == ':';
}

/* Counts the From: fields and copies the first one's value, unfolded,
 * into out. -1 when it does not fit. */
static int find_from(const char *p, const char *end, size_t *count_r,
		     char *out, size_t size)
{
	bool in_from = false;
	size_t n = 0;

	*count_r = 0;
	while (p < end && *p != '\n') {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *line_end = nl != NULL ? nl : end;
		bool cont = *p == ' ' || *p == '\t';

		if (!cont) {
			in_from = is_from(p, end);
			if (in_from && ++*count_r == 1)
				p = memchr(p, ':', (size_t)(line_end - p)) + 1;
		}
		if (in_from && *count_r == 1) {
			size_t len = (size_t)(line_end - p);
			if (len > 0 && p[len - 1] == '\r')
				len--;
			if (n + len + 1 >= size)
				return -1;
			memcpy(out + n, p, len);
			n += len;
		}
		p = nl != NULL ? nl + 1 : end;
	}
	out[n] = '\0';
	return 0;
}

/* The domain of one mailbox (a NUL-terminated piece of the list), into
 * domain (lower case): 1, 0 for an empty piece, -1 when not valid. */
static int mailbox_domain(char *box, char domain[DMARC_DOMAIN_MAX + 1])
{
	const char *error;
	char *addr = strchr(box, '<'), *at, *end;

	if (addr != NULL) {
		end = strchr(++addr, '>');
		if (end == NULL)
			return -1;
		*end = '\0';
	} else {
		addr = str_trim(box);
		if (*addr == '\0')
			return 0;
	}
	at = strrchr(addr, '@');
	if (at == NULL)
		return -1;
	char *d = str_trim(at + 1);
	size_t n = strlen(d);
	if (n == 0 || n > DMARC_DOMAIN_MAX || *d == '[' ||
	    addr_check_domain(d, n, 0, &error) < 0)
		return -1;
	memcpy(domain, d, n + 1);
	str_lower(domain);
	return 1;
}

/* Splits the value at the commas, colons and semicolons outside quoted
 * strings and angle brackets; a colon ends a group's display name. */
static int split_mailboxes(char *value, char domain_r[DMARC_DOMAIN_MAX + 1],
			   const char **error_r)
{
	char domain[DMARC_DOMAIN_MAX + 1];
	bool quoted = false, angle = false;
	char *start = value;
	size_t found = 0;

	for (char *p = value;; p++) {
		char c = *p;
		if (c == '\\' && quoted && p[1] != '\0') {
			p++;
			continue;
		}
		if (c == '"')
			quoted = !quoted;
		if (quoted && c != '\0')
			continue;
		if (c == '<')
			angle = true;
		else if (c == '>')
			angle = false;
		if (angle && c != '\0')
			continue;
		if (c != ',' && c != ';' && c != ':' && c != '\0')
			continue;
		*p = '\0';
		int ret = c == ':' ? 0 : mailbox_domain(start, domain);
		if (ret < 0) {
			*error_r = "invalid From: address";
			return -1;
		}
		if (ret > 0 && found++ == 0)
			memcpy(domain_r, domain, strlen(domain) + 1);
		else if (ret > 0 && strcmp(domain_r, domain) != 0) {
			*error_r = "From: mailboxes of several domains";
			return -1;
		}
		if (c == '\0')
			break;
		start = p + 1;
	}
	if (found == 0) {
		*error_r = "no address in From:";
		return -1;
	}
	return 0;
}

int dmarc_from_domain(const char *headers, size_t len,
		      char domain_r[DMARC_DOMAIN_MAX + 1],
		      const char **error_r)
{
	char value[FROM_VALUE_MAX];
	size_t count;

	domain_r[0] = '\0';
	if (find_from(headers, headers + len, &count, value,
		      sizeof(value)) < 0) {
		*error_r = "From: field too long";
		return -1;
	}
	if (count != 1) {
		*error_r = count == 0 ? DMARC_FROM_NONE : "several From: fields";
		return -1;
	}
	addr_drop_comments(value);
	return split_mailboxes(value, domain_r, error_r);
}
