/* qmgr_request: what qmgr says to each delivery agent, in the protocol
 * version the agent speaks (deliver_proto.h): local takes version 1, one
 * recipient per request; smtp takes version 2, a message's recipients for
 * one next hop (up to smtp_destination_recipient_limit). Both agents'
 * answers map onto the same per-recipient results. */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "deliver_proto.h"
#include "log.h"
#include "qmgr.h"

const char *qmgr_request_socket(enum qmgr_transport t)
{
	return t == QMGR_SMTP ? QMGR_SMTP_SOCKET : QMGR_LOCAL_SOCKET;
}

int qmgr_request_hello(enum qmgr_transport t, const struct ipc_msg *imsg,
		       const char **error_r)
{
	if (t == QMGR_SMTP)
		return deliver_hello2_decode(imsg, error_r);
	return deliver_hello_decode(imsg, error_r);
}

static void encode_local(const struct qmgr_message *msg, size_t index,
			 const char *file, struct buf *out)
{
	/* the recipient limit of local is 1 */
	const struct queue_rcpt *rcpt = &msg->env.rcpts[index];
	struct deliver_request req = {
		.queue_id = msg->id, .queue_file = file,
		.offset = (uint64_t)msg->content_offset,
		.size = msg->content_size, .sender = msg->env.sender,
		.recipient = rcpt->address,
		.orig_recipient = rcpt->orig_rcpt != NULL ? rcpt->orig_rcpt : "",
		.arrival_us = msg->env.arrival_us, .active_us = msg->active_us,
		.trace = msg->verify,
	};

	if (deliver_request_encode(out, &req) < 0) {
		/* The reader validated every field; this is a bug. */
		panic("%s: request not encodable", msg->id);
	}
}

/* Mail from our own users is DKIM-signed on its way out (the smtp agent
 * decides with which key, by dkim_signing_table): an authenticated
 * client's, or one from mynetworks (Postfix and OpenDKIM's usual
 * "internal hosts"). Notices from <> are not signed (Postfix's
 * internal_mail_filter_classes is empty by default). */
static bool sign_wanted(const struct qmgr_message *msg)
{
	const char *client = queue_envelope_attr(&msg->env, "client_address");

	if (msg->env.sender[0] == '\0')
		return false;
	return queue_envelope_attr(&msg->env, "sasl_username") != NULL ||
	       (client != NULL && netmatch_has(qmgr.mynetworks, client));
}

/* smtpd stores the ESMTP parameters as it received them: ret FULL/HDRS,
 * body 7BIT/8BITMIME, smtputf8 yes; absent when not given. */
static void encode_smtp(const struct qmgr_message *msg, const size_t *rcpts,
			size_t count, const char *nexthop, const char *file,
			struct buf *out)
{
	const char *ret = queue_envelope_attr(&msg->env, "ret");
	const char *envid = queue_envelope_attr(&msg->env, "envid");
	const char *body = queue_envelope_attr(&msg->env, "body");
	struct deliver_rcpt list[count];

	for (size_t i = 0; i < count; i++) {
		const struct queue_rcpt *rcpt = &msg->env.rcpts[rcpts[i]];
		list[i] = (struct deliver_rcpt){
			.address = rcpt->address,
			.orcpt = rcpt->orcpt != NULL ? rcpt->orcpt : "",
			.notify = rcpt->notify != NULL ? rcpt->notify : "",
		};
	}
	struct deliver_request2 req = {
		.queue_id = msg->id, .queue_file = file,
		.offset = (uint64_t)msg->content_offset,
		.size = msg->content_size, .sender = msg->env.sender,
		.arrival_us = msg->env.arrival_us, .active_us = msg->active_us,
		.ret = ret != NULL ? ret : "",
		.envid = envid != NULL ? envid : "",
		.smtputf8 = queue_envelope_attr(&msg->env, "smtputf8") != NULL,
		.body_8bit = body != NULL && strcasecmp(body, "8BITMIME") == 0,
		.nexthop = nexthop, .rcpts = list, .rcpt_count = count,
		.dkim_sign = sign_wanted(msg), .trace = msg->verify,
	};

	if (deliver_request2_encode(out, &req) < 0)
		panic("%s: request not encodable", msg->id);
}

void qmgr_request_encode(enum qmgr_transport t,
			 const struct qmgr_message *msg, const size_t *rcpts,
			 size_t count, const char *nexthop, struct buf *out)
{
	char file[QMGR_PATH_MAX];

	snprintf(file, sizeof(file), QMGR_ACTIVE "/%s", msg->id);
	if (t == QMGR_SMTP)
		encode_smtp(msg, rcpts, count, nexthop, file, out);
	else
		encode_local(msg, rcpts[0], file, out);
}

int qmgr_request_answer(enum qmgr_transport t, const struct ipc_msg *imsg,
			size_t count, struct deliver_answer *ans_r,
			bool *site_dead_r, const char **error_r)
{
	*site_dead_r = false;
	if (t != QMGR_SMTP)
		return deliver_answer_decode(imsg, ans_r, error_r);
	return deliver_answer2_decode(imsg, count, ans_r, site_dead_r,
				      error_r);
}
