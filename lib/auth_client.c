/* auth_client: the blocking client side of authd's protocol (one
 * request/reply per connection) and the SASL PLAIN decoder; see
 * auth_client.h and doc/auth.md. */
#include "config.h"
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include "auth_client.h"
#include "base64.h"
#include "ipc.h"
#include "metrics.h"
#include "str.h"
#include "timeutil.h"

/* A reply line: "mail=" and a path of up to sizeof(reply->mail). */
#define AUTH_REPLY_LINE_MAX 2048
#define AUTH_REPLY_ATTRS_MAX 8
/* authzid NUL authcid NUL passwd, each field at its longest. */
#define AUTH_SASL_PLAIN_MAX (2 * AUTH_USER_MAX + AUTH_PASSWORD_MAX + 2)

/* connect() on a blocking AF_UNIX socket waits while the listen backlog
 * is full; SO_SNDTIMEO bounds that wait. */
static int auth_connect(const char *path, uint64_t deadline,
			const char **error_r)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	uint64_t now = time_mono_ms();
	uint64_t left = deadline > now ? deadline - now : 1;
	struct timeval tv = { .tv_sec = (time_t)(left / 1000),
			      .tv_usec = (suseconds_t)(left % 1000) * 1000 };

	if (str_copy(sun.sun_path, sizeof(sun.sun_path), path) < 0) {
		*error_r = "authd socket path too long";
		return -1;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*error_r = "cannot create a socket";
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		*error_r = errno == EAGAIN || errno == EINPROGRESS ?
			"timeout connecting to authd" :
			"cannot connect to authd";
		close(fd);
		return -1;
	}
	return fd;
}

static int auth_copy(char *dst, size_t size, const char *value,
		     const char **error_r)
{
	if (str_copy(dst, size, value) < 0) {
		*error_r = "authd reply: value too long";
		return -1;
	}
	return 0;
}

/* The attributes a reply may carry; a bit each in a "seen" mask. */
enum reply_attr { RA_STATUS, RA_USER, RA_HOME, RA_MAIL, RA_QUOTA, RA_REASON,
		  RA_COUNT };
#define RA_BIT(a) (1u << (a))

static const char *const reply_attr_names[RA_COUNT] = {
	"status", "user", "home", "mail", "quota", "reason"
};

/* One reply attribute into reply; *seen catches repeats. */
static int auth_reply_attr(const struct ipc_attr *a, struct auth_reply *reply,
			   unsigned *seen, const char **error_r)
{
	unsigned i = 0;
	uint64_t quota;

	while (i < RA_COUNT && strcmp(reply_attr_names[i], a->name) != 0)
		i++;
	if (i == RA_COUNT || (*seen & RA_BIT(i)) != 0) {
		*error_r = "authd reply: unexpected or repeated attribute";
		return -1;
	}
	*seen |= RA_BIT(i);
	switch ((enum reply_attr)i) {
	case RA_USER:
		return auth_copy(reply->user, sizeof(reply->user), a->value,
				 error_r);
	case RA_HOME:
		return auth_copy(reply->home, sizeof(reply->home), a->value,
				 error_r);
	case RA_MAIL:
		return auth_copy(reply->mail, sizeof(reply->mail), a->value,
				 error_r);
	case RA_QUOTA:
		if (str_to_u64(a->value, &quota) < 0) {
			*error_r = "authd reply: bad quota";
			return -1;
		}
		reply->quota = quota;
		return 0;
	case RA_REASON:
		return auth_copy(reply->reason, sizeof(reply->reason),
				 a->value, error_r);
	default:
		return 0;	/* status: checked by the caller */
	}
}

/* Checks a reply for exactly the attributes its status allows. */
static int auth_reply_parse(const struct ipc_msg *msg,
			    struct auth_reply *reply, const char **error_r)
{
	const unsigned ok_allowed = RA_BIT(RA_STATUS) | RA_BIT(RA_USER) |
		RA_BIT(RA_HOME) | RA_BIT(RA_MAIL) | RA_BIT(RA_QUOTA);
	const unsigned fail_exact = RA_BIT(RA_STATUS) | RA_BIT(RA_REASON);
	const char *status = ipc_msg_get(msg, "status");
	unsigned seen = 0;

