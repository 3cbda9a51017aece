/* maps_hash: hash: and btree: tables in Berkeley DB files (FILE.db), read
 * by the daemons and written by surelmap. Keys and values are stored as
 * Postfix's postmap stores them on Linux (with their trailing NUL by
 * default), so either program can read the other's tables. A table is
 * always rewritten into FILE.db.tmp and renamed over FILE.db: readers never
 * need locks and see the old or the new table. */
#include "config.h"
#include <db.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "buf.h"
#include "fsutil.h"
#include "maps.h"
#include "maps_impl.h"
#include "mem.h"
#include "str.h"

/* Cache for building (Postfix's berkeley_db_create_buffer_size). */
#define MAPS_HASH_BUILD_CACHE (16 * 1024 * 1024)
/* The largest text source surelmap builds from. */
#define MAPS_HASH_SOURCE_MAX ((size_t)4 << 30)

/* What Berkeley DB said last: it reports details through a callback, and
 * would otherwise print them on stderr. */
static char maps_hash_dberr[256];

static void maps_hash_errcall(const DB_ENV *env, const char *prefix,
			      const char *msg)
{
	snprintf(maps_hash_dberr, sizeof(maps_hash_dberr), "%s", msg);
}

static const char *maps_hash_strerror(int ret)
{
	static char msg[512];

	if (maps_hash_dberr[0] != '\0')
		snprintf(msg, sizeof(msg), "%s (%s)", db_strerror(ret),
			 maps_hash_dberr);
	else
		snprintf(msg, sizeof(msg), "%s", db_strerror(ret));
	maps_hash_dberr[0] = '\0';
	return msg;
}

/* Opens path as type with flags; 0 or a Berkeley DB / errno code. */
static int maps_hash_db_open(const char *path, DBTYPE type, u_int32_t flags,
			     int mode, u_int32_t cache, DB **db_r)
{
	DB *db;
	int ret;

	maps_hash_dberr[0] = '\0';
	if ((ret = db_create(&db, NULL, 0)) != 0)
		return ret;
	db->set_errcall(db, maps_hash_errcall);
	if (cache > 0 && (ret = db->set_cachesize(db, 0, cache, 0)) != 0) {
		db->close(db, 0);
		return ret;
	}
	if ((ret = db->open(db, NULL, path, NULL, type, flags, mode)) != 0) {
		db->close(db, 0);
		return ret;
	}
	*db_r = db;
	return 0;
}

/* "hash:FILE" or "btree:FILE" -> its type and FILE. */
static int maps_hash_parse_spec(const char *spec, DBTYPE *type_r,
				const char **file_r, const char **error_r)
{
	if (strncmp(spec, "hash:", 5) == 0) {
		*type_r = DB_HASH;
		*file_r = spec + 5;
	} else if (strncmp(spec, "btree:", 6) == 0) {
		*type_r = DB_BTREE;
		*file_r = spec + 6;
	} else {
		*error_r = maps_error("%.100s: not a hash: or btree: table",
				      spec);
		return -1;
	}
	if (**file_r == '\0') {
		*error_r = maps_error("%s: missing file name", spec);
		return -1;
	}
	return 0;
}

static char *maps_hash_path(const char *file, const char *suffix)
{
	size_t flen = strlen(file), slen = strlen(suffix);
	char *path = xmalloc(flen + slen + 1);

	memcpy(path, file, flen);
	memcpy(path + flen, suffix, slen + 1);
	return path;
}

/* ---- reading: the hash: and btree: types ---- */

struct maps_hash {
	DB *db;
	/* Which key form the table uses: both until one matched. */
	bool try_nul, try_plain;
	struct buf value;
};

static int maps_hash_open_type(struct maps_table *t, DBTYPE type,
			       const char **error_r)
{
	struct maps_hash *h;
	DB *db;
	int ret;

	if ((ret = maps_hash_db_open(t->watch_path, type, DB_RDONLY, 0, 0,
				     &db)) != 0) {
		*error_r = maps_error("open %s: %s", t->watch_path,
				      maps_hash_strerror(ret));
		return -1;
	}
	h = xcalloc(1, sizeof(*h));
	h->db = db;
	h->try_nul = h->try_plain = true;
	buf_init(&h->value, MAPS_VALUE_MAX);
	t->impl = h;
	return 0;
}

