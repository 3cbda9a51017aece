#include "config.h"
/* Unit tests for lib/auth_client: the SASL PLAIN decoder (authzid rules,
 * NUL count, empty fields, lengths at limit-1/limit/limit+1), its form
 * for decoded input, the LOGIN response check, and the
 * client against a scripted fake authd on a UNIX socket in a temporary
 * directory: the request it sends, every reply status, replies that
 * break the protocol, a server that hangs or goes away, and the checks
 * that fail a request without sending it. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include "auth_client.h"
#include "base64.h"
#include "buf.h"
#include "ipc.h"
#include "unit.h"

/* ---- SASL PLAIN ---- */

/* base64 of raw[0..len) into out */
static void b64(const char *raw, size_t len, char *out, size_t outsize)
{
	if (base64_encode(raw, len, out, outsize) < 0)
		abort();
}

static int plain(const char *raw, size_t len, char *user, size_t usize,
		 char *pw, size_t psize, const char **error)
{
	char enc[4096];

	b64(raw, len, enc, sizeof(enc));
	return auth_sasl_plain_decode(enc, user, usize, pw, psize, error);
}

#define PLAIN(lit, u, p, e) plain(lit, sizeof(lit) - 1, u, sizeof(u), p, \
				  sizeof(p), e)

static void test_sasl_plain(void)
{
	char user[AUTH_USER_MAX + 1], pw[AUTH_PASSWORD_MAX + 1];
	const char *error;

	UNIT_CHECK(PLAIN("\0alice@example.org\0secret", user, pw, &error) == 0);
	UNIT_STREQ(user, "alice@example.org");
	UNIT_STREQ(pw, "secret");
	/* authzid = authcid, also in another case */
	UNIT_CHECK(PLAIN("alice\0alice\0s", user, pw, &error) == 0);
	UNIT_CHECK(PLAIN("ALICE\0alice\0s", user, pw, &error) == 0);
	UNIT_STREQ(user, "alice");
	/* a password may hold anything but NUL */
	UNIT_CHECK(PLAIN("\0a\0p w:\xc3\xa9\x01", user, pw, &error) == 0);
	UNIT_STREQ(pw, "p w:\xc3\xa9\x01");

	/* refused, and nothing is left in the outputs */
	static const struct {
		const char *raw;
		size_t len;
		const char *why;
	} bad[] = {
		{ "bob\0alice\0s", 11, "authorization identity differs from "
		  "the user name" },
		{ "alicex\0alice\0s", 14, "authorization identity differs "
		  "from the user name" },
		{ "alice\0s", 7, "SASL PLAIN needs exactly two NULs" },
		{ "\0a\0b\0c", 6, "SASL PLAIN needs exactly two NULs" },
		{ "\0a\0b\0", 5, "SASL PLAIN needs exactly two NULs" },
		{ "abc", 3, "SASL PLAIN needs exactly two NULs" },
		{ "", 0, "SASL PLAIN needs exactly two NULs" },
		{ "\0\0s", 3, "empty user name" },
		{ "\0alice\0", 7, "empty password" },
		{ "\0\0", 2, "empty user name" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		error = NULL;
		UNIT_CHECK(plain(bad[i].raw, bad[i].len, user, sizeof(user), pw,
				 sizeof(pw), &error) == -1);
		UNIT_STREQ(error, bad[i].why);
		UNIT_STREQ(user, "");
		UNIT_STREQ(pw, "");
	}
	UNIT_CHECK(auth_sasl_plain_decode("AGEAYg", user, sizeof(user), pw,
					  sizeof(pw), &error) == -1);
	UNIT_CHECK(auth_sasl_plain_decode("AGEAYg= =", user, sizeof(user), pw,
					  sizeof(pw), &error) == -1);
	UNIT_CHECK(auth_sasl_plain_decode("=", user, sizeof(user), pw,
					  sizeof(pw), &error) == -1);
	UNIT_CHECK(auth_sasl_plain_decode("AGEAYg==", user, sizeof(user), pw,
					  sizeof(pw), &error) == 0);
	UNIT_STREQ(user, "a");
	UNIT_STREQ(pw, "b");
}

/* Field lengths at the caller's limits: size-1 fits, size does not. */
static void test_sasl_plain_lengths(void)
{
	char raw[3 * 1100], user[8], pw[6];
	const char *error;

	memcpy(raw, "\0abcdefg\0abcde", 14);	/* 7 and 5: fit exactly */
	UNIT_CHECK(plain(raw, 14, user, sizeof(user), pw, sizeof(pw),
			 &error) == 0);
	UNIT_STREQ(user, "abcdefg");
	UNIT_STREQ(pw, "abcde");
	memcpy(raw, "\0abcdefgh\0abcde", 15);
	UNIT_CHECK(plain(raw, 15, user, sizeof(user), pw, sizeof(pw),
			 &error) == -1);
	UNIT_STREQ(error, "user name too long");
	memcpy(raw, "\0abcdefg\0abcdef", 15);
	UNIT_CHECK(plain(raw, 15, user, sizeof(user), pw, sizeof(pw),
			 &error) == -1);
	UNIT_STREQ(error, "password too long");

	/* the largest response: authzid and authcid of AUTH_USER_MAX, a
	 * password of AUTH_PASSWORD_MAX */
	char big_user[AUTH_USER_MAX + 1], big_pw[AUTH_PASSWORD_MAX + 1];
	size_t n = 0;
	for (int f = 0; f < 2; f++) {
		memset(raw + n, 'u', AUTH_USER_MAX);
		n += AUTH_USER_MAX;
		raw[n++] = '\0';
	}
	memset(raw + n, 'p', AUTH_PASSWORD_MAX);
	UNIT_CHECK(plain(raw, n + AUTH_PASSWORD_MAX, big_user,
			 sizeof(big_user), big_pw, sizeof(big_pw),
			 &error) == 0);
	UNIT_CHECK(strlen(big_user) == AUTH_USER_MAX);
	UNIT_CHECK(strlen(big_pw) == AUTH_PASSWORD_MAX);
	/* one byte more is refused before decoding */
	raw[n + AUTH_PASSWORD_MAX] = 'p';
	UNIT_CHECK(plain(raw, n + AUTH_PASSWORD_MAX + 1, big_user,
			 sizeof(big_user), big_pw, sizeof(big_pw),
			 &error) == -1);
	UNIT_STREQ(error, "SASL response too long");
}

/* ---- the client against a fake authd ---- */

static char sock_dir[] = "/tmp/test_auth_client.XXXXXX";
static char sock_path[256];

/* The fake server's answer: raw bytes, or NULL to close without one. */
#define SERVER_HANG "<hang>"

/* Listens on sock_path, forks a server that accepts one client, writes
 * the request it read (one "name=value" per line) to a pipe and answers
 * with reply. Returns the pid; *req_fd gets the pipe's read end. */
static pid_t fake_server(const char *reply, int *req_fd)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int lfd = socket(AF_UNIX, SOCK_STREAM, 0), pfd[2];
	pid_t pid;

	unlink(sock_path);
	memcpy(sun.sun_path, sock_path, strlen(sock_path) + 1);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    listen(lfd, 4) < 0 || pipe(pfd) < 0)
		abort();
	pid = fork();
	if (pid == 0) {
		struct ipc_reader *r = ipc_reader_new(4096, 16);
		struct ipc_msg msg = { 0 };
		const char *error;
		int fd = accept(lfd, NULL, NULL);

		close(pfd[0]);
		if (fd < 0 || ipc_read_msg(fd, r, &msg, 5000, &error) < 0)
			_exit(1);
		for (size_t i = 0; i < msg.count; i++)
			dprintf(pfd[1], "%s=%s\n", msg.attrs[i].name,
				msg.attrs[i].value);
		close(pfd[1]);
		if (reply != NULL && strcmp(reply, SERVER_HANG) == 0)
			sleep(3);
		else if (reply != NULL &&
			 write(fd, reply, strlen(reply)) != (ssize_t)strlen(reply))
			_exit(1);
		_exit(0);
	}
	close(lfd);
	close(pfd[1]);
	*req_fd = pfd[0];
	return pid;
}