	memset(reply, 0, sizeof(*reply));
	for (size_t i = 0; i < msg->count; i++)
		if (auth_reply_attr(&msg->attrs[i], reply, &seen, error_r) < 0)
			return -1;
	if (status != NULL && strcmp(status, "ok") == 0 &&
	    (seen & ~ok_allowed) == 0 && reply->user[0] != '\0') {
		reply->status = AUTH_OK;
		return 0;
	}
	if (status != NULL && seen == fail_exact) {
		if (strcmp(status, "fail") == 0) {
			reply->status = AUTH_FAIL;
			return 0;
		}
		if (strcmp(status, "tempfail") == 0) {
			reply->status = AUTH_TEMPFAIL;
			return 0;
		}
	}
	*error_r = "authd reply: bad status or attributes";
	return -1;
}

static int auth_left_ms(uint64_t deadline)
{
	uint64_t now = time_mono_ms();

	return deadline > now ? (int)(deadline - now) : 0;
}

static int auth_exchange(const char *socket_path,
			 const struct ipc_attr *attrs, size_t count,
			 struct auth_reply *reply, int timeout_ms,
			 const char **error_r)
{
	uint64_t deadline = time_mono_ms() + (uint64_t)(timeout_ms > 0 ?
							timeout_ms : 1);
	struct ipc_reader *r;
	struct ipc_msg msg = { 0 };
	int fd, ret = -1;

	fd = auth_connect(socket_path, deadline, error_r);
	if (fd < 0)
		return -1;
	r = ipc_reader_new(AUTH_REPLY_LINE_MAX, AUTH_REPLY_ATTRS_MAX);
	if (ipc_write_msg(fd, attrs, count, auth_left_ms(deadline),
			  error_r) == 0 &&
	    ipc_read_msg(fd, r, &msg, auth_left_ms(deadline), error_r) == 0) {
		ret = auth_reply_parse(&msg, reply, error_r);
		ipc_msg_clear(&msg);
	}
	ipc_reader_free(&r);
	close(fd);
	return ret;
}

static bool auth_text_ok(const char *s, size_t max)
{
	return s != NULL && strnlen(s, max + 1) <= max &&
	       strpbrk(s, "\r\n") == NULL;
}

/* The request's own checks: what authd would refuse anyway is failed
 * here without being sent. */
static bool auth_local_fail(const char *user, const char *password,
			    struct auth_reply *reply)
{
	const char *why = NULL;

	if (!auth_text_ok(user, AUTH_USER_MAX) || user[0] == '\0')
		why = "invalid user name";
	else if (password != NULL && !auth_text_ok(password,
						    AUTH_PASSWORD_MAX))
		why = "invalid password";
	if (why == NULL)
		return false;
	memset(reply, 0, sizeof(*reply));
	reply->status = AUTH_FAIL;
	if (str_copy(reply->reason, sizeof(reply->reason), why) < 0)
		reply->reason[0] = '\0';
	return true;
}

int auth_client_verify(const char *socket_path, const struct auth_request *req,
		       struct auth_reply *reply, int timeout_ms,
		       const char **error_r)
{
	const char *password = req->password != NULL ? req->password : "";

	if (req->service == NULL) {
		*error_r = "no service given";
		return -1;
	}
	if (auth_local_fail(req->user, password, reply))
		return 0;
	const struct ipc_attr attrs[] = {
		{ "request", "verify" },
		{ "service", req->service },
		{ "user", req->user },
		{ "password", password },
		{ "rip", req->client_addr != NULL ? req->client_addr : "" },
		{ "secured", req->secured ? "yes" : "no" },
	};
	return auth_exchange(socket_path, attrs, 6, reply, timeout_ms,
			     error_r);
}

int auth_client_login(const char *socket_path, const char *service,
		      const char *user, const char *password,
		      const char *client_addr, bool tls, bool loopback,
		      struct auth_reply *reply, const char **error_r)
{
	const struct auth_request req = {
		.service = service,
		.user = user,
		.password = password,
		.client_addr = client_addr,
		.secured = tls || loopback,
	};

	if (auth_client_verify(socket_path, &req, reply,
			       AUTH_CLIENT_TIMEOUT_MS, error_r) < 0)
		return -1;
	/* A temporary failure says nothing about the password. */
	if (reply->status == AUTH_OK)
		metrics_count(METRICS_AUTH_OK);
	else if (reply->status == AUTH_FAIL)
		metrics_count(METRICS_AUTH_FAIL);
	return 0;
}

