/* local: the Maildir delivery agent. Each process serves one qmgr
 * connection at a time: it greets it with the deliver_proto hello, answers
 * its delivery requests in turn, and logs one Postfix-format line per
 * recipient. */
#include "config.h"
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "conf.h"
#include "deliver_proto.h"
#include "ipc.h"
#include "local.h"
#include "log.h"
#include "metrics.h"
#include "service.h"
#include "timeutil.h"

/* A request: nine or ten attributes, each line at most an envelope
 * line. */
#define LOCAL_REQUEST_LINE_MAX 8192
#define LOCAL_REQUEST_ATTRS 16

struct local_config local_config;

static void local_pre_jail(void)
{
	const char *error;

	/* Opened while the files are still reachable (before a chroot). */
	if (maps_open(conf_str("virtual_mailbox_maps"), 0,
		      &local_config.mailbox_maps, &error) < 0)
		fatal("virtual_mailbox_maps: %s", error);
	if (maps_open(conf_str("virtual_mailbox_quota_maps"), 0,
		      &local_config.quota_maps, &error) < 0)
		fatal("virtual_mailbox_quota_maps: %s", error);
	local_config.mailbox_base = conf_str("virtual_mailbox_base");
	local_config.delimiter = conf_str("recipient_delimiter");
	local_config.hostname = conf_str("myhostname");
	local_config.quota_default = conf_size("virtual_mailbox_quota");
	local_config.overquota_bounce = conf_bool("virtual_overquota_bounce");
	local_config.authres = conf_bool("local_authentication_results");
	if (local_config.mailbox_base[0] != '/')
		log_warn("virtual_mailbox_base is not an absolute path: every "
			 "delivery will be deferred");
}

static uint64_t local_span(uint64_t from, uint64_t to)
{
	return to > from && from > 0 ? to - from : 0;
}

static void local_log(const struct deliver_request *req,
		      const struct local_result *res, uint64_t start_us)
{
	char to[1024], orig[1024], reason[1024], orig_part[1100];
	char delay[24], a[24], b[24], c[24], d[24];
	uint64_t now = time_wall_us();
	uint64_t setup = res->setup_done_us > 0 ? res->setup_done_us : now;

	log_escape(to, sizeof(to), req->recipient, 512);
	log_escape(reason, sizeof(reason), res->reason, 512);
	orig_part[0] = '\0';
	if (req->orig_recipient[0] != '\0')
		snprintf(orig_part, sizeof(orig_part), " orig_to=<%s>,",
			 log_escape(orig, sizeof(orig), req->orig_recipient,
				    512));
	time_format_delay(delay, sizeof(delay),
			   local_span(req->arrival_us, now));
	time_format_delay(a, sizeof(a),
			   local_span(req->arrival_us, req->active_us));
	time_format_delay(b, sizeof(b), local_span(req->active_us, start_us));
	time_format_delay(c, sizeof(c), local_span(start_us, setup));
	time_format_delay(d, sizeof(d), local_span(setup, now));
	log_info("%s: to=<%s>,%s relay=local, delay=%s, delays=%s/%s/%s/%s, "
		 "dsn=%s, status=%s (%s)", req->queue_id, to, orig_part, delay,
		 a, b, c, d, res->dsn,
		 deliver_status_word(res->status, req->trace), reason);
	if (!req->trace)
		metrics_count_delivery(res->status, res->dsn);
}

/* A time parameter as an ipc timeout in milliseconds. 0 is no limit (as
 * max_idle is in the pre-fork loop), not "give up at once"; what does not
 * fit an int is the longest wait an int holds (24 days). */
static int local_timeout_ms(const char *name)
{
	uint64_t s = conf_time(name);

	return s == 0 || s > INT_MAX / 1000 ? INT_MAX : (int)(s * 1000);
}

/* The answer: deliver_answer's attribute set (status, dsn, reason),
 * written with ipc's timeout-bounded writer. */
static int local_answer(int fd, const struct local_result *res)
{
	char status[4];
	const char *error;

	snprintf(status, sizeof(status), "%d", (int)res->status);
	const struct ipc_attr attrs[] = {
		{ "status", status },
		{ "dsn", res->dsn },
		{ "reason", res->reason },
	};
	if (ipc_write_msg(fd, attrs, 3, local_timeout_ms("ipc_timeout"),
			  &error) < 0) {
		log_warn("qmgr connection: cannot answer: %s", error);
		return -1;
	}
	return 0;
}

static void local_serve(int fd)
{
	struct ipc_reader *r = ipc_reader_new(LOCAL_REQUEST_LINE_MAX,
					      LOCAL_REQUEST_ATTRS);
	int idle_ms = local_timeout_ms("max_idle");
	struct deliver_request req;
	struct local_result res;
	struct ipc_msg msg;
	const char *error;

	/* The hello tells qmgr that a process now serves this connection:
	 * until then it may sit unaccepted in the listen backlog, and qmgr
	 * sends it nothing. If qmgr has given up on it meanwhile, the write
	 * or the first read fails and we are free for the next one. */
	if (deliver_hello_write(fd, local_timeout_ms("ipc_timeout"),
				&error) < 0) {
		ipc_reader_free(&r);
		return;
	}
	for (;;) {
		/* qmgr closed the connection, or left it idle for
		 * max_idle: both are the normal end. */
		if (ipc_read_msg(fd, r, &msg, idle_ms, &error) < 0) {
			if (strcmp(error, "connection closed") != 0 &&
			    strcmp(error, "timeout") != 0)
				log_warn("qmgr connection: %s", error);
			break;
		}
		uint64_t start = time_wall_us();
		if (deliver_request_decode(&msg, &req, &error) < 0) {
			log_warn("qmgr connection: bad request: %s", error);
			ipc_msg_clear(&msg);
			break;
		}
		if (req.trace)
			local_trace(&req, &res);
		else
			local_deliver(&req, &res);
		local_log(&req, &res, start);
		ipc_msg_clear(&msg);
		if (local_answer(fd, &res) < 0)
			break;
	}
	local_deliver_reset();
	ipc_reader_free(&r);
}

int main(int argc, char **argv)
{
	static const struct service_def def = {
		.name = "local",
		.pre_jail = local_pre_jail,
		.serve = local_serve,
	};

	service_main(argc, argv, &def);
}
