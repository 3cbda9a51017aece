/* mailstore_msg: message files. Names are "<base>[:<info>]" where the
 * base (with Maildir++ ",S=<size>,W=<vsize>") is the message's identity
 * and an info ":2,<letters>" carries the flags, in ASCII order: system
 * flags DFPRST, then keyword letters a..z (dovecot-keywords). Other
 * people rename files behind our back (mutt, Dovecot), so every access
 * by name (open, flags, expunge) is ready to look for the base again. */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "mailstore_impl.h"
#include "mem.h"

#define MEASURE_BLOCK (64 * 1024)

static const struct {
	char letter;
	unsigned flag;
} flag_letters[] = {
	{ 'D', MAILSTORE_FLAG_DRAFT },    { 'F', MAILSTORE_FLAG_FLAGGED },
	{ 'P', MAILSTORE_FLAG_PASSED },   { 'R', MAILSTORE_FLAG_ANSWERED },
	{ 'S', MAILSTORE_FLAG_SEEN },     { 'T', MAILSTORE_FLAG_DELETED },
};
#define FLAG_LETTERS (sizeof(flag_letters) / sizeof(flag_letters[0]))

size_t ms_name_base_len(const char *name)
{
	const char *colon = strchr(name, ':');

	return colon != NULL ? (size_t)(colon - name) : strlen(name);
}

bool ms_name_valid(const char *name)
{
	size_t len = strlen(name);

	/* Dot files are not mail; Dovecot ignores CR and LF in names. */
	if (len == 0 || len > MS_BASE_MAX || name[0] == '.' || name[0] == ':')
		return false;
	return strpbrk(name, "\r\n/") == NULL;
}

static unsigned letter_flag(char c)
{
	for (size_t i = 0; i < FLAG_LETTERS; i++)
		if (flag_letters[i].letter == c)
			return flag_letters[i].flag;
	return 0;
}

/* The flag letters of name, or NULL when its info is not ":2,". */
static const char *name_flags(const char *name)
{
	const char *info = strrchr(name, ':');

	return info != NULL && info[1] == '2' && info[2] == ',' ? info + 3 :
		NULL;
}

void ms_name_flags(const char *name, unsigned *flags_r, uint32_t *kw_r)
{
	const char *p = name_flags(name);

	*flags_r = 0;
	*kw_r = 0;
	for (; p != NULL && *p != '\0' && *p != ','; p++) {
		if (*p >= 'a' && *p <= 'z')
			*kw_r |= 1u << (*p - 'a');
		else
			*flags_r |= letter_flag(*p);
	}
}

static bool known_letter(char c)
{
	return (c >= 'a' && c <= 'z') || letter_flag(c) != 0;
}

/* Our letters (sorted) merged with the unknown ones kept from old, as
 * Dovecot does; a second flag set after ',' is kept as it is. */
static int put_letters(struct buf *out, const char *old, unsigned flags,
		       uint32_t keywords)
{
	char ours[FLAG_LETTERS + MAILSTORE_KEYWORDS_MAX];
	size_t n = 0, next = 0;

	for (size_t i = 0; i < FLAG_LETTERS; i++)
		if (flags & flag_letters[i].flag)
			ours[n++] = flag_letters[i].letter;
	for (unsigned i = 0; i < MAILSTORE_KEYWORDS_MAX; i++)
		if (keywords & (1u << i))
			ours[n++] = (char)('a' + i);
	for (; old != NULL && *old != '\0' && *old != ','; old++) {
		if (known_letter(*old))
			continue;
		while (next < n && (unsigned char)ours[next] <
		       (unsigned char)*old)
			if (buf_append_char(out, ours[next++]) < 0)
				return -1;
		if (buf_append_char(out, *old) < 0)
			return -1;
	}
	if (buf_append(out, ours + next, n - next) < 0)
		return -1;
	return old != NULL && *old == ',' ? buf_append_str(out, old) : 0;
}

uint8_t ms_name_where(const char *name, size_t base_len, bool in_new)
{
	uint8_t where = in_new ? MS_WHERE_NEW : 0;
	const unsigned char *p = (const unsigned char *)name + base_len;
	unsigned prev = 0;

	if (*p == '\0')
		return where | MS_WHERE_BARE;
	if (strncmp((const char *)p, ":2,", 3) != 0)
		return where | MS_WHERE_ODD;
	/* Known letters in strictly ascending order: what ms_name_set_flags
	 * makes of the flags they stand for. */
	for (p += 3; *p != '\0'; prev = *p++)
		if (!known_letter((char)*p) || *p <= prev)
			return where | MS_WHERE_ODD;
	return where;
}

