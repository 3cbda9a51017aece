/* header_qualify: unqualified addresses in local mail's headers (see
 * header_qualify.h). */
#include "config.h"
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "addr.h"
#include "header_qualify.h"
#include "header_rcpt.h"

static const char *const address_fields[] = {
	"from", "sender", "reply-to", "to", "cc", "bcc",
	"resent-from", "resent-sender", "resent-reply-to", "resent-to",
	"resent-cc", "resent-bcc", "errors-to", "return-receipt-to",
	"disposition-notification-to", "mail-followup-to", "mail-reply-to",
};

/* The offset of the value (past ":") when field[0..len) is an address
 * field, else 0. */
static size_t address_value(const char *field, size_t len)
{
	const char *colon = memchr(field, ':', len);

	if (colon == NULL)
		return 0;
	size_t n = (size_t)(colon - field);
	while (n > 0 && (field[n - 1] == ' ' || field[n - 1] == '\t'))
		n--;
	for (size_t i = 0; i < sizeof(address_fields) /
			       sizeof(address_fields[0]); i++)
		if (strlen(address_fields[i]) == n &&
		    strncasecmp(field, address_fields[i], n) == 0)
			return (size_t)(colon + 1 - field);
	return 0;
}

/* The end of the field that starts at hdr[0]: past its last line's LF. */
static size_t field_end(const char *hdr, size_t len)
{
	size_t pos = 0;

	do {
		const char *lf = memchr(hdr + pos, '\n', len - pos);
		pos = lf != NULL ? (size_t)(lf - hdr) + 1 : len;
	} while (pos < len && (hdr[pos] == ' ' || hdr[pos] == '\t'));
	return pos;
}

struct completions {
	const char *domain;
	size_t at[HEADER_QUALIFY_MAX];	/* offsets in the value */
	size_t count;
};

static int note_address(void *ctx, const char *address, size_t offset,
			size_t len, const char **error_r)
{
	struct completions *c = ctx;
	char whole[ADDR_PATH_MAX + ADDR_DOMAIN_MAX + 2];
	struct addr parsed;
	const char *error;

	(void)error_r;
	if (strchr(address, '@') != NULL || c->count >= HEADER_QUALIFY_MAX)
		return 0;
	int n = snprintf(whole, sizeof(whole), "%s@%s", address, c->domain);
	if (n < 0 || (size_t)n >= sizeof(whole) ||
	    addr_parse_mailbox(whole, (size_t)n, ADDR_FLAG_UTF8, &parsed,
			       &error) < 0)
		return 0;	/* not a local part: left alone */
	c->at[c->count++] = offset + len;
	return 0;
}

static int qualify_value(struct buf *out, const char *value, size_t len,
			 const char *domain)
{
	struct completions c = { .domain = domain };
	const char *error;
	size_t done = 0;

	if (header_rcpt_list_at(value, len, note_address, &c, &error) < 0)
		c.count = 0;	/* unparsable: as it is */
	for (size_t i = 0; i < c.count; i++) {
		if (buf_append(out, value + done, c.at[i] - done) < 0 ||
		    buf_printf(out, "@%s", domain) < 0)
			return -1;
		done = c.at[i];
	}
	return buf_append(out, value + done, len - done);
}

int header_qualify(struct buf *out, const char *hdr, size_t len,
		   const char *domain)
{
	size_t pos = 0;

	while (pos < len) {
		size_t end = pos + field_end(hdr + pos, len - pos);
		size_t v = address_value(hdr + pos, end - pos);
		int ret = v == 0 || *domain == '\0'
			? buf_append(out, hdr + pos, end - pos)
			: buf_append(out, hdr + pos, v) < 0 ? -1
			: qualify_value(out, hdr + pos + v, end - pos - v,
					domain);
		if (ret < 0)
			return -1;
		pos = end;
	}
	return 0;
}
