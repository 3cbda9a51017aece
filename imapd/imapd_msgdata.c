/* imapd_msgdata: a message's contents for FETCH, SEARCH and SORT, and the
 * selected mailbox's cache (lib/mailstore_cache) in front of them.
 *
 * One message is loaded at a time (the last one asked for, kept until a
 * call for another message or the end of the command): its header block,
 * its whole octets (read into a reused buffer up to 16 MiB, mapped
 * beyond) and its MIME tree, each made when first needed.
 *
 * The cache is opened on first use, not at SELECT (SELECT must not read
 * anything per message), checked for other processes' additions once per
 * command, and written once per command (values are batched in memory:
 * one write() for a whole FETCH 1:*). When the mailbox is closed the
 * cache is kept, written out, for the next session this process serves
 * (master reuses imapd processes): opening the same folder again then
 * costs a stat instead of reading the whole file into fresh memory,
 * which made a session's first FETCH 1:* two to five times slower than
 * its later ones. One is kept, never handed out for another folder. A header miss reads only the start
 * of the file, up to the empty line (keeping it open for a full load
 * that may follow); a structure miss parses the whole message once and
 * caches BODYSTRUCTURE and the header together. BODY is derived from
 * the BODYSTRUCTURE text (lib/imap_bodystrip) rather than written from
 * the message a second time: the writer's cost is in counting the body's
 * line ends, which the derivation does not repeat. BODYSTRUCTURE, BODY
 * and ENVELOPE are cached in their plain form (8-bit strings as
 * literals), valid for every client whatever it enabled. */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "imap_bodystructure.h"
#include "imap_bodystrip.h"
#include "imap_envelope.h"
#include "mime_body.h"
#include "imapd.h"
#include "log.h"
#include "mailstore_cache.h"
#include "mem.h"
#include "mime_preview.h"

/* Files up to this size are read whole into a reused buffer: copying
 * from the page cache costs less than mapping, faulting the pages in and
 * unmapping (a cold FETCH of structures reads every message). Larger ones
 * are mapped. */
#define MSG_READ_MAX (16 * 1024 * 1024)
/* A header miss reads the whole file when it is this small (a structure
 * is usually asked next), else the start in growing chunks. */
#define HEADER_WHOLE_MAX (64 * 1024)
/* What a big fbuf is allocated in: a huge page. */
#define HUGE_UNIT ((size_t)2 << 20)
#define HEADER_CHUNK (16 * 1024)
#define HEADER_CHUNK_MIN 4096
/* Past this, a header is taken from the whole message (mapped). */
#define HEADER_READ_MAX (256 * 1024)
/* A BODYSTRUCTURE computed for BODY: beyond this, BODY is an error. */
#define STRUCT_SCRATCH_MAX (8 * MS_CACHE_VALUE_MAX)

const struct mime_limits imapd_mime_limits = {
	.header_size_max = HEADER_READ_MAX,
	.fields_max = 5000,
	.depth_max = 50,
	.parts_max = 10000,
	.params_max = 100,
	.param_len_max = 8192,
};

/* The cache of the mailbox closed last (see above), or NULL. */
static struct ms_cache *kept_cache;

void imapd_msg_kept_cache_for(const char *maildir)
{
	if (kept_cache != NULL && !ms_cache_below(kept_cache, maildir))
		ms_cache_close(&kept_cache);
}

struct msgdata {
	struct ms_cache *cache;	/* NULL until first used */
	bool cache_fresh;	/* refreshed in this command */
	/* The loaded message. */
	uint32_t uid;		/* 0: none */
	const char *hdr;	/* NULL until known */
	size_t hdr_len;
	const char *full;	/* NULL until loaded */
	size_t full_len;
	void *map;		/* full's mapping, or NULL */
	int fd;			/* the file, while open; or -1 */
	struct mime_message *mime;
	unsigned have;		/* bit 1 << field: in the cache or put */
	/* Reused buffers: one for a header read (and a small file read
	 * whole by it), one for a small file read by a full load; two, so
	 * that a full load does not move a header already handed out. */
	char *hbuf, *fbuf;
	size_t hbuf_cap, fbuf_cap;
	bool fbuf_mapped;	/* fbuf is a mapping of its own (fbuf_grow) */
};