static int maps_hash_open(struct maps_table *t, const char **error_r)
{
	return maps_hash_open_type(t, DB_HASH, error_r);
}

static int maps_btree_open(struct maps_table *t, const char **error_r)
{
	return maps_hash_open_type(t, DB_BTREE, error_r);
}

/* Copies a stored value without its trailing NUL (and anything after an
 * inner NUL, which no builder writes). */
static int maps_hash_take(struct maps_table *t, struct maps_hash *h,
			  const DBT *val, const char **value_r,
			  const char **error_r)
{
	size_t len = strnlen(val->data, val->size);

	buf_reset(&h->value);
	if (buf_append(&h->value, val->data, len) < 0) {
		*error_r = maps_error("%s: value longer than %d bytes",
				      t->watch_path, MAPS_VALUE_MAX);
		return -1;
	}
	*value_r = buf_cstr(&h->value);
	return 1;
}

static int maps_hash_lookup(struct maps_table *t, const char *key,
			    const char **value_r, const char **error_r)
{
	struct maps_hash *h = t->impl;
	size_t len = strlen(key);

	for (int nul = 1; nul >= 0; nul--) {
		if (!(nul ? h->try_nul : h->try_plain))
			continue;
		DBT k = { .data = (void *)key, .size = (u_int32_t)(len + nul) };
		DBT v = { 0 };
		int ret = h->db->get(h->db, NULL, &k, &v, 0);
		if (ret == DB_NOTFOUND)
			continue;
		if (ret != 0) {
			*error_r = maps_error("%s: lookup: %s", t->watch_path,
					      maps_hash_strerror(ret));
			return -1;
		}
		/* Postfix's rule: the first match decides the table's form. */
		h->try_nul = nul == 1;
		h->try_plain = nul == 0;
		return maps_hash_take(t, h, &v, value_r, error_r);
	}
	return 0;
}

static void maps_hash_close(struct maps_table *t)
{
	struct maps_hash *h = t->impl;

	h->db->close(h->db, 0);
	buf_deinit(&h->value);
	free(h);
	t->impl = NULL;
}

const struct maps_type maps_type_hash = {
	.name = "hash",
	.watch_suffix = ".db",
	.open = maps_hash_open,
	.lookup = maps_hash_lookup,
	.close = maps_hash_close,
};

const struct maps_type maps_type_btree = {
	.name = "btree",
	.watch_suffix = ".db",
	.open = maps_btree_open,
	.lookup = maps_hash_lookup,
	.close = maps_hash_close,
};

/* ---- writing ---- */

struct maps_hash_writer {
	DB *db;
	DBTYPE type;
	unsigned flags;
	char *db_path, *tmp_path;
	int lock_fd;	/* FILE.db.tmp, flock()ed while we write it */
	char key[MAPS_KEY_MAX + 1];
};

/* Creates and locks FILE.db.tmp. The inode check guards against locking
 * a file that a finishing builder has just renamed to FILE.db. */
static int maps_hash_lock_tmp(struct maps_hash_writer *w, mode_t mode,
			      const char **error_r)
{
	for (int tries = 0; tries < 3; tries++) {
		struct stat fst, st;
		int fd = open(w->tmp_path, O_RDWR | O_CREAT | O_CLOEXEC |
				O_NOFOLLOW, mode);
		if (fd < 0)
			break;
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			int saved = errno;
			close(fd);
			if (saved == EWOULDBLOCK) {
				*error_r = maps_error("%s: another surelmap "
						      "is writing this table",
						      w->tmp_path);
				return -1;
			}
			errno = saved;
			break;
		}
		if (fstat(fd, &fst) == 0 && stat(w->tmp_path, &st) == 0 &&
		    fst.st_dev == st.st_dev && fst.st_ino == st.st_ino) {
			if (ftruncate(fd, 0) < 0 || fchmod(fd, mode) < 0) {
				int saved = errno;
				close(fd);
				errno = saved;
				break;
			}
			w->lock_fd = fd;
			return 0;
		}
		close(fd);
	}
	*error_r = maps_error("create %s: %s", w->tmp_path, strerror(errno));
	return -1;
}