int auth_client_lookup(const char *socket_path, const struct auth_request *req,
		       struct auth_reply *reply, int timeout_ms,
		       const char **error_r)
{
	if (req->service == NULL) {
		*error_r = "no service given";
		return -1;
	}
	if (auth_local_fail(req->user, NULL, reply))
		return 0;
	const struct ipc_attr attrs[] = {
		{ "request", "lookup" },
		{ "service", req->service },
		{ "user", req->user },
	};
	return auth_exchange(socket_path, attrs, 3, reply, timeout_ms,
			     error_r);
}

/* ---- SASL PLAIN ---- */

static int sasl_fail(unsigned char *buf, size_t len, const char *why,
		     const char **error_r)
{
	explicit_bzero(buf, len);
	*error_r = why;
	return -1;
}

static bool sasl_eq_ci(const unsigned char *a, size_t alen,
		       const unsigned char *b, size_t blen)
{
	if (alen != blen)
		return false;
	for (size_t i = 0; i < alen; i++) {
		unsigned char x = a[i], y = b[i];
		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y - 'A' + 'a');
		if (x != y)
			return false;
	}
	return true;
}

/* raw stays the caller's to wipe; nothing is copied but the results. */
int auth_sasl_plain_parse(const void *raw, size_t len, char *user,
			  size_t user_size, char *password,
			  size_t password_size, const char **error_r)
{
	const unsigned char *buf = raw;
	const unsigned char *end = buf + len;

	if (user_size > 0)
		user[0] = '\0';
	if (password_size > 0)
		password[0] = '\0';
	const unsigned char *nul1 = memchr(buf, '\0', len);
	const unsigned char *nul2 = nul1 == NULL ? NULL :
		memchr(nul1 + 1, '\0', (size_t)(end - (nul1 + 1)));
	if (nul2 == NULL ||
	    memchr(nul2 + 1, '\0', (size_t)(end - (nul2 + 1))) != NULL) {
		*error_r = "SASL PLAIN needs exactly two NULs";
		return -1;
	}
	size_t zlen = (size_t)(nul1 - buf);
	size_t clen = (size_t)(nul2 - (nul1 + 1));
	size_t plen = (size_t)(end - (nul2 + 1));
	if (clen == 0)
		*error_r = "empty user name";
	else if (plen == 0)
		*error_r = "empty password";
	/* No proxy logins: an authzid may only name the authcid itself. */
	else if (zlen > 0 && !sasl_eq_ci(buf, zlen, nul1 + 1, clen))
		*error_r = "authorization identity differs from the user name";
	else if (clen >= user_size)
		*error_r = "user name too long";
	else if (plen >= password_size)
		*error_r = "password too long";
	else {
		memcpy(user, nul1 + 1, clen);
		user[clen] = '\0';
		memcpy(password, nul2 + 1, plen);
		password[plen] = '\0';
		return 0;
	}
	return -1;
}

int auth_sasl_plain_decode(const char *b64, char *user, size_t user_size,
			   char *password, size_t password_size,
			   const char **error_r)
{
	unsigned char buf[AUTH_SASL_PLAIN_MAX];
	size_t b64_len = strnlen(b64, base64_encoded_len(sizeof(buf)) + 1);
	ssize_t len;

	if (user_size > 0)
		user[0] = '\0';
	if (password_size > 0)
		password[0] = '\0';
	if (b64_len > base64_encoded_len(sizeof(buf))) {
		*error_r = "SASL response too long";
		return -1;
	}
	len = base64_decode(b64, b64_len, buf, sizeof(buf), error_r);
	if (len < 0)
		return sasl_fail(buf, sizeof(buf), *error_r, error_r);
	int ret = auth_sasl_plain_parse(buf, (size_t)len, user, user_size,
					password, password_size, error_r);
	explicit_bzero(buf, sizeof(buf));
	return ret;
}

int auth_sasl_login_parse(const void *raw, size_t len, char *out,
			  size_t size, const char **error_r)
{
	if (size > 0)
		out[0] = '\0';
	if (len == 0)
		*error_r = "empty response";
	else if (memchr(raw, '\0', len) != NULL ||
		 memchr(raw, '\r', len) != NULL ||
		 memchr(raw, '\n', len) != NULL)
		*error_r = "NUL, CR or LF in the response";
	else if (len >= size)
		*error_r = "response too long";
	else {
		memcpy(out, raw, len);
		out[len] = '\0';
		return 0;
	}
	return -1;
}
