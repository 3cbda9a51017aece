/* master_cf: parses master.cf into a list of service entries (see
 * master_cf.h for the syntax and the limits). */
#include "config.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "conf_file.h"
#include "log.h"
#include "master_cf.h"
#include "mem.h"
#include "str.h"

#define MCF_FILE_MAX (1u << 20)
#define MCF_LINE_MAX (16u << 10)
#define MCF_ENTRIES_MAX 1000
#define MCF_ARGS_MAX 256
#define MCF_TOKENS_MAX (8 + 3 * MCF_ARGS_MAX)	/* args and -o pairs */
#define MCF_NAME_MAX 100
#define MCF_SHOW_MAX 60
#define MCF_ERROR_MAX (4096 + 1024)	/* a message; paths are < 4096 */
#define WHITE " \t\r\f\v"
#define PARAM_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" \
	"0123456789_"
#define FILE_CHARS PARAM_CHARS ".-"
#define INET_CHARS FILE_CHARS ":[]"

/* Where we are, for messages. */
struct mcf_ctx {
	const char *source;	/* NULL: the message names the file */
	unsigned line;
	const char **error_r;
};

static struct buf mcf_error;

static const struct {
	const char *name;
	enum master_cf_type type;
} mcf_types[] = {
	{ "inet", MASTER_CF_INET },
	{ "unix", MASTER_CF_UNIX },
};

const char *master_cf_type_name(enum master_cf_type type)
{
	for (size_t i = 0; i < sizeof(mcf_types) / sizeof(mcf_types[0]); i++)
		if (mcf_types[i].type == type)
			return mcf_types[i].name;
	return "unknown";
}

static __attribute__((format(printf, 2, 3)))
int mcf_fail(const struct mcf_ctx *c, const char *fmt, ...)
{
	static const char fallback[] = "master.cf error (message too long)";
	struct buf what;
	va_list ap;
	const char *msg;

	buf_init(&what, MCF_ERROR_MAX);
	va_start(ap, fmt);
	if (buf_vprintf(&what, fmt, ap) < 0)
		msg = buf_error_set(&mcf_error, MCF_ERROR_MAX, "%s", fallback);
	else if (c->source == NULL)
		msg = buf_error_set(&mcf_error, MCF_ERROR_MAX, fallback, "%s",
				    buf_cstr(&what));
	else if (c->line > 0)
		msg = buf_error_set(&mcf_error, MCF_ERROR_MAX, fallback,
				    "%s, line %u: %s", c->source, c->line,
				    buf_cstr(&what));
	else
		msg = buf_error_set(&mcf_error, MCF_ERROR_MAX, fallback,
				    "%s: %s", c->source, buf_cstr(&what));
	va_end(ap);
	buf_deinit(&what);
	*c->error_r = msg;
	return -1;
}

/* A bounded, escaped copy of untrusted text for a message. */
static const char *show(char *out, size_t outsize, const char *s)
{
	return log_escape(out, outsize, s, MCF_SHOW_MAX);
}

static bool name_ok(const char *s, const char *allowed)
{
	size_t len = strlen(s);

	return len > 0 && len <= MCF_NAME_MAX && s[0] != '.' &&
		s[strspn(s, allowed)] == '\0';
}

/* --- fields ----------------------------------------------------------- */

static int parse_flag(const struct mcf_ctx *c, const char *column,
		      const char *s, bool def, bool *value_r)
{
	char esc[4 * MCF_SHOW_MAX + 1];

	if (strcmp(s, "-") == 0)
		*value_r = def;
	else if (strcmp(s, "y") == 0)
		*value_r = true;
	else if (strcmp(s, "n") == 0)
		*value_r = false;
	else
		return mcf_fail(c, "bad %s field '%s' (expected y, n or -)",
				column, show(esc, sizeof(esc), s));
	return 0;
}

static int parse_uint(const char *s, unsigned max, unsigned *value_r)
{
	uint64_t v;

	if (str_to_u64(s, &v) < 0 || v > max)
		return -1;
	*value_r = (unsigned)v;
	return 0;
}

static int parse_wakeup(const struct mcf_ctx *c, const char *s,
			struct master_cf_entry *e)
{
	char digits[16], esc[4 * MCF_SHOW_MAX + 1];
	size_t len = strlen(s);

