/* deliver_proto2: version 2 of the delivery protocol (one message, many
 * recipients, one destination): encoding and strict decoding of the
 * request and its answer; see deliver_proto.h. The recipients' attributes
 * are numbered, so the decoder reads the attribute names itself instead
 * of matching a fixed list: every attribute is known, none repeats, and
 * the numbers run from 0 without a gap. */
#include "config.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "deliver_proto.h"
#include "mem.h"
#include "queue_id.h"
#include "str.h"
#include "transport.h"

enum req_field {
	F_QUEUE_ID, F_QUEUE_FILE, F_OFFSET, F_SIZE, F_SENDER, F_ARRIVAL,
	F_ACTIVE, F_RET, F_ENVID, F_SMTPUTF8, F_BODY, F_NEXTHOP, F_SIGN,
	F_COUNT,
	F_TRACE = F_COUNT	/* optional: only in a trace request */
};
static const char *const req_names[F_COUNT + 1] = {
	"queue_id", "queue_file", "offset", "size", "sender", "arrival",
	"active", "ret", "envid", "smtputf8", "body", "nexthop", "sign",
	DELIVER_TRACE_ATTR,
};

/* Per-recipient attribute families, in the order they are encoded. */
#define FAMILIES_MAX 7
static const char *const rcpt_prefix[FAMILIES_MAX] = {
	"rcpt_", "orcpt_", "notify_"
};
/* The answer's first three families are required, the rest optional. */
enum { A_STATUS, A_DSN, A_REASON, A_MTA, A_DIAG, A_CMD, A_PASS, A_COUNT };
static const char *const ans_prefix[FAMILIES_MAX] = {
	"status_", "dsn_", "reason_", "mta_", "diag_", "cmd_", "pass_"
};

/* Longest "notify_999" and the like, NUL included. */
#define NAME_SIZE 32

static int put(struct ipc_attr *attrs, size_t *n, char (*names)[NAME_SIZE],
	       const char *prefix, size_t idx, const char *value)
{
	snprintf(names[*n], NAME_SIZE, "%s%zu", prefix, idx);
	attrs[*n].name = names[*n];
	attrs[*n].value = value != NULL ? value : "";
	(*n)++;
	return 0;
}

int deliver_request2_encode(struct buf *out, const struct deliver_request2 *req)
{
	char num[4][24];
	size_t fixed_count = F_COUNT + (req->trace ? 1 : 0);
	size_t total = fixed_count + 3 * req->rcpt_count, n = 0;

	if (req->rcpt_count == 0 || req->rcpt_count > DELIVER_RCPT_MAX)
		return -1;
	snprintf(num[0], sizeof(num[0]), "%" PRIu64, req->offset);
	snprintf(num[1], sizeof(num[1]), "%" PRIu64, req->size);
	snprintf(num[2], sizeof(num[2]), "%" PRIu64, req->arrival_us);
	snprintf(num[3], sizeof(num[3]), "%" PRIu64, req->active_us);
	const char *fixed[F_COUNT + 1] = {
		req->queue_id, req->queue_file, num[0], num[1], req->sender,
		num[2], num[3], req->ret, req->envid,
		req->smtputf8 ? "1" : "0", req->body_8bit ? "8bitmime" : "7bit",
		req->nexthop, req->dkim_sign ? "1" : "0", "1",
	};
	struct ipc_attr *attrs = xcalloc(total, sizeof(*attrs));
	char (*names)[NAME_SIZE] = xcalloc(total, NAME_SIZE);
	for (size_t i = 0; i < fixed_count; i++) {
		attrs[n].name = req_names[i];
		attrs[n++].value = fixed[i] != NULL ? fixed[i] : "";
	}
	for (size_t i = 0; i < req->rcpt_count; i++) {
		const struct deliver_rcpt *r = &req->rcpts[i];
		put(attrs, &n, names, rcpt_prefix[0], i, r->address);
		put(attrs, &n, names, rcpt_prefix[1], i, r->orcpt);
		put(attrs, &n, names, rcpt_prefix[2], i, r->notify);
	}
	int ret = ipc_encode(out, attrs, n);
	free(attrs);
	free(names);
	return ret;
}

