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
 * load it once at start and after SIGHUP. */
#ifndef SUREL_CONF_H
#define SUREL_CONF_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum conf_type {
	CONF_STR,	/* any text */
	CONF_INT,	/* non-negative decimal integer */
	CONF_TIME,	/* integer with optional unit s m h d w (default s) */
	CONF_SIZE,	/* bytes: integer, optional k/m/g suffix (1024-based) */
	CONF_BOOL,	/* yes / no */
	CONF_LIST,	/* comma or white-space separated words */
};

struct conf_param {
	const char *name;
	enum conf_type type;
	const char *def;	/* default, may contain $name */
	const char *doc;	/* one paragraph for surel.conf(5) */
};

/* The table, sorted by name; ends with a NULL name. */
extern const struct conf_param conf_params[];

/* Called for each non-fatal problem (unknown parameter); msg includes
 * "file, line N:". */
typedef void conf_warn_fn(const char *msg);

/* Reads config_dir/main.cf, replacing any earlier configuration. A missing
 * file is an error. Returns 0, or -1 with *error_r ("main.cf, line 7:
 * smtpd_timeout: bad time value 'x'"), valid until the next conf call. */
int conf_load(const char *config_dir, conf_warn_fn *warn, const char **error_r)
	__attribute__((warn_unused_result));
/* Loads from a memory buffer (tests, fuzzing); name is used in messages. */
int conf_load_buffer(const char *name, const char *data, size_t len,
		     conf_warn_fn *warn, const char **error_r)
	__attribute__((warn_unused_result));
/* Overrides one parameter (master.cf -o name=value, command line). The
 * value is validated like a main.cf line. */
int conf_set(const char *name, const char *value, const char **error_r)
	__attribute__((warn_unused_result));
/* The directory main.cf was read from. */
const char *conf_dir(void);

/* Typed accessors of the expanded value. Asking for a name that is not in
 * the table, or with the wrong type, is a programming error: panic(). */
const char *conf_str(const char *name);
uint64_t conf_int(const char *name);
uint64_t conf_time(const char *name);	/* seconds */
uint64_t conf_size(const char *name);	/* bytes */
bool conf_bool(const char *name);
/* Splits a CONF_LIST value into words. Returns a NULL-terminated array of
 * pointers into one allocation; free the array with free(). */
char **conf_list(const char *name);

/* True if main.cf (or conf_set) set name explicitly. */
bool conf_is_set(const char *name);
/* The raw, unexpanded value (explicit or default). */
const char *conf_raw(const char *name);
/* Parameter table entry for name, or NULL. */
const struct conf_param *conf_param_find(const char *name);
/* Checks a value against a type without setting it; 0 or -1. */
int conf_check_value(enum conf_type type, const char *value,
		     const char **error_r);

#endif
