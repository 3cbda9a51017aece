/* imapd: the IMAP server's entry point. It checks the parameters that
 * would make every session fail, opens virtual_mailbox_maps,
 * virtual_mailbox_quota_maps and the TLS context (the key may be readable
 * by root only) before privileges are dropped, and hands each client to
 * the session loop. */
#include "config.h"
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include "conf.h"
#include "log.h"
#include "service.h"
#include "imapd.h"

struct imapd_tables imapd_tables;

static int ms_of(uint64_t seconds)
{
	return seconds > INT_MAX / 1000 ? INT_MAX : (int)(seconds * 1000);
}

/* The hierarchy separator: one octet, "." or "/" (the only two that map
 * onto Maildir++ folder names safely). */
static char separator_of(const char *value)
{
	if (strcmp(value, ".") != 0 && strcmp(value, "/") != 0)
		fatal("imapd_hierarchy_separator = %s: use \".\" or \"/\"",
		      value);
	return value[0];
}

void imapd_params_load(struct imapd_params *p)
{
	const char *queue_dir = conf_str("queue_directory");
	int n;

	memset(p, 0, sizeof(*p));
	p->banner = conf_str("imapd_banner");
	p->mailbox_base = conf_str("virtual_mailbox_base");
	p->recipient_delimiter = conf_str("recipient_delimiter");
	p->timeout_ms = ms_of(conf_time("imapd_timeout"));
	p->tls_timeout_ms = ms_of(conf_time("smtpd_starttls_timeout"));
	p->idle_notify_ms = ms_of(conf_time("imapd_idle_notify_interval"));
	p->wrappermode = conf_bool("imapd_tls_wrappermode");
	p->disable_plaintext_auth = conf_bool("disable_plaintext_auth");
	p->separator = separator_of(conf_str("imapd_hierarchy_separator"));
	p->line_max = (size_t)conf_size("imapd_max_line_length");
	p->append_limit = conf_size("imapd_append_limit");
	p->special_use = conf_str("imapd_special_use");
	p->autocreate_special_use = conf_bool("imapd_autocreate_special_use");
	p->quota_maps = conf_str("virtual_mailbox_quota_maps");
	p->quota_default = conf_size("virtual_mailbox_quota");
	p->metadata_limit = conf_size("imapd_metadata_size_limit");
	n = snprintf(p->auth_socket, sizeof(p->auth_socket), "%s/%s",
		     queue_dir, AUTH_SOCKET);
	if (n < 0 || (size_t)n >= sizeof(p->auth_socket))
		fatal("queue_directory too long: %s", queue_dir);
}

/* Values no session could work with stop the service at start, where
 * the operator sees them, rather than failing every client. */
static void check_params(const struct imapd_params *p)
{
	if (p->line_max < 1024)
		fatal("imapd_max_line_length = %zu: must be at least 1024 "
		      "(RFC 7162 asks clients to allow 8192)", p->line_max);
	if (p->line_max > 64 * 1024 * 1024)
		fatal("imapd_max_line_length = %zu: more than 64m",
		      p->line_max);
	/* APPEND holds a message in memory: a limit is required. */
	if (p->append_limit == 0)
		fatal("imapd_append_limit = 0: set a size (it bounds the "
		      "memory of a session)");
	if (p->append_limit > UINT32_MAX)
		fatal("imapd_append_limit = %llu: more than 4g - 1",
		      (unsigned long long)p->append_limit);
	if (p->timeout_ms <= 0)
		fatal("imapd_timeout must be more than 0");
	if (p->idle_notify_ms <= 0)
		fatal("imapd_idle_notify_interval must be more than 0");
}

static void imapd_pre_jail(void)
{
	struct imapd_params p;
	const char *error;
	int ret;

	imapd_params_load(&p);
	check_params(&p);
	if (maps_open(conf_str("virtual_mailbox_maps"), 0,
		      &imapd_tables.mailbox, &error) < 0)
		fatal("virtual_mailbox_maps: %s", error);
	if (maps_open(conf_str("virtual_mailbox_quota_maps"), 0,
		      &imapd_tables.quota, &error) < 0)
		fatal("virtual_mailbox_quota_maps: %s", error);
	ret = tls_server_new(&imapd_tables.tls, &error);
	if (ret < 0)
		fatal("TLS: %s", error);
	if (ret == 0) {
		imapd_tables.tls = NULL;
		if (p.wrappermode)
			fatal("imapd_tls_wrappermode = yes needs a "
			      "certificate (smtpd_tls_cert_file)");
	}
}

static void imapd_serve(int fd)
{
	struct imapd_params params;

	imapd_params_load(&params);
	imapd_session_run(fd, &params);
}

int main(int argc, char **argv)
{
	static const struct service_def def = {
		.name = "imapd",
		.pre_jail = imapd_pre_jail,
		.serve = imapd_serve,
	};

	service_main(argc, argv, &def);
}