	e->wakeup = 0;
	e->wakeup_if_used = false;
	if (strcmp(s, "-") == 0)
		return 0;
	if (len > 1 && s[len - 1] == '?') {
		e->wakeup_if_used = true;
		len--;
	}
	if (len >= sizeof(digits))
		goto bad;
	memcpy(digits, s, len);
	digits[len] = '\0';
	if (parse_uint(digits, MASTER_CF_WAKEUP_MAX, &e->wakeup) < 0)
		goto bad;
	return 0;
bad:
	return mcf_fail(c, "bad wakeup time '%s'", show(esc, sizeof(esc), s));
}

static int parse_maxproc(const struct mcf_ctx *c, const char *s,
			 struct master_cf_entry *e)
{
	char esc[4 * MCF_SHOW_MAX + 1];

	if (strcmp(s, "-") == 0) {
		e->maxproc = MASTER_CF_MAXPROC_DEFAULT;
		return 0;
	}
	if (parse_uint(s, MASTER_CF_MAXPROC_MAX, &e->maxproc) < 0 ||
	    e->maxproc == 0)
		return mcf_fail(c, "bad maxproc '%s' (expected - or 1 to %u)",
				show(esc, sizeof(esc), s),
				MASTER_CF_MAXPROC_MAX);
	return 0;
}

static int parse_type(const struct mcf_ctx *c, const char *s,
		      struct master_cf_entry *e)
{
	char esc[4 * MCF_SHOW_MAX + 1];

	for (size_t i = 0; i < sizeof(mcf_types) / sizeof(mcf_types[0]); i++) {
		if (strcmp(s, mcf_types[i].name) == 0) {
			e->type = mcf_types[i].type;
			return 0;
		}
	}
	return mcf_fail(c, "unknown service type '%s'",
			show(esc, sizeof(esc), s));
}

/* -o name=value, the text after -o (braces already removed). */
static int parse_override(const struct mcf_ctx *c, const char *s,
			  struct master_cf_entry *e)
{
	char esc[4 * MCF_SHOW_MAX + 1];
	const char *eq = strchr(s, '=');
	struct master_cf_override *o;
	char *name, *value;

	if (eq == NULL)
		return mcf_fail(c, "bad -o '%s' (expected name=value)",
				show(esc, sizeof(esc), s));
	if (e->override_count >= MCF_ARGS_MAX)
		return mcf_fail(c, "too many -o options (more than %u)",
				MCF_ARGS_MAX);
	name = xstrndup(s, (size_t)(eq - s));
	value = xstrdup(eq + 1);
	if (!name_ok(str_trim(name), PARAM_CHARS)) {
		mcf_fail(c, "bad parameter name in -o '%s'",
			 show(esc, sizeof(esc), s));
		free(name);
		free(value);
		return -1;
	}
	e->overrides = xreallocarray(e->overrides, e->override_count + 1,
				     sizeof(*e->overrides));
	o = &e->overrides[e->override_count++];
	o->name = xstrdup(str_trim(name));
	o->value = xstrdup(str_trim(value));
	free(name);
	free(value);
	return 0;
}

/* --- tokens and entries ------------------------------------------------- */

struct tokens {
	char *v[MCF_TOKENS_MAX];
	bool braced[MCF_TOKENS_MAX];
	size_t n;
};

/* Splits line in place at white space; "{ text }" is one token, text
 * trimmed. */
static int tokenize(const struct mcf_ctx *c, char *line, struct tokens *t)
{
	char *p = line;

	t->n = 0;
	for (;;) {
		p += strspn(p, WHITE);
		if (*p == '\0')
			return 0;
		if (t->n >= MCF_TOKENS_MAX)
			return mcf_fail(c, "too many arguments");
		t->braced[t->n] = *p == '{';
		if (*p == '{') {
			size_t level = 0;
			char *q = p;
			for (; *q != '\0'; q++) {
				if (*q == '{')
					level++;
				else if (*q == '}' && --level == 0)
					break;
			}
			if (*q == '\0')
				return mcf_fail(c, "missing '}'");
			*q++ = '\0';
			if (*q != '\0' && strchr(WHITE, *q) == NULL)
				return mcf_fail(c, "text after '}'");
			t->v[t->n++] = str_trim(p + 1);
			p = q;
			continue;
		}
		t->v[t->n++] = p;
		p += strcspn(p, WHITE);
		if (*p != '\0')
			*p++ = '\0';
	}
}