static void read_all(int fd, char *out, size_t size)
{
	size_t n = 0;
	ssize_t r;

	while (n + 1 < size && (r = read(fd, out + n, size - 1 - n)) > 0)
		n += (size_t)r;
	out[n] = '\0';
	close(fd);
}

/* One verify (or lookup) against a server answering reply; returns the
 * client's return value, with the request the server saw in req. */
static int exchange(bool lookup, const struct auth_request *ar,
		    const char *reply, struct auth_reply *out, char *req,
		    size_t req_size, int timeout_ms)
{
	const char *error = NULL;
	int req_fd, status, ret;
	pid_t pid = fake_server(reply, &req_fd);

	ret = lookup ? auth_client_lookup(sock_path, ar, out, timeout_ms,
					  &error) :
		auth_client_verify(sock_path, ar, out, timeout_ms, &error);
	if (ret < 0 && error == NULL)
		ret = -2;	/* -1 must come with a reason */
	kill(pid, SIGKILL);
	read_all(req_fd, req, req_size);
	waitpid(pid, &status, 0);
	return ret;
}

static const struct auth_request alice = {
	.service = "pop3", .user = "Alice@example.org", .password = "s3cret",
	.client_addr = "192.0.2.1", .secured = true,
};

static void test_client_replies(void)
{
	struct auth_reply r;
	char req[4096];

	UNIT_CHECK(exchange(false, &alice,
			    "status=ok\nuser=alice@example.org\nhome=/home/a\n"
			    "mail=/var/mail/a\nquota=1048576\n\n", &r, req,
			    sizeof(req), 5000) == 0);
	UNIT_STREQ(req, "request=verify\nservice=pop3\nuser=Alice@example.org\n"
		   "password=s3cret\nrip=192.0.2.1\nsecured=yes\n");
	UNIT_CHECK(r.status == AUTH_OK);
	UNIT_STREQ(r.user, "alice@example.org");
	UNIT_STREQ(r.home, "/home/a");
	UNIT_STREQ(r.mail, "/var/mail/a");
	UNIT_CHECK(r.quota == 1048576);

	UNIT_CHECK(exchange(false, &alice, "status=ok\nuser=a\n\n", &r, req,
			    sizeof(req), 5000) == 0);
	UNIT_CHECK(r.status == AUTH_OK && r.home[0] == '\0' &&
		   r.mail[0] == '\0' && r.quota == 0);

	UNIT_CHECK(exchange(false, &alice,
			    "status=fail\nreason=password mismatch\n\n", &r,
			    req, sizeof(req), 5000) == 0);
	UNIT_CHECK(r.status == AUTH_FAIL);
	UNIT_STREQ(r.reason, "password mismatch");
	UNIT_CHECK(r.user[0] == '\0');

	UNIT_CHECK(exchange(false, &alice,
			    "status=tempfail\nreason=table\n\n", &r, req,
			    sizeof(req), 5000) == 0);
	UNIT_CHECK(r.status == AUTH_TEMPFAIL);

	struct auth_request anon = { .service = "imap", .user = "b",
				     .password = "p" };
	UNIT_CHECK(exchange(false, &anon, "status=ok\nuser=b\n\n", &r, req,
			    sizeof(req), 5000) == 0);
	UNIT_STREQ(req, "request=verify\nservice=imap\nuser=b\npassword=p\n"
		   "rip=\nsecured=no\n");

	UNIT_CHECK(exchange(true, &alice, "status=ok\nuser=alice\n\n", &r,
			    req, sizeof(req), 5000) == 0);
	UNIT_STREQ(req, "request=lookup\nservice=pop3\nuser=Alice@example.org\n");
	UNIT_CHECK(r.status == AUTH_OK);
}

