/* Unit tests of lib/dsn: each kind of notice, RET and the size limit,
 * ENVID/ORCPT, hostile diagnostics, boundary collisions, the NOTIFY and
 * null-sender rules, input checks, the sendmail -bv report; every notice is checked for MIME
 * structure here and parsed by Python's email package. */
#include "config.h"
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "dsn.h"
#include "unit.h"

#define MSG "Received: from x\nFrom: a@example.org\nSubject: hi\n" \
	    "Message-ID: <m1@example.org>\n\nbody line 1\nbody line 2\n"

static const char *const py_check =
	"import sys, email, email.policy\n"
	"data = sys.stdin.buffer.read()\n"
	"m = email.message_from_bytes(data,"
	" policy=email.policy.default)\n"
	"want = sys.argv[1:]\n"
	"assert m.get_content_type() == 'multipart/report', m.get_content_type()\n"
	"assert m.get_param('report-type') == want[0], m.get_param('report-type')\n"
	"parts = m.get_payload()\n"
	"assert len(parts) == int(want[1]), len(parts)\n"
	"assert parts[0].get_content_type() == 'text/plain'\n"
	"assert parts[1].get_content_type() == 'message/' + want[0]\n"
	"if want[0] == 'delivery-status':\n"
	"    blocks = parts[1].get_payload()\n"
	"else:\n"
	"    raw = data.split(b'\\n--' + m.get_boundary().encode())[2]\n"
	"    raw = raw.split(b'\\n\\n', 1)[1]\n"
	"    blocks = [email.message_from_bytes(x + b'\\n',"
	" policy=email.policy.default)"
	" for x in raw.strip().split(b'\\n\\n')]\n"
	"assert blocks[0]['Reporting-MTA'] == 'dns; mx.example.net'\n"
	"assert len(blocks) == 1 + int(want[2]), len(blocks)\n"
	"for b in blocks[1:]:\n"
	"    assert want[3] == '*' or b['Action'] == want[3], b['Action']\n"
	"    assert want[4] == '*' or b['Status'] == want[4], b['Status']\n"
	"    assert b['Final-Recipient'].startswith('rfc822; ') or"
	" b['Final-Recipient'].startswith('utf-8; ')\n"
	"if len(parts) == 3:\n"
	"    assert parts[2].get_content_type() == want[5],"
	" parts[2].get_content_type()\n"
	"assert not m.defects, m.defects\n"
	"for p in m.walk():\n"
	"    assert not p.defects, p.defects\n"
	"print('ok')\n";