/* Copies every entry of the current FILE.db (if any) as stored. */
static int maps_hash_copy_old(struct maps_hash_writer *w, const char **error_r)
{
	DB *old;
	DBC *cur;
	DBT k = { 0 }, v = { 0 };
	int ret = maps_hash_db_open(w->db_path, w->type, DB_RDONLY, 0, 0, &old);

	if (ret == ENOENT)
		return 0;
	if (ret != 0) {
		*error_r = maps_error("open %s: %s", w->db_path,
				      maps_hash_strerror(ret));
		return -1;
	}
	if ((ret = old->cursor(old, NULL, &cur, 0)) == 0) {
		while ((ret = cur->get(cur, &k, &v, DB_NEXT)) == 0) {
			if ((ret = w->db->put(w->db, NULL, &k, &v, 0)) != 0)
				break;
		}
		cur->close(cur);
	}
	old->close(old, 0);
	if (ret != 0 && ret != DB_NOTFOUND) {
		*error_r = maps_error("copy %s: %s", w->db_path,
				      maps_hash_strerror(ret));
		return -1;
	}
	return 0;
}

int maps_hash_writer_open(const char *spec, unsigned flags,
			  struct maps_hash_writer **w_r, const char **error_r)
{
	struct maps_hash_writer *w;
	const char *file;
	DBTYPE type;
	struct stat st;
	mode_t mode = 0644;
	int ret;

	if (maps_hash_parse_spec(spec, &type, &file, error_r) < 0)
		return -1;
	w = xcalloc(1, sizeof(*w));
	w->type = type;
	w->flags = flags;
	w->lock_fd = -1;
	w->db_path = maps_hash_path(file, ".db");
	w->tmp_path = maps_hash_path(file, ".db.tmp");
	/* A rebuilt table keeps the permissions it had. */
	if (stat(w->db_path, &st) == 0)
		mode = st.st_mode & 0666;
	if (maps_hash_lock_tmp(w, mode, error_r) < 0)
		goto fail;
	/* The file is empty: Berkeley DB initialises it as a new table. */
	ret = maps_hash_db_open(w->tmp_path, type, DB_CREATE, (int)mode,
				MAPS_HASH_BUILD_CACHE, &w->db);
	if (ret != 0) {
		*error_r = maps_error("create %s: %s", w->tmp_path,
				      maps_hash_strerror(ret));
		goto fail;
	}
	if ((flags & MAPS_BUILD_INCREMENTAL) != 0 &&
	    maps_hash_copy_old(w, error_r) < 0)
		goto fail;
	*w_r = w;
	return 0;
fail:
	maps_hash_writer_abort(&w);
	return -1;
}

/* Checks and folds a key into w->key. */
static int maps_hash_key(struct maps_hash_writer *w, const char *key,
			 const char **error_r)
{
	if (*key == '\0' || str_copy(w->key, sizeof(w->key), key) < 0) {
		*error_r = maps_error("bad key (empty or longer than %d bytes)",
				      MAPS_KEY_MAX);
		return -1;
	}
	maps_fold(w->key, w->flags);
	return 0;
}

