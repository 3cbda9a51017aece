/* mailstore_folder: Maildir++ folders. Folder "A.B" of a user is the
 * directory ROOT/.A.B (with tmp/ new/ cur/ and an empty "maildirfolder"
 * file, as Courier and Dovecot make them); the hierarchy is in the name
 * alone, so ".A.B" may exist without ".A". Names are checked before they
 * come near a path. */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "fsutil.h"
#include "mailstore_impl.h"
#include "mem.h"
#include "str.h"

#define FOLDER_MARKER "maildirfolder"
/* Folders being deleted are renamed to this first: invisible at once. */
#define FOLDER_TRASH_PREFIX "..surel-deleted."

bool mailstore_folder_name_valid(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > MAILSTORE_FOLDER_MAX || str_eq_ci(name, "INBOX"))
		return false;
	if (name[0] == '.' || name[len - 1] == '.' || strstr(name, "..") != NULL)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c < 0x20 || c == 0x7f || c == '/')
			return false;
	}
	return true;
}

int mailstore_folder_path(const char *root, const char *name, char *out,
			  size_t outsize, const char **error_r)
{
	int n;

	if (str_eq_ci(name, "INBOX")) {
		n = snprintf(out, outsize, "%s", root);
	} else if (!mailstore_folder_name_valid(name)) {
		*error_r = "invalid folder name";
		return -1;
	} else {
		n = snprintf(out, outsize, "%s/.%s", root, name);
	}
	if (n < 0 || (size_t)n >= outsize) {
		if (outsize > 0)
			out[0] = '\0';
		*error_r = "folder path too long";
		return -1;
	}
	return 0;
}

static bool is_dir_at(int dirfd, const char *name)
{
	struct stat st;

	return fstatat(dirfd, name, &st, 0) == 0 && S_ISDIR(st.st_mode);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int mailstore_folder_list(const char *root, char ***names_r, size_t *count_r,
			  const char **error_r)
{
	DIR *d = opendir(root);
	struct dirent *e;
	char **names = NULL;
	size_t count = 0;

	if (d == NULL) {
		*error_r = ms_error("opendir %s: %s", root, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] != '.' ||
		    !mailstore_folder_name_valid(e->d_name + 1) ||
		    !is_dir_at(dirfd(d), e->d_name))
			continue;
		names = xreallocarray(names, count + 1, sizeof(*names));
		names[count++] = xstrdup(e->d_name + 1);
	}
	closedir(d);
	qsort(names, count, sizeof(*names), name_cmp);
	*names_r = names;
	*count_r = count;
	return 0;
}

void mailstore_folder_list_free(char ***names, size_t count)
{
	if (*names == NULL)
		return;
	for (size_t i = 0; i < count; i++)
		free((*names)[i]);
	xfree(names);
}

static int folder_fail(const char *what, const char *path, const char **error_r)
{
	*error_r = ms_error("%s %s: %s", what, path, strerror(errno));
	return -1;
}

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

/* tmp/ new/ cur/ and the marker file in a fresh folder directory. */
static int folder_fill(const char *path, mode_t mode, const char **error_r)
{
	static const char *const subs[] = { "tmp", "new", "cur" };
	int ret = 0;

	for (size_t i = 0; i < 3 && ret == 0; i++) {
		char *sub = ms_path_join(path, subs[i]);
		if (mkdir(sub, mode) < 0)
			ret = folder_fail("mkdir", sub, error_r);
		free(sub);
	}
	if (ret < 0)
		return -1;
	char *marker = ms_path_join(path, FOLDER_MARKER);
	int fd = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
		      (mode & 0666) | 0600);
	if (fd < 0)
		ret = folder_fail("create", marker, error_r);
	else
		close(fd);
	free(marker);
	return ret;
}

