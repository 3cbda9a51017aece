/* tls_policy: the parser of one smtp_tls_policy_maps value; see
 * tls_policy.h. Pure: no I/O, no OpenSSL (the protocol and cipher words
 * are checked by name here and applied by lib/tls_client). */
#include "config.h"
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "mem.h"
#include "str.h"
#include "tls_policy.h"

#define POLICY_ERROR_MAX 512
#define LABEL_MAX 63

static struct buf policy_error;

static const char *policy_error_set(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static const char *policy_error_set(const char *fmt, ...)
{
	va_list ap;
	const char *msg;

	va_start(ap, fmt);
	msg = buf_error_vset(&policy_error, POLICY_ERROR_MAX,
			     "invalid TLS policy", fmt, ap);
	va_end(ap);
	return msg;
}

static const char *const level_names[] = {
	[TLS_POLICY_NONE] = "none",
	[TLS_POLICY_MAY] = "may",
	[TLS_POLICY_ENCRYPT] = "encrypt",
	[TLS_POLICY_DANE] = "dane",
	[TLS_POLICY_DANE_ONLY] = "dane-only",
	[TLS_POLICY_FINGERPRINT] = "fingerprint",
	[TLS_POLICY_VERIFY] = "verify",
	[TLS_POLICY_SECURE] = "secure",
};
#define NLEVELS (sizeof(level_names) / sizeof(level_names[0]))

const char *tls_policy_level_name(enum tls_policy_level level)
{
	return (unsigned)level < NLEVELS ? level_names[level] : "unknown";
}

int tls_policy_level_parse(const char *word, enum tls_policy_level *level_r)
{
	for (size_t i = 0; i < NLEVELS; i++) {
		if (str_eq_ci(word, level_names[i])) {
			*level_r = (enum tls_policy_level)i;
			return 0;
		}
	}
	return -1;
}

bool tls_policy_level_supported(enum tls_policy_level level)
{
	return level == TLS_POLICY_NONE || level == TLS_POLICY_MAY ||
	       level == TLS_POLICY_ENCRYPT || level == TLS_POLICY_VERIFY ||
	       level == TLS_POLICY_SECURE;
}

/* --- checks of single words --- */

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

/* A DNS name of letters, digits, '-' and '_' labels (no empty label, none
 * over 63), optionally with one leading '.' when dot_ok. */
static bool dns_name_ok(const char *name, bool dot_ok)
{
	size_t label = 0, len = strlen(name);

	if (dot_ok && name[0] == '.')
		name++;
	if (len == 0 || len > TLS_POLICY_NAME_MAX || *name == '\0')
		return false;
	for (const char *p = name; *p != '\0'; p++) {
		if (*p == '.') {
			if (label == 0 || p[1] == '\0')
				return false;
			label = 0;
		} else if (is_alnum(*p) || *p == '-' || *p == '_') {
			if (++label > LABEL_MAX)
				return false;
		} else {
			return false;
		}
	}
	return true;
}

/* Hex octets, each two digits, optionally ':' between every pair. */
static bool fingerprint_ok(const char *fp)
{
	size_t len = strlen(fp), digits = 0;
	bool colons = strchr(fp, ':') != NULL;

	if (len < 2 || len > TLS_POLICY_NAME_MAX)
		return false;
	for (const char *p = fp; *p != '\0'; p++) {
		if (is_hex(*p)) {
			digits++;
			if (colons && digits > 2)
				return false;
		} else if (*p == ':' && colons && digits == 2 && p[1] != '\0') {
			digits = 0;
		} else {
			return false;
		}
	}
	return digits % 2 == 0;
}

static const char *const protocol_names[] = {
	"SSLv2", "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3",
};

static bool protocol_ok(const char *tok)
{
	if (strncmp(tok, ">=", 2) == 0 || strncmp(tok, "<=", 2) == 0)
		tok += 2;
	else if (tok[0] == '!')
		tok++;
	for (size_t i = 0; i < sizeof(protocol_names) / sizeof(protocol_names[0]);
	     i++)
		if (str_eq_ci(tok, protocol_names[i]))
			return true;
	return false;
}

static bool cipher_word_ok(const char *tok)
{
	if (*tok == '\0')
		return false;
	for (; *tok != '\0'; tok++)
		if (!is_alnum(*tok) && strchr("-_.+", *tok) == NULL)
			return false;
	return true;
}

/* Calls ok on every non-empty item of value separated by sep; at least
 * one item. Returns the first bad item (in a static copy) or NULL. */
static const char *list_check(const char *value, const char *sep,
			      bool (*ok)(const char *))
{
	static char bad[TLS_POLICY_VALUE_MAX + 1];
	char *copy = xstrdup(value), *p = copy, *tok;
	size_t n = 0;
	const char *ret = NULL;

	while (ret == NULL && (tok = str_next_token(&p, sep)) != NULL) {
		n++;
		if (!ok(tok))
			ret = str_copy(bad, sizeof(bad), tok) == 0 ? bad : "?";
	}
	free(copy);
	if (ret == NULL && n == 0)
		ret = "(empty list)";
	return ret;
}

/* --- the attributes --- */

#define LV(x) (1u << TLS_POLICY_##x)
#define ALL_BUT_NONE (~LV(NONE))

struct attr {
	const char *name;
	unsigned levels;	/* bit per level that takes it */
	int (*set)(struct tls_policy *p, const char *value,
		   const char **error_r);
};

static bool match_name_ok(const char *name)
{
	return str_eq_ci(name, "hostname") || str_eq_ci(name, "nexthop") ||
	       str_eq_ci(name, "dot-nexthop") || dns_name_ok(name, true);
}

/* Appends the items of value to *list, lower-cased (DNS names and hex
 * digests compare case-insensitively). */
static int list_append(char ***list, size_t *count, const char *value,
		       const char *sep, const char *what, const char **error_r)
{
	char *copy = xstrdup(value), *p = copy, *tok;
	int ret = 0;

	while ((tok = str_next_token(&p, sep)) != NULL) {
		if (*count == TLS_POLICY_NAMES_MAX) {
			*error_r = policy_error_set("more than %d %s values",
						    TLS_POLICY_NAMES_MAX, what);
			ret = -1;
			break;
		}
		*list = xreallocarray(*list, *count + 1, sizeof(**list));
		(*list)[*count] = xstrdup(tok);
		str_lower((*list)[(*count)++]);
	}
	free(copy);
	return ret;
}

static int set_match(struct tls_policy *p, const char *value,
		     const char **error_r)
{
	bool fp = p->level == TLS_POLICY_FINGERPRINT;
	const char *sep = fp ? "|" : ":";
	const char *bad = list_check(value, sep, fp ? fingerprint_ok
						    : match_name_ok);

	if (bad != NULL) {
		*error_r = policy_error_set("match=%.100s: invalid %s "
					    "'%.100s'", value,
					    fp ? "fingerprint" : "name", bad);
		return -1;
	}
	return list_append(&p->match, &p->match_count, value, sep, "match",
			   error_r);
}

static int set_tafile(struct tls_policy *p, const char *value,
		      const char **error_r)
{
	if (value[0] != '/') {
		*error_r = policy_error_set("tafile=%.100s: not an absolute path",
					    value);
		return -1;
	}
	if (p->tafile_count == TLS_POLICY_NAMES_MAX) {
		*error_r = policy_error_set("more than %d tafile values",
					    TLS_POLICY_NAMES_MAX);
		return -1;
	}
	p->tafile = xreallocarray(p->tafile, p->tafile_count + 1,
				  sizeof(*p->tafile));
	p->tafile[p->tafile_count++] = xstrdup(value);
	return 0;
}

/* A single-valued attribute: given twice is an error. */
static int set_once(char **field, const char *name, const char *value,
		    const char **error_r)
{
	if (*field != NULL) {
		*error_r = policy_error_set("%s given more than once", name);
		return -1;
	}
	*field = xstrdup(value);
	return 0;
}

static int set_protocols(struct tls_policy *p, const char *value,
			 const char **error_r)
{
	const char *bad = list_check(value, ":", protocol_ok);

	if (bad != NULL) {
		*error_r = policy_error_set("protocols=%.100s: unknown protocol "
					    "'%.100s'", value, bad);
		return -1;
	}
	return set_once(&p->protocols, "protocols", value, error_r);
}

static const char *const grades[] = { "export", "low", "medium", "high",
				      "null" };

static int set_ciphers(struct tls_policy *p, const char *value,
		       const char **error_r)
{
	for (size_t i = 0; i < sizeof(grades) / sizeof(grades[0]); i++) {
		if (str_eq_ci(value, grades[i]))
			return set_once(&p->ciphers, "ciphers", grades[i],
					error_r);
	}
	*error_r = policy_error_set("ciphers=%.100s: not a cipher grade (export, "
				    "low, medium, high, null)", value);
	return -1;
}

static int set_exclude(struct tls_policy *p, const char *value,
		       const char **error_r)
{
	const char *bad = list_check(value, ":", cipher_word_ok);

	if (bad != NULL) {
		*error_r = policy_error_set("exclude=%.100s: invalid cipher '%.100s'",
					    value, bad);
		return -1;
	}
	return set_once(&p->exclude, "exclude", value, error_r);
}

static int set_reuse(struct tls_policy *p, const char *value,
		     const char **error_r)
{
	if (p->connection_reuse >= 0) {
		*error_r = "connection_reuse given more than once";
		return -1;
	}
	if (str_eq_ci(value, "yes") || str_eq_ci(value, "no")) {
		p->connection_reuse = str_eq_ci(value, "yes");
		return 0;
	}
	*error_r = policy_error_set("connection_reuse=%.100s: not yes or no",
				    value);
	return -1;
}

static int set_servername(struct tls_policy *p, const char *value,
			  const char **error_r)
{
	if (!str_eq_ci(value, "hostname") && !dns_name_ok(value, false)) {
		*error_r = policy_error_set("servername=%.100s: not a DNS name",
					    value);
		return -1;
	}
	if (set_once(&p->servername, "servername", value, error_r) < 0)
		return -1;
	str_lower(p->servername);
	return 0;
}

static const struct attr attrs[] = {
	{ "match", LV(FINGERPRINT) | LV(VERIFY) | LV(SECURE), set_match },
	{ "protocols", ALL_BUT_NONE, set_protocols },
	{ "ciphers", ALL_BUT_NONE, set_ciphers },
	{ "exclude", ALL_BUT_NONE, set_exclude },
	{ "tafile", LV(VERIFY) | LV(SECURE), set_tafile },
	{ "connection_reuse", ALL_BUT_NONE, set_reuse },
	{ "servername", ALL_BUT_NONE, set_servername },
};

/* One "name=value" word. */
static int parse_attr(struct tls_policy *p, char *word, const char **error_r)
{
	char *eq = strchr(word, '=');

	if (eq == NULL || eq == word) {
		*error_r = policy_error_set("'%.100s': not a name=value "
					    "attribute", word);
		return -1;
	}
	*eq = '\0';
	const char *value = eq + 1;
	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		if (!str_eq_ci(word, attrs[i].name))
			continue;
		if ((attrs[i].levels & (1u << p->level)) == 0) {
			*error_r = policy_error_set("attribute %s is not "
						    "valid at level %s",
						    attrs[i].name,
						    level_names[p->level]);
			return -1;
		}
		if (*value == '\0') {
			*error_r = policy_error_set("attribute %s: empty "
						    "value", attrs[i].name);
			return -1;
		}
		return attrs[i].set(p, value, error_r);
	}
	*error_r = policy_error_set("unknown attribute '%.100s'", word);
	return -1;
}

