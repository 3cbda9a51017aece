/* sureldrop: writes one message into queue_directory/maildrop/ for the
 * pickup daemon (Postfix's postdrop). Installed setgid to setgid_group:
 * maildrop/ (mode 1730, mail_owner:setgid_group) and public/ are writable
 * and searchable by that group only, so this is the one door from users
 * into the queue.
 *
 *   sureldrop [-c config_dir] [-F full_name] [-V] -f sender -- recipient...
 *
 * -V marks the message as an address verification request (sendmail -bv:
 * the envelope attribute verify=yes): qmgr then delivers nothing and
 * mails the sender a report.
 *
 * The content comes on standard input in chunks: 8 hex digits of length,
 * then that many octets; a zero length ends it (sendmail writes this).
 * EOF before the end, a bad chunk, a NUL byte or more than
 * message_size_limit octets: the file is removed and nothing is queued.
 *
 * Who may: root, the owner of maildrop/ (mail_owner, or the user running
 * a private instance), and members of maildrop/'s group (setgid_group);
 * anyone else gets EX_NOPERM before anything is written. Running setgid
 * for someone else, it reads only a configuration that root owns and that
 * nobody else may change (the directory and main.cf): -c and
 * $SUREL_CONFIG_DIR must not let a user point it at a queue of their
 * choosing. Exit statuses are sysexits(3)'s. The file is committed with
 * an fsync of itself and of maildrop/ before EX_OK: from then on pickup
 * will queue it, even after a crash. */
#include "config.h"
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sysexits.h>
#include <unistd.h>
#include "addr.h"
#include "conf.h"
#include "conf_file.h"
#include "fsutil.h"
#include "full_name.h"
#include "mem.h"
#include "queue_writer.h"

#define DROP_CHUNK_MAX (1024 * 1024)

static struct queue_writer *writer;