static void test_client_bad_replies(void)
{
	static const char *const bad[] = {
		"status=ok\n\n",			/* no user */
		"status=ok\nuser=\n\n",
		"status=ok\nuser=a\nreason=x\n\n",
		"status=fail\n\n",			/* no reason */
		"status=fail\nreason=x\nuser=a\n\n",
		"status=tempfail\nreason=x\nquota=1\n\n",
		"status=maybe\nreason=x\n\n",
		"reason=x\n\n",				/* no status */
		"status=ok\nuser=a\nuser=b\n\n",	/* repeated */
		"status=ok\nstatus=ok\nuser=a\n\n",
		"status=ok\nuser=a\nshell=/bin/sh\n\n",	/* unknown */
		"status=ok\nuser=a\nquota=12k\n\n",
		"status=ok\nuser=a\nquota=-1\n\n",
		"garbage\n\n",
		"status=ok\r\nuser=a\r\n\r\n",
		"status=ok\nuser=a\n",			/* no end */
		"",
		NULL,					/* closed */
		SERVER_HANG,				/* timeout */
	};
	struct auth_reply r;
	char req[4096];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = exchange(false, &alice, bad[i], &r, req, sizeof(req),
				   1000);
		UNIT_CHECK(ret == -1);
		if (ret != -1)
			fprintf(stderr, "bad reply %zu accepted\n", i);
	}
	/* a reason too long for the reply's buffer */
	struct buf long_reason;
	buf_init(&long_reason, 4096);
	if (buf_append_str(&long_reason, "status=fail\nreason=") < 0)
		abort();
	for (int i = 0; i < 300; i++)
		if (buf_append_char(&long_reason, 'x') < 0)
			abort();
	if (buf_append_str(&long_reason, "\n\n") < 0)
		abort();
	UNIT_CHECK(exchange(false, &alice, long_reason.data, &r, req,
			    sizeof(req), 1000) == -1);
	buf_deinit(&long_reason);
}