static int parse_args(const struct mcf_ctx *c, const struct tokens *t,
		      struct master_cf_entry *e)
{
	size_t count = 0;

	e->args = xcalloc(t->n - 8 + 1, sizeof(char *));
	for (size_t i = 8; i < t->n; i++) {
		const char *a = t->v[i];
		if (!t->braced[i] && strcmp(a, "-o") == 0) {
			if (++i == t->n)
				return mcf_fail(c, "-o without name=value");
			if (parse_override(c, t->v[i], e) < 0)
				return -1;
		} else if (!t->braced[i] && strncmp(a, "-o", 2) == 0) {
			if (parse_override(c, a + 2, e) < 0)
				return -1;
		} else {
			if (count >= MCF_ARGS_MAX)
				return mcf_fail(c, "too many arguments (more "
						"than %u)", MCF_ARGS_MAX);
			e->args[count++] = xstrdup(a);
		}
	}
	e->arg_count = count;
	return 0;
}

static void entry_deinit(struct master_cf_entry *e)
{
	free(e->service);
	free(e->command);
	for (size_t i = 0; e->args != NULL && e->args[i] != NULL; i++)
		free(e->args[i]);
	free(e->args);
	for (size_t i = 0; i < e->override_count; i++) {
		free(e->overrides[i].name);
		free(e->overrides[i].value);
	}
	free(e->overrides);
	memset(e, 0, sizeof(*e));
}

static int check_names(const struct mcf_ctx *c, const struct tokens *t,
		       const struct master_cf_entry *e)
{
	char esc[4 * MCF_SHOW_MAX + 1];

	bool param = e->type == MASTER_CF_INET && t->v[0][0] == '$';
	if (t->braced[0] ||
	    !name_ok(t->v[0] + param, param ? PARAM_CHARS :
			   e->type == MASTER_CF_INET ? INET_CHARS : FILE_CHARS))
		return mcf_fail(c, "bad service name '%s'",
				show(esc, sizeof(esc), t->v[0]));
	if (t->braced[7] || !name_ok(t->v[7], FILE_CHARS))
		return mcf_fail(c, "bad command name '%s'",
				show(esc, sizeof(esc), t->v[7]));
	return 0;
}

static int parse_entry(const struct mcf_ctx *c, struct master_cf *cf,
		       char *line)
{
	struct tokens *t = xmalloc(sizeof(*t));
	struct master_cf_entry e = { 0 };
	int ret = -1;

	if (tokenize(c, line, t) < 0)
		goto out;
	if (t->n < 8) {
		mcf_fail(c, t->n < 2 ? "missing service type" :
			 "missing command");
		goto out;
	}
	for (size_t i = 1; i < 7; i++) {
		if (t->braced[i]) {
			mcf_fail(c, "braces in column %zu", i + 1);
			goto out;
		}
	}
	if (parse_type(c, t->v[1], &e) < 0 || check_names(c, t, &e) < 0 ||
	    parse_flag(c, "private", t->v[2], e.type == MASTER_CF_UNIX,
		       &e.private) < 0 ||
	    parse_flag(c, "unpriv", t->v[3], true, &e.unpriv) < 0 ||
	    parse_flag(c, "chroot", t->v[4], false, &e.chroot) < 0 ||
	    parse_wakeup(c, t->v[5], &e) < 0 ||
	    parse_maxproc(c, t->v[6], &e) < 0 || parse_args(c, t, &e) < 0)
		goto out;
	if (e.type == MASTER_CF_INET && e.private) {
		mcf_fail(c, "an inet service cannot be private");
		goto out;
	}
	/* Nothing network-facing runs as root, whatever the operator asks. */
	if (e.type == MASTER_CF_INET && !e.unpriv) {
		mcf_fail(c, "an inet service must run unprivileged (unpriv y)");
		goto out;
	}
	const struct master_cf_entry *dup = master_cf_find(cf, t->v[0],
							   e.type);
	if (dup != NULL) {
		char esc[4 * MCF_SHOW_MAX + 1];
		mcf_fail(c, "duplicate service '%s' type %s (first at line "
			 "%u)", show(esc, sizeof(esc), t->v[0]),
			 master_cf_type_name(e.type), dup->line);
		goto out;
	}
	if (cf->count >= MCF_ENTRIES_MAX) {
		mcf_fail(c, "too many services (more than %u)",
			 MCF_ENTRIES_MAX);
		goto out;
	}
	e.service = xstrdup(t->v[0]);
	e.command = xstrdup(t->v[7]);
	e.line = c->line;
	cf->entries = xreallocarray(cf->entries, cf->count + 1,
				    sizeof(*cf->entries));
	cf->entries[cf->count++] = e;
	memset(&e, 0, sizeof(e));
	ret = 0;
out:
	entry_deinit(&e);
	free(t);
	return ret;
}

