/* authd_users: the user tables of auth_user_maps, searched in order.
 *   passwd-file:PATH  read whole into memory (lib/passwd_file), read
 *                     again when the file changes; a new version that
 *                     does not parse leaves the old table in force
 *   hash:PATH, btree:PATH (and the other lib/maps types)
 *                     key user@domain (lower case), value what follows
 *                     the user name on a passwd-file line:
 *                     "{SCHEME}hash[:uid:gid::home::extra]"
 * A table that cannot be read makes every lookup through it a temporary
 * failure rather than "no such user": a broken table must not look like
 * wrong passwords to the users. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include "authd.h"
#include "fsutil.h"
#include "log.h"
#include "maps.h"
#include "mem.h"
#include "str.h"
#include "timeutil.h"

#define USERS_CHECK_MS 1000
#define USERS_ERROR_MAX 512
#define PASSWD_FILE_PREFIX "passwd-file:"

enum table_kind { TABLE_PASSWD_FILE, TABLE_MAPS };

/* What a file looked like when last tried: a change of any of these, or
 * of the error that stat/open gave, means "read it again". */
struct file_sig {
	int err;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
};

struct authd_table {
	enum table_kind kind;
	char *spec;
	const char *path;		/* passwd-file: into spec */
	struct passwd_file *pf;		/* NULL until read once */
	struct file_sig sig;
	struct maps *maps;		/* NULL while it cannot be opened */
	uint64_t checked_ms;
};

struct authd_users {
	struct authd_table *tables;
	size_t count;
	char dummy[PASSWD_HASH_MAX];
};

static struct buf users_error;

