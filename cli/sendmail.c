/* sendmail.surel: the Sendmail command line that programs use to send
 * mail (cron, mail(1), PHP, git send-email...), as Postfix's sendmail(1).
 * Also answers to the names mailq (= -bp) and newaliases (= -bi); -bs
 * is sendmail_smtp.c.
 *
 * Delivery mode reads the message on standard input and hands it to the
 * setgid sureldrop, which writes it into maildrop/ for the pickup
 * daemon: this program runs with the user's privileges only. The message
 * goes to sureldrop in chunks ("%08x" length, data) ended by a zero
 * length, so a sendmail that dies or refuses the message half-way leaves
 * nothing queued (sureldrop sees EOF without the end and removes its
 * file). Exit statuses are sysexits(3)'s, as Postfix's.
 *
 * Input: CRLF line ends become LF (Postfix's sendmail_fix_line_endings =
 * always); bare LF is the normal case; a first line "From " (an mbox
 * separator) is dropped; without -i a line "." alone ends the input; a
 * NUL byte is refused (EX_DATAERR) as smtpd refuses one; the content is
 * bounded by message_size_limit (EX_DATAERR). With -t the header section
 * is held in memory (at most header_size_limit octets: what does not fit
 * is body, as in Postfix) to take the recipients and drop Bcc:.
 *
 * -bv (address verification, as Postfix's): no message is collected.
 * sureldrop queues the recipients (with -t: those of the header section
 * read on standard input, whose body is read and dropped) with a short
 * probe header and the envelope attribute verify=yes; qmgr then asks the
 * delivery agents what they would do with each recipient, delivers
 * nothing, and mails the sender one report. Exit 0 once it is queued. */
#include "config.h"
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>
#include "buf.h"
#include "conf.h"
#include "conf_file.h"
#include "fsutil.h"
#include "full_name.h"
#include "header_rcpt.h"
#include "mem.h"
#include "sendmail_opts.h"
#include "sendmail.h"


const char *sendmail_config_dir;

