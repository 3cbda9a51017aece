/* anvil_proto: encoder and parser of anvil's request and reply lines; see
 * anvil_proto.h. The parser checks every field against what is allowed:
 * a request comes from another process that may be compromised. */
#include "config.h"
#include <string.h>
#include "anvil_proto.h"

static const char *const event_names[ANVIL_EVENT_COUNT] = {
	[ANVIL_CONNECT] = "connect",
	[ANVIL_DISCONNECT] = "disconnect",
	[ANVIL_MESSAGE] = "message",
	[ANVIL_RCPT] = "rcpt",
	[ANVIL_AUTH] = "auth",
	[ANVIL_NEWTLS] = "newtls",
	[ANVIL_USER_MESSAGE] = "user-message",
};

static const char hex_digits[] = "0123456789ABCDEF";

const char *anvil_proto_event_name(enum anvil_event event)
{
	if ((unsigned)event >= ANVIL_EVENT_COUNT)
		return NULL;
	return event_names[event];
}

static bool service_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' ||
	       c == '-' || c == '[' || c == ']';
}

static bool service_ok(const char *s, size_t len)
{
	if (len == 0 || len > ANVIL_SERVICE_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!service_char((unsigned char)s[i]))
			return false;
	return true;
}

/* An ident octet that goes on the wire as itself. */
static bool ident_plain(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '%';
}

int anvil_proto_request_encode(struct buf *out, enum anvil_event event,
			       const char *service, const char *ident,
			       const char **error_r)
{
	const char *name = anvil_proto_event_name(event);
	size_t ilen = strnlen(ident, ANVIL_IDENT_MAX + 1);

	if (name == NULL) {
		*error_r = "unknown event";
		return -1;
	}
	if (!service_ok(service, strnlen(service, ANVIL_SERVICE_MAX + 1))) {
		*error_r = "service name empty, too long or not allowed";
		return -1;
	}
	if (ilen == 0 || ilen > ANVIL_IDENT_MAX) {
		*error_r = "client or user name empty or too long";
		return -1;
	}
	int ret = buf_printf(out, "%s %s ", name, service);
	for (size_t i = 0; ret == 0 && i < ilen; i++) {
		unsigned char c = (unsigned char)ident[i];
		if (ident_plain(c)) {
			ret = buf_append_char(out, (char)c);
		} else {
			char esc[3] = { '%', hex_digits[c >> 4],
					hex_digits[c & 15] };
			ret = buf_append(out, esc, 3);
		}
	}
	if (ret == 0)
		ret = buf_append_char(out, '\n');
	if (ret < 0)
		*error_r = "request buffer full";
	return ret;
}

static int hex_value(char c)
{
	const char *p = c != '\0' ? strchr(hex_digits, c) : NULL;

	return p == NULL ? -1 : (int)(p - hex_digits);
}

/* Decodes the IDENT field s[0..len) into req. */
static int ident_decode(const char *s, size_t len, struct anvil_request *req,
			const char **error_r)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '%') {
			int hi = i + 2 < len ? hex_value(s[i + 1]) : -1;
			int lo = hi >= 0 ? hex_value(s[i + 2]) : -1;
			if (lo < 0 || (hi == 0 && lo == 0)) {
				*error_r = "bad %XX escape in the name";
				return -1;
			}
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		} else if (!ident_plain(c)) {
			*error_r = "octet not allowed in the name";
			return -1;
		}
		if (n == ANVIL_IDENT_MAX) {
			*error_r = "name too long";
			return -1;
		}
		req->ident[n++] = (char)c;
	}
	if (n == 0) {
		*error_r = "empty name";
		return -1;
	}
	req->ident[n] = '\0';
	req->ident_len = n;
	return 0;
}