static const char *users_fail(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static const char *users_fail(const char *fmt, ...)
{
	va_list ap;
	const char *s;

	va_start(ap, fmt);
	s = buf_error_vset(&users_error, USERS_ERROR_MAX, "user table error",
			   fmt, ap);
	va_end(ap);
	return s;
}

void authd_user_clear(struct authd_user *u)
{
	if (u->password != NULL) {
		explicit_bzero(u->password, strlen(u->password));
		free(u->password);
	}
	memset(u, 0, sizeof(*u));
}

/* ---- passwd-file ---- */

static void sig_of(struct file_sig *sig, int err, const struct stat *st)
{
	memset(sig, 0, sizeof(*sig));
	sig->err = err;
	if (err != 0)
		return;
	sig->dev = st->st_dev;
	sig->ino = st->st_ino;
	sig->size = st->st_size;
	sig->mtime = st->st_mtim;
	sig->ctime = st->st_ctim;
}

static bool sig_equal(const struct file_sig *a, const struct file_sig *b)
{
	return a->err == b->err && a->dev == b->dev && a->ino == b->ino &&
	       a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec &&
	       a->mtime.tv_nsec == b->mtime.tv_nsec &&
	       a->ctime.tv_sec == b->ctime.tv_sec &&
	       a->ctime.tv_nsec == b->ctime.tv_nsec;
}

/* Reads and parses t's file; *sig (of the file read, from the open fd)
 * is filled either way. */
static int file_read(const struct authd_table *t, struct file_sig *sig,
		     struct passwd_file **pf_r, const char **error_r)
{
	struct stat st;
	/* O_NONBLOCK: a FIFO in the table's place must not hang the loop in
	 * open() (it is refused below); a regular file ignores the flag. */
	int fd = open(t->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0 || fstat(fd, &st) < 0) {
		sig_of(sig, errno, NULL);
		*error_r = users_fail("open: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	sig_of(sig, 0, &st);
	if (!S_ISREG(st.st_mode) || st.st_size > PASSWD_FILE_MAX_SIZE) {
		*error_r = !S_ISREG(st.st_mode) ? "not a regular file" :
			"file too big";
		close(fd);
		return -1;
	}
	size_t size = (size_t)st.st_size;
	char *data = xmalloc(size + 1);
	ssize_t n = fs_pread_all(fd, data, size, 0);
	int ret = -1;

	if (n < 0)
		*error_r = users_fail("read: %s", strerror(errno));
	else if (passwd_file_parse(data, (size_t)n, pf_r, error_r) == 0)
		ret = 0;
	close(fd);
	explicit_bzero(data, size);
	free(data);
	return ret;
}

/* (Re)reads t; true when a new table is in force. */
static bool file_load(struct authd_table *t, bool reload)
{
	struct passwd_file *pf;
	const char *error;

	if (file_read(t, &t->sig, &pf, &error) < 0) {
		if (t->pf != NULL)
			log_error("%s: %s; keeping the previous table "
				  "(%zu users)", t->spec, error,
				  passwd_file_count(t->pf));
		else
			log_error("%s: %s; its users cannot log in until it "
				  "can be read", t->spec, error);
		return false;
	}
	passwd_file_free(&t->pf);
	t->pf = pf;
	if (reload)
		log_info("%s: reloaded, %zu users", t->spec,
			 passwd_file_count(pf));
	return true;
}

static bool file_refresh(struct authd_table *t, uint64_t now)
{
	struct file_sig cur;
	struct stat st;

	if (now - t->checked_ms < USERS_CHECK_MS)
		return false;
	t->checked_ms = now;
	if (stat(t->path, &st) < 0)
		sig_of(&cur, errno, NULL);
	else
		sig_of(&cur, 0, &st);
	if (sig_equal(&cur, &t->sig))
		return false;
	return file_load(t, true);
}

/* Fills out from e (a table entry); -1 if its fields are broken. */
static int entry_take(const struct authd_table *t,
		      const struct passwd_file_entry *e,
		      struct authd_user *out, const char **error_r)
{
	const char *error;

	if (str_copy(out->name, sizeof(out->name), e->user) < 0) {
		*error_r = users_fail("%s: user name too long", t->spec);
		return -1;
	}
	if (authd_fields_apply(e, out, &error) < 0) {
		/* a valid user name: no control characters */
		*error_r = users_fail("%s: user %s: %s", t->spec, e->user,
				      error);
		return -1;
	}
	out->password = xstrdup(e->password);
	return 0;
}

static int file_lookup(struct authd_table *t, const char *user,
		       struct authd_user *out, const char **error_r)
{
	const struct passwd_file_entry *e;

	if (t->pf == NULL) {
		*error_r = users_fail("%s: table unreadable", t->spec);
		return -1;
	}
	if (passwd_file_lookup(t->pf, user, &e) == 0)
		return 0;
	return entry_take(t, e, out, error_r) < 0 ? -1 : 1;
}

/* ---- hash:, btree: ---- */

static void maps_try_open(struct authd_table *t, uint64_t now, bool start)
{
	const char *error;

	if (t->maps != NULL || (!start && now - t->checked_ms < USERS_CHECK_MS))
		return;
	t->checked_ms = now;
	if (maps_open(t->spec, 0, &t->maps, &error) < 0) {
		if (start)
			log_error("%s: %s; its users cannot log in until it "
				  "can be opened", t->spec, error);
		t->maps = NULL;
	} else if (!start) {
		log_info("%s: opened", t->spec);
	}
}

/* The value is parsed as the rest of a passwd-file line, so both kinds
 * of table mean the same by their fields. */
static int maps_entry(struct authd_table *t, const char *key,
		      const char *value, struct authd_user *out,
		      const char **error_r)
{
	struct passwd_file *pf;
	const struct passwd_file_entry *e;
	const char *error;
	struct buf line;
	int ret = -1;

	buf_init(&line, PASSWD_FILE_MAX_LINE);
	if (strchr(value, '\n') != NULL ||
	    buf_printf(&line, "%s:%s", key, value) < 0) {
		*error_r = users_fail("%s: user %s: bad entry", t->spec, key);
	} else if (passwd_file_parse(line.data, line.len, &pf, &error) < 0) {
		*error_r = users_fail("%s: user %s: bad entry: %s", t->spec,
				      key, error);
	} else {
		if (passwd_file_lookup(pf, key, &e) == 1)
			ret = entry_take(t, e, out, error_r);
		else
			*error_r = users_fail("%s: user %s: bad entry",
					      t->spec, key);
		passwd_file_free(&pf);
	}
	explicit_bzero(line.data, line.len);
	buf_deinit(&line);
	return ret < 0 ? -1 : 1;
}

static int maps_user_lookup(struct authd_table *t, const char *user,
			    struct authd_user *out, const char **error_r)
{
	char key[PASSWD_USER_MAX + 1];
	const char *value, *error;
	int ret;

	maps_try_open(t, time_mono_ms(), false);
	if (t->maps == NULL) {
		*error_r = users_fail("%s: table unavailable", t->spec);
		return -1;
	}
	if (str_copy(key, sizeof(key), user) < 0)
		return 0;
	str_lower(key);
	ret = maps_lookup(t->maps, key, &value, &error);
	if (ret < 0)
		*error_r = users_fail("%s", error);
	if (ret <= 0)
		return ret;
	return maps_entry(t, key, value, out, error_r);
}

/* ---- the list ---- */

static void users_dummy(struct authd_users *u)
{
	unsigned char rnd[16];
	char pw[2 * sizeof(rnd) + 1];
	const char *error;

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		fatal("getrandom: %s", strerror(errno));
	for (size_t i = 0; i < sizeof(rnd); i++) {
		pw[2 * i] = "0123456789abcdef"[rnd[i] >> 4];
		pw[2 * i + 1] = "0123456789abcdef"[rnd[i] & 15];
	}
	pw[sizeof(pw) - 1] = '\0';
	if (passwd_hash(NULL, pw, u->dummy, sizeof(u->dummy), &error) < 0)
		fatal("cannot make the dummy password hash: %s", error);
	explicit_bzero(pw, sizeof(pw));
	explicit_bzero(rnd, sizeof(rnd));
}

static void users_add(struct authd_users *u, const char *spec)
{
	struct authd_table *t;

	u->tables = xreallocarray(u->tables, u->count + 1, sizeof(*u->tables));
	t = &u->tables[u->count++];
	memset(t, 0, sizeof(*t));
	t->spec = xstrdup(spec);
	if (strncmp(spec, PASSWD_FILE_PREFIX, strlen(PASSWD_FILE_PREFIX)) == 0) {
		t->kind = TABLE_PASSWD_FILE;
		t->path = t->spec + strlen(PASSWD_FILE_PREFIX);
		if (t->path[0] != '/')
			fatal("auth_user_maps: %s: the path must be absolute",
			      spec);
		t->checked_ms = time_mono_ms();
		file_load(t, false);
		return;
	}
	t->kind = TABLE_MAPS;
	if (strchr(spec, ':') == NULL)
		fatal("auth_user_maps: %s: expected type:name", spec);
	maps_try_open(t, time_mono_ms(), true);
}

struct authd_users *authd_users_open(char **specs)
{
	struct authd_users *u = xcalloc(1, sizeof(*u));

	users_dummy(u);
	for (size_t i = 0; specs[i] != NULL; i++)
		users_add(u, specs[i]);
	return u;
}

void authd_users_free(struct authd_users **up)
{
	struct authd_users *u = *up;

	if (u == NULL)
		return;
	for (size_t i = 0; i < u->count; i++) {
		passwd_file_free(&u->tables[i].pf);
		maps_free(&u->tables[i].maps);
		free(u->tables[i].spec);
	}
	free(u->tables);
	xfree(up);
}

bool authd_users_refresh(struct authd_users *u)
{
	uint64_t now = time_mono_ms();
	bool changed = false;

	for (size_t i = 0; i < u->count; i++)
		if (u->tables[i].kind == TABLE_PASSWD_FILE &&
		    file_refresh(&u->tables[i], now))
			changed = true;
	return changed;
}

int authd_users_lookup(struct authd_users *u, const char *user,
		       struct authd_user *out, const char **error_r)
{
	memset(out, 0, sizeof(*out));
	if (!passwd_user_valid(user))
		return 0;
	for (size_t i = 0; i < u->count; i++) {
		struct authd_table *t = &u->tables[i];
		int ret = t->kind == TABLE_PASSWD_FILE ?
			file_lookup(t, user, out, error_r) :
			maps_user_lookup(t, user, out, error_r);

		if (ret != 0) {
			if (ret < 0)
				authd_user_clear(out);
			return ret;
		}
	}
	return 0;
}

const char *authd_users_dummy_hash(const struct authd_users *u)
{
	return u->dummy;
}

size_t authd_users_table_count(const struct authd_users *u)
{
	return u->count;
}

void authd_users_describe(const struct authd_users *u, struct buf *out)
{
	for (size_t i = 0; i < u->count; i++) {
		const struct authd_table *t = &u->tables[i];
		int ret = buf_printf(out, "%s%s", i > 0 ? ", " : "", t->spec);

		if (ret == 0 && t->kind == TABLE_PASSWD_FILE)
			ret = t->pf != NULL ?
				buf_printf(out, " (%zu users)",
					   passwd_file_count(t->pf)) :
				buf_append_str(out, " (unreadable)");
		else if (ret == 0 && t->maps == NULL)
			ret = buf_append_str(out, " (unavailable)");
		if (ret < 0)
			return;	/* a long list is cut in the log line only */
	}
}
