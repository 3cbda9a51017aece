/* buf: the one growable byte buffer. Its maximum is fixed at creation;
 * reaching it is a normal error (-1), never a silent truncation. The data is
 * always NUL-terminated (the NUL is not counted in len) so it can be used as
 * a C string when it holds no NUL bytes. Memory is wiped when the buffer
 * grows or is released, so secrets that pass through one (passwords in
 * IPC messages) do not linger in freed memory. */
#ifndef SUREL_BUF_H
#define SUREL_BUF_H
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct buf {
	char *data;	/* owned; never NULL after buf_init */
	size_t len;	/* bytes used, excluding the terminating NUL */
	size_t cap;	/* bytes allocated */
	size_t max;	/* the most len may ever be */
};

void buf_init(struct buf *b, size_t max);
void buf_deinit(struct buf *b);
void buf_reset(struct buf *b);
/* Appends; returns 0, or -1 (buffer unchanged) when len would pass max. */
int buf_append(struct buf *b, const void *data, size_t len)
	__attribute__((warn_unused_result));
int buf_append_str(struct buf *b, const char *s)
	__attribute__((warn_unused_result));
int buf_append_char(struct buf *b, char c) __attribute__((warn_unused_result));
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), warn_unused_result));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0), warn_unused_result));
/* Removes the first n bytes (n <= len). */
void buf_consume(struct buf *b, size_t n);
/* Shortens to len (<= current len). */
void buf_truncate(struct buf *b, size_t len);
/* The static error buffers behind error_r: err (initialised with max on
 * first use) is set to the formatted message, or to fallback when the
 * message would pass max. Returns the text, valid until the next call on
 * err. */
const char *buf_error_vset(struct buf *err, size_t max, const char *fallback,
			   const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));
const char *buf_error_set(struct buf *err, size_t max, const char *fallback,
			  const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Returns the NUL-terminated contents. */
static inline const char *buf_cstr(const struct buf *b) { return b->data; }

#endif
