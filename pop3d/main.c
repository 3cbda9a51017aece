/* pop3d: the POP3 server's entry point. It checks the UIDL format, opens
 * virtual_mailbox_maps and the TLS context (the key may be readable by
 * root only) before privileges are dropped, and hands each client to the
 * session loop. */
#include "config.h"
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include "conf.h"
#include "log.h"
#include "service.h"
#include "pop3d.h"

struct pop3d_tables pop3d_tables;

static int ms_of(uint64_t seconds)
{
	return seconds > INT_MAX / 1000 ? INT_MAX : (int)(seconds * 1000);
}

void pop3d_params_load(struct pop3d_params *p)
{
	const char *queue_dir = conf_str("queue_directory");
	int n;

	memset(p, 0, sizeof(*p));
	p->banner = conf_str("pop3d_banner");
	p->mailbox_base = conf_str("virtual_mailbox_base");
	p->recipient_delimiter = conf_str("recipient_delimiter");
	p->uidl_format = conf_str("pop3d_uidl_format");
	p->timeout_ms = ms_of(conf_time("pop3d_timeout"));
	p->tls_timeout_ms = ms_of(conf_time("smtpd_starttls_timeout"));
	p->wrappermode = conf_bool("pop3d_tls_wrappermode");
	p->disable_plaintext_auth = conf_bool("disable_plaintext_auth");
	n = snprintf(p->auth_socket, sizeof(p->auth_socket), "%s/%s",
		     queue_dir, AUTH_SOCKET);
	if (n < 0 || (size_t)n >= sizeof(p->auth_socket))
		fatal("queue_directory too long: %s", queue_dir);
}

/* A format that is not unique per message, or gives ids a client cannot
 * take, would make every client download everything again: refuse to
 * start rather than serve such ids. */
static void check_uidl_format(const char *fmt)
{
	char a[POP3D_UIDL_MAX + 1], b[POP3D_UIDL_MAX + 1];

	if (pop3d_uidl_format(fmt, 1, 1, a) < 0 ||
	    pop3d_uidl_format(fmt, 4294967295u, 4294967295u, b) < 0)
		fatal("pop3d_uidl_format = %s: invalid (use %%u, %%v with "
		      "optional width and X; ids are 1..70 printable "
		      "characters)", fmt);
	if (pop3d_uidl_format(fmt, 2, 1, b) < 0 || strcmp(a, b) == 0)
		fatal("pop3d_uidl_format = %s: does not contain %%u, so ids "
		      "are not unique", fmt);
}

static void pop3d_pre_jail(void)
{
	const char *error;
	int ret;

	check_uidl_format(conf_str("pop3d_uidl_format"));
	if (maps_open(conf_str("virtual_mailbox_maps"), 0,
		      &pop3d_tables.mailbox, &error) < 0)
		fatal("virtual_mailbox_maps: %s", error);
	ret = tls_server_new(&pop3d_tables.tls, &error);
	if (ret < 0)
		fatal("TLS: %s", error);
	if (ret == 0) {
		pop3d_tables.tls = NULL;
		if (conf_bool("pop3d_tls_wrappermode"))
			fatal("pop3d_tls_wrappermode = yes needs a "
			      "certificate (smtpd_tls_cert_file)");
	}
}

static void pop3d_serve(int fd)
{
	struct pop3d_params params;

	pop3d_params_load(&params);
	pop3d_session_run(fd, &params);
}

int main(int argc, char **argv)
{
	static const struct service_def def = {
		.name = "pop3d",
		.pre_jail = pop3d_pre_jail,
		.serve = pop3d_serve,
	};

	service_main(argc, argv, &def);
}
