/* surel_check: the checks of `surel check` that look past the queue:
 * table files, TLS certificates and keys, open relay. See surel_check.h.
 * Messages name the main.cf line of the parameter, found by reading
 * main.cf's logical lines again (conf keeps values, not lines). */
#include "config.h"
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include "buf.h"
#include "conf.h"
#include "conf_file.h"
#include "master_cf.h"
#include "restrict.h"
#include "surel_check.h"

#define CHECK_MAIN_CF_MAX (4u << 20)	/* conf's own limit */
#define CHECK_LINE_MAX 65536
#define CHECK_MSG_MAX 1024
#define CHECK_WORD_MAX 4096

/* Parameters whose values are tables (type:name words), and the
 * restriction lists, whose type:name words are check_*_access tables. */
static const char *const table_params[] = {
	"auth_user_maps", "body_checks", "dkim_signing_table",
	"header_checks", "mime_header_checks", "nested_header_checks",
	"rbl_reply_maps", "smtp_tls_policy_maps", "smtpd_client_restrictions",
	"smtpd_helo_restrictions", "smtpd_recipient_restrictions",
	"smtpd_relay_restrictions", "smtpd_sender_login_maps",
	"smtpd_sender_restrictions", "transport_maps", "virtual_alias_maps",
	"virtual_mailbox_domains", "virtual_mailbox_maps",
	"virtual_mailbox_quota_maps",
};

/* Table types backed by files: db = the file read is NAME.db, built
 * from NAME by surelmap. */
static const struct table_type {
	const char *prefix;
	int db;
} table_types[] = {
	{ "btree:", 1 }, { "cidr:", 0 }, { "hash:", 1 },
	{ "passwd-file:", 0 }, { "pcre:", 0 }, { "texthash:", 0 },
};

struct where {
	const char *config_dir;
	surel_check_warn_fn *warn;
	int problems;
	/* "master.cf, line N: service S": the problem is in an -o override
	 * of that service, not in main.cf. */
	const char *service;
};

/* "DIR/main.cf, line N: " for name, or "DIR/main.cf: default of ". */
static void where_prefix(const char *config_dir, const char *name,
			 char *out, size_t size)
{
	struct buf path, data;
	struct conf_file_lines l;
	const char *error;
	unsigned found = 0, lineno;
	char *line;

	buf_init(&path, PATH_MAX);
	buf_init(&data, CHECK_MAIN_CF_MAX);
	if (conf_file_read(config_dir, "main.cf", &path, &data, &error) == 0) {
		size_t nlen = strlen(name);
		conf_file_lines_init(&l, data.data, data.len, CHECK_LINE_MAX,
				     "parameter");
		while (conf_file_lines_next(&l, &line, &lineno, &error) == 1) {
			if (strncmp(line, name, nlen) == 0 &&
			    line[nlen + strspn(line + nlen, " \t")] == '=')
				found = lineno;	/* the last one counts */
		}
		conf_file_lines_deinit(&l);
	}
	if (found != 0)
		snprintf(out, size, "%s/main.cf, line %u: %s", config_dir,
			 found, name);
	else
		snprintf(out, size, "%s/main.cf: default of %s", config_dir,
			 name);
	buf_deinit(&path);
	buf_deinit(&data);
}

