/* imap_subscriptions: Dovecot's subscriptions file (see the header). The
 * rewrite works line by line over the old content, so that lines this
 * server cannot interpret survive a SUBSCRIBE made here. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "imap_subscriptions.h"
#include "mailstore.h"
#include "mem.h"
#include "str.h"

#define ESCAPE_CHAR '\001'
static const char version2_header[] = "V\t2\n\n";

/* The version of a file and the offset of its first name line. */
static unsigned file_version(const char *data, size_t len, size_t *start_r)
{
	size_t hlen = sizeof(version2_header) - 1;

	if (len >= hlen && memcmp(data, version2_header, hlen) == 0) {
		*start_r = hlen;
		return 2;
	}
	*start_r = 0;
	return len == 0 ? 2 : 1;
}

/* One escaped level of a version 2 line, unescaped onto out. */
static int unescape_level(const char *s, size_t len, struct buf *out)
{
	if (len == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == ESCAPE_CHAR) {
			if (++i == len)
				return -1;
			switch (s[i]) {
			case '1': c = ESCAPE_CHAR; break;
			case 't': c = '\t'; break;
			case 'r': c = '\r'; break;
			case 'n': c = '\n'; break;
			default: return -1;
			}
		}
		/* A '.' inside a level cannot be a Maildir++ name. */
		if (c == '.' || buf_append_char(out, c) < 0)
			return -1;
	}
	return 0;
}

static int decode_v2(const char *line, size_t len, struct buf *out)
{
	size_t start = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i < len && line[i] != '\t')
			continue;
		if ((start > 0 && buf_append_char(out, '.') < 0) ||
		    unescape_level(line + start, i - start, out) < 0)
			return -1;
		start = i + 1;
	}
	return 0;
}

/* "inbox" and "inbox.x" as Dovecot may have written them: "INBOX". */
static void normalize_inbox(struct buf *b, size_t start)
{
	char *name = b->data + start;
	size_t len = b->len - start;

	if (len >= 5 && strncasecmp(name, "INBOX", 5) == 0 &&
	    (len == 5 || name[5] == '.'))
		memcpy(name, "INBOX", 5);
}

int imap_subscriptions_line_folder(const char *line, size_t len,
				   unsigned version, struct buf *out)
{
	size_t start = out->len;
	int ret;

	if (len == 0 || len > MAILSTORE_FOLDER_MAX * 2 ||
	    memchr(line, '\0', len) != NULL)
		return -1;
	if (version >= 2)
		ret = decode_v2(line, len, out);
	else
		ret = buf_append(out, line, len);
	if (ret == 0) {
		normalize_inbox(out, start);
		const char *name = out->data + start;
		if (strcmp(name, "INBOX") != 0 &&
		    !mailstore_folder_name_valid(name))
			ret = -1;
	}
	if (ret < 0)
		buf_truncate(out, start);
	return ret;
}

/* Calls fn for every name line of the file; stops when fn returns < 0. */
typedef int line_fn(void *ctx, const char *line, size_t len,
		    unsigned version);

static int each_line(const char *data, size_t len, line_fn *fn, void *ctx)
{
	size_t pos;
	unsigned version = file_version(data, len, &pos);

	while (pos < len) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		size_t end = nl != NULL ? (size_t)(nl - data) : len;
		if (fn(ctx, data + pos, end - pos, version) < 0)
			return -1;
		pos = end + 1;
	}
	return 0;
}

struct parse_ctx {
	char **names;
	size_t count;
	struct buf tmp;
	const char *error;
};

static int parse_line(void *vctx, const char *line, size_t len,
		      unsigned version)
{
	struct parse_ctx *ctx = vctx;

	buf_reset(&ctx->tmp);
	if (imap_subscriptions_line_folder(line, len, version, &ctx->tmp) < 0)
		return 0;
	for (size_t i = 0; i < ctx->count; i++)
		if (strcmp(ctx->names[i], ctx->tmp.data) == 0)
			return 0;
	if (ctx->count >= IMAP_SUBSCRIPTIONS_COUNT_MAX) {
		ctx->error = "too many subscriptions";
		return -1;
	}
	ctx->names = xreallocarray(ctx->names, ctx->count + 1,
				   sizeof(*ctx->names));
	ctx->names[ctx->count++] = xstrdup(ctx->tmp.data);
	return 0;
}

int imap_subscriptions_parse(const char *data, size_t len, char ***names_r,
			     size_t *count_r, const char **error_r)
{
	struct parse_ctx ctx = { .names = NULL, .count = 0, .error = NULL };
	int ret;

	if (len > IMAP_SUBSCRIPTIONS_SIZE_MAX) {
		*error_r = "subscriptions file too large";
		return -1;
	}
	buf_init(&ctx.tmp, MAILSTORE_FOLDER_MAX * 2 + 1);
	ret = each_line(data, len, parse_line, &ctx);
	buf_deinit(&ctx.tmp);
	if (ret < 0) {
		imap_subscriptions_free(&ctx.names, ctx.count);
		*error_r = ctx.error;
		return -1;
	}
	*names_r = ctx.names;
	*count_r = ctx.count;
	return 0;
}

