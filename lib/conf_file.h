/* conf_file: what main.cf (conf) and master.cf (master_cf) share: where
 * the configuration directory is, reading one of its files whole with a
 * size limit, and Postfix's logical lines.
 *
 * Logical lines: a line that starts with white space continues the one
 * before it (joined with one space, the leading white space dropped);
 * blank lines and lines whose first non-blank character is '#' are
 * skipped. A NUL byte anywhere in the file is an error. */
#ifndef SUREL_CONF_FILE_H
#define SUREL_CONF_FILE_H
#include <stdbool.h>
#include <stddef.h>
#include "buf.h"

/* The configuration directory of a program: dir (its -c option) when not
 * NULL and not empty, else $SUREL_CONFIG_DIR when set and not empty, else
 * the compiled-in SUREL_SYSCONFDIR. */
const char *conf_file_dir(const char *dir);

/* Reads the file config_dir/name whole. path (initialized by the caller)
 * gets "config_dir/name"; data (initialized by the caller) gets the
 * contents, and its max is the size limit. The file must be a regular
 * file. Returns 0, or -1 with *error_r: "PATH: reason", or "NAME: reason"
 * when config_dir is empty or too long (valid until the next
 * conf_file_read). */
int conf_file_read(const char *config_dir, const char *name, struct buf *path,
		   struct buf *data, const char **error_r)
	__attribute__((warn_unused_result));

/* An iterator over the logical lines of data[0..len). */
struct conf_file_lines {
	const char *data;
	size_t len;
	size_t pos;		/* start of the next physical line */
	unsigned lineno;	/* physical lines consumed */
	bool checked;		/* the NUL check is done */
	const char *item;	/* what a logical line is, for a message */
	struct buf logical;
	char error[128];
};

/* line_max bounds one logical line, continuations joined. item names what
 * a logical line holds ("parameter", "service") in the message about a
 * continuation line at the start. Nothing is copied: data must outlive l. */
void conf_file_lines_init(struct conf_file_lines *l, const char *data,
			  size_t len, size_t line_max, const char *item);
void conf_file_lines_deinit(struct conf_file_lines *l);
/* Returns 1 with the next logical line in *line_r (NUL-terminated; the
 * caller may change it in place; valid until the next call) and the
 * number of its first physical line in *lineno_r; 0 at the end; -1 with
 * *error_r ("line too long (more than 65536 bytes)", valid while l lives)
 * and in *lineno_r the line it is about (0: the whole file, for a NUL
 * byte). After -1 the iterator must not be called again. */
int conf_file_lines_next(struct conf_file_lines *l, char **line_r,
			 unsigned *lineno_r, const char **error_r)
	__attribute__((warn_unused_result));

#endif