static struct msgdata *md_of(struct imapd_session *s)
{
	if (s->sel->msgcache == NULL) {
		struct msgdata *md = xcalloc(1, sizeof(*md));
		md->fd = -1;
		s->sel->msgcache = md;
	}
	return s->sel->msgcache;
}

static void md_drop(struct msgdata *md)
{
	mime_message_free(&md->mime);
	if (md->map != NULL)
		munmap(md->map, md->full_len);
	if (md->fd >= 0)
		close(md->fd);
	md->fd = -1;
	md->map = NULL;
	md->full = md->hdr = NULL;
	md->full_len = md->hdr_len = 0;
	md->uid = 0;
	md->have = 0;
}

/* The folder's cache, up to date for this command. */
static struct ms_cache *md_cache(struct imapd_session *s, struct msgdata *md)
{
	struct mailstore *box = s->sel->box;

	if (md->cache == NULL) {
		uint32_t uidvalidity = mailstore_uidvalidity(box);
		if (kept_cache != NULL &&
		    ms_cache_matches(kept_cache, s->sel->path, uidvalidity)) {
			md->cache = kept_cache;
			kept_cache = NULL;
			ms_cache_refresh(md->cache);
		} else {
			ms_cache_close(&kept_cache);
			md->cache = ms_cache_open(s->sel->path, uidvalidity);
		}
		/* What was expunged since it was written is forgotten (and
		 * a mostly dead file rewritten). */
		size_t n = mailstore_count(box);
		uint32_t *uids = xreallocarray(NULL, n + 1, sizeof(*uids));
		for (size_t i = 0; i < n; i++)
			uids[i] = mailstore_msg(box, i)->uid;
		ms_cache_retain(md->cache, uids, n);
		free(uids);
		md->cache_fresh = true;
	} else if (!md->cache_fresh) {
		ms_cache_refresh(md->cache);
		md->cache_fresh = true;
	}
	return md->cache;
}

/* Makes message msn the loaded one: 1 with its store index and record,
 * or 0 when it is gone. */
static int md_select(struct imapd_session *s, uint32_t msn,
		     struct msgdata **md_r, size_t *idx_r,
		     const struct mailstore_msg **m_r)
{
	long idx = imapd_view_index(s, msn);

	if (idx < 0)
		return 0;
	struct msgdata *md = md_of(s);
	const struct mailstore_msg *m = mailstore_msg(s->sel->box,
						      (size_t)idx);
	if (md->uid != m->uid) {
		md_drop(md);
		md->uid = m->uid;
	}
	*md_r = md;
	*idx_r = (size_t)idx;
	*m_r = m;
	return 1;
}

static int md_cache_get(struct imapd_session *s, struct msgdata *md,
			const struct mailstore_msg *m,
			enum ms_cache_field field, const char **data_r,
			size_t *len_r)
{
	if (ms_cache_get(md_cache(s, md), m->uid, m->base, field, data_r,
			 len_r) != 1)
		return 0;
	md->have |= 1u << field;
	return 1;
}

/* Adds a value unless the cache has it (known, or looked up). */
static void md_cache_put(struct imapd_session *s, struct msgdata *md,
			 const struct mailstore_msg *m,
			 enum ms_cache_field field, const char *data,
			 size_t len)
{
	const char *old;
	size_t old_len;

	if ((md->have & (1u << field)) != 0 ||
	    md_cache_get(s, md, m, field, &old, &old_len) == 1)
		return;
	ms_cache_put(md_cache(s, md), m->uid, m->base, field, data, len);
	md->have |= 1u << field;
}

static void md_log(struct imapd_session *s, const struct mailstore_msg *m,
		   const char *what, const char *error)
{
	log_error("user=<%s>: %s: UID %u: %s: %s", s->user, s->sel->path,
		  m->uid, what, error);
}