int maps_hash_writer_put(struct maps_hash_writer *w, const char *key,
			 const char *value, const char **error_r)
{
	u_int32_t nul = (w->flags & MAPS_BUILD_NO_NUL) != 0 ? 0 : 1;
	size_t vlen = strlen(value);
	int ret;

	if (maps_hash_key(w, key, error_r) < 0)
		return -1;
	if (vlen > MAPS_VALUE_MAX) {
		*error_r = maps_error("value longer than %d bytes",
				      MAPS_VALUE_MAX);
		return -1;
	}
	DBT k = { .data = w->key, .size = (u_int32_t)strlen(w->key) + nul };
	DBT v = { .data = (void *)value, .size = (u_int32_t)vlen + nul };
	DBT old = { 0 };
	bool existed = false;
	if ((w->flags & MAPS_BUILD_REPLACE) != 0) {
		ret = w->db->get(w->db, NULL, &k, &old, 0);
		if (ret != 0 && ret != DB_NOTFOUND)
			goto fail;
		existed = ret == 0;
		ret = w->db->put(w->db, NULL, &k, &v, 0);
	} else {
		ret = w->db->put(w->db, NULL, &k, &v, DB_NOOVERWRITE);
		if (ret == DB_KEYEXIST)
			return 0;
	}
	if (ret == 0)
		return existed ? 0 : 1;
fail:
	*error_r = maps_error("write %s: %s", w->tmp_path,
			      maps_hash_strerror(ret));
	return -1;
}

int maps_hash_writer_delete(struct maps_hash_writer *w, const char *key,
			    const char **error_r)
{
	int found = 0;

	if (maps_hash_key(w, key, error_r) < 0)
		return -1;
	/* Either form may be stored (a table from postmap -n, say). */
	for (u_int32_t nul = 0; nul <= 1; nul++) {
		DBT k = { .data = w->key,
			  .size = (u_int32_t)strlen(w->key) + nul };
		int ret = w->db->del(w->db, NULL, &k, 0);
		if (ret == 0) {
			found = 1;
		} else if (ret != DB_NOTFOUND) {
			*error_r = maps_error("write %s: %s", w->tmp_path,
					      maps_hash_strerror(ret));
			return -1;
		}
	}
	return found;
}

int maps_hash_writer_commit(struct maps_hash_writer **wp, const char **error_r)
{
	struct maps_hash_writer *w = *wp;
	int ret = w->db->close(w->db, 0);

	w->db = NULL;
	if (ret != 0) {
		*error_r = maps_error("write %s: %s", w->tmp_path,
				      maps_hash_strerror(ret));
		maps_hash_writer_abort(wp);
		return -1;
	}
	/* Berkeley DB wrote through its own descriptor; fsync() flushes the
	 * inode whichever descriptor wrote it. */
	if (fsync(w->lock_fd) < 0 || rename(w->tmp_path, w->db_path) < 0) {
		*error_r = maps_error("write %s: %s", w->db_path,
				      strerror(errno));
		maps_hash_writer_abort(wp);
		return -1;
	}
	if (fs_fsync_parent(w->db_path) < 0) {
		/* The new table is in place, maybe not yet durable. */
		*error_r = maps_error("fsync directory of %s: %s", w->db_path,
				      strerror(errno));
		ret = -1;
	}
	close(w->lock_fd);
	free(w->db_path);
	free(w->tmp_path);
	xfree(wp);
	return ret;
}

void maps_hash_writer_abort(struct maps_hash_writer **wp)
{
	struct maps_hash_writer *w = *wp;

	if (w == NULL)
		return;
	if (w->db != NULL)
		w->db->close(w->db, 0);
	if (w->lock_fd >= 0) {
		/* Still locked by us: the file is ours to remove. */
		(void)unlink(w->tmp_path);
		close(w->lock_fd);
	}
	free(w->db_path);
	free(w->tmp_path);
	xfree(wp);
}

/* ---- building from text, dumping ---- */

struct maps_hash_build_ctx {
	struct maps_hash_writer *w;
	const char *file;
	maps_warn_fn *warn;
	void *warn_ctx;
};

static int maps_hash_build_entry(void *ctx, char *key, char *value,
				 unsigned line, const char **error_r)
{
	struct maps_hash_build_ctx *c = ctx;
	int ret = maps_hash_writer_put(c->w, key, value, error_r);

	if (ret == 0 && c->warn != NULL) {
		char msg[MAPS_KEY_MAX + 256];

		snprintf(msg, sizeof(msg), "%s, line %u: duplicate entry: "
			 "\"%s\"", c->file, line, key);
		c->warn(c->warn_ctx, msg);
	}
	return ret < 0 ? -1 : 0;
}

