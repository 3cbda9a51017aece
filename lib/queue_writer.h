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
/* The same in queue_dir/maildrop/ (sureldrop, for pickup): mode 0644
 * while written (pickup runs as mail_owner and must read a file that a
 * user owns), 0744 once committed (the owner's x bit says "complete", as
 * 0700 does in incoming/). Commit syncs maildrop/ too: its fsync, or
 * syncfs() for a caller who may write but not read it. A user
 * not allowed to write there gets "no permission" in *error_r. */
int queue_writer_open_maildrop(const char *queue_dir,
			       struct queue_writer **w_r, const char **error_r)
	__attribute__((warn_unused_result));
const char *queue_writer_id(const struct queue_writer *w);
uint64_t queue_writer_arrival_us(const struct queue_writer *w);
/* Writes the envelope; call once, before any content. env->arrival_us is
 * ignored (the id's time is used). */
int queue_writer_envelope(struct queue_writer *w,
			  const struct queue_envelope *env,
			  const char **error_r)
	__attribute__((warn_unused_result));
/* Appends content bytes (buffered; written in large blocks). */
int queue_writer_content(struct queue_writer *w, const void *data, size_t len,
			 const char **error_r)
	__attribute__((warn_unused_result));
/* An attribute known only once the content is in (the DKIM and DMARC
 * verdicts of smtpd): written after the content, before the end marker;
 * readers merge it into env->attrs. Call after the last content and
 * before commit; no content may follow. Refused (-1, nothing written):
 * a bad name, a value with TAB, CR or LF, a line over QUEUE_LINE_MAX,
 * a name already written (envelope or late), more than QUEUE_ATTR_MAX
 * attributes in all. */
int queue_writer_late_attr(struct queue_writer *w, const char *name,
			   const char *value, const char **error_r)
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