/* name = prefix N with N a decimal number below count and without
 * leading zeros; *family_r is the prefix's index. */
static bool numbered_name(const char *name,
			  const char *const prefix[FAMILIES_MAX], size_t count,
			  size_t *family_r, size_t *idx_r)
{
	for (size_t f = 0; f < FAMILIES_MAX && prefix[f] != NULL; f++) {
		size_t plen = strlen(prefix[f]);
		uint64_t v;
		if (strncmp(name, prefix[f], plen) != 0)
			continue;
		const char *num = name + plen;
		if ((num[0] == '0' && num[1] != '\0') ||
		    str_to_u64(num, &v) < 0 || v >= count)
			return false;
		*family_r = f;
		*idx_r = (size_t)v;
		return true;
	}
	return false;
}

/* Sorts msg's attributes into fixed[nfixed] (names fixed_names) and
 * per[count][FAMILIES_MAX] (families prefix, the first 3 required, the
 * others optional): -1 on an unknown, a repeated or a missing
 * attribute. */
static int split_attrs(const struct ipc_msg *msg, const char *const *fixed_names,
		       size_t nfixed, const char **fixed,
		       const char *const prefix[FAMILIES_MAX], size_t count,
		       const char *(*per)[FAMILIES_MAX])
{
	size_t nfam = 0;

	while (nfam < FAMILIES_MAX && prefix[nfam] != NULL)
		nfam++;
	if (msg->count < nfixed + 3 * count ||
	    msg->count > nfixed + nfam * count)
		return -1;
	for (size_t a = 0; a < msg->count; a++) {
		const char *name = msg->attrs[a].name, **slot = NULL;
		size_t f, idx;
		for (size_t i = 0; i < nfixed && slot == NULL; i++)
			if (strcmp(name, fixed_names[i]) == 0)
				slot = &fixed[i];
		if (slot == NULL && numbered_name(name, prefix, count, &f, &idx))
			slot = &per[idx][f];
		if (slot == NULL || *slot != NULL)
			return -1;
		*slot = msg->attrs[a].value;
	}
	for (size_t i = 0; i < nfixed; i++)
		if (fixed[i] == NULL)
			return -1;
	for (size_t i = 0; i < count; i++)
		if (per[i][0] == NULL || per[i][1] == NULL || per[i][2] == NULL)
			return -1;
	return 0;
}

/* RFC 3461 xtext: printable ASCII but "+" and "=", and "+" HEXCHAR
 * HEXCHAR (upper case hex, as the RFC writes it). */
static bool xtext_ok(const char *s)
{
	for (const char *p = s; *p != '\0'; p++) {
		if (*p == '+') {
			if (strchr("0123456789ABCDEF", p[1]) == NULL ||
			    p[1] == '\0' ||
			    strchr("0123456789ABCDEF", p[2]) == NULL ||
			    p[2] == '\0')
				return false;
			p += 2;
		} else if (*p < '!' || *p > '~' || *p == '=')
			return false;
	}
	return true;
}