void sendmail_die(int status, const char *fmt, ...)
{
	va_list ap;

	fputs("sendmail: fatal: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

/* Our own directory: the other surel commands are installed beside us. */
static void sibling(char *out, size_t size, const char *name)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		sendmail_die(EX_OSERR, "cannot find my own path: %s", strerror(errno));
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	*slash = '\0';
	if (snprintf(out, size, "%s/%s", self, name) >= (int)size)
		sendmail_die(EX_SOFTWARE, "path too long");
}

/* Runs another surel command in our place (mailq, -q). */
static void __attribute__((noreturn))
exec_tool(const char *name, const char *const *args, size_t n)
{
	char path[PATH_MAX];
	const char *argv[32];
	size_t argc = 0;

	sibling(path, sizeof(path), name);
	argv[argc++] = path;
	argv[argc++] = "-c";
	argv[argc++] = sendmail_config_dir;
	for (size_t i = 0; i < n && argc < 31; i++)
		argv[argc++] = args[i];
	argv[argc] = NULL;
	execv(path, (char *const *)argv);
	sendmail_die(errno == ENOENT ? EX_UNAVAILABLE : EX_OSERR, "cannot run %s: %s",
	    path, strerror(errno));
}

/* ---- delivery mode ---- */


/* Reads the next piece: one line through its LF, or PIECE_MAX octets of
 * a longer one. CRLF becomes LF. Returns false at the end of the input
 * (EOF, or "." alone without -i). */
bool sendmail_next_piece(struct submit *s)
{
	int c = EOF;

	if (s->eof)
		return false;
	s->bol = s->len == 0 || s->piece[s->len - 1] == '\n';
	s->len = 0;
	while (s->len < PIECE_MAX && (c = getc_unlocked(s->in)) != EOF) {
		if (c == '\0') {
			sendmail_fail(s, EX_DATAERR, "message contains a NUL "
				      "character");
			continue;	/* -bs: the rest is read, not sent */
		}
		s->piece[s->len++] = (char)c;
		if (c == '\n')
			break;
	}
	if (c == EOF && ferror(s->in))
		sendmail_die(EX_IOERR, "read error on standard input: %s",
		    strerror(errno));
	/* A CR at a piece's edge may start a CRLF: keep it for the next. */
	if (c != '\n' && s->len > 1 && s->piece[s->len - 1] == '\r' &&
	    ungetc('\r', s->in) != EOF)
		s->len--;
	if (s->len >= 2 && s->piece[s->len - 1] == '\n' &&
	    s->piece[s->len - 2] == '\r')
		s->piece[--s->len - 1] = '\n';
	if (s->len == 0) {
		s->eof = true;
		return false;
	}
	if (!s->dot_ok && s->bol &&
	    ((s->len == 2 && memcmp(s->piece, ".\n", 2) == 0) ||
	     (s->len == 1 && s->piece[0] == '.'))) {
		s->eof = true;
		return false;
	}
	/* -bs: RFC 5321 4.5.2 transparency. */
	if (s->smtp && s->bol && s->piece[0] == '.')
		memmove(s->piece, s->piece + 1, --s->len);
	return true;
}

static int drop_wait(struct submit *s)
{
	int status;

	close(s->drop_fd);
	while (waitpid(s->drop_pid, &status, 0) < 0)
		if (errno != EINTR)
			sendmail_die(EX_OSERR, "waitpid: %s", strerror(errno));
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	sendmail_die(EX_SOFTWARE, "sureldrop died with signal %d", WTERMSIG(status));
}

/* sureldrop stopped reading: it said why on stderr, and its status is
 * ours. */
static void drop_failed(struct submit *s)
{
	int status = drop_wait(s);

	s->drop_fd = -1;
	sendmail_fail(s, status != EX_OK ? status : EX_TEMPFAIL,
		      "sureldrop failed");
}

/* One chunk to sureldrop: its length in 8 hex digits, then the data. */
static void drop_chunk(struct submit *s, const char *data, size_t len)
{
	char head[17];

	snprintf(head, sizeof(head), "%08zx", len);
	if (fs_write_all(s->drop_fd, head, 8) < 0 ||
	    fs_write_all(s->drop_fd, data, len) < 0)
		drop_failed(s);
}

static void drop_flush(struct submit *s)
{
	if (s->staged > 0 && s->status == EX_OK)
		drop_chunk(s, s->stage, s->staged);
	s->staged = 0;
}

void sendmail_drop_write(struct submit *s, const char *data, size_t len)
{
	if (len == 0 || s->status != EX_OK)
		return;
	s->size += len;
	if (s->size > s->size_max) {
		sendmail_fail(s, EX_DATAERR, "message file too big "
			      "(message_size_limit is %llu octets)",
			      (unsigned long long)s->size_max);
		return;
	}
	if (s->staged + len > sizeof(s->stage))
		drop_flush(s);
	if (len >= sizeof(s->stage)) {
		drop_chunk(s, data, len);
		return;
	}
	memcpy(s->stage + s->staged, data, len);
	s->staged += len;
}

int sendmail_add_rcpt(void *ctx, const char *address, const char **error_r)
{
	struct submit *s = ctx;

	if (s->rcpt_count >= RCPT_MAX) {
		*error_r = "too many recipients";
		return -1;
	}
	s->rcpts[s->rcpt_count++] = xstrdup(address);
	return 0;
}

/* Reads the header section into hdr (see the top of the file). Returns
 * true when the piece in s is the first of the body (not yet sent). */
static bool read_headers(struct submit *s, struct buf *hdr)
{
	bool first = true;

	while (sendmail_next_piece(s)) {
		bool from_ = first && strncmp(s->piece, "From ", 5) == 0;
		first = false;
		if (from_) {	/* the mbox separator, possibly long */
			while (s->piece[s->len - 1] != '\n' && sendmail_next_piece(s))
				;
			continue;
		}
		bool line_end = s->piece[s->len - 1] == '\n';
		bool field = s->bol && line_end &&
			     (header_rcpt_is_field(s->piece, s->len - 1) ||
			      (hdr->len > 0 && (s->piece[0] == ' ' ||
						s->piece[0] == '\t')));
		if (!field || buf_append(hdr, s->piece, s->len) < 0)
			return true;
	}
	return false;
}

void sendmail_drop_start(struct submit *s)
{
	char path[PATH_MAX];
	const char **argv = xcalloc(s->rcpt_count + 16, sizeof(*argv));
	size_t n = 0;
	int fds[2];

	s->staged = 0;
	sibling(path, sizeof(path), "sureldrop");
	argv[n++] = path;
	argv[n++] = "-c";
	argv[n++] = sendmail_config_dir;
	if (s->full_name != NULL) {
		argv[n++] = "-F";
		argv[n++] = s->full_name;
	}
	if (s->verify)
		argv[n++] = "-V";
	argv[n++] = "-f";
	argv[n++] = s->sender;
	argv[n++] = "--";
	for (size_t i = 0; i < s->rcpt_count; i++)
		argv[n++] = s->rcpts[i];
	argv[n] = NULL;
	if (pipe(fds) < 0 || (s->drop_pid = fork()) < 0)
		sendmail_die(EX_OSERR, "cannot start sureldrop: %s", strerror(errno));
	if (s->drop_pid == 0) {
		dup2(fds[0], 0);
		close(fds[0]);
		close(fds[1]);
		execv(path, (char *const *)argv);
		fprintf(stderr, "sendmail: fatal: cannot run %s: %s\n", path,
			strerror(errno));
		_exit(EX_UNAVAILABLE);
	}
	close(fds[0]);
	s->drop_fd = fds[1];
	free(argv);
}

/* Ends the stream and returns sureldrop's exit status. */
int sendmail_drop_finish(struct submit *s)
{
	if (s->drop_fd < 0)
		return s->status;
	drop_flush(s);
	/* After a failure no end chunk: sureldrop removes its file. */
	if (s->status == EX_OK &&
	    fs_write_all(s->drop_fd, "00000000", 8) < 0) {
		drop_failed(s);
		return s->status;
	}
	int status = drop_wait(s);
	s->drop_fd = -1;
	return s->status != EX_OK ? s->status : status;
}

void sendmail_fail(struct submit *s, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (s->status == EX_OK) {
		s->status = status;
		vsnprintf(s->error, sizeof(s->error), fmt, ap);
	}
	va_end(ap);
	if (!s->smtp)
		sendmail_die(s->status, "%s", s->error);
}

const char *sendmail_default_sender(void)
{
	struct passwd *pw = getpwuid(getuid());

	if (pw == NULL)
		sendmail_die(EX_NOUSER, "no user name for uid %ld", (long)getuid());
	return xstrdup(pw->pw_name);
}

/* Without -F, as Postfix's sendmail: NAME from the environment, else the
 * GECOS field of the password file (lib/full_name.h). A default that
 * sureldrop would refuse (too long, control characters) is not used:
 * only a name the user gave explicitly is worth an error. NULL: none. */
static const char *sendmail_default_full_name(void)
{
	static char name[FULL_NAME_MAX + 1];
	const char *env = getenv("NAME");
	struct passwd *pw;

	if (env != NULL && *env != '\0') {
		if (strlen(env) >= sizeof(name))
			return NULL;
		memcpy(name, env, strlen(env) + 1);
	} else if ((pw = getpwuid(getuid())) == NULL || pw->pw_gecos == NULL ||
		   full_name_from_gecos(pw->pw_gecos, pw->pw_name, name,
					sizeof(name)) < 0) {
		return NULL;
	}
	for (const char *p = name; *p != '\0'; p++)
		if ((unsigned char)*p < ' ' || *p == 127)
			return NULL;
	return name;
}

/* The content of a -bv request: pickup adds the Received:, Date:,
 * Message-Id: and From: fields; the report returns this header. */
#define VERIFY_PROBE "Subject: address verification request (sendmail -bv)\n"

/* -bv -t: the recipients are in the header section; the body is read to
 * its end (so that the writer of our input sees no broken pipe) and
 * dropped. */
static void drain_input(struct submit *s, bool more)
{
	if (more)
		while (sendmail_next_piece(s))
			;
}

static int deliver(struct sendmail_opts *o)
{
	bool verify = o->mode == SENDMAIL_VERIFY;
	struct submit s = { .in = stdin, .drop_fd = -1, .dot_ok = o->dot_ok,
			    .full_name = o->full_name != NULL ? o->full_name :
					 sendmail_default_full_name(),
			    .verify = verify };
	struct buf hdr, kept;
	const char *error, *own_sender = NULL;

	if (o->sender == NULL)
		o->sender = own_sender = sendmail_default_sender();
	s.sender = o->sender;
	s.size_max = conf_size("message_size_limit");
	if (s.size_max == 0)
		s.size_max = UINT64_MAX;
	s.rcpts = xcalloc(RCPT_MAX, sizeof(*s.rcpts));
	for (int i = 0; i < o->rcpt_count; i++)
		if (sendmail_add_rcpt(&s, o->rcpts[i], &error) < 0)
			sendmail_die(EX_USAGE, "%s", error);
	buf_init(&hdr, conf_size("header_size_limit"));
	/* -bv without -t reads nothing: there is no message. */
	bool more = verify && !o->extract ? false : read_headers(&s, &hdr);
	/* -t: the recipients, and the header without its Bcc: fields. */
	buf_init(&kept, hdr.len + 1);
	if (o->extract && header_rcpt_extract(hdr.data, hdr.len, &kept,
					      sendmail_add_rcpt, &s,
					      &error) < 0)
		sendmail_die(EX_DATAERR, "recipient headers: %s", error);
	if (s.rcpt_count == 0)
		sendmail_die(EX_USAGE, "no recipients specified");
	if (verify)
		drain_input(&s, more);
	signal(SIGPIPE, SIG_IGN);
	sendmail_drop_start(&s);
	if (verify)
		sendmail_drop_write(&s, VERIFY_PROBE, strlen(VERIFY_PROBE));
	else
		sendmail_drop_write(&s, o->extract ? kept.data : hdr.data,
				    o->extract ? kept.len : hdr.len);
	if (more && !verify) {
		do
			sendmail_drop_write(&s, s.piece, s.len);
		while (sendmail_next_piece(&s));
	}
	buf_deinit(&hdr);
	buf_deinit(&kept);
	int status = sendmail_drop_finish(&s);
	for (size_t i = 0; i < s.rcpt_count; i++)
		free(s.rcpts[i]);
	free(s.rcpts);
	free((char *)own_sender);
	return status;
}

/* newaliases: surelmap over alias_database, as Postfix's newaliases
 * runs postalias over its alias_database. */
static int newaliases(void)
{
	char **tables = conf_list("alias_database");
	const char *args[12];
	size_t n = 0;

	for (; tables[n] != NULL && n < 12; n++)
		args[n] = tables[n];
	if (n == 0) {
		fprintf(stderr, "newaliases: alias_database is empty: nothing "
			"to rebuild (aliases are virtual_alias_maps)\n");
		free(tables);
		return EX_OK;
	}
	if (tables[n] != NULL)
		sendmail_die(EX_CONFIG, "alias_database: more than 12 tables");
	exec_tool("surelmap", args, n);
}

int main(int argc, char **argv)
{
	struct sendmail_opts o;
	const char *error;

	if (sendmail_opts_parse(argc, argv, &o, &error) < 0)
		sendmail_die(EX_USAGE, "%s", error);
	sendmail_config_dir = conf_file_dir(o.config_dir);
	if (conf_load(sendmail_config_dir, NULL, &error) < 0)
		sendmail_die(EX_CONFIG, "%s", error);
	switch (o.mode) {
	case SENDMAIL_DELIVER:
	case SENDMAIL_VERIFY:
		return deliver(&o);
	case SENDMAIL_PRINT: {
		const char *args[] = { "-p" };
		exec_tool("surelqueue", args, 1);
	}
	case SENDMAIL_FLUSH: {
		const char *site[] = { "-s", o.site };
		const char *flush[] = { "flush" };
		if (o.site != NULL)
			exec_tool("surelqueue", site, 2);
		exec_tool("surel", flush, 1);
	}
	case SENDMAIL_NEWALIASES:
		return newaliases();
	case SENDMAIL_SMTP:
		return sendmail_smtp(&o);
	}
	return EX_SOFTWARE;
}
