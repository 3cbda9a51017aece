/* conf: reads main.cf (its lines: conf_file.c) into one "generation" of
 * values, expands $name references (conf_expand.c), checks every value
 * against its type, and serves the typed accessors of conf.h. */
#include "config.h"
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "buf.h"
#include "conf.h"
#include "conf_file.h"
#include "conf_impl.h"
#include "log.h"
#include "mem.h"
#include "str.h"

#ifndef SUREL_SYSCONFDIR
#define SUREL_SYSCONFDIR "/etc/surel"
#endif
#ifndef SUREL_DAEMON_DIR
#define SUREL_DAEMON_DIR "/usr/libexec/surel"
#endif

#define CONF_FILE_MAX (4u << 20)	/* bytes of main.cf */
#define CONF_LINE_MAX (64u << 10)	/* one logical line, continuations joined */
#define CONF_VALUE_MAX (64u << 10)	/* one expanded value */
#define CONF_EXTRA_MAX 512		/* names that are not in the table */
#define CONF_INT_MAX 2147483647u	/* INT and TIME fit an int */
#define CONF_SIZE_MAX 9223372036854775807ull	/* SIZE fits an off_t */
#define CONF_SHOW_MAX 80		/* bytes of a bad value quoted in errors */

struct conf_value {
	char *set;		/* explicit raw value; NULL: the default */
	char *computed;		/* default computed at load (def == NULL) */
	char *expanded;
	uint64_t number;	/* INT, TIME, SIZE, BOOL */
	unsigned line;		/* line of the explicit setting; 0: conf_set */
};

/* A name main.cf sets that the table does not know; kept because other
 * values may refer to it as $name (as Postfix allows). */
struct conf_extra {
	char *name;
	char *value;
	unsigned line;
	bool used;		/* referred to by a known parameter */
};

/* One complete configuration. Pointers handed out stay valid while their
 * generation lives: conf_set keeps the older ones, conf_load frees the
 * generations from before the previous load (see conf.h). */
struct conf_gen {
	struct conf_gen *older;
	char *source;		/* path of main.cf, or the buffer's name */
	char *dir;
	struct conf_value *values;	/* parallel to conf_params */
	struct conf_extra *extras;
	size_t extra_count;
};

static struct conf_gen *conf_cur;	/* newest first, linked by older */
static struct conf_gen *conf_prev;	/* the list before the last load */
static struct buf conf_error;
static size_t conf_count;

static size_t param_count(void)
{
	if (conf_count == 0)
		while (conf_params[conf_count].name != NULL)
			conf_count++;
	return conf_count;
}