static void problem(struct where *w, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void problem(struct where *w, const char *name, const char *fmt, ...)
{
	char head[CHECK_MSG_MAX / 2], tail[CHECK_MSG_MAX / 2];
	char msg[CHECK_MSG_MAX + 8];	/* head, ": ", tail */
	va_list ap;

	if (w->service != NULL)
		snprintf(head, sizeof(head), "%s/%s: -o %s", w->config_dir,
			 w->service, name);
	else
		where_prefix(w->config_dir, name, head, sizeof(head));
	va_start(ap, fmt);
	vsnprintf(tail, sizeof(tail), fmt, ap);
	va_end(ap);
	snprintf(msg, sizeof(msg), "%s: %s", head, tail);
	w->warn(msg);
	w->problems++;
}

/* --- table files ---------------------------------------------------------- */

static void check_table_word(struct where *w, const char *name,
			     const char *word)
{
	const struct table_type *t = NULL;
	struct stat src, db;
	char dbpath[CHECK_WORD_MAX + 4];

	for (size_t i = 0; i < sizeof(table_types) / sizeof(*table_types); i++)
		if (strncmp(word, table_types[i].prefix,
			    strlen(table_types[i].prefix)) == 0)
			t = &table_types[i];
	if (t == NULL)
		return;		/* inline:, a domain, a restriction name */
	const char *file = word + strlen(t->prefix);
	if (!t->db) {
		if (access(file, R_OK) < 0)
			problem(w, name, "%s: %s", word, strerror(errno));
		return;
	}
	snprintf(dbpath, sizeof(dbpath), "%s.db", file);
	if (stat(dbpath, &db) < 0 || access(dbpath, R_OK) < 0) {
		problem(w, name, "%s: %s: %s (build it with surelmap %s)",
			word, dbpath, strerror(errno), word);
		return;
	}
	if (stat(file, &src) < 0) {
		problem(w, name, "%s: %s: %s", word, file, strerror(errno));
		return;
	}
	if (src.st_mtim.tv_sec > db.st_mtim.tv_sec ||
	    (src.st_mtim.tv_sec == db.st_mtim.tv_sec &&
	     src.st_mtim.tv_nsec > db.st_mtim.tv_nsec))
		problem(w, name, "%s: %s is older than %s (run surelmap %s)",
			word, dbpath, file, word);
}

/* Splits value into words at commas and white space; "{ ... }" (inline:
 * tables) is skipped whole: it names no file. */
static void check_table_value(struct where *w, const char *name,
			      const char *value)
{
	char word[CHECK_WORD_MAX];
	const char *p = value;

	while (*p != '\0') {
		p += strspn(p, ", \t\r\n");
		if (*p == '\0')
			break;
		size_t len = strcspn(p, ", \t\r\n{");
		if (p[len] == '{') {
			int depth = 0;
			do {
				depth += p[len] == '{' ? 1 : p[len] == '}' ? -1 : 0;
				len++;
			} while (p[len] != '\0' && depth > 0);
			p += len;
			continue;
		}
		if (len < sizeof(word)) {
			memcpy(word, p, len);
			word[len] = '\0';
			check_table_word(w, name, word);
		} else {
			problem(w, name, "a word longer than %d bytes",
				CHECK_WORD_MAX - 1);
		}
		p += len;
	}
}

int surel_check_tables(const char *config_dir, surel_check_warn_fn *warn)
{
	struct where w = { config_dir, warn, 0, NULL };

	for (size_t i = 0; i < sizeof(table_params) / sizeof(*table_params);
	     i++)
		check_table_value(&w, table_params[i],
				  conf_str(table_params[i]));
	return w.problems;
}

/* --- TLS ------------------------------------------------------------------ */

static const char *ssl_reason(void)
{
	unsigned long e = ERR_get_error();
	const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	return r != NULL ? r : "not in PEM format";
}

static void check_tls_pair(struct where *w, const char *cert_param,
			   const char *key_param)
{
	const char *cert_file = conf_str(cert_param);
	const char *key_file = conf_str(key_param);
	X509 *cert = NULL;
	EVP_PKEY *key = NULL;
	FILE *f;

	if (*cert_file == '\0')
		return;
	if ((f = fopen(cert_file, "r")) == NULL) {
		problem(w, cert_param, "%s: %s", cert_file, strerror(errno));
		return;
	}
	cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (cert == NULL) {
		problem(w, cert_param, "%s: no certificate: %s", cert_file,
			ssl_reason());
		return;
	}
	if (X509_cmp_current_time(X509_get0_notAfter(cert)) <= 0)
		problem(w, cert_param, "%s: certificate expired", cert_file);
	if (X509_cmp_current_time(X509_get0_notBefore(cert)) >= 0)
		problem(w, cert_param, "%s: certificate not yet valid",
			cert_file);
	if ((f = fopen(key_file, "r")) == NULL) {
		problem(w, key_param, "%s: %s", key_file, strerror(errno));
	} else {
		key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
		if (key == NULL)
			problem(w, key_param, "%s: no private key: %s",
				key_file, ssl_reason());
		else if (X509_check_private_key(cert, key) != 1)
			problem(w, key_param, "%s: the key does not match "
				"the certificate %s", key_file, cert_file);
		ERR_clear_error();
	}
	EVP_PKEY_free(key);
	X509_free(cert);
}

/* The certificate and key parameters, in pairs. */
static const char *const tls_pairs[][2] = {
	{ "smtpd_tls_cert_file", "smtpd_tls_key_file" },
	{ "smtp_tls_cert_file", "smtp_tls_key_file" },
};

int surel_check_tls(const char *config_dir, surel_check_warn_fn *warn)
{
	struct where w = { config_dir, warn, 0, NULL };

	for (size_t i = 0; i < sizeof(tls_pairs) / sizeof(*tls_pairs); i++)
		check_tls_pair(&w, tls_pairs[i][0], tls_pairs[i][1]);
	return w.problems;
}

/* --- open relay ----------------------------------------------------------- */

/* The relay test looks at restriction names only: tables are not
 * opened (their files are surel_check_tables' concern). */
static char relay_no_table;

static void *relay_table_open(void *ctx, const char *spec,
			      const char **error_r)
{
	(void)ctx;
	(void)spec;
	(void)error_r;
	return &relay_no_table;
}

static void relay_table_close(void *ctx, void *table)
{
	(void)ctx;
	(void)table;
}

/* 1: the current configuration is an open relay; 0 not; -1 a list does
 * not parse (reported). */
static int relay_open_now(struct where *w, const char *service)
{
	const struct restrict_tables tables = { relay_table_open,
						relay_table_close, NULL };
	struct restrict_list *lists[RESTRICT_STAGE_COUNT] = { NULL };
	const char *error;
	int ret = 0;

	for (int i = 0; i < RESTRICT_STAGE_COUNT && ret == 0; i++) {
		const char *name = restrict_stage_parameter(i);
		if (restrict_parse(name, i, conf_str(name), &tables,
				   &lists[i], &error) < 0) {
			problem(w, name, "%s%s%s", service ? service : "",
				service ? ": " : "", error);
			ret = -1;
		}
	}
	if (ret == 0)
		ret = restrict_open_relay((const struct restrict_list *const *)
					  lists) &&
			!conf_bool("smtpd_allow_open_relay");
	for (int i = 0; i < RESTRICT_STAGE_COUNT; i++)
		restrict_list_free(&lists[i]);
	return ret;
}

static void relay_report(struct where *w, const char *service)
{
	problem(w, "smtpd_relay_restrictions", "%s%sopen relay: any client may "
		"send mail to any domain; add reject_unauth_destination "
		"(smtpd refuses to start)", service ? service : "",
		service ? ": " : "");
}

int surel_check_relay(const char *config_dir, surel_check_warn_fn *warn)
{
	struct where w = { config_dir, warn, 0, NULL };
	struct master_cf *cf;
	const char *error;

	int main_open = relay_open_now(&w, NULL);

	if (main_open == 1)
		relay_report(&w, NULL);
	if (master_cf_load(config_dir, &cf, &error) < 0) {
		problem(&w, "master.cf", "%s", error);
		return w.problems;
	}
	/* Each smtpd service with overrides is a configuration of its own;
	 * one that is open only repeats main.cf's problem when main.cf's is
	 * open too, so it is reported only when main.cf's is not. */
	for (size_t i = 0; i < cf->count; i++) {
		const struct master_cf_entry *e = &cf->entries[i];
		char label[CHECK_MSG_MAX / 4];
		bool bad = false;
		if (strcmp(e->command, "smtpd") != 0 || e->override_count == 0)
			continue;
		snprintf(label, sizeof(label), "master.cf, line %u: service %s",
			 e->line, e->service);
		for (size_t j = 0; j < e->override_count && !bad; j++) {
			if (conf_set(e->overrides[j].name,
				     e->overrides[j].value, &error) < 0) {
				char msg[CHECK_MSG_MAX];
				snprintf(msg, sizeof(msg), "%s/%s: %s",
					 config_dir, label, error);
				warn(msg);
				w.problems++;
				bad = true;
			}
		}
		if (!bad && main_open == 0 && relay_open_now(&w, label) == 1)
			relay_report(&w, label);
		if (conf_load(config_dir, NULL, &error) < 0) {
			problem(&w, "main.cf", "%s", error);
			break;
		}
	}
	master_cf_free(&cf);
	return w.problems;
}

/* --- master.cf overrides -------------------------------------------------- */

static bool overrides(const struct master_cf_entry *e, const char *name)
{
	for (size_t j = 0; j < e->override_count; j++)
		if (strcmp(e->overrides[j].name, name) == 0)
			return true;
	return false;
}

/* With e's overrides in force: its table parameters, and each TLS pair
 * of which it sets a file, checked as main.cf's are. A parameter that
 * only main.cf sets was checked there: not again. */
static void check_entry(struct where *w, const struct master_cf_entry *e)
{
	for (size_t i = 0; i < sizeof(table_params) / sizeof(*table_params);
	     i++)
		if (overrides(e, table_params[i]))
			check_table_value(w, table_params[i],
					  conf_str(table_params[i]));
	for (size_t i = 0; i < sizeof(tls_pairs) / sizeof(*tls_pairs); i++)
		if (overrides(e, tls_pairs[i][0]) ||
		    overrides(e, tls_pairs[i][1]))
			check_tls_pair(w, tls_pairs[i][0], tls_pairs[i][1]);
}

int surel_check_overrides(const char *config_dir, surel_check_warn_fn *warn)
{
	struct where w = { config_dir, warn, 0, NULL };
	struct master_cf *cf;
	const char *error;

	if (master_cf_load(config_dir, &cf, &error) < 0)
		return 0;	/* surel_check_relay reports it */
	for (size_t i = 0; i < cf->count; i++) {
		const struct master_cf_entry *e = &cf->entries[i];
		char label[CHECK_MSG_MAX / 4];
		bool bad = false;

		if (e->override_count == 0)
			continue;
		snprintf(label, sizeof(label), "master.cf, line %u: service %s",
			 e->line, e->service);
		w.service = label;
		/* A value conf refuses is reported by surel_check_relay for
		 * smtpd and by master at start for the others. */
		for (size_t j = 0; j < e->override_count && !bad; j++)
			bad = conf_set(e->overrides[j].name,
				       e->overrides[j].value, &error) < 0;
		if (!bad)
			check_entry(&w, e);
		if (conf_load(config_dir, NULL, &error) < 0) {
			w.service = NULL;
			problem(&w, "main.cf", "%s", error);
			break;
		}
	}
	master_cf_free(&cf);
	return w.problems;
}