/* ORCPT: addr-type ";" xtext, addr-type an atom (RFC 3461 4.2). */
static bool orcpt_ok(const char *s)
{
	const char *semi = strchr(s, ';');

	if (s[0] == '\0')
		return true;
	if (semi == NULL || semi == s || strlen(s) > 500)
		return false;
	for (const char *p = s; p < semi; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-'))
			return false;
	return xtext_ok(semi + 1);
}

static bool notify_ok(const char *s)
{
	unsigned seen = 0;

	if (s[0] == '\0' || strcmp(s, "NEVER") == 0)
		return true;
	for (const char *p = s;;) {
		static const char *const words[] = {
			"SUCCESS", "FAILURE", "DELAY"
		};
		size_t i, len = strcspn(p, ",");
		for (i = 0; i < 3; i++)
			if (len == strlen(words[i]) &&
			    strncmp(p, words[i], len) == 0)
				break;
		if (i == 3 || (seen & (1u << i)) != 0)
			return false;
		seen |= 1u << i;
		if (p[len] == '\0')
			return true;
		p += len + 1;
	}
}

static int request2_values(const char **v, struct deliver_request2 *req,
			   const char **error_r)
{
	uint64_t end;
	struct transport_nexthop nh;
	const char *nh_error;

	if (!queue_id_valid(v[F_QUEUE_ID]) ||
	    !deliver_proto_queue_file_ok(v[F_QUEUE_FILE], v[F_QUEUE_ID])) {
		*error_r = "request: bad queue_id or queue_file";
		return -1;
	}
	if (str_to_u64(v[F_OFFSET], &req->offset) < 0 ||
	    str_to_u64(v[F_SIZE], &req->size) < 0 ||
	    str_to_u64(v[F_ARRIVAL], &req->arrival_us) < 0 ||
	    str_to_u64(v[F_ACTIVE], &req->active_us) < 0 ||
	    __builtin_add_overflow(req->offset, req->size, &end) ||
	    end > INT64_MAX) {
		*error_r = "request: bad number";
		return -1;
	}
	if (strcmp(v[F_RET], "") != 0 && strcmp(v[F_RET], "FULL") != 0 &&
	    strcmp(v[F_RET], "HDRS") != 0) {
		*error_r = "request: bad ret";
		return -1;
	}
	if (strlen(v[F_ENVID]) > DELIVER_ENVID_MAX || !xtext_ok(v[F_ENVID])) {
		*error_r = "request: bad envid";
		return -1;
	}
	if (strcmp(v[F_SMTPUTF8], "0") != 0 && strcmp(v[F_SMTPUTF8], "1") != 0) {
		*error_r = "request: bad smtputf8";
		return -1;
	}
	if (strcmp(v[F_BODY], "7bit") != 0 &&
	    strcmp(v[F_BODY], "8bitmime") != 0) {
		*error_r = "request: bad body";
		return -1;
	}
	if (strcmp(v[F_SIGN], "0") != 0 && strcmp(v[F_SIGN], "1") != 0) {
		*error_r = "request: bad sign";
		return -1;
	}
	if (v[F_TRACE] != NULL && strcmp(v[F_TRACE], "1") != 0) {
		*error_r = "request: bad trace";
		return -1;
	}
	if (transport_parse_nexthop(TRANSPORT_SMTP, v[F_NEXTHOP], &nh,
				    &nh_error) < 0 ||
	    nh.kind == TRANSPORT_HOST_NONE) {
		*error_r = "request: bad nexthop";
		return -1;
	}
	req->queue_id = v[F_QUEUE_ID];
	req->queue_file = v[F_QUEUE_FILE];
	req->sender = v[F_SENDER];
	req->ret = v[F_RET];
	req->envid = v[F_ENVID];
	req->smtputf8 = v[F_SMTPUTF8][0] == '1';
	req->body_8bit = v[F_BODY][0] == '8';
	req->nexthop = v[F_NEXTHOP];
	req->dkim_sign = v[F_SIGN][0] == '1';
	req->trace = v[F_TRACE] != NULL;
	return 0;
}

int deliver_request2_decode(const struct ipc_msg *msg,
			    struct deliver_request2 *req_r,
			    const char **error_r)
{
	const char *v[F_COUNT + 1] = { NULL };
	size_t count;
	/* The optional trace counts as a fixed attribute when present (a
	 * repeated one is refused by split_attrs). */
	size_t nfixed = F_COUNT +
		(ipc_msg_get(msg, DELIVER_TRACE_ATTR) != NULL ? 1 : 0);

	memset(req_r, 0, sizeof(*req_r));
	if (msg->count <= nfixed || (msg->count - nfixed) % 3 != 0 ||
	    (count = (msg->count - nfixed) / 3) > DELIVER_RCPT_MAX) {
		*error_r = "request: wrong attribute set";
		return -1;
	}
	const char *(*per)[FAMILIES_MAX] = xcalloc(count, sizeof(*per));
	if (msg->count != nfixed + 3 * count ||
	    split_attrs(msg, req_names, nfixed, v, rcpt_prefix, count,
			per) < 0) {
		free(per);
		*error_r = "request: wrong attribute set";
		return -1;
	}
	if (request2_values(v, req_r, error_r) < 0) {
		free(per);
		return -1;
	}
	req_r->rcpts = xcalloc(count, sizeof(*req_r->rcpts));
	req_r->rcpt_count = count;
	for (size_t i = 0; i < count; i++) {
		if (per[i][0][0] == '\0' || !orcpt_ok(per[i][1]) ||
		    !notify_ok(per[i][2])) {
			free(per);
			deliver_request2_deinit(req_r);
			*error_r = "request: bad recipient";
			return -1;
		}
		req_r->rcpts[i].address = per[i][0];
		req_r->rcpts[i].orcpt = per[i][1];
		req_r->rcpts[i].notify = per[i][2];
	}
	free(per);
	return 0;
}

void deliver_request2_deinit(struct deliver_request2 *req)
{
	xfree(&req->rcpts);
	req->rcpt_count = 0;
}

/* The answer's attributes; *names_r and *status_r hold the strings they
 * point to. All three are freed by the caller. */
static struct ipc_attr *answer2_attrs(const struct deliver_answer *ans,
				      size_t count, bool site_dead,
				      char (**names_r)[NAME_SIZE],
				      char (**status_r)[4], size_t *n_r)
{
	size_t n = 0;
	struct ipc_attr *attrs = xcalloc(1 + A_COUNT * count, sizeof(*attrs));
	char (*names)[NAME_SIZE] = xcalloc(1 + A_COUNT * count, NAME_SIZE);
	char (*status)[4] = xcalloc(count, 4);

	for (size_t i = 0; i < count; i++) {
		const struct deliver_answer *a = &ans[i];
		snprintf(status[i], 4, "%d", (int)a->status);
		put(attrs, &n, names, ans_prefix[A_STATUS], i, status[i]);
		put(attrs, &n, names, ans_prefix[A_DSN], i, a->dsn);
		put(attrs, &n, names, ans_prefix[A_REASON], i, a->reason);
		/* The optional ones only when there is something to say. */
		if (a->remote_mta != NULL && a->remote_mta[0] != '\0')
			put(attrs, &n, names, ans_prefix[A_MTA], i,
			    a->remote_mta);
		if (a->diag != NULL && a->diag[0] != '\0')
			put(attrs, &n, names, ans_prefix[A_DIAG], i, a->diag);
		if (a->in_reply_to != NULL && a->in_reply_to[0] != '\0')
			put(attrs, &n, names, ans_prefix[A_CMD], i,
			    a->in_reply_to);
		if (a->dsn_passed)
			put(attrs, &n, names, ans_prefix[A_PASS], i, "1");
	}
	attrs[n].name = "site";
	attrs[n++].value = site_dead ? "dead" : "ok";
	*names_r = names;
	*status_r = status;
	*n_r = n;
	return attrs;
}

int deliver_answer2_encode(struct buf *out, const struct deliver_answer *ans,
			   size_t count, bool site_dead)
{
	char (*names)[NAME_SIZE], (*status)[4];
	size_t n;

	if (count == 0 || count > DELIVER_RCPT_MAX)
		return -1;
	struct ipc_attr *attrs = answer2_attrs(ans, count, site_dead, &names,
					       &status, &n);
	int ret = ipc_encode(out, attrs, n);
	free(attrs);
	free(names);
	free(status);
	return ret;
}

int deliver_answer2_write(int fd, const struct deliver_answer *ans,
			  size_t count, bool site_dead, int timeout_ms,
			  const char **error_r)
{
	char (*names)[NAME_SIZE], (*status)[4];
	size_t n;

	if (count == 0 || count > DELIVER_RCPT_MAX) {
		*error_r = "answer: bad recipient count";
		return -1;
	}
	struct ipc_attr *attrs = answer2_attrs(ans, count, site_dead, &names,
					       &status, &n);
	int ret = ipc_write_msg(fd, attrs, n, timeout_ms, error_r);
	free(attrs);
	free(names);
	free(status);
	return ret;
}

/* Printable ASCII without spaces (a host name as the peer gave it). */
static bool token_ok(const char *s, size_t max, bool spaces)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++)
		if ((unsigned char)s[n] > '~' || s[n] < ' ' ||
		    (s[n] == ' ' && !spaces))
			return false;
	return n > 0 && n <= max;
}