/* What authd would refuse is failed without a connection: the socket
 * path does not exist, so a connection attempt would give -1. */
static void test_client_local_checks(void)
{
	char user[AUTH_USER_MAX + 2], pw[AUTH_PASSWORD_MAX + 2];
	struct auth_request ar = alice;
	struct auth_reply r;
	const char *error;

	unlink(sock_path);
	UNIT_CHECK(auth_client_verify(sock_path, &ar, &r, 1000, &error) == -1);
	ar.user = "alice\r\n";
	UNIT_CHECK(auth_client_verify(sock_path, &ar, &r, 1000, &error) == 0);
	UNIT_CHECK(r.status == AUTH_FAIL);
	UNIT_STREQ(r.reason, "invalid user name");
	ar.user = "";
	UNIT_CHECK(auth_client_verify(sock_path, &ar, &r, 1000, &error) == 0);
	UNIT_CHECK(r.status == AUTH_FAIL);
	ar.user = "alice";
	ar.password = "a\nrequest=lookup";
	UNIT_CHECK(auth_client_verify(sock_path, &ar, &r, 1000, &error) == 0);
	UNIT_CHECK(r.status == AUTH_FAIL);
	UNIT_STREQ(r.reason, "invalid password");
	ar.user = "a\rb";
	UNIT_CHECK(auth_client_lookup(sock_path, &ar, &r, 1000, &error) == 0);
	UNIT_CHECK(r.status == AUTH_FAIL);

	/* lengths: the limit goes out, one more does not */
	memset(user, 'u', sizeof(user));
	user[AUTH_USER_MAX + 1] = '\0';
	ar.user = user;
	ar.password = "x";
	UNIT_CHECK(auth_client_verify(sock_path, &ar, &r, 1000, &error) == 0);
	UNIT_CHECK(r.status == AUTH_FAIL);
	user[AUTH_USER_MAX] = '\0';
	UNIT_CHECK(auth_client_verify(sock_path, &ar, &r, 1000, &error) == -1);
	memset(pw, 'p', sizeof(pw));
	pw[AUTH_PASSWORD_MAX + 1] = '\0';
	ar.user = "alice";
	ar.password = pw;
	UNIT_CHECK(auth_client_verify(sock_path, &ar, &r, 1000, &error) == 0);
	UNIT_CHECK(r.status == AUTH_FAIL);
	pw[AUTH_PASSWORD_MAX] = '\0';
	UNIT_CHECK(auth_client_verify(sock_path, &ar, &r, 1000, &error) == -1);

	ar.service = NULL;
	UNIT_CHECK(auth_client_verify(sock_path, &ar, &r, 1000, &error) == -1);
}

