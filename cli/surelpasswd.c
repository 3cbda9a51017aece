/* surelpasswd: sets (or deletes) a user's password in a passwd-file, the
 * documented way to add users: reads the password from standard input
 * (asking twice without echo on a terminal), hashes it with crypt(3) and
 * writes "user:{SCHEME}hash" into the file, replacing only the password
 * field of the user's line (uid, home, extra fields stay) or appending
 * one. The new file is written beside the old one, fsync()ed and renamed
 * over it, under a lock: authd sees the old or the new table, never half
 * of one. authd picks the change up by itself within a second or two. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include "buf.h"
#include "conf.h"
#include "conf_file.h"
#include "fsutil.h"
#include "mem.h"
#include "passwd_file.h"
#include "str.h"

#define EXIT_NOT_FOUND 1	/* -d: no such user */
#define EXIT_ERROR 2
#define LOCK_WAIT_S 10
#define PASSWD_FILE_PREFIX "passwd-file:"

struct opts {
	const char *config_dir;
	const char *scheme;
	const char *file;
	bool print_only;	/* -n */
	bool delete;		/* -d */
	const char *user;
};

static void usage(void)
{
	fprintf(stderr, "usage: surelpasswd [-c config_dir] [-s scheme] "
		"[-f passwd_file] [-n] user@domain\n"
		"       surelpasswd [-c config_dir] [-f passwd_file] -d "
		"user@domain\n");
	exit(EXIT_ERROR);
}

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	fputs("surelpasswd: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_ERROR);
}

/* ---- the password ---- */

/* One line of at most size - 1 bytes from fd, without its line end. */
static int read_line(int fd, char *out, size_t size)
{
	size_t len = 0;
	char c;

	for (;;) {
		ssize_t n = read(fd, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0 || c == '\n')
			break;
		if (len + 1 >= size || c == '\0') {
			explicit_bzero(out, len);
			errno = c == '\0' ? EINVAL : E2BIG;
			return -1;
		}
		out[len++] = c;
	}
	if (len > 0 && out[len - 1] == '\r')
		len--;
	out[len] = '\0';
	return 0;
}

static int tty_read(const char *prompt, char *out, size_t size)
{
	struct termios old, quiet;
	int ret;

	fputs(prompt, stderr);
	fflush(stderr);
	if (tcgetattr(STDIN_FILENO, &old) < 0)
		return -1;
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) < 0)
		return -1;
	ret = read_line(STDIN_FILENO, out, size);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	fputc('\n', stderr);
	return ret;
}

static void read_password(char *pw, size_t size)
{
	if (isatty(STDIN_FILENO)) {
		char again[PASSWD_PASSWORD_MAX + 2];
		bool same;

		if (tty_read("New password: ", pw, size) < 0 ||
		    tty_read("Retype new password: ", again,
			     sizeof(again)) < 0)
			die("cannot read the password: %s", strerror(errno));
		same = strcmp(pw, again) == 0;
		explicit_bzero(again, sizeof(again));
		if (!same)
			die("the passwords differ; nothing changed");
	} else if (read_line(STDIN_FILENO, pw, size) < 0) {
		die("cannot read the password from standard input: %s",
		    errno == E2BIG ? "too long" : strerror(errno));
	}
	if (pw[0] == '\0')
		die("empty password refused");
}

/* ---- the file ---- */

/* The length of line without its line end ("\n" or "\r\n"). */
static size_t line_content_len(const char *line, size_t len)
{
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	return len;
}

/* Copies one line into out, with the password replaced when it is the
 * user's (or left out with -d). *found counts such lines. */
static int edit_line(const char *line, size_t len, const char *user,
		     const char *hash, struct buf *out, unsigned *found)
{
	size_t clen = line_content_len(line, len);
	const char *colon = memchr(line, ':', clen);
	size_t ulen = colon != NULL ? (size_t)(colon - line) : clen;

	if (clen == 0 || line[0] == '#' || ulen != strlen(user) ||
	    strncasecmp(line, user, ulen) != 0)
		return buf_append(out, line, len);
	(*found)++;
	if (hash == NULL)
		return 0;
	/* keep the name as written, every field after the password and
	 * the line end */
	const char *rest = colon != NULL ?
		memchr(colon + 1, ':', clen - ulen - 1) : NULL;
	if (rest == NULL)
		rest = line + clen;
	if (buf_append(out, line, ulen) < 0 ||
	    buf_printf(out, ":%s", hash) < 0)
		return -1;
	return buf_append(out, rest, (size_t)(line + len - rest));
}

