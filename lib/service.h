/* service: the skeleton every daemon's main() hands itself to.
 *
 * master starts a daemon as
 *   DAEMON -c CONFIG_DIR -n SERVICE_NAME -t TYPE [-j] [-p] [-o name=value]...
 *          [-- args]
 * with the service's listening socket on fd SERVICE_LISTEN_FD and the write
 * end of a status pipe on fd SERVICE_STATUS_FD (-j: master.cf's chroot
 * column said y; -p: its unpriv column said n, keep root's privileges).
 * service_main() loads main.cf, applies -o overrides, starts logging,
 * calls pre_jail (open what the daemon needs while it still can), drops
 * privileges (when started as root: chroot to queue_directory if master.cf
 * says so, then to mail_owner's uid and gids, or those of the user named
 * by def->user_param, unless -p), calls post_jail,
 * and runs the daemon:
 *
 * - single-client daemons (smtpd, local) give serve(): the skeleton accepts
 *   one connection at a time from the shared listening socket, reports
 *   SERVICE_STATUS_BUSY / SERVICE_STATUS_IDLE to master, and exits after
 *   max_use connections or max_idle idle seconds;
 * - event daemons (qmgr) give loop(): it owns the listening socket and
 *   runs until it returns or the process is told to stop.
 *
 * A child exits when master dies (PR_SET_PDEATHSIG) and on SIGTERM. */
#ifndef SUREL_SERVICE_H
#define SUREL_SERVICE_H
#include <stdbool.h>
#include "event.h"

#define SERVICE_LISTEN_FD 3
#define SERVICE_STATUS_FD 4
#define SERVICE_STATUS_BUSY 'B'
#define SERVICE_STATUS_IDLE 'I'

struct service_def {
	const char *name;		/* program name for logs: "smtpd" */
	void (*pre_jail)(void);		/* optional */
	void (*post_jail)(void);	/* optional */
	/* One of these two: */
	/* handles one client, then returns; the skeleton closes client_fd */
	void (*serve)(int client_fd);
	void (*loop)(int listen_fd);	/* event daemon main loop */
	/* Optional: the main.cf parameter that names the user to become
	 * instead of mail_owner when started as root (authd: "auth_owner").
	 * NULL: mail_owner. */
	const char *user_param;
};

/* Never returns. argv as described above. */
void service_main(int argc, char **argv, const struct service_def *def)
	__attribute__((noreturn));

/* The service name from -n (e.g. "127.0.0.1:2525", "local"). */
const char *service_name(void);
/* Extra arguments after the options, for the daemon to interpret. */
int service_argc(void);
char **service_argv(void);
/* True once SIGTERM asked the process to stop (for long loops). */
bool service_stopping(void);

/* For event daemons (loop): calls stop(signo, ctx) through loop on SIGTERM
 * and SIGINT, and once with SIGTERM when master closes its end of the
 * status pipe (a reload: a new process takes the listener over; or
 * master is gone). fatal() when the signals cannot be watched. */
void service_loop_stop_on(struct event_loop *loop, event_signal_fn *stop,
			  void *ctx);

#endif