void imap_subscriptions_free(char ***names, size_t count)
{
	if (*names == NULL)
		return;
	for (size_t i = 0; i < count; i++)
		free((*names)[i]);
	xfree(names);
}

/* folder as a line of a file of this version (with its LF). */
static int encode_line(const char *folder, unsigned version, struct buf *out)
{
	if (version < 2)
		return buf_printf(out, "%s\n", folder);
	for (const char *p = folder; *p != '\0'; p++) {
		int r;
		switch (*p) {
		case '.': r = buf_append_char(out, '\t'); break;
		case ESCAPE_CHAR: r = buf_append(out, "\0011", 2); break;
		case '\t': r = buf_append(out, "\001t", 2); break;
		case '\r': r = buf_append(out, "\001r", 2); break;
		case '\n': r = buf_append(out, "\001n", 2); break;
		default: r = buf_append_char(out, *p); break;
		}
		if (r < 0)
			return -1;
	}
	return buf_append_char(out, '\n');
}

struct update_ctx {
	const char *folder;
	bool subscribe;
	bool found, changed;
	size_t lines;
	struct buf *out;
	struct buf tmp;
	const char *error;
};

static int update_line(void *vctx, const char *line, size_t len,
		       unsigned version)
{
	struct update_ctx *ctx = vctx;

	buf_reset(&ctx->tmp);
	if (imap_subscriptions_line_folder(line, len, version, &ctx->tmp) == 0 &&
	    strcmp(ctx->tmp.data, ctx->folder) == 0) {
		ctx->found = true;
		if (!ctx->subscribe) {
			ctx->changed = true;
			return 0;
		}
	}
	if (++ctx->lines > IMAP_SUBSCRIPTIONS_COUNT_MAX) {
		ctx->error = "too many subscriptions";
		return -1;
	}
	if (buf_append(ctx->out, line, len) < 0 ||
	    buf_append_char(ctx->out, '\n') < 0) {
		ctx->error = "subscriptions file too large";
		return -1;
	}
	return 0;
}

static int update_finish(struct update_ctx *ctx, unsigned version)
{
	if (!ctx->subscribe || ctx->found)
		return 0;
	if (ctx->lines + 1 > IMAP_SUBSCRIPTIONS_COUNT_MAX) {
		ctx->error = "too many subscriptions";
		return -1;
	}
	if (encode_line(ctx->folder, version, ctx->out) < 0) {
		ctx->error = "subscriptions file too large";
		return -1;
	}
	ctx->changed = true;
	return 0;
}

int imap_subscriptions_update(const char *data, size_t len,
			      const char *folder, bool subscribe,
			      struct buf *out, bool *changed_r,
			      const char **error_r)
{
	struct update_ctx ctx = { .folder = folder, .subscribe = subscribe,
				  .out = out };
	size_t start = out->len, pos;
	unsigned version = file_version(data, len, &pos);
	int ret = 0;

	if (strcmp(folder, "INBOX") != 0 && !mailstore_folder_name_valid(folder)) {
		*error_r = "invalid folder name";
		return -1;
	}
	if (len > IMAP_SUBSCRIPTIONS_SIZE_MAX) {
		*error_r = "subscriptions file too large";
		return -1;
	}
	buf_init(&ctx.tmp, MAILSTORE_FOLDER_MAX * 2 + 1);
	if (version >= 2 && buf_append_str(out, version2_header) < 0) {
		ctx.error = "subscriptions file too large";
		ret = -1;
	}
	if (ret == 0)
		ret = each_line(data, len, update_line, &ctx);
	if (ret == 0)
		ret = update_finish(&ctx, version);
	/* A version 1 file whose first line is "V\t2" (no name: it holds a
	 * TAB) would turn into a version 2 header once the line after it
	 * is dropped: drop that first line instead. */
	if (ret == 0 && version < 2 && out->len - start >= 5 &&
	    memcmp(out->data + start, version2_header, 5) == 0) {
		memmove(out->data + start, out->data + start + 4,
			out->len - start - 4);
		buf_truncate(out, out->len - 4);
		ctx.changed = true;
	}
	if (ret == 0 && out->len - start > IMAP_SUBSCRIPTIONS_SIZE_MAX) {
		ctx.error = "subscriptions file too large";
		ret = -1;
	}
	buf_deinit(&ctx.tmp);
	if (ret < 0) {
		buf_truncate(out, start);
		*error_r = ctx.error;
		return -1;
	}
	*changed_r = ctx.changed;
	return 0;
}