/* Runs python3 on the notice; returns its exit status (0 = all good). */
static int python_run(const struct buf *b, const char *const *argv_tail,
		      bool quiet)
{
	char path[] = "/tmp/test_dsn_XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0 || write(fd, b->data, b->len) != (ssize_t)b->len)
		return -1;
	lseek(fd, 0, SEEK_SET);
	pid_t pid = fork();
	if (pid == 0) {
		const char *argv[12] = { "python3", "-c", py_check };
		for (int i = 0; i < 6 && argv_tail[i] != NULL; i++)
			argv[3 + i] = argv_tail[i];
		dup2(fd, 0);
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		if (quiet)
			dup2(null, 2);
		execvp("python3", (char *const *)argv);
		_exit(127);
	}
	int status = -1;
	waitpid(pid, &status, 0);
	close(fd);
	unlink(path);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int python_check(const struct buf *b, const char *const *argv_tail)
{
	return python_run(b, argv_tail, false);
}

/* The MIME skeleton: no CR or NUL, lines <= 998, a header block of
 * fields, the boundary only on delimiter lines. Returns the number of
 * body parts, or -1. */
static int structure(const struct buf *b)
{
	const char *m = b->data, *p = strstr(m, "boundary=\""), *e;
	char bnd[128], delim[140], close_[140];
	int parts = 0, hits = 0;

	if (memchr(m, '\r', b->len) != NULL || strlen(m) != b->len || !p)
		return -1;
	p += 10;
	if ((e = strchr(p, '"')) == NULL || e - p >= 100)
		return -1;
	memcpy(bnd, p, (size_t)(e - p));
	bnd[e - p] = '\0';
	snprintf(delim, sizeof(delim), "--%s", bnd);
	snprintf(close_, sizeof(close_), "--%s--", bnd);
	bool in_header = true, closed = false;
	for (const char *line = m; *line != '\0';) {
		const char *lf = strchr(line, '\n');
		size_t len = lf ? (size_t)(lf - line) : strlen(line);
		if (len > 998 || lf == NULL || closed)
			return -1;
		if (in_header && len == 0)
			in_header = false;
		else if (in_header && line[0] != ' ' && line[0] != '\t' &&
			 memchr(line, ':', len) == NULL)
			return -1;
		if (len == strlen(delim) && memcmp(line, delim, len) == 0)
			parts++;
		else if (len == strlen(close_) && memcmp(line, close_, len) == 0)
			closed = true;
		line += len + 1;
	}
	for (p = m; (p = strstr(p, bnd)) != NULL; p++)
		hits++;
	return closed && hits == parts + 2 ? parts : -1;
}

static struct dsn_rcpt rcpt_failed(void)
{
	static const char diag[] = "550 5.1.1 <bob@example.com>: user unknown";
	return (struct dsn_rcpt){
		.address = "bob@example.com", .action = DSN_ACTION_FAILED,
		.status = "5.1.1", .remote_mta = "mx.example.com",
		.in_reply_to = "RCPT TO", .diag_type = DSN_DIAG_SMTP,
		.diag = diag, .diag_len = sizeof(diag) - 1,
		.last_attempt = 1700000100,
	};
}

static struct dsn_notice notice(enum dsn_kind kind, const struct dsn_rcpt *r,
				size_t count)
{
	return (struct dsn_notice){
		.kind = kind, .myhostname = "mx.example.net",
		.token = "4Xk2Q9.dsn", .now = 1700000200,
		.sender = "alice@example.org", .queue_id = "4Xk2Q1",
		.arrival = 1700000000, .client_name = "client.example.org",
		.client_address = "192.0.2.1", .content = MSG,
		.content_len = strlen(MSG),
		.return_limit = DSN_RETURN_LIMIT_DEFAULT, .rcpts = r,
		.rcpt_count = count,
	};
}

/* Composes into a fresh buffer; the structure must hold. */
static int compose(const struct dsn_notice *n, struct buf *b,
		   struct dsn_info *info, const char **error)
{
	buf_init(b, 1 << 20);
	int ret = dsn_compose(n, b, info, error);
	if (ret == 0)
		UNIT_CHECK(structure(b) >= 2);
	return ret;
}

#define HAS(b, s) UNIT_CHECK(strstr((b).data, (s)) != NULL)
/* The same after unfolding (folds are "\n " in what dsn writes). */
#define HASU(b, s) UNIT_CHECK(unfolded_has(&(b), (s)))

static bool unfolded_has(const struct buf *b, const char *s)
{
	char *u = malloc(b->len + 1);
	size_t j = 0;

	for (size_t i = 0; i < b->len; i++) {
		if (b->data[i] == '\n' && b->data[i + 1] == ' ')
			continue;
		u[j++] = b->data[i];
	}
	u[j] = '\0';
	bool found = strstr(u, s) != NULL;
	free(u);
	return found;
}
#define HASNT(b, s) UNIT_CHECK(strstr((b).data, (s)) == NULL)

static void test_failure(void)
{
	struct dsn_rcpt r = rcpt_failed();
	struct dsn_notice n = notice(DSN_KIND_FAILURE, &r, 1);
	struct dsn_info info;
	struct buf b;
	const char *error;

	UNIT_CHECK(compose(&n, &b, &info, &error) == 0);
	UNIT_CHECK(structure(&b) == 3);
	UNIT_CHECK(strncmp(b.data, "From: MAILER-DAEMON@mx.example.net "
			   "(Mail Delivery System)\n", 55) == 0);
	HAS(b, "\nTo: <alice@example.org>\n");
	HAS(b, "\nSubject: Undelivered Mail Returned to Sender\n");
	HAS(b, "\nMessage-ID: <4Xk2Q9.dsn@mx.example.net>\n");
	HAS(b, "\nAuto-Submitted: auto-replied\n");
	HAS(b, "report-type=delivery-status;\n\tboundary=\""
	       "=_surel_4Xk2Q9.dsn_0.\"\n");
	HAS(b, "\nReporting-MTA: dns; mx.example.net\n");
	HAS(b, "\nX-Surel-Queue-ID: 4Xk2Q1\n");
	HAS(b, "\nReceived-From-MTA: dns; client.example.org ([192.0.2.1])\n");
	HAS(b, "\n\nFinal-Recipient: rfc822; bob@example.com\nAction: failed\n"
	       "Status: 5.1.1\nRemote-MTA: dns; mx.example.com\n"
	       "Diagnostic-Code: smtp; 550 5.1.1 <bob@example.com>: user "
	       "unknown\nLast-Attempt-Date: ");
	HASU(b, "<bob@example.com>: host mx.example.com said: 550 5.1.1 "
	       "<bob@example.com>: user unknown (in reply to RCPT TO "
	       "command)\n");
	HASNT(b, "Original-Envelope-Id");
	HASNT(b, "Original-Recipient");
	HASNT(b, "Will-Retry-Until");
	HAS(b, "Content-Type: message/rfc822\n\n" MSG "\n--=_surel_");
	UNIT_CHECK(info.content_full && !info.headers_truncated);
	UNIT_CHECK(!info.eightbit && !info.smtputf8);
	/* The Python check can fail: a wrong expectation. */
	UNIT_CHECK(python_run(&b, (const char *[]){ "delivery-status", "3",
			"1", "failed", "5.9.9", "message/rfc822", NULL },
			true) != 0);
	UNIT_CHECK(python_check(&b, (const char *[]){ "delivery-status", "3",
			"1", "failed", "5.1.1", "message/rfc822", NULL }) == 0);
	buf_deinit(&b);
}

static void test_ret_and_limit(void)
{
	struct dsn_rcpt r = rcpt_failed();
	struct dsn_notice n = notice(DSN_KIND_FAILURE, &r, 1);
	struct dsn_info info;
	struct buf b;
	const char *error;

	n.ret = SMTP_RET_HDRS;
	UNIT_CHECK(compose(&n, &b, &info, &error) == 0);
	HAS(b, "Content-Type: text/rfc822-headers\n\nReceived: from x\n");
	HASNT(b, "body line");
	UNIT_CHECK(!info.content_full && !info.headers_truncated);
	UNIT_CHECK(python_check(&b, (const char *[]){ "delivery-status", "3",
			"1", "failed", "5.1.1", "text/rfc822-headers",
			NULL }) == 0);
	buf_deinit(&b);

	/* RET=FULL but larger than the limit: headers only (Postfix). */
	n.ret = SMTP_RET_FULL;
	n.return_limit = strlen(MSG) - 1;
	UNIT_CHECK(compose(&n, &b, &info, &error) == 0);
	HAS(b, "text/rfc822-headers");
	HASNT(b, "body line");
	UNIT_CHECK(!info.content_full && !info.headers_truncated);
	buf_deinit(&b);
	n.return_limit = strlen(MSG);
	UNIT_CHECK(compose(&n, &b, &info, &error) == 0);
	UNIT_CHECK(info.content_full);
	buf_deinit(&b);

	/* Limit inside the header: cut before the field that passes it. */
	n.return_limit = 30;
	UNIT_CHECK(compose(&n, &b, &info, &error) == 0);
	UNIT_CHECK(info.headers_truncated && !info.content_full);
	HAS(b, "text/rfc822-headers\n\nReceived: from x\n\n--=_surel");
	HAS(b, "incomplete");
	HASNT(b, "a@example.org");
	buf_deinit(&b);

	/* A bare CR or an over-long line makes the whole unreturnable. */
	char big[1200];
	memset(big, 'x', sizeof(big));
	memcpy(big, "Subject: s\n\n", 12);
	big[sizeof(big) - 1] = '\n';
	n.content = big;
	n.content_len = sizeof(big);
	n.return_limit = DSN_RETURN_LIMIT_DEFAULT;
	UNIT_CHECK(compose(&n, &b, &info, &error) == 0);
	UNIT_CHECK(!info.content_full);
	HAS(b, "text/rfc822-headers\n\nSubject: s\n\n--=_surel");
	buf_deinit(&b);
	n.content = "Subject: s\nX-Bad: a\rb\nTo: c\n\nbody";
	n.content_len = strlen(n.content);
	UNIT_CHECK(compose(&n, &b, &info, &error) == 0);
	UNIT_CHECK(!info.content_full && info.headers_truncated);
	HAS(b, "text/rfc822-headers\n\nSubject: s\n\n--=_surel");
	buf_deinit(&b);

	/* No final LF: one is added before the delimiter. */
	n.content = "Subject: s\n\nno newline";
	n.content_len = strlen(n.content);
	UNIT_CHECK(compose(&n, &b, &info, &error) == 0);
	HAS(b, "\n\nno newline\n\n--=_surel");
	buf_deinit(&b);
	/* No content: two parts. */
	n.content = NULL;
	n.content_len = 0;
	UNIT_CHECK(compose(&n, &b, &info, &error) == 0);
	UNIT_CHECK(structure(&b) == 2);
	buf_deinit(&b);
}

static void test_delay_success(void)
{
	struct dsn_rcpt r = rcpt_failed();
	struct dsn_notice n = notice(DSN_KIND_DELAY, &r, 1);
	struct dsn_info info;
	struct buf b;
	const char *error;

	r.action = DSN_ACTION_DELAYED;
	r.status = "4.4.1";
	r.diag_type = DSN_DIAG_LOCAL;
	r.diag = "connect to mx.example.com: Connection timed out";
	r.diag_len = strlen(r.diag);
	r.in_reply_to = NULL;
	r.retry_until = 1700400000;
	n.ret = SMTP_RET_FULL;	/* delay notices return headers anyway */
	UNIT_CHECK(compose(&n, &b, &info, &error) == 0);
	HAS(b, "\nSubject: Delayed Mail (still being retried)\n");
	HAS(b, "\nAction: delayed\nStatus: 4.4.1\n");
	HAS(b, "\nDiagnostic-Code: X-Surel; connect to mx.example.com: "
	       "Connection timed out\n");
	HAS(b, "\nWill-Retry-Until: ");
	HASU(b, "(will be retried until ");
	HAS(b, "Content-Description: Delayed Message Headers\n");
	UNIT_CHECK(!info.content_full);
	UNIT_CHECK(python_check(&b, (const char *[]){ "delivery-status", "3",
			"1", "delayed", "4.4.1", "text/rfc822-headers",
			NULL }) == 0);
	buf_deinit(&b);

	struct dsn_rcpt rs[3] = { rcpt_failed(), rcpt_failed(), rcpt_failed() };
	const enum dsn_action acts[3] = { DSN_ACTION_DELIVERED,
		DSN_ACTION_RELAYED, DSN_ACTION_EXPANDED };
	for (int i = 0; i < 3; i++) {
		rs[i].action = acts[i];
		rs[i].status = "2.0.0";
		rs[i].diag = NULL;
		rs[i].in_reply_to = NULL;
	}
	rs[2].orig_rcpt = "list@example.com";
	n = notice(DSN_KIND_SUCCESS, rs, 3);
	UNIT_CHECK(compose(&n, &b, &info, &error) == 0);
	HAS(b, "\nSubject: Successful Mail Delivery Report\n");
	HAS(b, "\nAction: delivered\n");
	HAS(b, "\nAction: relayed\n");
	HAS(b, "\nAction: expanded\n");
	HASU(b, "<bob@example.com> (expanded from <list@example.com>): "
	       "expanded to the members");
	UNIT_CHECK(!info.content_full);
	UNIT_CHECK(python_check(&b, (const char *[]){ "delivery-status", "3",
			"3", "*", "2.0.0", "text/rfc822-headers", NULL }) == 0);
	n.rcpt_count = 1;
	buf_deinit(&b);
	UNIT_CHECK(compose(&n, &b, &info, &error) == 0);
	UNIT_CHECK(python_check(&b, (const char *[]){ "delivery-status", "3",
			"1", "delivered", "2.0.0", "text/rfc822-headers",
			NULL }) == 0);
	buf_deinit(&b);
}

static void test_envid_orcpt(void)
{
	struct dsn_rcpt r = rcpt_failed();
	struct dsn_notice n = notice(DSN_KIND_FAILURE, &r, 1);
	struct buf b;
	const char *error;

	n.envid = "QQ+2Bid+3D7+0Aend";
	r.orcpt = "rfc822;bob+2Btag@example.com+0D+0AX-Evil:+201";
	UNIT_CHECK(compose(&n, &b, NULL, &error) == 0);
	HAS(b, "\nOriginal-Envelope-Id: QQ+id=7+0Aend\n");
	HAS(b, "\nOriginal-Recipient: rfc822; bob+tag@example.com+0D+0AX-Evil: "
	       "1\n");
	HASNT(b, "\nX-Evil");
	buf_deinit(&b);
	/* Malformed ORCPTs are left out. */
	const char *bad[] = { "nosemicolon", ";x@y", "a b;x@y",
			      "abcdefghijabcdefghijabcdefghijabc;x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r.orcpt = bad[i];
		UNIT_CHECK(compose(&n, &b, NULL, &error) == 0);
		HASNT(b, "Original-Recipient");
		buf_deinit(&b);
	}
}

static void test_hostile_diag(void)
{
	static const char diag[] = "550-5.7.1 first line\r\n550-5.7.1 a\0b"
		"\rc\n550 5.7.1 caf\xc3\xa9 \xff end\r\n\r\n";
	struct dsn_rcpt r = rcpt_failed();
	struct dsn_notice n = notice(DSN_KIND_FAILURE, &r, 1);
	struct dsn_info info;
	struct buf b;
	const char *error;

	r.diag = diag;
	r.diag_len = sizeof(diag) - 1;
	UNIT_CHECK(compose(&n, &b, &info, &error) == 0);
	HASU(b, "\nDiagnostic-Code: smtp; 550-5.7.1 first line 550-5.7.1 a?b c "
	       "550 5.7.1 caf?? ? end\n");
	UNIT_CHECK(!info.eightbit);
	UNIT_CHECK(python_check(&b, (const char *[]){ "delivery-status", "3",
			"1", "failed", "5.1.1", "message/rfc822", NULL }) == 0);
	buf_deinit(&b);

	/* SMTPUTF8: valid UTF-8 kept, invalid octets still '?'. */
	n.smtputf8 = true;
	UNIT_CHECK(compose(&n, &b, &info, &error) == 0);
	HASU(b, "caf\xc3\xa9 ? end\n");
	HAS(b, "report-type=global-delivery-status;");
	HAS(b, "Content-Type: message/global-delivery-status\n");
	HAS(b, "Content-Type: message/global\n");
	UNIT_CHECK(info.smtputf8 && info.eightbit);
	UNIT_CHECK(python_check(&b, (const char *[]){
			"global-delivery-status", "3", "1", "failed", "5.1.1",
			"message/global", NULL }) == 0);
	buf_deinit(&b);

	/* Long: cut at DSN_DIAG_MAX, folded at 78 where there are spaces. */
	char longd[3000];
	for (size_t i = 0; i < sizeof(longd); i++)
		longd[i] = i % 7 == 6 ? ' ' : 'a' + (char)(i % 26);
	n.smtputf8 = false;
	r.diag = longd;
	r.diag_len = sizeof(longd);
	UNIT_CHECK(compose(&n, &b, &info, &error) == 0);
	const char *d = strstr(b.data, "\nDiagnostic-Code: ");
	UNIT_CHECK(d != NULL && strstr(d, "...\n") != NULL);
	size_t total = 0, longest = 0;
	for (const char *l = d + 1; l != NULL && *l != '\n';) {
		const char *lf = strchr(l, '\n');
		size_t len = (size_t)(lf - l);
		if (l != d + 1 && *l != ' ')
			break;
		total += len;
		longest = len > longest ? len : longest;
		l = lf + 1;
	}
	UNIT_CHECK(longest <= 78);
	UNIT_CHECK(total > DSN_DIAG_MAX && total < DSN_DIAG_MAX + 40);
	/* A word with no spaces cannot be folded but stays under 998. */
	memset(longd, 'z', sizeof(longd));
	buf_deinit(&b);
	UNIT_CHECK(compose(&n, &b, &info, &error) == 0);
	HASU(b, "smtp; zzzzzzzzzz");
	UNIT_CHECK(python_check(&b, (const char *[]){ "delivery-status", "3",
			"1", "failed", "5.1.1", "message/rfc822", NULL }) == 0);
	buf_deinit(&b);
}

static void test_boundary(void)
{
	struct dsn_rcpt r = rcpt_failed();
	struct dsn_notice n = notice(DSN_KIND_FAILURE, &r, 1);
	struct buf b;
	const char *error;

	n.content = "Subject: s\n\n--=_surel_4Xk2Q9.dsn_0.\n";
	n.content_len = strlen(n.content);
	UNIT_CHECK(compose(&n, &b, NULL, &error) == 0);
	HAS(b, "boundary=\"=_surel_4Xk2Q9.dsn_1.\"");
	UNIT_CHECK(structure(&b) == 3);
	buf_deinit(&b);
	/* _10. does not block _1.; the remote reply counts too. */
	static const char diag[] = "550 see =_surel_4Xk2Q9.dsn_1.";
	n.content = "Subject: =_surel_4Xk2Q9.dsn_0.\n\n=_surel_4Xk2Q9.dsn_10.\n";
	n.content_len = strlen(n.content);
	r.diag = diag;
	r.diag_len = sizeof(diag) - 1;
	UNIT_CHECK(compose(&n, &b, NULL, &error) == 0);
	HAS(b, "boundary=\"=_surel_4Xk2Q9.dsn_2.\"");
	UNIT_CHECK(structure(&b) == 3);
	UNIT_CHECK(python_check(&b, (const char *[]){ "delivery-status", "3",
			"1", "failed", "5.1.1", "message/rfc822", NULL }) == 0);
	buf_deinit(&b);
}

static void test_notify(void)
{
	static const struct {
		const char *s;
		int ret;
		unsigned bits;
	} parse[] = {
		{ NULL, 0, 0 }, { "", 0, 0 }, { "-", 0, 0 },
		{ "NEVER", 0, SMTP_NOTIFY_NEVER },
		{ "success,failure", 0, SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_FAILURE },
		{ "DELAY", 0, SMTP_NOTIFY_DELAY },
		{ "NEVER,DELAY", -1, 0 }, { "FAILURE,", -1, 0 },
		{ ",FAILURE", -1, 0 }, { "SOMETIMES", -1, 0 }, { "FAIL", -1, 0 },
	};
	for (size_t i = 0; i < sizeof(parse) / sizeof(parse[0]); i++) {
		unsigned bits = 99;
		const char *error = NULL;
		UNIT_CHECK(dsn_notify_parse(parse[i].s, &bits, &error) ==
			   parse[i].ret);
		UNIT_CHECK(bits == parse[i].bits);
		UNIT_CHECK((parse[i].ret == 0) == (error == NULL));
	}
	const unsigned S = SMTP_NOTIFY_SUCCESS, F = SMTP_NOTIFY_FAILURE,
		       D = SMTP_NOTIFY_DELAY, N = SMTP_NOTIFY_NEVER;
	static const char *const from = "a@example.org";
	/* absent: failure and delay yes, success no */
	UNIT_CHECK(dsn_notify_allows(DSN_KIND_FAILURE, from, 0));
	UNIT_CHECK(dsn_notify_allows(DSN_KIND_DELAY, from, 0));
	UNIT_CHECK(!dsn_notify_allows(DSN_KIND_SUCCESS, from, 0));
	UNIT_CHECK(!dsn_notify_allows(DSN_KIND_FAILURE, from, N));
	UNIT_CHECK(!dsn_notify_allows(DSN_KIND_DELAY, from, N));
	UNIT_CHECK(!dsn_notify_allows(DSN_KIND_SUCCESS, from, N));
	UNIT_CHECK(dsn_notify_allows(DSN_KIND_SUCCESS, from, S));
	UNIT_CHECK(!dsn_notify_allows(DSN_KIND_FAILURE, from, S));
	UNIT_CHECK(!dsn_notify_allows(DSN_KIND_DELAY, from, S | F));
	UNIT_CHECK(dsn_notify_allows(DSN_KIND_DELAY, from, D));
	UNIT_CHECK(dsn_notify_allows(DSN_KIND_FAILURE, from, F | D));
	/* never to the null sender, whatever NOTIFY says */
	UNIT_CHECK(!dsn_notify_allows(DSN_KIND_FAILURE, "", 0));
	UNIT_CHECK(!dsn_notify_allows(DSN_KIND_FAILURE, "<>", F));
	UNIT_CHECK(!dsn_notify_allows(DSN_KIND_SUCCESS, "", S));
	UNIT_CHECK(!dsn_notify_allows(DSN_KIND_DELAY, NULL, D));

	enum smtp_ret ret;
	UNIT_CHECK(dsn_ret_parse(NULL, &ret) == 0 && ret == SMTP_RET_NONE);
	UNIT_CHECK(dsn_ret_parse("FULL", &ret) == 0 && ret == SMTP_RET_FULL);
	UNIT_CHECK(dsn_ret_parse("hdrs", &ret) == 0 && ret == SMTP_RET_HDRS);
	UNIT_CHECK(dsn_ret_parse("HEADERS", &ret) == -1);
}

/* sendmail -bv: deliverable and undeliverable (4 and 5) recipients,
 * the transport named, Postfix's actions, headers returned; the actions
 * belong to this kind only, and via only to deliverable. */
static void test_verify(void)
{
	static const char ok_diag[] = "250 2.1.5 Ok";
	struct dsn_rcpt r[3] = {
		{ .address = "ann@example.org", .orig_rcpt = "team@example.org",
		  .action = DSN_ACTION_DELIVERABLE, .status = "2.0.0",
		  .diag_type = DSN_DIAG_LOCAL, .diag = "delivers to maildir",
		  .diag_len = 19, .via = "local" },
		{ .address = "x@remote.test", .action = DSN_ACTION_DELIVERABLE,
		  .status = "2.1.5", .remote_mta = "mx.remote.test",
		  .in_reply_to = "RCPT TO", .diag_type = DSN_DIAG_SMTP,
		  .diag = ok_diag, .diag_len = sizeof(ok_diag) - 1,
		  .via = "smtp" },
		rcpt_failed(),
	};
	r[2].action = DSN_ACTION_UNDELIVERABLE;
	struct dsn_notice n = notice(DSN_KIND_VERIFY, r, 3);
	struct buf b;
	const char *error;

	UNIT_CHECK(compose(&n, &b, NULL, &error) == 0);
	HAS(b, "\nSubject: Mail Delivery Status Report\n");
	HASU(b, "<ann@example.org> (expanded from <team@example.org>): "
		"delivery via local: delivers to maildir\n");
	HASU(b, "<x@remote.test>: delivery via smtp: host mx.remote.test "
		"said: 250 2.1.5 Ok (in reply to RCPT TO command)\n");
	HASU(b, "<bob@example.com>: undeliverable: host mx.example.com said: "
		"550 5.1.1");
	HAS(b, "\nAction: deliverable\nStatus: 2.0.0\n");
	HAS(b, "\nAction: undeliverable\nStatus: 5.1.1\n");
	HAS(b, "Content-Type: text/rfc822-headers\n");
	HASNT(b, "body line 1");
	UNIT_CHECK(python_check(&b, (const char *[]){ "delivery-status", "3",
			"3", "*", "*", "text/rfc822-headers", NULL }) == 0);
	buf_deinit(&b);
	/* 4.x.x: would be deferred, still undeliverable. */
	r[2].status = "4.4.1";
	UNIT_CHECK(compose(&n, &b, NULL, &error) == 0);
	HAS(b, "\nAction: undeliverable\nStatus: 4.4.1\n");
	buf_deinit(&b);
	/* Refused: 2.x.x undeliverable, 5.x.x deliverable, via on another
	 * action, a bad transport name, a verify action in a bounce. */
	r[2].status = "2.0.0";
	UNIT_CHECK(compose(&n, &b, NULL, &error) == -1);
	buf_deinit(&b);
	r[2].status = "5.1.1";
	r[0].status = "5.0.0";
	UNIT_CHECK(compose(&n, &b, NULL, &error) == -1);
	buf_deinit(&b);
	r[0].status = "2.0.0";
	r[2].via = "smtp";
	UNIT_CHECK(compose(&n, &b, NULL, &error) == -1);
	buf_deinit(&b);
	r[2].via = NULL;
	r[0].via = "lo cal";
	UNIT_CHECK(compose(&n, &b, NULL, &error) == -1);
	buf_deinit(&b);
	r[0].via = "local";
	n.kind = DSN_KIND_FAILURE;
	UNIT_CHECK(compose(&n, &b, NULL, &error) == -1);
	buf_deinit(&b);
	/* Whatever NOTIFY says, never to <>. */
	UNIT_CHECK(dsn_notify_allows(DSN_KIND_VERIFY, "a@example.org",
				     SMTP_NOTIFY_NEVER));
	UNIT_CHECK(dsn_notify_allows(DSN_KIND_VERIFY, "a@example.org", 0));
	UNIT_CHECK(!dsn_notify_allows(DSN_KIND_VERIFY, "", 0));
	UNIT_CHECK(!dsn_notify_allows(DSN_KIND_VERIFY, "<>", 0));
	UNIT_STREQ(dsn_action_name(DSN_ACTION_UNDELIVERABLE), "undeliverable");
}

static void test_refusals(void)
{
	struct dsn_rcpt r = rcpt_failed(), many[DSN_RCPT_MAX + 1];
	struct dsn_notice n = notice(DSN_KIND_FAILURE, &r, 1);
	struct buf b;
	const char *error;

	buf_init(&b, 1 << 20);
	UNIT_CHECK(buf_append_str(&b, "keep") == 0);
#define REFUSED(what) \
	do { \
		error = NULL; \
		UNIT_CHECK(dsn_compose(&n, &b, NULL, &error) == -1); \
		UNIT_CHECK(error != NULL && strstr(error, what) != NULL); \
		UNIT_STREQ(b.data, "keep"); \
		n = notice(DSN_KIND_FAILURE, &r, 1); \
		r = rcpt_failed(); \
	} while (0)
	n.sender = "";
	REFUSED("null sender");
	n.sender = "<>";
	REFUSED("null sender");
	n.sender = "a\n@b";
	REFUSED("sender");
	n.sender = "a\xff@b";
	REFUSED("sender");
	n.myhostname = "mx example";
	REFUSED("myhostname");
	n.token = "a/b";
	REFUSED("token");
	n.client_address = "1.2.3.4\nX: y";
	REFUSED("client");
	r.status = "5.1.1";
	r.action = DSN_ACTION_DELAYED;
	REFUSED("recipient 1: action");
	n.kind = DSN_KIND_DELAY;
	r.action = DSN_ACTION_DELAYED;
	r.status = "5.1.1";
	REFUSED("status");
	const char *bad_status[] = { "5.1", "5.01.1", "5.1.1000", "6.1.1",
				     "5.1.1 ", "2.0.0", "" };
	for (size_t i = 0; i < sizeof(bad_status) / sizeof(bad_status[0]);
	     i++) {
		r.status = bad_status[i];
		REFUSED("status");
	}
	r.status = "4.4.7";	/* expired after temporary errors: allowed */
	UNIT_CHECK(dsn_compose(&n, &b, NULL, &error) == 0);
	buf_truncate(&b, 4);
	r.remote_mta = "mx\r\n.example";
	REFUSED("remote MTA");
	r.address = "";
	REFUSED("recipient address");
	r.in_reply_to = "RCPT\nTO";
	REFUSED("in_reply_to");
	n.rcpt_count = 0;
	REFUSED("no recipients");
	for (size_t i = 0; i <= DSN_RCPT_MAX; i++)
		many[i] = rcpt_failed();
	n.rcpts = many;
	n.rcpt_count = DSN_RCPT_MAX + 1;
	REFUSED("too many");
	buf_deinit(&b);

	/* The output maximum: refused, nothing written. */
	buf_init(&b, 500);
	UNIT_CHECK(buf_append_str(&b, "keep") == 0);
	REFUSED("too large");
	n.rcpts = many;
	n.rcpt_count = DSN_RCPT_MAX;
	buf_deinit(&b);
	UNIT_CHECK(compose(&n, &b, NULL, &error) == 0);
	UNIT_CHECK(structure(&b) == 3);
	buf_deinit(&b);
}

static void test_utf8_sender(void)
{
	struct dsn_rcpt r = rcpt_failed();
	struct dsn_notice n = notice(DSN_KIND_FAILURE, &r, 1);
	struct dsn_info info;
	struct buf b;
	const char *error;

	n.sender = "j\xc3\xb6rg@example.org";
	r.address = "\xc3\xa9lise@example.com";
	UNIT_CHECK(compose(&n, &b, &info, &error) == 0);
	UNIT_CHECK(info.smtputf8 && info.eightbit);
	HAS(b, "\nFinal-Recipient: utf-8; \xc3\xa9lise@example.com\n");
	HAS(b, "\nX-Surel-Sender: utf-8; j\xc3\xb6rg@example.org\n");
	HAS(b, "charset=utf-8");
	UNIT_CHECK(python_check(&b, (const char *[]){
			"global-delivery-status", "3", "1", "failed", "5.1.1",
			"message/global", NULL }) == 0);
	buf_deinit(&b);
}

/* Random diagnostics and contents: the structure always holds. */
static void test_random(void)
{
	char diag[300], content[600];
	unsigned seed = 12345;
	int bad = 0;

	for (int iter = 0; iter < 3000; iter++) {
		struct dsn_rcpt r = rcpt_failed();
		struct dsn_notice n = notice(DSN_KIND_FAILURE, &r, 1);
		size_t dl = (size_t)rand_r(&seed) % sizeof(diag);
		size_t cl = (size_t)rand_r(&seed) % sizeof(content);
		for (size_t i = 0; i < dl; i++)
			diag[i] = (char)rand_r(&seed);
		for (size_t i = 0; i < cl; i++) {
			int k = rand_r(&seed) % 8;
			content[i] = k == 0 ? '\n' : k == 1 ? ' ' : k == 2 ?
				(char)rand_r(&seed) : "=_surel4Xk2Q9.dsn0-:"[
				rand_r(&seed) % 20];
		}
		r.diag = diag;
		r.diag_len = dl;
		n.content = content;
		n.content_len = cl;
		n.smtputf8 = iter % 2;
		n.ret = (enum smtp_ret)(iter % 3);
		struct buf b;
		const char *error;
		buf_init(&b, 1 << 20);
		if (dsn_compose(&n, &b, NULL, &error) != 0 || structure(&b) < 2)
			bad++;
		buf_deinit(&b);
	}
	UNIT_CHECK(bad == 0);
}

int main(void)
{
	test_failure();
	test_ret_and_limit();
	test_delay_success();
	test_envid_orcpt();
	test_hostile_diag();
	test_boundary();
	test_notify();
	test_refusals();
	test_verify();
	test_utf8_sender();
	test_random();
	return unit_done();
}