int ms_rec_name(const struct ms_rec *r, char *out, size_t outsize)
{
	size_t n = strlen(r->base);

	if ((r->where & MS_WHERE_ODD) != 0 || n + 4 + FLAG_LETTERS +
	    MAILSTORE_KEYWORDS_MAX > outsize)
		return -1;
	memcpy(out, r->base, n);
	if ((r->where & MS_WHERE_BARE) == 0) {
		memcpy(out + n, ":2,", 3);
		n += 3;
		for (size_t i = 0; i < FLAG_LETTERS; i++)
			if (r->flags & flag_letters[i].flag)
				out[n++] = flag_letters[i].letter;
		for (unsigned i = 0; i < MAILSTORE_KEYWORDS_MAX; i++)
			if (r->keywords & (1u << i))
				out[n++] = (char)('a' + i);
	}
	out[n] = '\0';
	return 0;
}

int ms_name_set_flags(const char *name, unsigned flags, uint32_t keywords,
		      char *out, size_t outsize)
{
	const char *info = strrchr(name, ':');
	size_t prefix = info != NULL ? (size_t)(info - name) : strlen(name);
	struct buf b;
	int ret;

	buf_init(&b, outsize > 0 ? outsize - 1 : 0);
	ret = buf_append(&b, name, prefix) < 0 ||
		buf_append_str(&b, ":2,") < 0 ||
		put_letters(&b, name_flags(name), flags, keywords) < 0 ? -1 : 0;
	if (ret == 0)
		memcpy(out, b.data, b.len + 1);
	else if (outsize > 0)
		out[0] = '\0';
	buf_deinit(&b);
	return ret;
}

int ms_name_size(const char *name, size_t base_len, char key,
		 uint64_t *value_r)
{
	for (size_t i = 0; i + 3 <= base_len; i++) {
		if (name[i] != ',' || name[i + 1] != key || name[i + 2] != '=')
			continue;
		uint64_t v = 0;
		size_t j = i + 3;
		for (; j < base_len && name[j] >= '0' && name[j] <= '9'; j++)
			if (__builtin_mul_overflow(v, 10, &v) ||
			    __builtin_add_overflow(v, (uint64_t)(name[j] - '0'),
						   &v))
				return 0;
		/* Like Dovecot: the first one counts, valid or not. */
		if (j == i + 3 || (j < base_len && name[j] != ','))
			return 0;
		*value_r = v;
		return 1;
	}
	return 0;
}

/* The leading seconds of a name, and where they end. */
static uint64_t name_secs(const char *s, size_t len, size_t *end_r)
{
	uint64_t v = 0;
	size_t i = 0;

	for (; i < len && s[i] >= '0' && s[i] <= '9' && i < 19; i++)
		v = v * 10 + (uint64_t)(s[i] - '0');
	*end_r = i;
	return v;
}

/* The microseconds of ".M<usec>" in the part after the seconds. */
static bool name_usecs(const char *s, size_t len, uint64_t *usecs_r)
{
	size_t i = 0;

	if (len == 0 || s[0] != '.')
		return false;
	for (i = 1; i < len && s[i] != '.' && s[i] != ':'; i++) {
		if (s[i] != 'M')
			continue;
		uint64_t v = 0;
		for (i++; i < len && s[i] >= '0' && s[i] <= '9' && v < 1000000000000ULL;
		     i++)
			v = v * 10 + (uint64_t)(s[i] - '0');
		*usecs_r = v;
		return true;
	}
	return false;
}

int ms_name_sort_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t ae, be;
	uint64_t as = name_secs(a, alen, &ae), bs = name_secs(b, blen, &be);
	uint64_t au, bu;

	if (as != bs)
		return as < bs ? -1 : 1;
	if (name_usecs(a + ae, alen - ae, &au) &&
	    name_usecs(b + be, blen - be, &bu) && au != bu)
		return au < bu ? -1 : 1;
	int c = memcmp(a, b, alen < blen ? alen : blen);
	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/* Counts the LFs not preceded by a CR: each becomes CRLF in vsize. */