int mailstore_folder_create(const char *root, const char *name,
			    const char **error_r)
{
	char path[PATH_MAX];
	struct stat st;

	if (mailstore_folder_path(root, name, path, sizeof(path), error_r) < 0)
		return -1;
	if (str_eq_ci(name, "INBOX")) {
		*error_r = "exists";
		return -1;
	}
	if (stat(root, &st) < 0)
		return folder_fail("stat", root, error_r);
	mode_t mode = st.st_mode & 07777;
	if (mkdir(path, mode) < 0) {
		if (errno == EEXIST) {
			*error_r = "exists";
			return -1;
		}
		return folder_fail("mkdir", path, error_r);
	}
	if (folder_fill(path, mode, error_r) < 0) {
		nftw(path, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
		return -1;
	}
	if (fs_fsync_dir(root) < 0)
		return folder_fail("fsync", root, error_r);
	return 0;
}

int mailstore_folder_delete(const char *root, const char *name,
			    const char **error_r)
{
	static unsigned long counter;
	char path[PATH_MAX], trash[PATH_MAX];
	struct stat st;

	if (mailstore_folder_path(root, name, path, sizeof(path), error_r) < 0)
		return -1;
	if (str_eq_ci(name, "INBOX")) {
		*error_r = "invalid folder name";
		return -1;
	}
	if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
		*error_r = "no such folder";
		return -1;
	}
	if (snprintf(trash, sizeof(trash), "%s/" FOLDER_TRASH_PREFIX "%ld.%lu.%ld",
		     root, (long)getpid(), ++counter, (long)time(NULL)) >=
	    (int)sizeof(trash)) {
		*error_r = "folder path too long";
		return -1;
	}
	if (rename(path, trash) < 0) {
		if (errno == ENOENT) {
			*error_r = "no such folder";
			return -1;
		}
		return folder_fail("rename", path, error_r);
	}
	if (fs_fsync_dir(root) < 0)
		return folder_fail("fsync", root, error_r);
	/* Children (".name.x") are directories of their own: untouched. */
	if (nftw(trash, rm_entry, 8, FTW_DEPTH | FTW_PHYS) < 0)
		return folder_fail("remove", trash, error_r);
	return 0;
}

/* The children of from: root entries ".from.*". */
static int list_children(const char *root, const char *from, char ***kids_r,
			 size_t *count_r, const char **error_r)
{
	char **all;
	size_t n, flen = strlen(from), count = 0;

	if (mailstore_folder_list(root, &all, &n, error_r) < 0)
		return -1;
	*kids_r = xcalloc(n + 1, sizeof(**kids_r));
	for (size_t i = 0; i < n; i++) {
		if (strncmp(all[i], from, flen) == 0 && all[i][flen] == '.')
			(*kids_r)[count++] = xstrdup(all[i]);
	}
	mailstore_folder_list_free(&all, n);
	*count_r = count;
	return 0;
}

/* path of the folder "to" + the part of "name" after "from". */
static int renamed_path(const char *root, const char *name, size_t flen,
			const char *to, char *out, size_t outsize,
			const char **error_r)
{
	char target[MAILSTORE_FOLDER_MAX + 2];

	if (snprintf(target, sizeof(target), "%s%s", to, name + flen) >=
	    (int)sizeof(target)) {
		*error_r = "folder name too long";
		return -1;
	}
	return mailstore_folder_path(root, target, out, outsize, error_r);
}

static int rename_check(const char *root, const char *from, const char *to,
			const char **error_r)
{
	char path[PATH_MAX];
	struct stat st;
	size_t flen = strlen(from);

	if (!mailstore_folder_name_valid(from) ||
	    !mailstore_folder_name_valid(to)) {
		*error_r = "invalid folder name";
		return -1;
	}
	if (strncmp(to, from, flen) == 0 && (to[flen] == '.' ||
					     to[flen] == '\0')) {
		*error_r = to[flen] == '\0' ? "exists" :
			"cannot move a folder below itself";
		return -1;
	}
	if (mailstore_folder_path(root, from, path, sizeof(path), error_r) < 0)
		return -1;
	if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
		*error_r = "no such folder";
		return -1;
	}
	if (mailstore_folder_path(root, to, path, sizeof(path), error_r) < 0)
		return -1;
	if (lstat(path, &st) == 0 || errno != ENOENT) {
		*error_r = "exists";
		return -1;
	}
	return 0;
}

