/* dkim_from: the domain of a message's From: address, which picks the
 * signing key (and is what DMARC aligns the signature's d= with). Only
 * the header section is read; the first mailbox of the field counts:
 * "Name <user@domain>", "user@domain (comment)", "user@domain". */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "addr.h"
#include "dkim.h"
#include "str.h"

#define FROM_FIELD_MAX 4096	/* the part of the field looked at */

/* The From: field's value, unfolded (continuation line ends dropped),
 * into out; false when the section has none. */
static bool from_value(const char *p, const char *end, char *out, size_t size)
{
	while (p < end && *p != '\n' && *p != '\r') {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (end - p >= 5 && strncasecmp(p, "From:", 5) == 0) {
			size_t n = 0;
			for (p += 5; p < end && n + 1 < size; p++) {
				if (*p == '\n') {
					if (p + 1 >= end ||
					    (p[1] != ' ' && p[1] != '\t'))
						break;
					continue;
				}
				if (*p != '\r')
					out[n++] = *p;
			}
			out[n] = '\0';
			return true;
		}
		p = nl != NULL ? nl + 1 : end;
	}
	return false;
}

int dkim_from_domain(const char *headers, size_t len,
		     char domain_r[DKIM_DOMAIN_MAX + 1])
{
	char value[FROM_FIELD_MAX];
	const char *error;
	char *addr, *at, *end;

	if (!from_value(headers, headers + len, value, sizeof(value)))
		return -1;
	addr_drop_comments(value);
	addr = strchr(value, '<');
	if (addr != NULL) {
		addr++;
		end = strchr(addr, '>');
		if (end == NULL)
			return -1;
		*end = '\0';
	} else {
		addr = str_trim(value);
		addr[strcspn(addr, ",")] = '\0';
	}
	at = strrchr(addr, '@');
	if (at == NULL)
		return -1;
	char *domain = str_trim(at + 1);
	size_t n = strlen(domain);
	if (n == 0 || n > DKIM_DOMAIN_MAX || domain[0] == '[' ||
	    addr_check_domain(domain, n, 0, &error) < 0)
		return -1;
	memcpy(domain_r, domain, n + 1);
	str_lower(domain_r);
	return 0;
}