static int measure_vsize(int fd, uint64_t *vsize_r)
{
	char *block = xmalloc(MEASURE_BLOCK);
	uint64_t total = 0, bare = 0;
	bool cr = false;
	ssize_t n;

	while ((n = read(fd, block, MEASURE_BLOCK)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			free(block);
			return -1;
		}
		for (ssize_t i = 0; i < n; i++) {
			if (block[i] == '\n' && !cr)
				bare++;
			cr = block[i] == '\r';
		}
		total += (uint64_t)n;
	}
	free(block);
	*vsize_r = total + bare;
	return 0;
}

int ms_file_measure(int dirfd, const char *name, bool need_vsize,
		    uint64_t *size_r, uint64_t *vsize_r, int64_t *mtime_r)
{
	struct stat st;

	if (!need_vsize) {
		if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return -1;
		*size_r = (uint64_t)st.st_size;
		*mtime_r = st.st_mtime;
		return 0;
	}
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int ret = fstat(fd, &st) < 0 || measure_vsize(fd, vsize_r) < 0 ? -1 :
		0;
	int saved = errno;
	close(fd);
	errno = saved;
	if (ret == 0) {
		*size_r = (uint64_t)st.st_size;
		*mtime_r = st.st_mtime;
	}
	return ret;
}

/* Looks for base in one directory: 1 found, 0 not, -1 error. */
static int find_in(const char *dir, const char *base, char **name_r)
{
	size_t blen = strlen(base);
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, base, blen) == 0 &&
		    (e->d_name[blen] == '\0' || e->d_name[blen] == ':') &&
		    ms_name_valid(e->d_name)) {
			*name_r = xstrdup(e->d_name);
			closedir(d);
			return 1;
		}
	}
	closedir(d);
	return 0;
}

int ms_find_base(struct mailstore *box, const char *base, char **name_r,
		 bool *in_new_r, const char **error_r)
{
	/* Twice: a file moving from new/ to cur/ between the two reads. */
	for (int i = 0; i < 2; i++) {
		int ret = find_in(box->cur_path, base, name_r);
		*in_new_r = false;
		if (ret == 0) {
			ret = find_in(box->new_path, base, name_r);
			*in_new_r = true;
		}
		if (ret != 0) {
			if (ret < 0)
				*error_r = ms_error("readdir %s: %s", box->path,
						    strerror(errno));
			return ret;
		}
	}
	return 0;
}

char *ms_msg_path(const struct mailstore *box, const struct mailstore_msg *m,
		  const char *name)
{
	return ms_path_join(m->in_new ? box->new_path : box->cur_path, name);
}

/* The message's file was not where we thought: look for its base again.
 * The old name stays valid (graveyard) until the next change. */
int ms_msg_follow(struct mailstore *box, struct mailstore_msg *m,
		  const char **error_r)
{
	char *name;
	bool in_new;
	int ret = ms_find_base(box, m->base, &name, &in_new, error_r);

	if (ret <= 0)
		return ret;
	box->graveyard = xreallocarray(box->graveyard,
				       box->graveyard_count + 1,
				       sizeof(*box->graveyard));
	box->graveyard[box->graveyard_count++] = (char *)m->name;
	m->name = name;
	m->in_new = in_new;
	ms_name_flags(name, &m->flags, &m->keywords);
	return 1;
}

int mailstore_msg_open(struct mailstore *box, size_t i, int *fd_r,
		       const char **error_r)
{
	ms_flags_settle(box);
	if (i >= box->count) {
		*error_r = ms_error("no message %zu", i);
		return -1;
	}
	struct mailstore_msg *m = &box->msgs[i];
	for (int tries = 0;; tries++) {
		char *path = ms_msg_path(box, m, m->name);
		int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		int saved = errno;
		free(path);
		if (fd >= 0) {
			*fd_r = fd;
			return 1;
		}
		if (saved != ENOENT) {
			*error_r = ms_error("open %s: %s", m->name,
					    strerror(saved));
			return -1;
		}
		if (tries >= 2)
			return 0;
		int ret = ms_msg_follow(box, m, error_r);
		if (ret <= 0)
			return ret;
	}
}