/* Index of name[0..len) in the table, or -1. */
static long param_index(const char *name, size_t len)
{
	size_t lo = 0, hi = param_count();

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *p = conf_params[mid].name;
		int cmp = strncmp(name, p, len);
		if (cmp == 0 && p[len] != '\0')
			cmp = -1;
		if (cmp == 0)
			return (long)mid;
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

const struct conf_param *conf_param_find(const char *name)
{
	long i = param_index(name, strlen(name));

	return i < 0 ? NULL : &conf_params[i];
}

/* Sets the message *error_r points to; it lives until the next call. */
static __attribute__((format(printf, 2, 3)))
int conf_fail(const char **error_r, const char *fmt, ...)
{
	va_list ap;
	const char *msg;

	va_start(ap, fmt);
	msg = buf_error_vset(&conf_error, 8192, "configuration error "
			     "(message too long)", fmt, ap);
	va_end(ap);
	if (error_r != NULL)
		*error_r = msg;
	return -1;
}

/* A bounded, escaped copy of an untrusted value for a message. */
static const char *show(char *out, size_t outsize, const char *value)
{
	return log_escape(out, outsize, value, CONF_SHOW_MAX);
}

/* --- values and types -------------------------------------------------- */

static const char *type_name(enum conf_type type)
{
	static const char *const names[] = {
		[CONF_STR] = "string", [CONF_INT] = "integer",
		[CONF_TIME] = "time", [CONF_SIZE] = "size",
		[CONF_BOOL] = "boolean", [CONF_LIST] = "list",
	};
	return names[type];
}

struct unit {
	char c;
	uint64_t factor;
};

static const struct unit time_units[] = {
	{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 },
	{ 'w', 604800 }, { 0, 0 },
};
static const struct unit size_units[] = {
	{ 'k', 1ull << 10 }, { 'K', 1ull << 10 }, { 'm', 1ull << 20 },
	{ 'M', 1ull << 20 }, { 'g', 1ull << 30 }, { 'G', 1ull << 30 },
	{ 0, 0 },
};

/* Digits with an optional one-letter unit from units (NULL: none). */
static int parse_number(const char *s, const struct unit *units,
			uint64_t max, uint64_t *value_r)
{
	char digits[24];
	size_t n = strspn(s, "0123456789");
	uint64_t factor = 1, v;

	if (n == 0 || n >= sizeof(digits))
		return -1;
	if (s[n] != '\0') {
		const struct unit *u = units;
		if (u == NULL || s[n + 1] != '\0')
			return -1;
		while (u->c != 0 && u->c != s[n])
			u++;
		if (u->c == 0)
			return -1;
		factor = u->factor;
	}
	memcpy(digits, s, n);
	digits[n] = '\0';
	if (str_to_u64(digits, &v) < 0 ||
	    __builtin_mul_overflow(v, factor, &v) || v > max)
		return -1;
	*value_r = v;
	return 0;
}

static int check_value(enum conf_type type, const char *value,
		       uint64_t *number_r)
{
	switch (type) {
	case CONF_STR:
	case CONF_LIST:
		*number_r = 0;
		return 0;
	case CONF_INT:
		return parse_number(value, NULL, CONF_INT_MAX, number_r);
	case CONF_TIME:
		return parse_number(value, time_units, CONF_INT_MAX, number_r);
	case CONF_SIZE:
		return parse_number(value, size_units, CONF_SIZE_MAX,
				    number_r);
	case CONF_BOOL:
		if (str_eq_ci(value, "yes"))
			*number_r = 1;
		else if (str_eq_ci(value, "no"))
			*number_r = 0;
		else
			return -1;
		return 0;
	}
	return -1;
}

int conf_check_value(enum conf_type type, const char *value,
		     const char **error_r)
{
	char esc[4 * CONF_SHOW_MAX + 1];
	uint64_t n;

	if (check_value(type, value, &n) == 0)
		return 0;
	return conf_fail(error_r, "bad %s value '%s'", type_name(type),
			 show(esc, sizeof(esc), value));
}

/* --- generations ------------------------------------------------------- */

static struct conf_gen *gen_new(const char *source, const char *dir)
{
	struct conf_gen *g = xcalloc(1, sizeof(*g));

	g->source = xstrdup(source);
	g->dir = xstrdup(dir);
	g->values = xcalloc(param_count(), sizeof(*g->values));
	return g;
}

static void gen_free(struct conf_gen **gp)
{
	struct conf_gen *g = *gp;

	if (g == NULL)
		return;
	for (size_t i = 0; i < param_count(); i++) {
		free(g->values[i].set);
		free(g->values[i].computed);
		free(g->values[i].expanded);
	}
	for (size_t i = 0; i < g->extra_count; i++) {
		free(g->extras[i].name);
		free(g->extras[i].value);
	}
	free(g->extras);
	free(g->values);
	free(g->source);
	free(g->dir);
	xfree(gp);
}

static void gen_free_list(struct conf_gen **gp)
{
	while (*gp != NULL) {
		struct conf_gen *older = (*gp)->older;
		gen_free(gp);
		*gp = older;
	}
}

/* A copy of the explicit settings of g (conf_set changes the copy). */
static struct conf_gen *gen_copy(const struct conf_gen *g)
{
	struct conf_gen *c = gen_new(g->source, g->dir);

	for (size_t i = 0; i < param_count(); i++) {
		if (g->values[i].set != NULL)
			c->values[i].set = xstrdup(g->values[i].set);
		c->values[i].line = g->values[i].line;
	}
	if (g->extra_count > 0)
		c->extras = xcalloc(g->extra_count, sizeof(*c->extras));
	for (size_t i = 0; i < g->extra_count; i++) {
		c->extras[i].name = xstrdup(g->extras[i].name);
		c->extras[i].value = xstrdup(g->extras[i].value);
		c->extras[i].line = g->extras[i].line;
	}
	c->extra_count = g->extra_count;
	return c;
}

static struct conf_extra *extra_find(struct conf_gen *g, const char *name,
				     size_t len)
{
	for (size_t i = 0; i < g->extra_count; i++) {
		if (strncmp(g->extras[i].name, name, len) == 0 &&
		    g->extras[i].name[len] == '\0')
			return &g->extras[i];
	}
	return NULL;
}

/* Sets name (known or not) to value; *old_r gets the earlier explicit
 * value, if any, for the "overriding" warning. */
static int gen_set(struct conf_gen *g, const char *name, const char *value,
		   unsigned line, char **old_r, const char **error_r)
{
	long i = param_index(name, strlen(name));
	char **slot;

	if (i >= 0) {
		slot = &g->values[i].set;
		g->values[i].line = line;
	} else {
		struct conf_extra *e = extra_find(g, name, strlen(name));
		if (e == NULL) {
			if (g->extra_count >= CONF_EXTRA_MAX)
				return conf_fail(error_r, "too many unknown "
						 "parameters");
			g->extras = xreallocarray(g->extras,
						  g->extra_count + 1,
						  sizeof(*g->extras));
			e = &g->extras[g->extra_count++];
			e->name = xstrdup(name);
			e->value = NULL;
			e->used = false;
		}
		e->line = line;
		slot = &e->value;
	}
	*old_r = *slot;
	*slot = xstrdup(value);
	return 0;
}

const char *conf_gen_raw(struct conf_gen *g, const char *name, size_t len)
{
	long i = param_index(name, len);

	if (i >= 0) {
		const struct conf_value *v = &g->values[i];
		if (v->set != NULL)
			return v->set;
		if (conf_params[i].def != NULL)
			return conf_params[i].def;
		return v->computed != NULL ? v->computed : "";
	}
	struct conf_extra *e = extra_find(g, name, len);
	if (e == NULL)
		return NULL;
	e->used = true;
	return e->value;
}

/* --- completing a generation -------------------------------------------- */

static void set_computed(struct conf_gen *g, const char *name,
			 const char *value)
{
	long i = param_index(name, strlen(name));

	ASSERT(i >= 0 && conf_params[i].def == NULL);
	free(g->values[i].computed);
	g->values[i].computed = xstrdup(value);
}

static void compute_hostname(struct conf_gen *g)
{
	char host[256];

	if (gethostname(host, sizeof(host) - 1) < 0 || host[0] == '\0')
		set_computed(g, "myhostname", "localhost");
	else {
		host[sizeof(host) - 1] = '\0';
		set_computed(g, "myhostname", host);
	}
}

/* Fails with a message about parameter i, prefixed with where it was set. */
static __attribute__((format(printf, 4, 5)))
int fail_at(const struct conf_gen *g, size_t i, const char **error_r,
	    const char *fmt, ...)
{
	const struct conf_value *v = &g->values[i];
	const char *name = conf_params[i].name;
	struct buf what;
	va_list ap;
	int ret;

	buf_init(&what, 1024);
	va_start(ap, fmt);
	ret = buf_vprintf(&what, fmt, ap);
	va_end(ap);
	if (ret < 0)
		panic("conf: message too long");
	if (v->set != NULL && v->line > 0)
		conf_fail(error_r, "%s, line %u: %s: %s", g->source, v->line,
			  name, buf_cstr(&what));
	else if (v->set != NULL)
		conf_fail(error_r, "%s: %s", name, buf_cstr(&what));
	else
		conf_fail(error_r, "%s: %s: %s (default value)", g->source,
			  name, buf_cstr(&what));
	buf_deinit(&what);
	return -1;
}

static int expand_param(struct conf_gen *g, size_t i, struct buf *tmp,
			const char **error_r)
{
	const char *raw = conf_gen_raw(g, conf_params[i].name,
				      strlen(conf_params[i].name));
	const char *reason;
	char esc[4 * CONF_SHOW_MAX + 1];
	struct conf_value *v = &g->values[i];

	buf_reset(tmp);
	if (conf_expand(g, raw, strlen(raw), tmp, &reason) < 0)
		return fail_at(g, i, error_r, "%s", reason);
	free(v->expanded);
	v->expanded = xstrdup(buf_cstr(tmp));
	if (check_value(conf_params[i].type, v->expanded, &v->number) < 0)
		return fail_at(g, i, error_r, "bad %s value '%s'",
			       type_name(conf_params[i].type),
			       show(esc, sizeof(esc), v->expanded));
	return 0;
}

/* Computes the defaults that depend on the system, expands and checks
 * every parameter. */
static int gen_finish(struct conf_gen *g, const char **error_r)
{
	struct buf tmp;
	const char *host, *dot;
	long hi = param_index("myhostname", strlen("myhostname"));
	int ret = 0;

	set_computed(g, "config_directory", g->dir);
	set_computed(g, "daemon_directory", SUREL_DAEMON_DIR);
	set_computed(g, "mail_version", PACKAGE_VERSION);
	set_computed(g, "mydomain", "");
	compute_hostname(g);
	buf_init(&tmp, CONF_VALUE_MAX);
	if (expand_param(g, (size_t)hi, &tmp, error_r) < 0) {
		buf_deinit(&tmp);
		return -1;
	}
	host = g->values[hi].expanded;
	dot = strchr(host, '.');
	set_computed(g, "mydomain",
		     dot != NULL && dot[1] != '\0' ? dot + 1 : "localdomain");
	/* What main.cf sets first: an error in it is reported at its line,
	 * not at a default that refers to it ("$mail_name ready."). */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < param_count() && ret == 0; i++)
			if ((g->values[i].set != NULL) == (pass == 0))
				ret = expand_param(g, i, &tmp, error_r);
	buf_deinit(&tmp);
	return ret;
}

