/* deliver_proto: encoding and strict decoding of the hello a delivery
 * agent greets qmgr with, of the request qmgr sends it and of its answer;
 * see deliver_proto.h. */
#include "config.h"
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "deliver_proto.h"
#include "queue_id.h"
#include "str.h"

#define ACTIVE_PREFIX "active/"

static const char *const hello_names[] = { "protocol", "version" };
static const struct ipc_attr hello_attrs[] = {
	{ "protocol", DELIVER_PROTO_NAME },
	{ "version", DELIVER_PROTO_VERSION },
};
#define HELLO_COUNT (sizeof(hello_names) / sizeof(hello_names[0]))

/* The last one, trace, is optional: present only in a trace request. */
static const char *const request_names[] = {
	"queue_id", "queue_file", "offset", "size", "sender", "recipient",
	"orig_recipient", "arrival", "active", DELIVER_TRACE_ATTR,
};
#define REQUEST_COUNT (sizeof(request_names) / sizeof(request_names[0]) - 1)

static const char *const answer_names[] = { "status", "dsn", "reason" };
#define ANSWER_COUNT (sizeof(answer_names) / sizeof(answer_names[0]))

int deliver_hello_encode(struct buf *out)
{
	return ipc_encode(out, hello_attrs, HELLO_COUNT);
}

int deliver_hello_write(int fd, int timeout_ms, const char **error_r)
{
	return ipc_write_msg(fd, hello_attrs, HELLO_COUNT, timeout_ms, error_r);
}

static int hello_decode_version(const struct ipc_msg *msg,
				const char *version, const char **error_r)
{
	const char *v[HELLO_COUNT];

	if (ipc_msg_get_exact(msg, hello_names, v, HELLO_COUNT) < 0) {
		*error_r = "hello: wrong attribute set";
		return -1;
	}
	if (strcmp(v[0], DELIVER_PROTO_NAME) != 0) {
		*error_r = "hello: not the deliver protocol";
		return -1;
	}
	if (strcmp(v[1], version) != 0) {
		*error_r = "hello: unsupported version";
		return -1;
	}
	return 0;
}

int deliver_hello_decode(const struct ipc_msg *msg, const char **error_r)
{
	return hello_decode_version(msg, DELIVER_PROTO_VERSION, error_r);
}

static const struct ipc_attr hello2_attrs[] = {
	{ "protocol", DELIVER_PROTO_NAME },
	{ "version", DELIVER_PROTO_VERSION2 },
};

int deliver_hello2_encode(struct buf *out)
{
	return ipc_encode(out, hello2_attrs, HELLO_COUNT);
}

int deliver_hello2_write(int fd, int timeout_ms, const char **error_r)
{
	return ipc_write_msg(fd, hello2_attrs, HELLO_COUNT, timeout_ms,
			     error_r);
}

int deliver_hello2_decode(const struct ipc_msg *msg, const char **error_r)
{
	return hello_decode_version(msg, DELIVER_PROTO_VERSION2, error_r);
}

int deliver_request_encode(struct buf *out, const struct deliver_request *req)
{
	char offset[24], size[24], arrival[24], active[24];

	snprintf(offset, sizeof(offset), "%" PRIu64, req->offset);
	snprintf(size, sizeof(size), "%" PRIu64, req->size);
	snprintf(arrival, sizeof(arrival), "%" PRIu64, req->arrival_us);
	snprintf(active, sizeof(active), "%" PRIu64, req->active_us);
	const char *values[REQUEST_COUNT + 1] = {
		req->queue_id, req->queue_file, offset, size, req->sender,
		req->recipient, req->orig_recipient, arrival, active, "1",
	};
	size_t count = REQUEST_COUNT + (req->trace ? 1 : 0);
	struct ipc_attr attrs[REQUEST_COUNT + 1];
	for (size_t i = 0; i < count; i++) {
		attrs[i].name = request_names[i];
		attrs[i].value = values[i] != NULL ? values[i] : "";
	}
	return ipc_encode(out, attrs, count);
}

/* A queue file the agent may open: exactly "active/<queue_id>". qmgr
 * always delivers from active/, and nothing else (no "..", no absolute
 * path) can sneak through. */
bool deliver_proto_queue_file_ok(const char *queue_file, const char *queue_id)
{
	size_t plen = strlen(ACTIVE_PREFIX);

	return strncmp(queue_file, ACTIVE_PREFIX, plen) == 0 &&
	       strcmp(queue_file + plen, queue_id) == 0;
}

