/* maps_texthash: the "key whitespace value" text format shared by
 * texthash: tables and surelmap's input, and the texthash: type, which
 * reads the whole file into memory at open (and again when it changes). */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "buf.h"
#include "fsutil.h"
#include "maps.h"
#include "maps_impl.h"
#include "mem.h"

bool maps_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
	       c == '\f';
}

/* Splits one logical line into key and value and hands them on. */
static int maps_text_entry(char *line, unsigned lineno, maps_entry_fn *fn,
			   void *ctx, const char **error_r)
{
	char *key = line, *value = line;

	while (*value != '\0' && !maps_is_space(*value))
		value++;
	if (*value != '\0')
		*value++ = '\0';
	while (maps_is_space(*value))
		value++;
	size_t vlen = strlen(value);
	while (vlen > 0 && maps_is_space(value[vlen - 1]))
		value[--vlen] = '\0';
	if (vlen == 0) {
		*error_r = maps_error("line %u: expected format: key "
				      "whitespace value", lineno);
		return -1;
	}
	if (strlen(key) > MAPS_KEY_MAX) {
		*error_r = maps_error("line %u: key longer than %d bytes",
				      lineno, MAPS_KEY_MAX);
		return -1;
	}
	if (vlen > MAPS_VALUE_MAX) {
		*error_r = maps_error("line %u: value longer than %d bytes",
				      lineno, MAPS_VALUE_MAX);
		return -1;
	}
	return fn(ctx, key, value, lineno, error_r);
}

static bool maps_text_skip(const char *line, size_t len)
{
	size_t i = 0;

	while (i < len && maps_is_space(line[i]))
		i++;
	return i == len || line[i] == '#';
}

int maps_lines_parse(const char *data, size_t len, maps_line_fn *fn,
		     void *ctx, const char **error_r)
{
	struct buf logical;
	unsigned lineno = 0, start_line = 0;
	size_t pos = 0;
	int ret = 0;

	buf_init(&logical, MAPS_TEXT_LINE_MAX);
	while (pos < len && ret == 0) {
		const char *line = data + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t llen = nl != NULL ? (size_t)(nl - line) : len - pos;

		pos += llen + (nl != NULL);
		lineno++;
		if (memchr(line, '\0', llen) != NULL) {
			*error_r = maps_error("line %u: NUL byte", lineno);
			ret = -1;
		} else if (maps_text_skip(line, llen)) {
			continue;
		} else if (maps_is_space(line[0])) {
			/* Continuation: kept with its white space, as
			 * Postfix does. */
			if (logical.len == 0) {
				*error_r = maps_error(
					"line %u: continuation line without "
					"a line to continue", lineno);
				ret = -1;
			}
		} else if (logical.len > 0) {
			ret = fn(ctx, logical.data, start_line, error_r);
			buf_reset(&logical);
		}
		if (ret == 0) {
			if (logical.len == 0)
				start_line = lineno;
			if (buf_append(&logical, line, llen) < 0) {
				*error_r = maps_error("line %u: line longer "
						      "than %d bytes", lineno,
						      MAPS_TEXT_LINE_MAX);
				ret = -1;
			}
		}
	}
	if (ret == 0 && logical.len > 0)
		ret = fn(ctx, logical.data, start_line, error_r);
	buf_deinit(&logical);
	return ret;
}

struct maps_text_split {
	maps_entry_fn *fn;
	void *ctx;
};

static int maps_text_line(void *ctx, char *line, unsigned lineno,
			  const char **error_r)
{
	struct maps_text_split *s = ctx;

	return maps_text_entry(line, lineno, s->fn, s->ctx, error_r);
}

int maps_texthash_parse(const char *data, size_t len, maps_entry_fn *fn,
			void *ctx, const char **error_r)
{
	struct maps_text_split s = { fn, ctx };

	return maps_lines_parse(data, len, maps_text_line, &s, error_r);
}

/* ---- the texthash: type ---- */

struct maps_texthash_ctx {
	struct maps_mem *mem;
	unsigned flags;
};

static int maps_texthash_add(void *ctx, char *key, char *value,
			     unsigned line, const char **error_r)
{
	struct maps_texthash_ctx *c = ctx;

	/* The first of duplicate keys wins, as with postmap. */
	maps_fold(key, c->flags);
	(void)maps_mem_put(c->mem, key, value, false);
	return 0;
}

int maps_load_lines(const struct maps_table *t, size_t max, maps_line_fn *fn,
		    void *ctx, const char **error_r)
{
	const char *err;
	char *data;
	size_t len;

	if (maps_read_file(t->name, max, &data, &len) < 0) {
		*error_r = errno == EFBIG ?
			maps_error("%s: larger than %zu bytes", t->name, max) :
			errno == EINVAL ?
			maps_error("%s: not a regular file", t->name) :
			maps_error("open %s: %s", t->name, strerror(errno));
		return -1;
	}
	int ret = maps_lines_parse(data, len, fn, ctx, &err);
	free(data);
	if (ret < 0) {
		char copy[512];	/* err lives in the buffer maps_error fills */

		snprintf(copy, sizeof(copy), "%s", err);
		*error_r = maps_error("%s, %s", t->name, copy);
		return -1;
	}
	return 0;
}

static int maps_texthash_open(struct maps_table *t, const char **error_r)
{
	struct maps_texthash_ctx ctx = { maps_mem_new(), t->flags };
	struct maps_text_split s = { maps_texthash_add, &ctx };

	if (maps_load_lines(t, MAPS_TEXT_FILE_MAX, maps_text_line, &s,
			    error_r) < 0) {
		maps_mem_free(&ctx.mem);
		return -1;
	}
	t->impl = ctx.mem;
	return 0;
}

const struct maps_type maps_type_texthash = {
	.name = "texthash",
	.watch_suffix = "",
	.open = maps_texthash_open,
	.lookup = maps_mem_table_lookup,
	.close = maps_mem_table_close,
};