/* The folder first, then each child; a crash in between leaves children
 * under the old name, still complete folders. */
int mailstore_folder_rename(const char *root, const char *from, const char *to,
			    const char **error_r)
{
	char src[PATH_MAX], dst[PATH_MAX];
	char **kids;
	size_t n, flen = strlen(from);
	struct stat st;
	int ret = 0;

	if (rename_check(root, from, to, error_r) < 0 ||
	    list_children(root, from, &kids, &n, error_r) < 0)
		return -1;
	for (size_t i = 0; i < n && ret == 0; i++) {
		ret = renamed_path(root, kids[i], flen, to, dst, sizeof(dst),
				   error_r);
		if (ret == 0 && (lstat(dst, &st) == 0 || errno != ENOENT)) {
			*error_r = "exists";
			ret = -1;
		}
	}
	for (size_t i = 0; i <= n && ret == 0; i++) {
		const char *name = i == 0 ? from : kids[i - 1];
		if (mailstore_folder_path(root, name, src, sizeof(src),
					  error_r) < 0 ||
		    renamed_path(root, name, flen, to, dst, sizeof(dst),
				 error_r) < 0)
			ret = -1;
		else if (rename(src, dst) < 0)
			ret = folder_fail("rename", src, error_r);
	}
	mailstore_folder_list_free(&kids, n);
	if (ret == 0 && fs_fsync_dir(root) < 0)
		ret = folder_fail("fsync", root, error_r);
	return ret;
}

/* The Maildir a folder belongs to: a Maildir++ folder (".Name" with a
 * maildirfolder file) is its parent's; anything else is its own. */
static char *folder_root(const char *path)
{
	char *marker = ms_path_join(path, FOLDER_MARKER);
	char *root = xstrdup(path);
	char *slash = strrchr(root, '/');
	struct stat st;

	if (slash != NULL && slash > root && slash[1] == '.' &&
	    stat(marker, &st) == 0)
		*slash = '\0';
	free(marker);
	return root;
}

/* The value surel-uidvalidity holds, or 0. */
static uint32_t uidvalidity_last(const char *file)
{
	char *data;
	size_t len;
	struct ms_stamp st;
	const char *error;
	uint64_t v = 0;

	if (ms_read_file(file, 64, &data, &len, &st, &error) <= 0)
		return 0;
	for (size_t i = 0; i < len && data[i] >= '0' && data[i] <= '9' &&
	     v <= UINT32_MAX; i++)
		v = v * 10 + (uint64_t)(data[i] - '0');
	free(data);
	return v <= UINT32_MAX ? (uint32_t)v : 0;
}

uint32_t ms_uidvalidity_new(const struct mailstore *box, uint32_t floor)
{
	char *root = folder_root(box->path);
	char *file = ms_path_join(root, MS_UIDVALIDITY_NAME);
	uint32_t now = (uint32_t)time(NULL);
	uint32_t v = floor > now ? floor : now;
	struct ms_lock lk = { .fd = -1 };
	const char *error;
	char buf[16];

	if (ms_lock_take(&lk, file, ms_file_mode(box), ms_lock_wait_ms(),
			 &error) > 0) {
		uint32_t last = uidvalidity_last(file);
		if (last >= v && last < UINT32_MAX)
			v = last + 1;
		int n = snprintf(buf, sizeof(buf), "%u\n", v);
		if (fs_write_all(lk.fd, buf, (size_t)n) < 0 ||
		    ms_lock_replace(&lk, file, &error) < 0)
			ms_lock_release(&lk);
	}
	free(file);
	free(root);
	return v == 0 ? 1 : v;
}
