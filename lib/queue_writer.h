/* queue_writer: creates a queue file in incoming/ (smtpd, pickup): the
 * envelope, then the content as it arrives, then a commit that makes it
 * durable. queue_file.h describes the format and the modes. */
#ifndef SUREL_QUEUE_WRITER_H
#define SUREL_QUEUE_WRITER_H
#include <stddef.h>
#include <stdint.h>
#include "queue_file.h"

struct queue_writer;

/* Creates incoming/<new id> under queue_dir (mode 0600, O_EXCL). */
int queue_writer_open(const char *queue_dir, struct queue_writer **w_r,
		      const char **error_r) __attribute__((warn_unused_result));
const char *queue_writer_id(const struct queue_writer *w);
uint64_t queue_writer_arrival_us(const struct queue_writer *w);
/* Writes the envelope; call once, before any content. env->arrival_us is
 * ignored (the id's time is used). */
int queue_writer_envelope(struct queue_writer *w,
			  const struct queue_envelope *env,
			  const char **error_r)
	__attribute__((warn_unused_result));
/* An attribute decided after the envelope is written (a HOLD that
 * header_checks find in the content): queue_writer_reserve_attr(), before
 * queue_writer_envelope(), keeps its place in the envelope as a filler
 * attribute of the same size, "pad" with a value of '-' that readers
 * ignore; queue_writer_fill_attr(), before the commit, turns the filler
 * into name=value in place (the file is invisible to qmgr until the
 * commit). One per file; name + value at least 4 octets; the strings are
 * copied. */
void queue_writer_reserve_attr(struct queue_writer *w, const char *name,
			       const char *value);
int queue_writer_fill_attr(struct queue_writer *w, const char **error_r)
	__attribute__((warn_unused_result));
/* Appends content bytes (buffered; written in large blocks). */
int queue_writer_content(struct queue_writer *w, const void *data, size_t len,
			 const char **error_r)
	__attribute__((warn_unused_result));
/* Content bytes written so far. */
uint64_t queue_writer_size(const struct queue_writer *w);
/* Finishes: end marker, length, mode 0700, fsync of the file and of
 * incoming/. Only after 0 may the client be told 250. Frees *w. On -1 the
 * file has been removed. */
int queue_writer_commit(struct queue_writer **w, const char **error_r)
	__attribute__((warn_unused_result));
/* Removes the unfinished file and frees *w; accepts NULL. */
void queue_writer_abort(struct queue_writer **w);

#endif
