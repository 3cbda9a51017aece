/* surelconf_edit: `surelconf -e name=value ...`, Postfix's postconf -e:
 * edits main.cf in place. Each assignment replaces the last line (with
 * its continuation lines) that sets name, the one in effect; a name main.cf
 * does not set is appended. Comments, blank lines and the order of
 * everything else are kept byte for byte. name must be a word of
 * letters, digits and '_'; value one line; for a known parameter the
 * value must parse as its type, and the whole new file must load (conf
 * validates it) before it replaces the old one. The new file is written
 * next to main.cf with main.cf's mode (and owner, when root), fsync()ed,
 * renamed over it and the directory fsync()ed: a crash leaves the old
 * file or the new one, never half of one. Returns 0, or -1 with a
 * message in *error_r (static storage). */
#ifndef SUREL_SURELCONF_EDIT_H
#define SUREL_SURELCONF_EDIT_H

int surelconf_edit(const char *config_dir, char **assignments, int count,
		   const char **error_r) __attribute__((warn_unused_result));

struct buf;
/* The edit in memory (tests, fuzzing): applies one assignment (changed
 * in place while parsed) to the main.cf text in *text, as above, without
 * the check of the whole file. text's max bounds the result. 0, or -1
 * with *error_r (static storage) and *text unchanged. */
int surelconf_edit_text(struct buf *text, char *assignment,
			const char **error_r)
	__attribute__((warn_unused_result));

#endif