int anvil_proto_request_parse(const char *line, size_t len,
			      struct anvil_request *req, const char **error_r)
{
	const char *end = line + len;
	const char *sp1 = memchr(line, ' ', len);
	const char *sp2 = sp1 == NULL ? NULL :
		memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1));
	size_t elen = sp1 == NULL ? 0 : (size_t)(sp1 - line);
	unsigned ev = 0;

	memset(req, 0, sizeof(*req));
	if (len >= ANVIL_LINE_MAX) {
		*error_r = "request line too long";
		return -1;
	}
	if (sp2 == NULL) {
		*error_r = "request needs EVENT SERVICE NAME";
		return -1;
	}
	while (ev < ANVIL_EVENT_COUNT &&
	       (strlen(event_names[ev]) != elen ||
		memcmp(event_names[ev], line, elen) != 0))
		ev++;
	if (ev == ANVIL_EVENT_COUNT) {
		*error_r = "unknown event";
		return -1;
	}
	req->event = (enum anvil_event)ev;
	size_t slen = (size_t)(sp2 - sp1 - 1);
	if (!service_ok(sp1 + 1, slen)) {
		*error_r = "bad service name";
		return -1;
	}
	memcpy(req->service, sp1 + 1, slen);
	req->service[slen] = '\0';
	return ident_decode(sp2 + 1, (size_t)(end - sp2 - 1), req, error_r);
}

int anvil_proto_reply_encode(struct buf *out, const struct anvil_reply *reply)
{
	if (reply->ok)
		return buf_printf(out, "ok %lu %lu\n",
				  (unsigned long)reply->count,
				  (unsigned long)reply->rate);
	size_t len = strnlen(reply->error, ANVIL_ERROR_MAX);
	int ret = buf_append_str(out, "error ");
	for (size_t i = 0; ret == 0 && i < len; i++) {
		char c = reply->error[i];
		ret = buf_append_char(out, c >= 0x20 && c < 0x7f ? c : '?');
	}
	if (ret == 0)
		ret = buf_append_char(out, '\n');
	return ret;
}

/* A decimal of 1-10 digits that fits 32 bits; *pos moves past it. */
static int parse_u32(const char *s, size_t len, size_t *pos, uint32_t *v)
{
	uint64_t n = 0;
	size_t start = *pos;

	while (*pos < len && s[*pos] >= '0' && s[*pos] <= '9' &&
	       *pos - start < 10)
		n = n * 10 + (uint64_t)(s[(*pos)++] - '0');
	if (*pos == start || n > UINT32_MAX ||
	    (*pos < len && s[*pos] >= '0' && s[*pos] <= '9'))
		return -1;
	*v = (uint32_t)n;
	return 0;
}

static int parse_error_reply(const char *text, size_t len,
			     struct anvil_reply *reply, const char **error_r)
{
	if (len == 0 || len > ANVIL_ERROR_MAX) {
		*error_r = "anvil error reply: empty or too long";
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		if (text[i] < 0x20 || text[i] >= 0x7f) {
			*error_r = "anvil error reply: bad text";
			return -1;
		}
	}
	memcpy(reply->error, text, len);
	reply->error[len] = '\0';
	return 0;
}

int anvil_proto_reply_parse(const char *line, size_t len,
			    struct anvil_reply *reply, const char **error_r)
{
	size_t pos = 3;

	memset(reply, 0, sizeof(*reply));
	if (len >= ANVIL_LINE_MAX) {
		*error_r = "anvil reply too long";
		return -1;
	}
	if (len > 6 && memcmp(line, "error ", 6) == 0)
		return parse_error_reply(line + 6, len - 6, reply, error_r);
	if (len < 3 || memcmp(line, "ok ", 3) != 0 ||
	    parse_u32(line, len, &pos, &reply->count) < 0 ||
	    pos >= len || line[pos++] != ' ' ||
	    parse_u32(line, len, &pos, &reply->rate) < 0 || pos != len) {
		*error_r = "anvil reply: not \"ok COUNT RATE\"";
		return -1;
	}
	reply->ok = true;
	return 0;
}
