/* conf: main.cf, the one table of every parameter (conf_params.c) with its
 * type and default, and $name / ${name} expansion.
 *
 * main.cf syntax as Postfix: "name = value"; a line starting with white
 * space continues the previous one; '#' starts a comment line; values are
 * expanded when read (conf_str), recursively, with a depth limit. Unknown
 * names are reported as warnings, not errors. A value that does not parse
 * as its parameter's type is an error that names the file, line and
 * reason: daemons refuse to start with it.
 *
 * The configuration is process-global (like Postfix's var_* variables):
 * load it once at start and after SIGHUP.
 *
 * Expansion: $name, ${name}, $(name); ${name?text} is text when $name is
 * not empty, ${name:text} is text when $name is empty; $$ is a '$'. An
 * undefined name expands to nothing (as in Postfix). Names main.cf sets
 * that are not in the table are kept for expansion. Expansion is bounded
 * (20 levels, 1000 references, 64 KiB result): a value that passes a
 * bound (a $name loop) is an error at load time, like a bad value, so the
 * accessors never meet one. Every value is expanded and checked when
 * loaded, so accessors cannot fail.
 *
 * Limits: main.cf at most 4 MiB, a logical line at most 64 KiB.
 *
 * Lifetimes: strings returned by conf_str/conf_raw/conf_dir stay valid
 * across conf_set and across the next conf_load (so a reloading caller
 * can refresh its copies); the load after that frees them.
 * Before any conf_load the accessors serve the defaults. */
#ifndef SUREL_CONF_H
#define SUREL_CONF_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum conf_type {
	CONF_STR,	/* any text */
	CONF_INT,	/* non-negative decimal integer, at most INT_MAX */
	CONF_TIME,	/* integer with optional unit s m h d w (default s);
			 * at most INT_MAX seconds */
	CONF_SIZE,	/* bytes: integer, optional k/m/g suffix (1024-based,
			 * K/M/G too); at most INT64_MAX */
	CONF_BOOL,	/* yes / no */
	CONF_LIST,	/* comma or white-space separated words */
};

struct conf_param {
	const char *name;
	enum conf_type type;
	const char *def;	/* default, may contain $name; NULL: computed
				 * when loaded (the doc says how) */
	const char *doc;	/* one paragraph for surel.conf(5) */
};

/* The table, sorted by name; ends with a NULL name. */
extern const struct conf_param conf_params[];

/* Called for each non-fatal problem (unknown parameter); msg includes
 * "file, line N:". */
typedef void conf_warn_fn(const char *msg);

/* Reads config_dir/main.cf, replacing any earlier configuration. A missing
 * file is an error. Returns 0, or -1 with *error_r ("/etc/surel/main.cf,
 * line 7: smtpd_timeout: bad time value 'x'"), valid until the next conf
 * call; on failure the earlier configuration stays in force. warn (may be
 * NULL) gets "PATH, line N: unknown parameter: NAME" for each name not in
 * the table and not referred to as $name by a known parameter, and
 * "PATH, line N: overriding earlier entry: NAME=OLD" for a repeated name. */
int conf_load(const char *config_dir, conf_warn_fn *warn, const char **error_r)
	__attribute__((warn_unused_result));
/* Loads from a memory buffer (tests, fuzzing); name is used in messages. */
int conf_load_buffer(const char *name, const char *data, size_t len,
		     conf_warn_fn *warn, const char **error_r)
	__attribute__((warn_unused_result));
/* Overrides one parameter (master.cf -o name=value, command line). The
 * value is validated like a main.cf line, and so is every value that
 * refers to it; on error nothing changes. A name not in the table is
 * accepted (for $name references), as in Postfix. */
int conf_set(const char *name, const char *value, const char **error_r)
	__attribute__((warn_unused_result));
/* The directory main.cf was read from (SUREL_SYSCONFDIR after
 * conf_load_buffer or before any load). */
const char *conf_dir(void);

/* Typed accessors of the expanded value. Asking for a name that is not in
 * the table, or with the wrong type, is a programming error: panic().
 * conf_str serves every type (the expanded text). */
const char *conf_str(const char *name);
/* conf_str of a name that may not exist (one an operator wrote): NULL
 * when the table has no such parameter. */
const char *conf_find_str(const char *name);
uint64_t conf_int(const char *name);
uint64_t conf_time(const char *name);	/* seconds */
uint64_t conf_size(const char *name);	/* bytes */
bool conf_bool(const char *name);
/* Splits a CONF_LIST value into words. Returns a NULL-terminated array of
 * pointers into one allocation; free the array with free(). */
char **conf_list(const char *name);

/* True if main.cf (or conf_set) set name explicitly (names not in the
 * table too). */
bool conf_is_set(const char *name);
/* The raw, unexpanded value (explicit or default; computed defaults as
 * computed). For a name not in the table: its main.cf value, or NULL. */
const char *conf_raw(const char *name);
/* Parameter table entry for name, or NULL. */
const struct conf_param *conf_param_find(const char *name);
/* Checks a value against a type without setting it; 0 or -1. */
int conf_check_value(enum conf_type type, const char *value,
		     const char **error_r);

#endif
