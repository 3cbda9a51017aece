/* authd_request: what a request means. "lookup" answers from the tables;
 * "verify" checks the password (the success cache first, then crypt in
 * constant time, a dummy hash for unknown users so that the time taken
 * does not tell who exists), counts failures, logs each one in a form
 * fail2ban can match, and says how long the fail reply must wait. */
#include "config.h"
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "authd.h"
#include "log.h"
#include "str.h"
#include "timeutil.h"

#define REQ_SERVICE_MAX 32
#define REQ_RIP_MAX 64
#define REQ_LOG_USER_MAX (4 * AUTH_USER_MAX + 1)

struct req {
	const char *service, *user, *password, *rip;
	bool secured;
};

char *authd_log_user(char *out, size_t outsize, const char *user)
{
	size_t o = 0;

	for (; *user != '\0' && o + 5 <= outsize; user++) {
		unsigned char c = (unsigned char)*user;

		if (c < 0x21 || c > 0x7e || strchr("<>,=\\", c) != NULL) {
			out[o++] = '\\';
			out[o++] = (char)('0' + (c >> 6));
			out[o++] = (char)('0' + ((c >> 3) & 7));
			out[o++] = (char)('0' + (c & 7));
		} else {
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
	return out;
}

/* ---- replies ---- */

static int reply_status(struct buf *out, const char *status,
			const char *reason)
{
	const struct ipc_attr attrs[] = {
		{ "status", status },
		{ "reason", reason },
	};

	return ipc_encode(out, attrs, 2);
}

static int reply_ok(struct buf *out, const struct authd_user *u)
{
	struct ipc_attr attrs[5] = { { "status", "ok" }, { "user", u->name } };
	char quota[24];
	size_t n = 2;

	if (u->home[0] != '\0')
		attrs[n++] = (struct ipc_attr){ "home", u->home };
	if (u->mail[0] != '\0')
		attrs[n++] = (struct ipc_attr){ "mail", u->mail };
	if (u->quota > 0) {
		snprintf(quota, sizeof(quota), "%llu",
			 (unsigned long long)u->quota);
		attrs[n++] = (struct ipc_attr){ "quota", quota };
	}
	return ipc_encode(out, attrs, n);
}

/* ---- verify ---- */

static bool req_is_plain(const char *stored)
{
	return strncasecmp(stored, "{PLAIN}", 7) == 0 ||
	       strncasecmp(stored, "{CLEAR}", 7) == 0;
}

/* The password check proper: 1 match, 0 mismatch (*why_r), -1 the stored
 * hash is unusable (*why_r). */
static int req_check(const struct authd_user *u, const char *password,
		     uint64_t now, const char **why_r)
{
	int ret;

	if (strnlen(password, AUTH_PASSWORD_MAX + 1) > AUTH_PASSWORD_MAX) {
		*why_r = "password too long";
		return 0;
	}
	if (u->password[0] == '\0') {
		(void)passwd_verify(authd_users_dummy_hash(authd.users),
				    password, false, why_r);
		*why_r = "no password in the table";
		return 0;
	}
	if (req_is_plain(u->password) && !authd.allow_plain) {
		(void)passwd_verify(authd_users_dummy_hash(authd.users),
				    password, false, why_r);
		*why_r = "PLAIN passwords are not allowed";
		return 0;
	}
	if (authd_cache_hit(authd.cache, u->name, u->password, password, now))
		return 1;
	ret = passwd_verify(u->password, password, authd.allow_plain, why_r);
	if (ret == 0)
		*why_r = "password mismatch";
	if (ret == 1)
		authd_cache_add(authd.cache, u->name, u->password, password,
				now);
	return ret;
}

static void req_log_failure(const struct req *r, const char *why,
			    uint64_t delay_ms)
{
	char user[REQ_LOG_USER_MAX];

	log_warn("auth failure: service=%s, user=<%s>, rip=%s, reason=%s, "
		 "delay=%llus", r->service,
		 authd_log_user(user, sizeof(user), r->user),
		 r->rip[0] != '\0' ? r->rip : "unknown", why,
		 (unsigned long long)(delay_ms / 1000));
}

static int req_verify(const struct req *r, struct buf *out,
		      uint64_t *delay_ms_r)
{
	struct authd_user u;
	const char *why = "unknown user", *error;
	uint64_t now = time_mono_ms(), delay, spent;
	int ret, found;

	if (authd_users_refresh(authd.users))
		authd_cache_clear(authd.cache);
	found = authd_users_lookup(authd.users, r->user, &u, &error);
	if (found < 0) {
		log_error("user lookup of service=%s failed: %s", r->service,
			  error);
		return reply_status(out, "tempfail", "user table unavailable");
	}
	if (found == 0) {
		/* as long as a real check, and never a match */
		(void)passwd_verify(authd_users_dummy_hash(authd.users),
				    r->password, false, &error);
		ret = 0;
	} else {
		ret = req_check(&u, r->password, now, &why);
	}
	if (ret < 0) {
		log_error("user %s: stored password: %s", u.name, why);
		authd_user_clear(&u);
		return reply_status(out, "tempfail", "stored password unusable");
	}
	if (ret == 1) {
		authd_throttle_success(authd.throttle, r->rip, r->user);
		ret = reply_ok(out, &u);
		authd_user_clear(&u);
		return ret;
	}
	authd_user_clear(&u);
	delay = authd_throttle_fail(authd.throttle, r->rip, r->user, now);
	/* Counted from when the request was taken up, so that the hash's
	 * own time (a slow bcrypt entry against the dummy of an unknown
	 * user) hides inside the delay and does not tell who exists. */
	spent = time_mono_ms() - now;
	*delay_ms_r = delay > spent ? delay - spent : 0;
	req_log_failure(r, why, delay);
	return reply_status(out, "fail", why);
}

static int req_lookup(const struct req *r, struct buf *out)
{
	struct authd_user u;
	const char *error;
	int ret;

	if (authd_users_refresh(authd.users))
		authd_cache_clear(authd.cache);
	ret = authd_users_lookup(authd.users, r->user, &u, &error);
	if (ret < 0) {
		log_error("user lookup of service=%s failed: %s", r->service,
			  error);
		return reply_status(out, "tempfail", "user table unavailable");
	}
	if (ret == 0)
		return reply_status(out, "fail", "unknown user");
	ret = reply_ok(out, &u);
	authd_user_clear(&u);
	return ret;
}

/* ---- parsing ---- */

static bool req_service_ok(const char *s)
{
	size_t len = strlen(s);

	return len > 0 && len <= REQ_SERVICE_MAX &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == len;
}

/* rip must be an address (or empty): it goes into the fail2ban line. */
static bool req_rip_ok(const char *s)
{
	unsigned char addr[sizeof(struct in6_addr)];

	return s[0] == '\0' ||
	       (strlen(s) < REQ_RIP_MAX &&
		(inet_pton(AF_INET, s, addr) == 1 ||
		 inet_pton(AF_INET6, s, addr) == 1));
}

static int req_parse_verify(const struct ipc_msg *msg, struct req *r,
			    const char **error_r)
{
	static const char *const names[] = {
		"request", "service", "user", "password", "rip", "secured"
	};
	const char *v[6];

	if (ipc_msg_get_exact(msg, names, v, 6) < 0) {
		*error_r = "verify: wrong attributes";
		return -1;
	}
	r->service = v[1];
	r->user = v[2];
	r->password = v[3];
	r->rip = v[4];
	if (strcmp(v[5], "yes") != 0 && strcmp(v[5], "no") != 0) {
		*error_r = "verify: bad secured value";
		return -1;
	}
	r->secured = strcmp(v[5], "yes") == 0;
	if (!req_rip_ok(r->rip)) {
		*error_r = "verify: rip is not an address";
		return -1;
	}
	return 0;
}

int authd_request_handle(const struct ipc_msg *msg, struct buf *out,
			 uint64_t *delay_ms_r, const char **error_r)
{
	static const char *const lookup_names[] = {
		"request", "service", "user"
	};
	const char *request = ipc_msg_get(msg, "request"), *v[3];
	struct req r = { 0 };
	int ret;

	*delay_ms_r = 0;
	if (request != NULL && strcmp(request, "verify") == 0) {
		if (req_parse_verify(msg, &r, error_r) < 0)
			return -1;
	} else if (request != NULL && strcmp(request, "lookup") == 0) {
		if (ipc_msg_get_exact(msg, lookup_names, v, 3) < 0) {
			*error_r = "lookup: wrong attributes";
			return -1;
		}
		r.service = v[1];
		r.user = v[2];
	} else {
		*error_r = "unknown request";
		return -1;
	}
	if (!req_service_ok(r.service)) {
		*error_r = "bad service name";
		return -1;
	}
	ret = r.password != NULL ? req_verify(&r, out, delay_ms_r) :
		req_lookup(&r, out);
	if (ret < 0)
		*error_r = "reply does not fit";
	return ret;
}
