/* pickup_alias: virtual_alias_maps for local submissions. smtpd expands
 * the recipients it accepts; mail from sendmail comes through pickup and
 * must get the same expansion before it is queued (Postfix's cleanup
 * does it for both), so that every final recipient has its own status in
 * the queue file and an alias reaches its members, for a delivery as for
 * sendmail -bv. */
#include "config.h"
#include <string.h>
#include "addr.h"
#include "alias.h"
#include "log.h"
#include "pickup.h"

int pickup_alias_add(struct queue_envelope *env, const char *address,
		     const char **error_r)
{
	struct alias_list list = { NULL, 0 };
	const char *error;
	char esc[1024];
	int ret = alias_expand(pickup_config.alias_maps, address,
			       pickup_config.delimiter, &list, &error);

	if (ret == -1) {
		*error_r = error;
		return -1;
	}
	const char *why = ret == -2 ? error : NULL;
	for (size_t i = 0; why == NULL && i < list.count; i++) {
		struct addr a;
		/* The table is the operator's, but what it gives goes into
		 * the queue file: a clean address only (as smtpd checks). */
		if (addr_parse_mailbox(list.addrs[i], strlen(list.addrs[i]),
				       ADDR_FLAG_UTF8, &a, &error) < 0)
			why = "expands to a bad address";
	}
	if (why == NULL && env->rcpt_count + list.count > QUEUE_RCPT_MAX)
		why = "too many recipients";
	if (why != NULL) {
		/* A loop in the table, or too many members: the address as
		 * it was given, so that its delivery says what is wrong
		 * rather than the message waiting forever. */
		log_warn("virtual_alias_maps: %s: %s: not expanded",
			 log_escape(esc, sizeof(esc), address, 256), why);
		queue_envelope_add_rcpt(env, address, NULL, NULL, NULL);
		alias_list_free(&list);
		return 0;
	}
	for (size_t i = 0; i < list.count; i++) {
		const char *final = list.addrs[i];
		queue_envelope_add_rcpt(env, final,
					strcmp(final, address) != 0 ? address
								    : NULL,
					NULL, NULL);
	}
	alias_list_free(&list);
	return 0;
}
