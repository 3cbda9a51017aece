/* pickup_header: the headers pickup adds to a locally submitted message;
 * see pickup.h. */
#include "config.h"
#include <string.h>
#include <time.h>
#include "full_name.h"
#include "header_rcpt.h"
#include "str.h"
#include "timeutil.h"
#include "pickup.h"

/* Does the field line[0..len) have this name? */
static bool field_is(const char *line, size_t len, const char *name)
{
	size_t n = strlen(name);

	if (len <= n || strncasecmp(line, name, n) != 0)
		return false;
	while (n < len && (line[n] == ' ' || line[n] == '\t'))
		n++;
	return n < len && line[n] == ':';
}

void pickup_header_scan(const char *data, size_t len,
			struct pickup_header *h_r)
{
	size_t pos = 0;
	bool any = false;

	memset(h_r, 0, sizeof(*h_r));
	while (pos < len) {
		const char *lf = memchr(data + pos, '\n', len - pos);
		if (lf == NULL)
			break;	/* a partial line: it is body */
		size_t n = (size_t)(lf - (data + pos));
		if (n == 0) {
			h_r->end = pos;
			h_r->body = pos + 1;
			return;
		}
		const char *line = data + pos;
		bool cont = any && (line[0] == ' ' || line[0] == '\t');
		if (!cont && !header_rcpt_is_field(line, n))
			break;
		if (!cont) {
			h_r->has_from |= field_is(line, n, "from");
			h_r->has_date |= field_is(line, n, "date");
			h_r->has_message_id |= field_is(line, n, "message-id");
		}
		any = true;
		pos += n + 1;
	}
	h_r->end = h_r->body = pos;
}

int pickup_header_received(struct buf *out, const char *id, uid_t uid,
			   time_t now)
{
	char date[64];

	time_rfc5322(date, sizeof(date), now);
	return buf_printf(out, "Received: by %s (%s, from userid %lu)\n"
			  "\tid %s; %s\n", pickup_config.myhostname,
			  pickup_config.mail_name, (unsigned long)uid, id,
			  date);
}

int pickup_header_missing(struct buf *out, const struct pickup_header *h,
			  const char *id, const char *sender,
			  const char *full_name, time_t now)
{
	char date[64], stamp[32];
	struct tm tm;
	int ret = 0;

	if (!h->has_date) {
		time_rfc5322(date, sizeof(date), now);
		ret = buf_printf(out, "Date: %s\n", date);
	}
	if (ret == 0 && !h->has_message_id) {
		gmtime_r(&now, &tm);
		strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm);
		ret = buf_printf(out, "Message-Id: <%s.%s@%s>\n", stamp, id,
				 pickup_config.myhostname);
	}
	if (ret == 0 && !h->has_from) {
		/* Postfix writes MAILER-DAEMON for the null sender. */
		const char *addr = *sender != '\0' ? sender : "MAILER-DAEMON";
		ret = buf_append_str(out, "From: ");
		if (ret == 0 && full_name != NULL && *full_name != '\0') {
			ret = full_name_phrase(out, full_name);
			if (ret == 0)
				ret = buf_printf(out, " <%s>\n", addr);
		} else if (ret == 0) {
			ret = buf_printf(out, "%s\n", addr);
		}
	}
	return ret;
}