/* --- main.cf syntax ---------------------------------------------------- */

static __attribute__((format(printf, 2, 3)))
void conf_warnf(conf_warn_fn *warn, const char *fmt, ...)
{
	struct buf msg;
	va_list ap;
	int ret;

	if (warn == NULL)
		return;
	buf_init(&msg, 8192);
	va_start(ap, fmt);
	ret = buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	if (ret == 0)
		warn(buf_cstr(&msg));
	buf_deinit(&msg);
}

static int parse_logical(struct conf_gen *g, char *line, unsigned lineno,
			 conf_warn_fn *warn, const char **error_r)
{
	char *eq = strchr(line, '='), *name, *value, *old = NULL;
	char esc[4 * CONF_SHOW_MAX + 1];

	if (eq == NULL)
		return conf_fail(error_r, "%s, line %u: missing '=' after "
				 "parameter name", g->source, lineno);
	*eq = '\0';
	name = str_trim(line);
	value = str_trim(eq + 1);
	if (name[0] == '\0' || name[strspn(name, CONF_NAME_CHARS)] != '\0')
		return conf_fail(error_r, "%s, line %u: bad parameter name "
				 "'%s'", g->source, lineno,
				 show(esc, sizeof(esc), name));
	if (gen_set(g, name, value, lineno, &old, error_r) < 0)
		return conf_fail(error_r, "%s, line %u: too many unknown "
				 "parameters", g->source, lineno);
	if (old != NULL)
		conf_warnf(warn, "%s, line %u: overriding earlier entry: "
			   "%s=%s", g->source, lineno, name,
			   show(esc, sizeof(esc), old));
	free(old);
	return 0;
}