static void __attribute__((noreturn, format(printf, 2, 3)))
die(int status, const char *fmt, ...)
{
	va_list ap;

	queue_writer_abort(&writer);
	fputs("sureldrop: fatal: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

static void usage(void)
{
	die(EX_USAGE, "usage: sureldrop [-c config_dir] [-F full_name] [-V] "
	    "-f sender -- recipient...");
}

/* Root's and nobody else's to change. */
static bool trusted(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && st.st_uid == 0 &&
	       (st.st_mode & 022) == 0;
}

static void check_config_dir(const char *dir)
{
	char path[PATH_MAX];

	if (getegid() == getgid() || getuid() == 0)
		return;		/* not acting for anyone else */
	if (snprintf(path, sizeof(path), "%s/main.cf", dir) >=
		    (int)sizeof(path) ||
	    !trusted(dir) || !trusted(path))
		die(EX_NOPERM, "configuration %s is not owned by root (or "
		    "writable by others): refused by the setgid sureldrop",
		    dir);
}

static bool in_group(gid_t gid)
{
	gid_t groups[NGROUPS_MAX];
	int n = getgroups(NGROUPS_MAX, groups);

	if (getgid() == gid)
		return true;
	for (int i = 0; i < n; i++)
		if (groups[i] == gid)
			return true;
	return false;
}

static void check_permission(const char *queue_dir)
{
	char path[PATH_MAX];
	struct stat st;

	if (snprintf(path, sizeof(path), "%s/maildrop", queue_dir) >=
		    (int)sizeof(path) ||
	    stat(path, &st) < 0)
		die(EX_UNAVAILABLE, "%s/maildrop: %s (is surel started?)",
		    queue_dir, strerror(errno));
	if (getuid() == 0 || getuid() == st.st_uid || in_group(st.st_gid))
		return;
	die(EX_NOPERM, "uid %ld may not submit mail: not in group %ld of "
	    "%s (setgid_group)", (long)getuid(), (long)st.st_gid, path);
}

/* An address or name from the command line: printable, bounded. */
static void check_field(const char *what, const char *s, size_t max)
{
	if (strlen(s) > max)
		die(EX_DATAERR, "%s too long", what);
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < ' ' || *s == 127)
			die(EX_DATAERR, "control character in %s", what);
}

static void write_envelope(const char *sender, const char *full_name,
			   bool verify, char **rcpts, int count)
{
	struct queue_envelope env = { 0 };
	const char *error;

	env.sender = xstrdup(sender);
	if (full_name != NULL)
		queue_envelope_add_attr(&env, "full_name", full_name);
	if (verify)
		queue_envelope_add_attr(&env, "verify", "yes");
	for (int i = 0; i < count; i++)
		queue_envelope_add_rcpt(&env, rcpts[i], NULL, NULL, NULL);
	if (queue_writer_envelope(writer, &env, &error) < 0)
		die(EX_TEMPFAIL, "%s", error);
	queue_envelope_free(&env);
}

/* Reads one chunk's length; -1 at a bad header or EOF. */
static long chunk_len(void)
{
	char head[9];
	char *end;

	if (fread(head, 1, 8, stdin) != 8)
		return -1;
	head[8] = '\0';
	for (int i = 0; i < 8; i++)
		if (strchr("0123456789abcdef", head[i]) == NULL)
			return -1;
	long n = strtol(head, &end, 16);
	return n <= DROP_CHUNK_MAX ? n : -1;
}

static void copy_content(uint64_t size_max)
{
	static char data[DROP_CHUNK_MAX];	/* no free on die()'s paths */
	uint64_t size = 0;
	const char *error;
	long n;

	while ((n = chunk_len()) > 0) {
		if (fread(data, 1, (size_t)n, stdin) != (size_t)n)
			die(EX_DATAERR, "message input ended early");
		if (memchr(data, '\0', (size_t)n) != NULL)
			die(EX_DATAERR, "message contains a NUL character");
		size += (uint64_t)n;
		if (size_max > 0 && size > size_max)
			die(EX_DATAERR, "message file too big "
			    "(message_size_limit is %llu octets)",
			    (unsigned long long)size_max);
		if (queue_writer_content(writer, data, (size_t)n, &error) < 0)
			die(EX_TEMPFAIL, "%s", error);
	}
	if (n < 0)
		die(EX_DATAERR, "message input ended early or is malformed");
}

/* Best effort: pickup also runs every 60 s (master.cf wakeup). */
static void wake_pickup(const char *queue_dir)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/public/pickup",
		     queue_dir) >= (int)sizeof(sun.sun_path))
		return;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		(void)!send(fd, "wakeup\n", 7, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

int main(int argc, char **argv)
{
	const char *dir = NULL, *sender = NULL, *full_name = NULL, *error;
	bool verify = false;
	int c;

	/* A ^C at the terminal reaches sendmail too; it stops writing and
	 * we remove the file at EOF. */
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	while ((c = getopt(argc, argv, "c:f:F:V")) != -1) {
		if (c == 'c')
			dir = optarg;
		else if (c == 'f')
			sender = optarg;
		else if (c == 'F')
			full_name = optarg;
		else if (c == 'V')
			verify = true;
		else
			usage();
	}
	if (sender == NULL || optind >= argc)
		usage();
	dir = conf_file_dir(dir);
	check_config_dir(dir);
	if (conf_load(dir, NULL, &error) < 0)
		die(EX_CONFIG, "%s", error);
	const char *queue_dir = conf_str("queue_directory");
	check_permission(queue_dir);
	check_field("the sender", sender, ADDR_PATH_MAX);
	if (full_name != NULL)
		check_field("the full name", full_name, FULL_NAME_MAX);
	for (int i = optind; i < argc; i++)
		check_field("a recipient", argv[i], ADDR_PATH_MAX);
	if (queue_writer_open_maildrop(queue_dir, &writer, &error) < 0)
		die(errno == EACCES ? EX_NOPERM : EX_TEMPFAIL, "%s", error);
	write_envelope(sender, full_name, verify, argv + optind,
		       argc - optind);
	copy_content(conf_size("message_size_limit"));
	if (queue_writer_commit(&writer, &error) < 0)
		die(EX_TEMPFAIL, "%s", error);
	wake_pickup(queue_dir);
	return EX_OK;
}