/* Maps the source read-only: the parser works on it in place. */
static int maps_hash_map_source(const char *file, const char **data_r,
				size_t *len_r, const char **error_r)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0) {
		*error_r = maps_error("open %s: %s", file, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > MAPS_HASH_SOURCE_MAX) {
		*error_r = maps_error("%s: not a regular file of at most "
				      "%zu bytes", file, MAPS_HASH_SOURCE_MAX);
		goto fail;
	}
	*len_r = (size_t)st.st_size;
	*data_r = "";
	if (*len_r > 0) {
		void *p = mmap(NULL, *len_r, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p == MAP_FAILED) {
			*error_r = maps_error("read %s: %s", file,
					      strerror(errno));
			goto fail;
		}
		*data_r = p;
	}
	close(fd);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	return -1;
}

int maps_hash_build(const char *spec, unsigned flags, maps_warn_fn *warn,
		    void *ctx, const char **error_r)
{
	struct maps_hash_build_ctx c = { NULL, NULL, warn, ctx };
	const char *data, *err;
	DBTYPE type;
	size_t len;

	if (maps_hash_parse_spec(spec, &type, &c.file, error_r) < 0 ||
	    maps_hash_map_source(c.file, &data, &len, error_r) < 0)
		return -1;
	int ret = maps_hash_writer_open(spec, flags, &c.w, error_r);
	if (ret == 0) {
		ret = maps_texthash_parse(data, len, maps_hash_build_entry, &c,
					  &err);
		if (ret < 0) {
			char msg[512];	/* err may be maps_error's buffer */

			snprintf(msg, sizeof(msg), "%s", err);
			*error_r = maps_error("%s, %s", c.file, msg);
			maps_hash_writer_abort(&c.w);
		} else {
			ret = maps_hash_writer_commit(&c.w, error_r);
		}
	}
	if (len > 0)
		munmap((void *)data, len);
	return ret;
}

/* Copies a stored key or value without its trailing NUL. */
static int maps_hash_unstore(struct buf *b, const DBT *d)
{
	buf_reset(b);
	return buf_append(b, d->data, strnlen(d->data, d->size));
}

int maps_hash_dump(const char *spec, maps_dump_fn *fn, void *ctx,
		   const char **error_r)
{
	struct buf key, value;
	const char *file;
	DBTYPE type;
	DB *db;
	DBC *cur;
	DBT k = { 0 }, v = { 0 };
	int ret, cb = 0;

	if (maps_hash_parse_spec(spec, &type, &file, error_r) < 0)
		return -1;
	char *path = maps_hash_path(file, ".db");
	if ((ret = maps_hash_db_open(path, type, DB_RDONLY, 0, 0, &db)) != 0) {
		*error_r = maps_error("open %s: %s", path,
				      maps_hash_strerror(ret));
		free(path);
		return -1;
	}
	buf_init(&key, MAPS_KEY_MAX);
	buf_init(&value, MAPS_VALUE_MAX);
	if ((ret = db->cursor(db, NULL, &cur, 0)) == 0) {
		while (cb == 0 && (ret = cur->get(cur, &k, &v, DB_NEXT)) == 0) {
			if (maps_hash_unstore(&key, &k) < 0 ||
			    maps_hash_unstore(&value, &v) < 0) {
				ret = EOVERFLOW;
				break;
			}
			cb = fn(ctx, buf_cstr(&key), buf_cstr(&value));
		}
		cur->close(cur);
	}
	db->close(db, 0);
	buf_deinit(&key);
	buf_deinit(&value);
	if (ret != 0 && ret != DB_NOTFOUND) {
		*error_r = maps_error("read %s: %s", path,
				      maps_hash_strerror(ret));
		cb = -1;
	} else if (cb < 0) {
		*error_r = maps_error("dump of %s stopped", path);
	}
	free(path);
	return cb < 0 ? -1 : 0;
}
