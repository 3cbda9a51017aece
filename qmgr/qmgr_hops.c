/* qmgr_hops: the mail loop check at activation (hopcount_limit): a
 * message that has passed more hops than that is in a loop, and every
 * recipient fails with 5.4.6 instead of going round again. */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "conf.h"
#include "fsutil.h"
#include "hopcount.h"
#include "log.h"
#include "mem.h"
#include "qmgr.h"

static size_t hops_limit;

void qmgr_hops_configure(void)
{
	hops_limit = (size_t)conf_int("hopcount_limit");
}

bool qmgr_hops_exceeded(const struct qmgr_message *msg)
{
	size_t want = msg->content_size < QMGR_HOPS_HEADER_MAX
			      ? (size_t)msg->content_size
			      : QMGR_HOPS_HEADER_MAX;
	char *data = xmalloc(want + 1);
	ssize_t n = fs_pread_all(msg->fd, data, want, msg->content_offset);

	if (n < 0) {
		/* Not a loop we can prove: delivery reads it too and says
		 * what is wrong. */
		log_warn("%s: cannot read the header for the hop count: %s",
			 msg->id, strerror(errno));
		n = 0;
	}
	size_t hops = hopcount_count(data, (size_t)n);
	free(data);
	if (hops <= hops_limit)
		return false;
	log_warn("%s: hopcount %zu exceeds hopcount_limit %zu", msg->id,
		 hops, hops_limit);
	return true;
}