static int parse_words(struct tls_policy *p, char *text, const char **error_r)
{
	static const char seps[] = " \t,";
	char *word = str_next_token(&text, seps);

	if (word == NULL) {
		*error_r = "empty TLS policy";
		return -1;
	}
	if (tls_policy_level_parse(word, &p->level) < 0) {
		*error_r = policy_error_set("unknown TLS security level '%.100s'",
					    word);
		return -1;
	}
	p->supported = tls_policy_level_supported(p->level);
	while ((word = str_next_token(&text, seps)) != NULL) {
		if (parse_attr(p, word, error_r) < 0)
			return -1;
	}
	return 0;
}

int tls_policy_parse(const char *value, struct tls_policy *policy_r,
		     const char **error_r)
{
	size_t len = strnlen(value, TLS_POLICY_VALUE_MAX + 1);

	memset(policy_r, 0, sizeof(*policy_r));
	policy_r->connection_reuse = -1;
	if (len > TLS_POLICY_VALUE_MAX) {
		*error_r = policy_error_set("TLS policy longer than %d octets",
					    TLS_POLICY_VALUE_MAX);
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)value[i];
		if ((c < 0x20 && c != '\t') || c >= 0x7f) {
			*error_r = policy_error_set("TLS policy with a control "
						    "or non-ASCII octet at "
						    "offset %zu", i);
			return -1;
		}
	}
	char *copy = xstrdup(value);
	int ret = parse_words(policy_r, copy, error_r);
	free(copy);
	if (ret < 0) {
		tls_policy_deinit(policy_r);
		return -1;
	}
	return 0;
}

static void free_list(char ***list, size_t *count)
{
	for (size_t i = 0; i < *count; i++)
		free((*list)[i]);
	free(*list);
	*list = NULL;
	*count = 0;
}

void tls_policy_deinit(struct tls_policy *policy)
{
	free_list(&policy->match, &policy->match_count);
	free_list(&policy->tafile, &policy->tafile_count);
	free(policy->protocols);
	free(policy->ciphers);
	free(policy->exclude);
	free(policy->servername);
	memset(policy, 0, sizeof(*policy));
	policy->connection_reuse = -1;
}
