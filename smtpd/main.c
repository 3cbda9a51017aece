/* smtpd: the SMTP server's entry point. It opens the lookup tables before
 * privileges are dropped and hands each client to the session loop. */
#include "config.h"
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include "auth_client.h"
#include "buf.h"
#include "conf.h"
#include "log.h"
#include "service.h"
#include "smtpd.h"

struct smtpd_tables smtpd_tables;

static int ms_of(uint64_t seconds)
{
	return seconds > INT_MAX / 1000 ? INT_MAX : (int)(seconds * 1000);
}

void smtpd_params_load(struct smtpd_params *p)
{
	const char *bare = conf_str("smtpd_forbid_bare_newline");

	memset(p, 0, sizeof(*p));
	p->banner = conf_str("smtpd_banner");
	p->myhostname = conf_str("myhostname");
	p->myorigin = conf_str("myorigin");
	p->mail_name = conf_str("mail_name");
	p->queue_directory = conf_str("queue_directory");
	p->recipient_delimiter = conf_str("recipient_delimiter");
	p->message_size_limit = conf_size("message_size_limit");
	p->recipient_limit = conf_int("smtpd_recipient_limit");
	p->line_length_limit = conf_int("line_length_limit");
	if (p->line_length_limit < 512)
		p->line_length_limit = 512;	/* RFC 5321 4.5.3.1.4 */
	p->header_size_limit = conf_size("header_size_limit");
	p->hard_error_limit = conf_int("smtpd_hard_error_limit");
	p->soft_error_limit = conf_int("smtpd_soft_error_limit");
	p->error_sleep_ms = ms_of(conf_time("smtpd_error_sleep_time"));
	p->timeout_ms = ms_of(conf_time("smtpd_timeout"));
	p->data_timeout_ms = ms_of(conf_time("smtpd_data_timeout"));
	p->pregreet_wait_ms = ms_of(conf_time("smtpd_pregreet_wait"));
	p->allow_bare_lf = strcmp(bare, "no") == 0;
	if (!p->allow_bare_lf && strcmp(bare, "normal") != 0 &&
	    strcmp(bare, "yes") != 0)
		log_warn("smtpd_forbid_bare_newline = %s: unknown value, "
			 "using \"normal\"", bare);
	p->vrfy_enabled = !conf_bool("disable_vrfy_command");
	p->smtputf8 = conf_bool("smtputf8_enable");
	p->sasl_enable = conf_bool("smtpd_sasl_auth_enable");
	p->tls_auth_only = conf_bool("smtpd_tls_auth_only");
	int n = snprintf(p->auth_socket, sizeof(p->auth_socket), "%s/%s",
			 p->queue_directory, AUTH_SOCKET);
	if (n < 0 || (size_t)n >= sizeof(p->auth_socket))
		fatal("queue_directory too long");
}

static struct maps *open_maps(const char *name, const char *spec)
{
	struct maps *maps;
	const char *error;

	if (maps_open(spec, 0, &maps, &error) < 0)
		fatal("%s: %s", name, error);
	return maps;
}

/* virtual_mailbox_domains and mynetworks: who may send where (relay
 * control, smtpd_rcpt.c). */
static void open_relay_tables(void)
{
	char **words = conf_list("virtual_mailbox_domains");
	const char *error;

	if (local_domains_open(words, &smtpd_tables.domains, &error) < 0)
		fatal("virtual_mailbox_domains: %s", error);
	free(words);
	words = conf_list("mynetworks");
	if (netmatch_parse(words, &smtpd_tables.mynetworks, &error) < 0)
		fatal("mynetworks: %s", error);
	free(words);
}

static void smtpd_pre_jail(void)
{
	smtpd_tables.alias = open_maps("virtual_alias_maps",
				       conf_str("virtual_alias_maps"));
	smtpd_tables.mailbox = open_maps("virtual_mailbox_maps",
					 conf_str("virtual_mailbox_maps"));
	open_relay_tables();
	smtpd_policy_init();
	smtpd_spf_init();
	smtpd_anvil_init();
	smtpd_dmarc_init();
	smtpd_checks_init();
	smtpd_tls_init();
}

static void smtpd_serve(int fd)
{
	struct smtpd_params params;

	smtpd_params_load(&params);
	smtpd_session_run(fd, &params);
}

int main(int argc, char **argv)
{
	static const struct service_def def = {
		.name = "smtpd",
		.pre_jail = smtpd_pre_jail,
		.serve = smtpd_serve,
	};

	service_main(argc, argv, &def);
}
