/* super_proto: surelsuper's request lines to qmgr and qmgr's replies (the
 * grammar is in super_proto.h). Pure parsing and formatting: no I/O. */
#include "config.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>
#include "super_proto.h"

static const char *const op_names[SUPER_OPS] = {
	[SUPER_HOLD] = "hold",
	[SUPER_RELEASE] = "release",
	[SUPER_DELETE] = "delete",
	[SUPER_REQUEUE] = "requeue",
	[SUPER_FLUSH] = "flush",
	[SUPER_FLUSH_SITE] = "flush-site",
	[SUPER_REPAIR] = "repair",
};

/* What an op's target is. */
enum target_kind { TARGET_ID_OR_ALL, TARGET_SITE, TARGET_ALL };

static const enum target_kind op_targets[SUPER_OPS] = {
	[SUPER_FLUSH_SITE] = TARGET_SITE,
	[SUPER_REPAIR] = TARGET_ALL,
};

#define SITE_DOMAIN_MAX 253	/* RFC 1035's name length, as text */

static bool site_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* RFC 5321's address literal: "[" IPv4 "]" or "[IPv6:" IPv6 "]", checked
 * by inet_pton (so never "..", never "/"). */
static bool site_literal_valid(const char *s, size_t len)
{
	char addr[INET6_ADDRSTRLEN + 8];
	unsigned char bin[sizeof(struct in6_addr)];
	bool v6;

	if (len < 3 || s[len - 1] != ']' || len - 2 >= sizeof(addr))
		return false;
	v6 = len > 7 && strncasecmp(s + 1, "IPv6:", 5) == 0;
	size_t skip = v6 ? 6 : 1;
	memcpy(addr, s + skip, len - skip - 1);
	addr[len - skip - 1] = '\0';
	return inet_pton(v6 ? AF_INET6 : AF_INET, addr, bin) == 1;
}

bool super_proto_site_valid(const char *s)
{
	size_t len = strlen(s), label = 0;

	if (len == 0 || len > SITE_DOMAIN_MAX)
		return false;
	if (s[0] == '[')
		return site_literal_valid(s, len);
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (label == 0)
				return false;	/* "..", or a leading dot */
			label = 0;
		} else if (site_char(s[i]) && label < 63) {
			label++;
		} else {
			return false;
		}
	}
	return label > 0;
}

const char *super_proto_op_name(enum super_op op)
{
	return (unsigned)op < SUPER_OPS ? op_names[op] : NULL;
}

/* The op whose word is line[0..len), or SUPER_OPS. */
static enum super_op op_of(const char *word, size_t len)
{
	for (unsigned i = 0; i < SUPER_OPS; i++)
		if (strlen(op_names[i]) == len &&
		    memcmp(op_names[i], word, len) == 0)
			return (enum super_op)i;
	return SUPER_OPS;
}

int super_proto_parse_request(const char *line, size_t len,
			      struct super_request *req_r,
			      const char **error_r)
{
	const char *sp = memchr(line, ' ', len);
	char target[SUPER_SITE_MAX];

	memset(req_r, 0, sizeof(*req_r));
	if (len >= SUPER_LINE_MAX) {
		*error_r = "request too long";
		return -1;
	}
	if (sp == NULL) {
		*error_r = "request without a target";
		return -1;
	}
	req_r->op = op_of(line, (size_t)(sp - line));
	if (req_r->op == SUPER_OPS) {
		*error_r = "unknown operation";
		return -1;
	}
	enum target_kind kind = op_targets[req_r->op];
	size_t tlen = len - (size_t)(sp - line) - 1;
	*error_r = kind == TARGET_SITE ? "bad site" : "bad queue id";
	if (tlen == 0 || tlen >= sizeof(target) ||
	    memchr(sp + 1, '\0', tlen) != NULL)
		return -1;
	memcpy(target, sp + 1, tlen);
	target[tlen] = '\0';
	if (kind == TARGET_SITE) {
		if (!super_proto_site_valid(target))
			return -1;
		memcpy(req_r->site, target, tlen + 1);
		return 0;
	}
	if (strcmp(target, SUPER_ALL) == 0) {
		req_r->all = true;
		return 0;
	}
	if (kind == TARGET_ALL) {
		*error_r = "this operation takes ALL only";
		return -1;
	}
	if (!queue_id_valid(target))
		return -1;
	memcpy(req_r->id, target, tlen + 1);
	return 0;
}

size_t super_proto_format_request(const struct super_request *req,
				  char out[SUPER_LINE_MAX])
{
	int n = snprintf(out, SUPER_LINE_MAX, "%s %s\n",
			 super_proto_op_name(req->op),
			 op_targets[req->op] == TARGET_SITE ? req->site :
			 req->all ? SUPER_ALL : req->id);

	return n < 0 ? 0 : (size_t)n;
}

/* A decimal count without sign or leading junk, at most 19 digits. */
static int parse_count(const char *s, size_t len, unsigned long long *n_r)
{
	unsigned long long n = 0;

	if (len == 0 || len > 19)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		n = n * 10 + (unsigned)(s[i] - '0');
	}
	*n_r = n;
	return 0;
}

int super_proto_parse_reply(const char *line, size_t len,
			    struct super_reply *reply_r, const char **error_r)
{
	memset(reply_r, 0, sizeof(*reply_r));
	*error_r = "bad reply from qmgr";
	if (len >= SUPER_LINE_MAX || memchr(line, '\0', len) != NULL)
		return -1;
	if (len == 4 && memcmp(line, "none", 4) == 0) {
		reply_r->status = SUPER_NONE;
		return 0;
	}
	if (len > 3 && memcmp(line, "ok ", 3) == 0) {
		reply_r->status = SUPER_OK;
		return parse_count(line + 3, len - 3, &reply_r->count);
	}
	if (len >= 6 && memcmp(line, "error ", 6) == 0) {
		reply_r->status = SUPER_ERROR;
		memcpy(reply_r->text, line + 6, len - 6);
		reply_r->text[len - 6] = '\0';
		return 0;
	}
	return -1;
}

size_t super_proto_format_reply(const struct super_reply *reply,
				char out[SUPER_LINE_MAX])
{
	int n;

	switch (reply->status) {
	case SUPER_OK:
		n = snprintf(out, SUPER_LINE_MAX, "ok %llu\n", reply->count);
		break;
	case SUPER_NONE:
		n = snprintf(out, SUPER_LINE_MAX, "none\n");
		break;
	default:
		n = snprintf(out, SUPER_LINE_MAX, "error ");
		for (const char *t = reply->text;
		     *t != '\0' && n < SUPER_LINE_MAX - 2; t++)
			out[n++] = *t >= ' ' && *t <= '~' ? *t : '?';
		out[n++] = '\n';
		out[n] = '\0';
		break;
	}
	return n < 0 ? 0 : (size_t)n;
}
