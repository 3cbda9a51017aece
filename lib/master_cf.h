/* master_cf: master.cf, the list of services master runs.
 *
 * Syntax as Postfix: one service per logical line, a line starting with
 * white space continues the one before, '#' starts a comment line. Columns:
 *
 *   service type private unpriv chroot wakeup maxproc command [args...]
 *
 * "-" in a column means its default. type is "inet" (service is
 * "[host:]port") or "unix" (service is a socket name under
 * queue_directory/private or /public). private, unpriv and chroot are y or
 * n (defaults y, y, n: unlike Postfix, chroot defaults to n). wakeup is
 * seconds, "-" or 0 for none, with a trailing '?' meaning "only once the
 * service was used". maxproc is "-" (default_process_limit) or at least 1
 * (Postfix's 0 = unlimited is refused). command is a program name in
 * daemon_directory (no '/'). In the arguments, "-o name=value" and
 * "-o { name = value with spaces }" are taken out into the overrides; an
 * argument in { } may contain white space (the braces are removed).
 *
 * Limits: file 1 MiB, logical line 16 KiB, 1000 services, 256 arguments
 * per service, names 100 bytes. Errors name the file, line and reason:
 * "/etc/surel/master.cf, line 4: unknown service type 'tcp'". */
#ifndef SUREL_MASTER_CF_H
#define SUREL_MASTER_CF_H
#include <stdbool.h>
#include <stddef.h>

enum master_cf_type {
	MASTER_CF_INET,
	MASTER_CF_UNIX,
};

#define MASTER_CF_MAXPROC_DEFAULT 0	/* "-": default_process_limit */
#define MASTER_CF_MAXPROC_MAX 100000
#define MASTER_CF_WAKEUP_MAX 2147483647u

struct master_cf_override {
	char *name;		/* a parameter name: [A-Za-z0-9_]+ */
	char *value;		/* raw, unexpanded; may be empty */
};

struct master_cf_entry {
	char *service;
	enum master_cf_type type;
	bool private;		/* unix: socket in private/ (else public/);
				 * always false for inet */
	bool unpriv;		/* runs as mail_owner (n: as root) */
	bool chroot;		/* chroot into queue_directory */
	unsigned wakeup;	/* seconds; 0: none */
	bool wakeup_if_used;	/* "300?" */
	unsigned maxproc;	/* MASTER_CF_MAXPROC_DEFAULT or >= 1 */
	char *command;
	char **args;		/* extra arguments, NULL-terminated */
	size_t arg_count;
	struct master_cf_override *overrides;	/* in file order */
	size_t override_count;
	unsigned line;		/* where the entry starts */
};

/* Everything below is owned by the struct; free with master_cf_free(). */
struct master_cf {
	struct master_cf_entry *entries;	/* in file order */
	size_t count;
};

/* Reads config_dir/master.cf. Returns 0 with *cf_r, or -1 with *error_r
 * (valid until the next master_cf call). A missing file is an error. */
int master_cf_load(const char *config_dir, struct master_cf **cf_r,
		   const char **error_r) __attribute__((warn_unused_result));
/* The same from memory (tests, fuzzing); name is used in messages. */
int master_cf_parse(const char *name, const char *data, size_t len,
		    struct master_cf **cf_r, const char **error_r)
	__attribute__((warn_unused_result));
/* Accepts NULL; sets *cf to NULL. */
void master_cf_free(struct master_cf **cf);

/* The entry for service and type, or NULL. */
const struct master_cf_entry *
master_cf_find(const struct master_cf *cf, const char *service,
	       enum master_cf_type type);
/* An inet service may be named "$parameter": its address is that
 * main.cf parameter's value, an absolute path meaning a UNIX socket there,
 * and an empty value turning the service off (metrics_listen). lookup
 * gives a parameter's value, NULL for an unknown name. Returns 1 with
 * *address_r (e's own name when it is not "$..."), 0 when the value is
 * empty, -1 with *error_r (static, naming the line) for an unknown
 * parameter. */
typedef const char *master_cf_lookup_fn(const char *name);
int master_cf_service_address(const struct master_cf_entry *e,
			      master_cf_lookup_fn *lookup,
			      const char **address_r, const char **error_r);
/* "inet" or "unix". */
const char *master_cf_type_name(enum master_cf_type type);

#endif