int deliver_request_decode(const struct ipc_msg *msg,
			   struct deliver_request *req_r, const char **error_r)
{
	const char *v[REQUEST_COUNT + 1];
	uint64_t end;
	/* With one attribute more, it must be trace. */
	bool trace = msg->count == REQUEST_COUNT + 1;

	if (ipc_msg_get_exact(msg, request_names, v,
			      REQUEST_COUNT + (trace ? 1 : 0)) < 0) {
		*error_r = "request: wrong attribute set";
		return -1;
	}
	memset(req_r, 0, sizeof(*req_r));
	if (trace && strcmp(v[REQUEST_COUNT], "1") != 0) {
		*error_r = "request: bad trace";
		return -1;
	}
	req_r->trace = trace;
	if (!queue_id_valid(v[0]) || !deliver_proto_queue_file_ok(v[1], v[0])) {
		*error_r = "request: bad queue_id or queue_file";
		return -1;
	}
	if (str_to_u64(v[2], &req_r->offset) < 0 ||
	    str_to_u64(v[3], &req_r->size) < 0 ||
	    str_to_u64(v[7], &req_r->arrival_us) < 0 ||
	    str_to_u64(v[8], &req_r->active_us) < 0 ||
	    __builtin_add_overflow(req_r->offset, req_r->size, &end) ||
	    end > INT64_MAX) {
		*error_r = "request: bad number";
		return -1;
	}
	if (v[5][0] == '\0') {
		*error_r = "request: empty recipient";
		return -1;
	}
	req_r->queue_id = v[0];
	req_r->queue_file = v[1];
	req_r->sender = v[4];
	req_r->recipient = v[5];
	req_r->orig_recipient = v[6];
	return 0;
}

int deliver_answer_encode(struct buf *out, const struct deliver_answer *ans)
{
	char status[4];

	snprintf(status, sizeof(status), "%d", (int)ans->status);
	struct ipc_attr attrs[ANSWER_COUNT] = {
		{ "status", status },
		{ "dsn", ans->dsn != NULL ? ans->dsn : "" },
		{ "reason", ans->reason != NULL ? ans->reason : "" },
	};
	return ipc_encode(out, attrs, ANSWER_COUNT);
}

/* RFC 3463: class "." 1*3digit "." 1*3digit, the class matching status. */
bool deliver_proto_dsn_ok(const char *dsn, char class)
{
	const char *p = dsn;

	if (*p++ != class || *p++ != '.')
		return false;
	for (int part = 0; part < 2; part++) {
		int digits = 0;
		while (*p >= '0' && *p <= '9' && digits < 4) {
			p++;
			digits++;
		}
		if (digits < 1 || digits > 3)
			return false;
		if (part == 0 && *p++ != '.')
			return false;
	}
	return *p == '\0';
}

int deliver_proto_status_parse(const char *s, enum deliver_status *status_r)
{
	if (strcmp(s, "0") == 0)
		*status_r = DELIVER_OK;
	else if (strcmp(s, "4") == 0)
		*status_r = DELIVER_TEMPFAIL;
	else if (strcmp(s, "5") == 0)
		*status_r = DELIVER_PERMFAIL;
	else
		return -1;
	return 0;
}

int deliver_answer_decode(const struct ipc_msg *msg,
			  struct deliver_answer *ans_r, const char **error_r)
{
	const char *v[ANSWER_COUNT];

	if (ipc_msg_get_exact(msg, answer_names, v, ANSWER_COUNT) < 0) {
		*error_r = "answer: wrong attribute set";
		return -1;
	}
	memset(ans_r, 0, sizeof(*ans_r));
	if (deliver_proto_status_parse(v[0], &ans_r->status) < 0) {
		*error_r = "answer: bad status";
		return -1;
	}
	char class = ans_r->status == DELIVER_OK ? '2' : v[0][0];
	if (!deliver_proto_dsn_ok(v[1], class)) {
		*error_r = "answer: bad dsn";
		return -1;
	}
	ans_r->dsn = v[1];
	ans_r->reason = v[2];
	return 0;
}

const char *deliver_status_word(enum deliver_status status, bool trace)
{
	if (trace)
		return status == DELIVER_OK ? "deliverable" : "undeliverable";
	return status == DELIVER_OK ? "sent" :
	       status == DELIVER_TEMPFAIL ? "deferred" : "bounced";
}