/* The optional attributes of one recipient's answer. */
static int answer2_extra(const char *const *v, struct deliver_answer *a,
			 const char **error_r)
{
	if (v[A_MTA] != NULL && !token_ok(v[A_MTA], DELIVER_MTA_MAX, false)) {
		*error_r = "answer: bad mta";
		return -1;
	}
	if (v[A_DIAG] != NULL &&
	    (v[A_DIAG][0] == '\0' || strlen(v[A_DIAG]) > DELIVER_DIAG_MAX)) {
		*error_r = "answer: bad diag";
		return -1;
	}
	if (v[A_CMD] != NULL && !token_ok(v[A_CMD], DELIVER_CMD_MAX, true)) {
		*error_r = "answer: bad cmd";
		return -1;
	}
	if (v[A_PASS] != NULL &&
	    (strcmp(v[A_PASS], "1") != 0 || a->status != DELIVER_OK)) {
		*error_r = "answer: bad pass";
		return -1;
	}
	a->remote_mta = v[A_MTA];
	a->diag = v[A_DIAG];
	a->in_reply_to = v[A_CMD];
	a->dsn_passed = v[A_PASS] != NULL;
	return 0;
}

int deliver_answer2_decode(const struct ipc_msg *msg, size_t count,
			   struct deliver_answer *ans_r, bool *site_dead_r,
			   const char **error_r)
{
	static const char *const site_name[] = { "site" };
	const char *site[1] = { NULL };
	int ret = -1;

	if (count == 0 || count > DELIVER_RCPT_MAX) {
		*error_r = "answer: bad recipient count";
		return -1;
	}
	const char *(*per)[FAMILIES_MAX] = xcalloc(count, sizeof(*per));
	if (split_attrs(msg, site_name, 1, site, ans_prefix, count, per) < 0) {
		*error_r = "answer: wrong attribute set";
		goto out;
	}
	if (strcmp(site[0], "ok") != 0 && strcmp(site[0], "dead") != 0) {
		*error_r = "answer: bad site";
		goto out;
	}
	for (size_t i = 0; i < count; i++) {
		memset(&ans_r[i], 0, sizeof(ans_r[i]));
		if (deliver_proto_status_parse(per[i][0], &ans_r[i].status) < 0) {
			*error_r = "answer: bad status";
			goto out;
		}
		char class = ans_r[i].status == DELIVER_OK ? '2' : per[i][0][0];
		if (!deliver_proto_dsn_ok(per[i][1], class)) {
			*error_r = "answer: bad dsn";
			goto out;
		}
		ans_r[i].dsn = per[i][1];
		ans_r[i].reason = per[i][2];
		if (answer2_extra(per[i], &ans_r[i], error_r) < 0)
			goto out;
	}
	*site_dead_r = site[0][0] == 'd';
	ret = 0;
out:
	free(per);
	return ret;
}