/* --- logical lines and files -------------------------------------------- */

/* The logical lines (conf_file.h), one service each. */
static int parse_lines(struct mcf_ctx *c, struct master_cf *cf,
		       const char *data, size_t len)
{
	struct conf_file_lines lines;
	const char *error = NULL;
	char *line;
	int ret;

	conf_file_lines_init(&lines, data, len, MCF_LINE_MAX, "service");
	c->line = 0;
	while ((ret = conf_file_lines_next(&lines, &line, &c->line,
					   &error)) > 0) {
		if (parse_entry(c, cf, line) < 0)
			break;
	}
	conf_file_lines_deinit(&lines);
	if (ret < 0)
		mcf_fail(c, "%s", error);
	/* ret > 0: parse_entry failed and said why. */
	return ret == 0 ? 0 : -1;
}

int master_cf_parse(const char *name, const char *data, size_t len,
		    struct master_cf **cf_r, const char **error_r)
{
	struct mcf_ctx c = { name, 0, error_r };
	struct master_cf *cf;

	*cf_r = NULL;
	if (len > MCF_FILE_MAX)
		return mcf_fail(&c, "file too large (more than %u bytes)",
				MCF_FILE_MAX);
	cf = xcalloc(1, sizeof(*cf));
	if (parse_lines(&c, cf, data, len) < 0) {
		master_cf_free(&cf);
		return -1;
	}
	*cf_r = cf;
	return 0;
}

int master_cf_load(const char *config_dir, struct master_cf **cf_r,
		   const char **error_r)
{
	struct buf path, data;
	struct mcf_ctx c = { NULL, 0, error_r };
	const char *error;
	int ret;

	*cf_r = NULL;
	buf_init(&path, 4096);
	buf_init(&data, MCF_FILE_MAX);
	ret = conf_file_read(config_dir, "master.cf", &path, &data, &error);
	if (ret < 0)
		mcf_fail(&c, "%s", error);
	else
		ret = master_cf_parse(buf_cstr(&path), data.data, data.len,
				      cf_r, error_r);
	buf_deinit(&data);
	buf_deinit(&path);
	return ret;
}

void master_cf_free(struct master_cf **cfp)
{
	struct master_cf *cf = *cfp;

	if (cf == NULL)
		return;
	for (size_t i = 0; i < cf->count; i++)
		entry_deinit(&cf->entries[i]);
	free(cf->entries);
	xfree(cfp);
}

const struct master_cf_entry *
master_cf_find(const struct master_cf *cf, const char *service,
	       enum master_cf_type type)
{
	for (size_t i = 0; i < cf->count; i++) {
		if (cf->entries[i].type == type &&
		    strcmp(cf->entries[i].service, service) == 0)
			return &cf->entries[i];
	}
	return NULL;
}

int master_cf_service_address(const struct master_cf_entry *e,
			      master_cf_lookup_fn *lookup,
			      const char **address_r, const char **error_r)
{
	static char error[160];

	*address_r = e->service;
	if (e->type != MASTER_CF_INET || e->service[0] != '$')
		return 1;
	const char *value = lookup(e->service + 1);
	if (value == NULL) {
		snprintf(error, sizeof(error), "master.cf, line %u: unknown "
			 "parameter %s", e->line, e->service);
		*error_r = error;
		return -1;
	}
	*address_r = value;
	return value[0] != '\0';
}
