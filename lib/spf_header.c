/* spf_header: the Received-SPF header (RFC 7208 9.1). See spf.h. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "mem.h"
#include "spf.h"

/* A header of the longest values (sender 256+, HELO 255, reason 512)
 * with room to spare; never reached with bounded inputs. */
#define SPF_HEADER_MAX 8192

/* RFC 5322 atext. */
static bool is_atext(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') ||
	       (ch != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", ch) != NULL);
}

static bool is_dot_atom(const char *s)
{
	bool dot_ok = false;

	for (; *s != '\0'; s++) {
		if (*s == '.') {
			if (!dot_ok)
				return false;
			dot_ok = false;
		} else if (is_atext((unsigned char)*s)) {
			dot_ok = true;
		} else {
			return false;
		}
	}
	return dot_ok;	/* not empty, no final dot */
}

/* Appends s with the characters in escape preceded by '\' and control
 * characters (and DEL) as '?': header text stays one line of text. */
static int append_escaped(struct buf *b, const char *s, const char *escape)
{
	int ret = 0;

	for (; ret == 0 && *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;
		if (strchr(escape, ch) != NULL)
			ret = buf_append_char(b, '\\');
		if (ret == 0)
			ret = buf_append_char(b, ch < ' ' || ch == 127
							 ? '?' : (char)ch);
	}
	return ret;
}

/* key=value as a dot-atom when it is one, else a quoted-string. */
static int append_pair(struct buf *b, const char *key, const char *value,
		       bool last)
{
	int ret = buf_printf(b, "%s=", key);

	if (ret == 0 && is_dot_atom(value))
		ret = buf_append_str(b, value);
	else if (ret == 0) {
		ret = buf_append_char(b, '"');
		if (ret == 0)
			ret = append_escaped(b, value, "\"\\");
		if (ret == 0)
			ret = buf_append_char(b, '"');
	}
	if (ret == 0)
		ret = buf_append_str(b, last ? "" : ";\n\t");
	return ret;
}

/* The comment's words, by result (the wording of common SPF checkers:
 * who is named, and what the domain said): "RECEIVER: " then before,
 * the first name, between, the second name, after. The first name is
 * the client address where ip_first says so, else the identity. */
static const struct {
	const char *before, *between, *after;
	bool ip_first;
} comments[] = {
	[SPF_RES_NONE] = { "domain of ", " does not designate permitted "
			   "sender hosts (client ", ")", false },
	[SPF_RES_NEUTRAL] = { "", " is neither permitted nor denied by "
			      "domain of ", "", true },
	[SPF_RES_PASS] = { "domain of ", " designates ", " as permitted "
			   "sender", false },
	[SPF_RES_FAIL] = { "domain of ", " does not designate ", " as "
			   "permitted sender", false },
	[SPF_RES_SOFTFAIL] = { "domain of transitioning ", " does not "
			       "designate ", " as permitted sender", false },
	[SPF_RES_TEMPERROR] = { "temporary error checking domain of ",
				" for ", "", false },
	[SPF_RES_PERMERROR] = { "permanent error in the SPF record of "
				"domain of ", " for ", "", false },
};

static int append_comment(struct buf *b, enum spf_res result,
			  const char *receiver, const char *client_ip,
			  const char *who, const char *reason)
{
	struct buf text;
	bool ip_first = comments[result].ip_first;
	int ret;

	buf_init(&text, SPF_HEADER_MAX);
	ret = buf_printf(&text, "%s: %s%s%s%s%s", receiver,
			 comments[result].before, ip_first ? client_ip : who,
			 comments[result].between, ip_first ? who : client_ip,
			 comments[result].after);
	if (ret == 0 && (result == SPF_RES_TEMPERROR ||
			 result == SPF_RES_PERMERROR) && *reason != '\0')
		/* Cut: the folded line stays far below 998 octets. */
		ret = buf_printf(&text, ": %.200s", reason);
	if (ret == 0)
		ret = buf_append_char(b, '(');
	if (ret == 0)
		ret = append_escaped(b, text.data, "()\\");
	if (ret == 0)
		ret = buf_append_str(b, ")\n\t");
	buf_deinit(&text);
	return ret;
}

char *spf_header_format(enum spf_res result, const char *receiver,
			const char *client_ip, const char *helo,
			const char *sender, bool helo_identity,
			const char *domain, const char *reason)
{
	struct buf b;
	char who[DNS_NAME_MAX + 16];
	int ret;

	if ((size_t)result > SPF_RES_PERMERROR)
		result = SPF_RES_PERMERROR;
	if (helo_identity)
		snprintf(who, sizeof(who), "%s", *domain != '\0' ? domain
								  : helo);
	buf_init(&b, SPF_HEADER_MAX);
	ret = buf_printf(&b, "Received-SPF: %s ", spf_res_name(result));
	if (ret == 0)
		ret = append_comment(&b, result, receiver, client_ip,
				     helo_identity ? who : sender, reason);
	if (ret == 0)
		ret = append_pair(&b, "client-ip", client_ip, false);
	if (ret == 0)
		ret = append_pair(&b, "envelope-from", sender, false);
	if (ret == 0)
		ret = append_pair(&b, "helo", helo, false);
	if (ret == 0)
		ret = append_pair(&b, "receiver", receiver, false);
	if (ret == 0)
		ret = append_pair(&b, "identity",
				  helo_identity ? "helo" : "mailfrom", true);
	char *header = ret == 0 ? xstrdup(b.data)
				: xstrdup("Received-SPF: permerror "
					  "(header too long)");
	buf_deinit(&b);
	return header;
}
