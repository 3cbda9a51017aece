/* local: the delivery agent's parts: main.c (the service, the request
 * loop, the log line), local_deliver.c (one recipient into its Maildir),
 * local_quota.c (the Maildir++ quota around that delivery) and
 * local_authres.c (the Authentication-Results field from the SPF, DKIM
 * and DMARC verdicts smtpd recorded, forged fields left out). */
#ifndef SUREL_LOCAL_H
#define SUREL_LOCAL_H
#include <stdbool.h>
#include <stdint.h>
#include "buf.h"
#include "deliver_proto.h"
#include "maildir.h"
#include "maps.h"

/* Configuration read once at start (pre_jail). */
struct local_config {
	struct maps *mailbox_maps;	/* virtual_mailbox_maps */
	const char *mailbox_base;	/* virtual_mailbox_base */
	const char *delimiter;		/* recipient_delimiter */
	const char *hostname;		/* myhostname, for Maildir names */
	struct maps *quota_maps;	/* virtual_mailbox_quota_maps */
	uint64_t quota_default;		/* virtual_mailbox_quota, 0: none */
	bool overquota_bounce;		/* virtual_overquota_bounce */
	bool authres;			/* local_authentication_results */
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

/* Sets res (the reason is formatted, cut to fit and stripped of control
 * characters). */
void local_result_set(struct local_result *res, enum deliver_status status,
		      const char *dsn, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* What the quota check leaves for the update after the delivery. */
struct local_quota {
	bool active;		/* maildirsize to be kept up to date */
};

/* Before size bytes are delivered into maildir for req->recipient: the
 * limit from virtual_mailbox_quota_maps or virtual_mailbox_quota, and
 * the Maildir's usage. 0: go on; -1: res set (over quota: 4.2.2, or
 * 5.2.2 with virtual_overquota_bounce; a bad map value 4.3.5; a failed
 * lookup or count 4.3.0). With no limit and no maildirsize it touches
 * nothing but one stat(). */
int local_quota_check(const struct deliver_request *req, const char *maildir,
		      uint64_t size, struct local_quota *q,
		      struct local_result *res);
/* After the delivery: counts the message in maildirsize when q says so.
 * A failure is logged, not returned: the mail is delivered, and the next
 * recount corrects the figures. */
void local_quota_update(const struct deliver_request *req, const char *maildir,
			uint64_t size, const struct local_quota *q);

/* One message's Authentication-Results field and the ranges of its
 * content to leave out, made once and used for each recipient. */
struct local_authres {
	bool ready;
	struct buf field;		/* "Authentication-Results: ...\n" */
	struct maildir_skip *skip;
	size_t skip_count;
};

/* Reads the queue file (fd) of req: the envelope's verdicts, the header
 * section scanned. 0 with ar ready (free it with local_authres_free), or
 * -1 with res set: 4.3.0 for a queue file that cannot be read, 5.6.0 for
 * a message with more than AUTHRES_REMOVE_MAX fields to remove. */
int local_authres_make(const struct deliver_request *req, int fd,
		       struct local_authres *ar, struct local_result *res);
/* Accepts a zeroed or freed one. */
void local_authres_free(struct local_authres *ar);

/* Delivers req's content to req->recipient's Maildir. Never fails
 * silently: every path fills res. */
void local_deliver(const struct deliver_request *req, struct local_result *res);
/* A trace-only request (sendmail -bv): resolves req->recipient's
 * mailbox as local_deliver does and writes nothing; res says
 * "delivers to maildir" (2.0.0), or why a delivery would fail. */
void local_trace(const struct deliver_request *req, struct local_result *res);
/* Closes the queue file kept open between requests for the same message. */
void local_deliver_reset(void);

#endif