static void grow(char **buf, size_t *cap, size_t need)
{
	if (*cap < need) {
		free(*buf);
		*buf = xmalloc(need);
		*cap = need;
	}
}

static void fbuf_free(struct msgdata *md)
{
	if (md->fbuf_mapped)
		munmap(md->fbuf, md->fbuf_cap);
	else
		free(md->fbuf);
	md->fbuf = NULL;
	md->fbuf_cap = 0;
	md->fbuf_mapped = false;
}

/* Makes fbuf hold need octets, its first keep kept. Past
 * HEADER_WHOLE_MAX it is memory of its own, in huge pages (2 MiB at a
 * time): a big message is read into it and then walked two or three
 * times (boundaries, line ends, the CRLF conversion), and in a virtual
 * machine the TLB misses of walking 4 KiB pages cost more than the
 * reading. */
static void fbuf_grow(struct msgdata *md, size_t need, size_t keep)
{
	size_t cap = need;
	char *p = NULL;
	bool mapped = false;

	if (md->fbuf_cap >= need)
		return;
	if (need > HEADER_WHOLE_MAX) {
		cap = (need + HUGE_UNIT - 1) & ~(HUGE_UNIT - 1);
		void *m = mmap(NULL, cap, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m != MAP_FAILED) {
			(void)madvise(m, cap, MADV_HUGEPAGE);
			p = m;
			mapped = true;
		}
	}
	if (p == NULL) {
		cap = need;
		p = xmalloc(cap);
	}
	if (keep > 0)
		memcpy(p, md->fbuf, keep);
	fbuf_free(md);
	md->fbuf = p;
	md->fbuf_cap = cap;
	md->fbuf_mapped = mapped;
}

/* Opens message idx (once per loaded message; it stays open until the
 * message is dropped): 1 with *fd_r, 0 gone, -1 (logged). */
static int md_open(struct imapd_session *s, struct msgdata *md, size_t idx,
		   const struct mailstore_msg *m, int *fd_r)
{
	const char *error;

	if (md->fd < 0) {
		int ret = mailstore_msg_open(s->sel->box, idx, &md->fd, &error);
		if (ret <= 0) {
			md->fd = -1;
			if (ret < 0)
				md_log(s, m, "open", error);
			return ret;
		}
	}
	*fd_r = md->fd;
	return 1;
}

/* Maps the whole file (one too big to read): 1, or -1 (logged). */
static int md_map(struct imapd_session *s, struct msgdata *md, int fd,
		  const struct mailstore_msg *m)
{
	struct stat st;

	if (fstat(fd, &st) < 0 || st.st_size < 0) {
		md_log(s, m, "fstat", strerror(errno));
		return -1;
	}
	size_t size = (size_t)st.st_size;
	void *p = size == 0 ? NULL :
		mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		md_log(s, m, "mmap", strerror(errno));
		return -1;
	}
	md->map = p;
	md->full = p != NULL ? p : "";
	md->full_len = size;
	return 1;
}

/* Reads buf[got..want) from the file at offset got: the new total, at
 * want or at the file's end, or -1 (errno). expect is the store's size of
 * the file: a read that stops short exactly there is the end (the usual
 * case, so one read per message and no read of 0 octets to confirm). */