static int edit_content(const char *data, size_t len, const char *user,
			const char *hash, struct buf *out, unsigned *found)
{
	size_t pos = 0;

	*found = 0;
	while (pos < len) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		size_t llen = nl != NULL ? (size_t)(nl - (data + pos)) + 1 :
			len - pos;
		if (edit_line(data + pos, llen, user, hash, out, found) < 0)
			return -1;
		pos += llen;
	}
	if (hash != NULL && *found == 0) {
		if (out->len > 0 && out->data[out->len - 1] != '\n' &&
		    buf_append_char(out, '\n') < 0)
			return -1;
		return buf_printf(out, "%s:%s\n", user, hash);
	}
	return 0;
}

static int read_all(int fd, struct buf *b)
{
	char chunk[65536];

	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		if (buf_append(b, chunk, (size_t)n) < 0) {
			errno = EFBIG;
			return -1;
		}
	}
}

/* Serializes concurrent runs on one file: PATH.lock, held until exit. */
static void lock_file(const char *path)
{
	struct buf lock;
	int fd;

	buf_init(&lock, 4096);
	if (buf_printf(&lock, "%s.lock", path) < 0)
		die("%s: path too long", path);
	fd = open(lock.data, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		die("open %s: %s", lock.data, strerror(errno));
	for (int i = 0; flock(fd, LOCK_EX | LOCK_NB) < 0; i++) {
		if (errno != EWOULDBLOCK && errno != EINTR)
			die("lock %s: %s", lock.data, strerror(errno));
		if (i >= LOCK_WAIT_S * 10)
			die("%s is locked by another surelpasswd", lock.data);
		nanosleep(&(struct timespec){ 0, 100000000 }, NULL);
	}
	buf_deinit(&lock);
}

/* The owner of a new file. authd reads it as auth_owner: a file that
 * root creates for itself (mode 0600) would make every login a temporary
 * failure. So root gives it to auth_owner; anyone else keeps it (authd
 * then runs as that user too). false: keep the caller's. */
static bool new_file_owner(const char *config_dir, uid_t *uid_r,
			   gid_t *gid_r)
{
	const char *error, *owner;
	struct passwd *pw;

	if (geteuid() != 0)
		return false;
	if (conf_load(conf_file_dir(config_dir), NULL, &error) < 0) {
		fprintf(stderr, "surelpasswd: warning: %s: the new file is "
			"root's; make it readable by auth_owner\n", error);
		return false;
	}
	owner = conf_str("auth_owner");
	pw = getpwnam(owner);
	if (pw == NULL || pw->pw_uid == 0) {
		fprintf(stderr, "surelpasswd: warning: auth_owner %s: %s; the "
			"new file is root's\n", owner,
			pw == NULL ? "unknown user" : "is root");
		return false;
	}
	*uid_r = pw->pw_uid;
	*gid_r = pw->pw_gid;
	return true;
}

/* Writes data as the new path: temporary file in the same directory
 * with the old file's mode and owner (for a new file 0600, owned as
 * new_file_owner says), fsync, rename, fsync of the directory. */
static void write_atomic(const char *path, const struct buf *data,
			 const struct stat *old, const char *config_dir)
{
	struct buf tmp;
	uid_t uid;
	gid_t gid;
	int fd;

	buf_init(&tmp, 4096);
	if (buf_printf(&tmp, "%s.XXXXXX", path) < 0)
		die("%s: path too long", path);
	fd = mkstemp(tmp.data);
	if (fd < 0)
		die("create %s: %s", tmp.data, strerror(errno));
	if ((old != NULL && (fchown(fd, old->st_uid, old->st_gid) < 0 ||
			     fchmod(fd, old->st_mode & 07777) < 0)) ||
	    (old == NULL && (fchmod(fd, 0600) < 0 ||
			     (new_file_owner(config_dir, &uid, &gid) &&
			      fchown(fd, uid, gid) < 0))) ||
	    fs_write_all(fd, data->data, data->len) < 0 || fsync(fd) < 0 ||
	    close(fd) < 0 || rename(tmp.data, path) < 0) {
		int saved = errno;
		unlink(tmp.data);
		die("write %s: %s", path, strerror(saved));
	}
	if (fs_fsync_parent(path) < 0)
		die("fsync the directory of %s: %s", path, strerror(errno));
	buf_deinit(&tmp);
}

/* 0 done, EXIT_NOT_FOUND for -d of an absent user. */
static int update_file(const char *path, const char *user, const char *hash,
		       const char *config_dir)
{
	struct buf old, out;
	struct stat st;
	struct passwd_file *pf;
	const char *error;
	unsigned found;
	bool exists;
	int fd;

	lock_file(path);
	buf_init(&old, PASSWD_FILE_MAX_SIZE);
	buf_init(&out, PASSWD_FILE_MAX_SIZE);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	exists = fd >= 0;
	if (!exists && (errno != ENOENT || hash == NULL))
		die("open %s: %s", path, strerror(errno));
	if (exists && (fstat(fd, &st) < 0 || read_all(fd, &old) < 0))
		die("read %s: %s", path, strerror(errno));
	if (exists)
		close(fd);
	if (edit_content(old.data, old.len, user, hash, &out, &found) < 0)
		die("%s: file too big", path);
	if (found > 1)
		die("%s: %s is there %u times; fix the file by hand", path,
		    user, found);
	if (hash == NULL && found == 0)
		return EXIT_NOT_FOUND;
	/* Never install a table authd would refuse. */
	if (passwd_file_parse(out.data, out.len, &pf, &error) < 0)
		die("%s: the new file would not be valid (%s); nothing "
		    "changed", path, error);
	passwd_file_free(&pf);
	write_atomic(path, &out, exists ? &st : NULL, config_dir);
	explicit_bzero(old.data, old.len);
	explicit_bzero(out.data, out.len);
	buf_deinit(&old);
	buf_deinit(&out);
	return 0;
}

/* ---- options ---- */

/* -f, else the first passwd-file: of auth_user_maps. */
static char *find_file(const struct opts *o)
{
	const char *error;
	char **maps, *path = NULL;

	if (o->file != NULL)
		return xstrdup(strncmp(o->file, PASSWD_FILE_PREFIX,
				       strlen(PASSWD_FILE_PREFIX)) == 0 ?
			       o->file + strlen(PASSWD_FILE_PREFIX) : o->file);
	if (conf_load(conf_file_dir(o->config_dir), NULL, &error) < 0)
		die("%s", error);
	maps = conf_list("auth_user_maps");
	for (size_t i = 0; maps[i] != NULL && path == NULL; i++)
		if (strncmp(maps[i], PASSWD_FILE_PREFIX,
			    strlen(PASSWD_FILE_PREFIX)) == 0)
			path = xstrdup(maps[i] + strlen(PASSWD_FILE_PREFIX));
	free(maps);
	if (path == NULL)
		die("auth_user_maps names no passwd-file: table; use -f");
	return path;
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	int c;

	while ((c = getopt(argc, argv, "c:s:f:nd")) != -1) {
		switch (c) {
		case 'c': o->config_dir = optarg; break;
		case 's': o->scheme = optarg; break;
		case 'f': o->file = optarg; break;
		case 'n': o->print_only = true; break;
		case 'd': o->delete = true; break;
		default: usage();
		}
	}
	if (optind != argc - 1 || (o->delete && o->print_only))
		usage();
	o->user = argv[optind];
	/* ':' would split the line, a leading '#' make it a comment */
	if (!passwd_user_valid(o->user) || strchr(o->user, ':') != NULL ||
	    o->user[0] == '#')
		die("invalid user name");
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	char pw[PASSWD_PASSWORD_MAX + 2], hash[PASSWD_HASH_MAX];
	const char *error;
	char *path = NULL;
	int status;

	parse_opts(argc, argv, &o);
	if (!o.print_only)
		path = find_file(&o);
	if (o.delete) {
		status = update_file(path, o.user, NULL, o.config_dir);
		if (status == EXIT_NOT_FOUND)
			fprintf(stderr, "surelpasswd: %s: no user %s\n", path,
				o.user);
		free(path);
		return status;
	}
	read_password(pw, sizeof(pw));
	if (passwd_hash(o.scheme, pw, hash, sizeof(hash), &error) < 0) {
		explicit_bzero(pw, sizeof(pw));
		die("%s", error);
	}
	explicit_bzero(pw, sizeof(pw));
	if (o.print_only) {
		printf("%s:%s\n", o.user, hash);
		status = fflush(stdout) == 0 ? 0 : EXIT_ERROR;
	} else {
		status = update_file(path, o.user, hash, o.config_dir);
	}
	explicit_bzero(hash, sizeof(hash));
	free(path);
	return status;
}