/* Parses data's logical lines (conf_file.h says how lines continue). */
static int parse_buffer(struct conf_gen *g, const char *data, size_t len,
			conf_warn_fn *warn, const char **error_r)
{
	struct conf_file_lines lines;
	const char *error = NULL;
	char *line;
	unsigned lineno = 0;
	int ret;

	conf_file_lines_init(&lines, data, len, CONF_LINE_MAX, "parameter");
	while ((ret = conf_file_lines_next(&lines, &line, &lineno,
					   &error)) > 0) {
		if (parse_logical(g, line, lineno, warn, error_r) < 0)
			break;
	}
	conf_file_lines_deinit(&lines);
	if (ret < 0 && lineno > 0)
		conf_fail(error_r, "%s, line %u: %s", g->source, lineno, error);
	else if (ret < 0)
		conf_fail(error_r, "%s: %s", g->source, error);
	/* ret > 0: parse_logical failed and said why. */
	return ret == 0 ? 0 : -1;
}

/* Parses, completes and installs a new generation; on failure the current
 * configuration stays. */
static int load(const char *source, const char *dir, const char *data,
		size_t len, conf_warn_fn *warn, const char **error_r)
{
	struct conf_gen *g = gen_new(source, dir);

	if (len > CONF_FILE_MAX) {
		conf_fail(error_r, "%s: file too large (more than %u bytes)",
			  source, CONF_FILE_MAX);
		gen_free(&g);
		return -1;
	}
	if (parse_buffer(g, data, len, warn, error_r) < 0 ||
	    gen_finish(g, error_r) < 0) {
		gen_free(&g);
		return -1;
	}
	for (size_t i = 0; i < g->extra_count; i++) {
		if (!g->extras[i].used)
			conf_warnf(warn, "%s, line %u: unknown parameter: %s",
				   source, g->extras[i].line,
				   g->extras[i].name);
	}
	gen_free_list(&conf_prev);
	conf_prev = conf_cur;
	conf_cur = g;
	return 0;
}

