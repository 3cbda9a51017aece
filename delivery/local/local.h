/* local: the delivery agent's parts: main.c (the service, the request
 * loop, the log line) and local_deliver.c (one recipient into its
 * Maildir). */
#ifndef SUREL_LOCAL_H
#define SUREL_LOCAL_H
#include <stdint.h>
#include "deliver_proto.h"
#include "maps.h"

/* Configuration read once at start (pre_jail). */
struct local_config {
	struct maps *mailbox_maps;	/* virtual_mailbox_maps */
	const char *mailbox_base;	/* virtual_mailbox_base */
	const char *delimiter;		/* recipient_delimiter */
	const char *hostname;		/* myhostname, for Maildir names */
};
extern struct local_config local_config;

/* The outcome of one delivery; reason is text for the log and for qmgr
 * (no control characters). */
struct local_result {
	enum deliver_status status;
	const char *dsn;
	char reason[512];
	uint64_t setup_done_us;	/* lookups done, copying starts: c/d split */
};

/* Delivers req's content to req->recipient's Maildir. Never fails
 * silently: every path fills res. */
void local_deliver(const struct deliver_request *req, struct local_result *res);
/* Closes the queue file kept open between requests for the same message. */
void local_deliver_reset(void);

#endif