static ssize_t md_pread(int fd, char *buf, size_t got, size_t want,
			uint64_t expect)
{
	while (got < want) {
		ssize_t n = pread(fd, buf + got, want - got, (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
		if (got < want && got == expect)
			break;
	}
	return (ssize_t)got;
}

/* Reads the whole file into fbuf: 1 with md->full, 0 when it is bigger
 * than MSG_READ_MAX after all, -1 (errno). One octet more than the store
 * says is asked for, to see the end. */
static int md_read_all(struct msgdata *md, int fd, uint64_t expect)
{
	size_t got = 0, want = expect < MSG_READ_MAX ? (size_t)expect + 1 :
		MSG_READ_MAX + 1;
	ssize_t n;

	if (want < HEADER_CHUNK_MIN)
		want = HEADER_CHUNK_MIN;
	fbuf_grow(md, want, 0);
	want = md->fbuf_cap < MSG_READ_MAX + 1 ? md->fbuf_cap :
		MSG_READ_MAX + 1;
	for (;;) {
		n = md_pread(fd, md->fbuf, got, want, expect);
		if (n < 0)
			return -1;
		if ((size_t)n < want)
			break;
		got = (size_t)n;	/* bigger than the store said */
		if (want > MSG_READ_MAX)
			return 0;
		want = want > MSG_READ_MAX / 2 ? MSG_READ_MAX + 1 : want * 2;
		fbuf_grow(md, want, got);
	}
	md->full = md->fbuf;
	md->full_len = (size_t)n;
	return 1;
}

/* Loads the whole message: 1, 0 gone, -1 (logged). */
static int md_load_full(struct imapd_session *s, struct msgdata *md,
			size_t idx, const struct mailstore_msg *m)
{
	int fd, ret;

	if (md->full != NULL)
		return 1;
	if ((ret = md_open(s, md, idx, m, &fd)) <= 0)
		return ret;
	ret = m->size <= MSG_READ_MAX ? md_read_all(md, fd, m->size) : 0;
	if (ret < 0) {
		md_log(s, m, "read", strerror(errno));
		return -1;
	}
	if (ret == 0 && md_map(s, md, fd, m) < 0)
		return -1;
	if (md->hdr == NULL) {
		md->hdr = md->full;
		md->hdr_len = mime_header_block_len(md->full, md->full_len);
	}
	return 1;
}

/* Whether data[0..len) (a mime_header_block_len result) ends with the
 * empty line that ends a header, rather than where the data ends. */
static bool header_ended(const char *d, size_t len)
{
	if (len == 0 || d[len - 1] != '\n')
		return false;
	if (len == 1 || d[len - 2] == '\n')
		return true;
	return d[len - 2] == '\r' && (len == 2 || d[len - 3] == '\n');
}

/* Reads the header block from the start of the file: 1, 0 gone, -1. A
 * small file is read whole and becomes the loaded message too. */
static int md_read_header(struct imapd_session *s, struct msgdata *md,
			  size_t idx, const struct mailstore_msg *m)
{
	size_t got = 0, want = m->size < HEADER_WHOLE_MAX ?
		(size_t)m->size + 1 : HEADER_CHUNK;
	int fd, ret;

	if (want < HEADER_CHUNK_MIN)	/* the size is a hint only */
		want = HEADER_CHUNK_MIN;
	if ((ret = md_open(s, md, idx, m, &fd)) <= 0)
		return ret;
	grow(&md->hbuf, &md->hbuf_cap, want);
	for (;;) {
		ssize_t n = md_pread(fd, md->hbuf, got, want, m->size);
		if (n < 0) {
			md_log(s, m, "read", strerror(errno));
			return -1;
		}
		got = (size_t)n;
		size_t hl = mime_header_block_len(md->hbuf, got);
		if (got < want) {	/* the end of the file */
			md->full = md->hbuf;
			md->full_len = got;
		}
		if (got < want || hl < got || header_ended(md->hbuf, hl)) {
			md->hdr = md->hbuf;
			md->hdr_len = hl;
			break;
		}
		if (want >= HEADER_READ_MAX)	/* huge: from the whole */
			return md_load_full(s, md, idx, m);
		/* Nothing points into hbuf yet: it may move. */
		want = want * 4 > HEADER_READ_MAX ? HEADER_READ_MAX : want * 4;
		if (md->hbuf_cap < want) {
			md->hbuf = xrealloc(md->hbuf, want);
			md->hbuf_cap = want;
		}
	}
	return 1;
}

int imapd_msg_header(struct imapd_session *s, uint32_t msn,
		     const char **data_r, size_t *len_r)
{
	struct msgdata *md;
	const struct mailstore_msg *m;
	size_t idx;
	int ret;

	if (md_select(s, msn, &md, &idx, &m) == 0)
		return 0;
	if (md->hdr == NULL &&
	    md_cache_get(s, md, m, MS_CACHE_HEADER, &md->hdr,
			 &md->hdr_len) == 0) {
		if ((ret = md_read_header(s, md, idx, m)) <= 0)
			return ret;
		md_cache_put(s, md, m, MS_CACHE_HEADER, md->hdr, md->hdr_len);
	}
	*data_r = md->hdr;
	*len_r = md->hdr_len;
	return 1;
}

int imapd_msg_full(struct imapd_session *s, uint32_t msn,
		   const char **data_r, size_t *len_r)
{
	struct msgdata *md;
	const struct mailstore_msg *m;
	size_t idx;
	int ret;

	if (md_select(s, msn, &md, &idx, &m) == 0)
		return 0;
	if ((ret = md_load_full(s, md, idx, m)) <= 0)
		return ret;
	*data_r = md->full;
	*len_r = md->full_len;
	return 1;
}

/* The loaded message parsed: 1, 0 gone, -1. */
static int md_parse(struct imapd_session *s, struct msgdata *md, size_t idx,
		    const struct mailstore_msg *m)
{
	int ret;

	if (md->mime != NULL)
		return 1;
	if ((ret = md_load_full(s, md, idx, m)) <= 0)
		return ret;
	md->mime = mime_parse(md->full, md->full_len, &imapd_mime_limits);
	return 1;
}

int imapd_msg_mime(struct imapd_session *s, uint32_t msn,
		   const char **data_r, size_t *len_r,
		   const struct mime_message **mime_r)
{
	struct msgdata *md;
	const struct mailstore_msg *m;
	size_t idx;
	int ret;

	if (md_select(s, msn, &md, &idx, &m) == 0)
		return 0;
	if ((ret = md_parse(s, md, idx, m)) <= 0)
		return ret;
	*data_r = md->full;
	*len_r = md->full_len;
	*mime_r = md->mime;
	return 1;
}

/* BODY from a BODYSTRUCTURE text bs[0..len), cached too. 1, or -1. */
static int md_body_from(struct imapd_session *s, struct msgdata *md,
			const struct mailstore_msg *m, const char *bs,
			size_t len, struct buf *out)
{
	size_t start = out->len;

	if (imap_bodystrip(bs, len, out) < 0)
		return -1;
	md_cache_put(s, md, m, MS_CACHE_BODY, out->data + start,
		     out->len - start);
	return 1;
}

/* Writes BODYSTRUCTURE into out from the message (parsed), and caches it
 * and the header. 1, or -1. */
static int md_struct_write(struct imapd_session *s, struct msgdata *md,
			   const struct mailstore_msg *m, struct buf *out)
{
	size_t start = out->len;
	const char *error;

	if (imap_bodystructure_write(out, md->full, md->full_len, md->mime,
				     true, 0, &error) < 0) {
		buf_truncate(out, start);
		return -1;
	}
	if (out->len - start <= MS_CACHE_VALUE_MAX)
		md_cache_put(s, md, m, MS_CACHE_BODYSTRUCTURE,
			     out->data + start, out->len - start);
	if (md->hdr_len <= MS_CACHE_VALUE_MAX)
		md_cache_put(s, md, m, MS_CACHE_HEADER, md->hdr, md->hdr_len);
	/* Where the text parts lie, for a later SEARCH BODY/TEXT: the
	 * message is parsed now anyway (imapd_search_text.c reads it). */
	struct buf map;
	buf_init(&map, MS_CACHE_VALUE_MAX);
	if (mime_body_textmap_write(md->mime, md->full_len, &map) == 0)
		md_cache_put(s, md, m, MS_CACHE_TEXTMAP, map.data, map.len);
	buf_deinit(&map);
	return 1;
}

int imapd_msg_bodystructure(struct imapd_session *s, uint32_t msn,
			    bool extended, struct buf *out)
{
	struct msgdata *md;
	const struct mailstore_msg *m;
	const char *data;
	size_t idx, len;
	int ret;

	if (md_select(s, msn, &md, &idx, &m) == 0)
		return 0;
	if (!extended && md_cache_get(s, md, m, MS_CACHE_BODY, &data, &len)) {
		ret = buf_append(out, data, len) < 0 ? -1 : 1;
	} else if (md_cache_get(s, md, m, MS_CACHE_BODYSTRUCTURE, &data,
				&len)) {
		ret = !extended ? md_body_from(s, md, m, data, len, out) :
			buf_append(out, data, len) < 0 ? -1 : 1;
	} else if ((ret = md_parse(s, md, idx, m)) <= 0) {
		return ret;
	} else if (extended) {
		ret = md_struct_write(s, md, m, out);
	} else {
		struct buf bs;
		buf_init(&bs, STRUCT_SCRATCH_MAX);
		ret = md_struct_write(s, md, m, &bs);
		if (ret == 1)
			ret = md_body_from(s, md, m, bs.data, bs.len, out);
		buf_deinit(&bs);
	}
	if (ret < 0)
		md_log(s, m, extended ? "BODYSTRUCTURE" : "BODY",
		       "response too long");
	return ret;
}

int imapd_msg_envelope(struct imapd_session *s, uint32_t msn,
		       struct buf *out)
{
	struct msgdata *md;
	const struct mailstore_msg *m;
	const char *data, *error;
	size_t idx, len, start = out->len;
	int ret;

	if (md_select(s, msn, &md, &idx, &m) == 0)
		return 0;
	if (md_cache_get(s, md, m, MS_CACHE_ENVELOPE, &data, &len))
		return buf_append(out, data, len) < 0 ? -1 : 1;
	if ((ret = imapd_msg_header(s, msn, &data, &len)) <= 0)
		return ret;
	if (imap_envelope_write(out, data, len, 0, &error) < 0) {
		buf_truncate(out, start);
		md_log(s, m, "ENVELOPE", error);
		return -1;
	}
	md_cache_put(s, md, m, MS_CACHE_ENVELOPE, out->data + start,
		     out->len - start);
	return 1;
}

int imapd_msg_preview(struct imapd_session *s, uint32_t msn,
		      struct buf *out)
{
	struct msgdata *md;
	const struct mailstore_msg *m;
	const char *data;
	size_t idx, len, start = out->len;
	int ret;

	if (md_select(s, msn, &md, &idx, &m) == 0)
		return 0;
	if (md_cache_get(s, md, m, MS_CACHE_PREVIEW, &data, &len) == 1) {
		if (buf_append(out, data, len) < 0)
			return -1;
		return 1;
	}
	if ((ret = md_parse(s, md, idx, m)) <= 0)
		return ret;
	if (mime_preview(md->full, md->full_len, md->mime, out) < 0) {
		buf_truncate(out, start);
		md_log(s, m, "PREVIEW", "response too long");
		return -1;
	}
	md_cache_put(s, md, m, MS_CACHE_PREVIEW, out->data + start,
		     out->len - start);
	return 1;
}

void imapd_msg_release(struct imapd_session *s)
{
	struct msgdata *md;

	if (s->sel == NULL || (md = s->sel->msgcache) == NULL)
		return;
	md_drop(md);
	/* Buffers over the usual size are not kept between commands. */
	if (md->hbuf_cap > HEADER_WHOLE_MAX) {
		xfree(&md->hbuf);
		md->hbuf_cap = 0;
	}
	if (md->fbuf_cap > HEADER_WHOLE_MAX)
		fbuf_free(md);
	if (md->cache != NULL && md->cache_fresh) {
		ms_cache_flush(md->cache);
		md->cache_fresh = false;
	}
}

void imapd_msgcache_open(struct imapd_session *s)
{
	(void)md_of(s);
}

void imapd_msgcache_close(struct imapd_session *s)
{
	struct msgdata *md;

	if (s->sel == NULL || (md = s->sel->msgcache) == NULL)
		return;
	md_drop(md);
	if (md->cache != NULL) {
		ms_cache_flush(md->cache);
		ms_cache_close(&kept_cache);
		kept_cache = md->cache;
		md->cache = NULL;
	}
	free(md->hbuf);
	fbuf_free(md);
	free(md);
	s->sel->msgcache = NULL;
}