int conf_load(const char *config_dir, conf_warn_fn *warn,
	      const char **error_r)
{
	struct buf path, data;
	const char *error;
	int ret;

	buf_init(&path, 4096);
	buf_init(&data, CONF_FILE_MAX);
	ret = conf_file_read(config_dir, "main.cf", &path, &data, &error);
	if (ret < 0)
		conf_fail(error_r, "%s", error);
	else
		ret = load(buf_cstr(&path), config_dir, data.data, data.len,
			   warn, error_r);
	buf_deinit(&data);
	buf_deinit(&path);
	return ret;
}

int conf_load_buffer(const char *name, const char *data, size_t len,
		     conf_warn_fn *warn, const char **error_r)
{
	return load(name, SUREL_SYSCONFDIR, data, len, warn, error_r);
}

/* Before any load, the defaults (tools such as surelconf -d need no
 * main.cf). */
static struct conf_gen *current(void)
{
	const char *error;

	if (conf_cur == NULL && conf_load_buffer("defaults", "", 0, NULL,
						 &error) < 0)
		panic("conf: bad default: %s", error);
	return conf_cur;
}

int conf_set(const char *name, const char *value, const char **error_r)
{
	struct conf_gen *g;
	char *old = NULL;
	char esc[4 * CONF_SHOW_MAX + 1];

	if (name[0] == '\0' || name[strspn(name, CONF_NAME_CHARS)] != '\0')
		return conf_fail(error_r, "bad parameter name '%s'",
				 show(esc, sizeof(esc), name));
	if (strlen(value) > CONF_LINE_MAX)
		return conf_fail(error_r, "%s: value too long", name);
	g = gen_copy(current());
	if (gen_set(g, name, value, 0, &old, error_r) < 0 ||
	    gen_finish(g, error_r) < 0) {
		free(old);
		gen_free(&g);
		return -1;
	}
	free(old);
	g->older = conf_cur;
	conf_cur = g;
	return 0;
}

const char *conf_dir(void)
{
	return current()->dir;
}

/* --- accessors --------------------------------------------------------- */

static const struct conf_value *value_of(const char *name,
					 enum conf_type type, bool any)
{
	long i = param_index(name, strlen(name));
	struct conf_gen *g = current();

	if (i < 0)
		panic("conf: unknown parameter %s", name);
	if (!any && conf_params[i].type != type)
		panic("conf: %s is a %s, not a %s", name,
		      type_name(conf_params[i].type), type_name(type));
	return &g->values[i];
}

const char *conf_str(const char *name)
{
	return value_of(name, CONF_STR, true)->expanded;
}

const char *conf_find_str(const char *name)
{
	return conf_param_find(name) != NULL ? conf_str(name) : NULL;
}

uint64_t conf_int(const char *name)
{
	return value_of(name, CONF_INT, false)->number;
}

uint64_t conf_time(const char *name)
{
	return value_of(name, CONF_TIME, false)->number;
}

uint64_t conf_size(const char *name)
{
	return value_of(name, CONF_SIZE, false)->number;
}

bool conf_bool(const char *name)
{
	return value_of(name, CONF_BOOL, false)->number != 0;
}

char **conf_list(const char *name)
{
	static const char sep[] = ", \t\r\n\f\v";
	const char *value = value_of(name, CONF_LIST, false)->expanded;
	size_t words = 0, vlen = strlen(value), head;
	char **list, *copy, *p, *word;

	for (const char *s = value; *s != '\0';) {
		s += strspn(s, sep);
		if (*s != '\0')
			words++;
		s += strcspn(s, sep);
	}
	/* The pointers, then the copy of the text they point into. */
	head = (words + 1) * sizeof(char *);
	list = xmalloc(head + vlen + 1);
	copy = (char *)list + head;
	memcpy(copy, value, vlen + 1);
	p = copy;
	words = 0;
	while ((word = str_next_token(&p, sep)) != NULL)
		list[words++] = word;
	list[words] = NULL;
	return list;
}

bool conf_is_set(const char *name)
{
	struct conf_gen *g = current();
	long i = param_index(name, strlen(name));

	if (i >= 0)
		return g->values[i].set != NULL;
	return extra_find(g, name, strlen(name)) != NULL;
}

const char *conf_raw(const char *name)
{
	struct conf_gen *g = current();
	long i = param_index(name, strlen(name));

	if (i < 0) {
		struct conf_extra *e = extra_find(g, name, strlen(name));
		return e != NULL ? e->value : NULL;
	}
	return conf_gen_raw(g, name, strlen(name));
}
