/* buf: growable bounded byte buffer; see buf.h. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "log.h"
#include "mem.h"

void buf_init(struct buf *b, size_t max)
{
	b->cap = max < 64 ? max + 1 : 64;
	b->data = xmalloc(b->cap);
	b->data[0] = '\0';
	b->len = 0;
	b->max = max;
}

void buf_deinit(struct buf *b)
{
	if (b->data != NULL)
		explicit_bzero(b->data, b->cap);
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	b->data[0] = '\0';
}

/* Makes room for len more bytes plus the NUL; -1 past max. */
static int buf_reserve(struct buf *b, size_t len)
{
	size_t need;

	if (__builtin_add_overflow(b->len, len, &need) || need > b->max)
		return -1;
	if (need + 1 <= b->cap)
		return 0;
	size_t cap = b->cap;
	while (cap < need + 1)
		cap = cap > b->max / 2 ? b->max + 1 : cap * 2;
	/* Not realloc(): the old block is wiped before it is freed, so a
	 * password that passed through a buffer does not linger. */
	char *data = xmalloc(cap);
	memcpy(data, b->data, b->len + 1);
	explicit_bzero(b->data, b->cap);
	free(b->data);
	b->data = data;
	b->cap = cap;
	return 0;
}

int buf_append(struct buf *b, const void *data, size_t len)
{
	if (buf_reserve(b, len) < 0)
		return -1;
	if (len > 0)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int buf_append_str(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int buf_append_char(struct buf *b, char c) { return buf_append(b, &c, 1); }

int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0 || buf_reserve(b, (size_t)n) < 0)
		return -1;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return ret;
}

void buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		buf_reset(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

void buf_truncate(struct buf *b, size_t len)
{
	if (len < b->len) {
		b->len = len;
		b->data[len] = '\0';
	}
}

const char *buf_error_vset(struct buf *err, size_t max, const char *fallback,
			   const char *fmt, va_list ap)
{
	if (err->data == NULL)
		buf_init(err, max);
	buf_reset(err);
	if (buf_vprintf(err, fmt, ap) < 0) {
		buf_reset(err);
		if (buf_append_str(err, fallback) < 0)
			panic("error buffer smaller than its fallback message");
	}
	return buf_cstr(err);
}

const char *buf_error_set(struct buf *err, size_t max, const char *fallback,
			  const char *fmt, ...)
{
	va_list ap;
	const char *msg;

	va_start(ap, fmt);
	msg = buf_error_vset(err, max, fallback, fmt, ap);
	va_end(ap);
	return msg;
}