#define RAW(lit) lit, sizeof(lit) - 1

/* The decoded-input form: same rules, and raw is left as it was. */
static void test_sasl_plain_parse(void)
{
	char user[8], pw[6];
	const char *error;
	static const char raw[] = "bob\0bob\0pw";
	char copy[sizeof(raw)];

	memcpy(copy, raw, sizeof(raw));
	UNIT_CHECK(auth_sasl_plain_parse(copy, sizeof(raw) - 1, user,
					 sizeof(user), pw, sizeof(pw),
					 &error) == 0);
	UNIT_STREQ(user, "bob");
	UNIT_STREQ(pw, "pw");
	UNIT_CHECK(memcmp(copy, raw, sizeof(raw)) == 0);
	UNIT_CHECK(auth_sasl_plain_parse(RAW("eve\0bob\0pw"), user,
					 sizeof(user), pw, sizeof(pw),
					 &error) == -1);
	UNIT_STREQ(user, "");
	UNIT_STREQ(error, "authorization identity differs from the user name");
	UNIT_CHECK(auth_sasl_plain_parse(RAW(""), user, sizeof(user), pw,
					 sizeof(pw), &error) == -1);
	UNIT_STREQ(error, "SASL PLAIN needs exactly two NULs");
	UNIT_CHECK(auth_sasl_plain_parse(RAW("\0a\0b\0"), user, sizeof(user),
					 pw, sizeof(pw), &error) == -1);
	UNIT_CHECK(auth_sasl_plain_parse(RAW("\0\0pw"), user, sizeof(user),
					 pw, sizeof(pw), &error) == -1);
	UNIT_STREQ(error, "empty user name");
	UNIT_CHECK(auth_sasl_plain_parse(RAW("\0bob\0"), user, sizeof(user),
					 pw, sizeof(pw), &error) == -1);
	UNIT_STREQ(error, "empty password");
	UNIT_STREQ(pw, "");
}

static void test_sasl_login(void)
{
	char out[6];
	const char *error;

	UNIT_CHECK(auth_sasl_login_parse(RAW("alice"), out, sizeof(out),
					 &error) == 0);
	UNIT_STREQ(out, "alice");
	/* limit + 1: refused */
	UNIT_CHECK(auth_sasl_login_parse(RAW("alices"), out, sizeof(out),
					 &error) == -1);
	UNIT_STREQ(error, "response too long");
	UNIT_STREQ(out, "");
	UNIT_CHECK(auth_sasl_login_parse(RAW(""), out, sizeof(out),
					 &error) == -1);
	UNIT_STREQ(error, "empty response");
	UNIT_CHECK(auth_sasl_login_parse(RAW("a\0b"), out, sizeof(out),
					 &error) == -1);
	UNIT_CHECK(auth_sasl_login_parse(RAW("a\rb"), out, sizeof(out),
					 &error) == -1);
	UNIT_CHECK(auth_sasl_login_parse(RAW("a\nb"), out, sizeof(out),
					 &error) == -1);
	UNIT_STREQ(error, "NUL, CR or LF in the response");
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_sasl_plain();
	test_sasl_plain_lengths();
	test_sasl_plain_parse();
	test_sasl_login();
	if (mkdtemp(sock_dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(sock_path, sizeof(sock_path), "%s/auth", sock_dir);
	test_client_replies();
	test_client_bad_replies();
	test_client_local_checks();
	unit_rmtree(sock_dir);
	return unit_done();
}
