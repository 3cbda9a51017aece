/* pickup: the daemon that queues what users submitted with sendmail
 * (Postfix's pickup and the local half of its cleanup). It takes the
 * committed files of maildrop/ (written by the setgid sureldrop: their
 * owner is the submitting user, and nothing in them is trusted), checks
 * them, writes a real queue file into incoming/ with the Received:,
 * Date:, Message-Id: and From: headers a local message needs, runs
 * header_checks and body_checks, commits it (fsync), wakes qmgr, and only
 * then removes the maildrop file: a crash in between queues the message
 * twice, never zero times. */
#ifndef SUREL_PICKUP_H
#define SUREL_PICKUP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "buf.h"
#include "content_check.h"
#include "maps.h"
#include "queue_file.h"

struct pickup_config {
	const char *queue_dir;
	const char *myhostname;
	const char *myorigin;
	const char *mail_name;
	uint64_t size_max;		/* message_size_limit; 0: none */
	size_t header_max;		/* header_size_limit */
	bool checks;			/* any content check table */
	struct maps *alias_maps;	/* virtual_alias_maps, or NULL */
	const char *delimiter;		/* recipient_delimiter */
	struct content_check_config check;
};

extern struct pickup_config pickup_config;

/* What the top of the content says (pickup_header.c). */
struct pickup_header {
	size_t end;		/* octets of the header section (fields) */
	size_t body;		/* where the body starts (after the blank
				 * line when there is one) */
	bool has_from, has_date, has_message_id;
};

/* Scans the first len octets of the content (at most header_max, all
 * of it when it is shorter): the header section is the run of complete
 * field lines (and their continuations) at the top; it ends at an empty
 * line, at the first other line, or where data ends. */
void pickup_header_scan(const char *data, size_t len,
			struct pickup_header *h_r);
/* The headers a local message gets before its own: Received:. */
int pickup_header_received(struct buf *out, const char *id, uid_t uid,
			   time_t now) __attribute__((warn_unused_result));
/* The ones it lacks, after its own (Postfix's cleanup): Date:,
 * Message-Id:, From: ("Full Name <sender>" when a full name was given,
 * quoted when it needs to be). */
int pickup_header_missing(struct buf *out, const struct pickup_header *h,
			  const char *id, const char *sender,
			  const char *full_name, time_t now)
	__attribute__((warn_unused_result));

/* Adds address to env as virtual_alias_maps expands it, each final
 * address with address as its original recipient (pickup_alias.c). An
 * alias that loops, has too many members or gives a malformed address
 * is logged and address is added as it is. 0, or -1 with *error_r on a
 * failed look-up (try again later). */
int pickup_alias_add(struct queue_envelope *env, const char *address,
		     const char **error_r) __attribute__((warn_unused_result));

/* Queues maildrop/name (pickup_file.c). Returns 0 when the maildrop file
 * is dealt with (queued, or refused and removed: logged), -1 when it must
 * stay for a later scan (a temporary error: logged). */
int pickup_file(int dir_fd, const char *name);

#endif
