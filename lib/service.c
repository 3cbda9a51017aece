/* service: the skeleton every daemon runs in: arguments, main.cf, logging,
 * the order of start-up (open, jail, drop privileges), then the accept loop
 * of pre-forked single-client daemons or the daemon's own event loop; see
 * service.h. */
#include "config.h"
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "conf.h"
#include "conf_file.h"
#include "fsutil.h"
#include "log.h"
#include "mem.h"
#include "metrics.h"
#include "service.h"
#include "str.h"
#include "timeutil.h"

#define SERVICE_OVERRIDES_MAX 64

static const char *service_name_value = "";
static int service_extra_argc;
static char **service_extra_argv;
static volatile sig_atomic_t service_stop_flag;
static bool service_status_ok;	/* fd 4 is open: master listens */

const char *service_name(void) { return service_name_value; }
int service_argc(void) { return service_extra_argc; }
char **service_argv(void) { return service_extra_argv; }
bool service_stopping(void) { return service_stop_flag != 0; }

struct service_args {
	const char *config_dir;
	const char *type;
	bool jail;
	bool keep_root;		/* -p: master.cf unpriv = n */
	const char *overrides[SERVICE_OVERRIDES_MAX];
	size_t noverrides;
};

static void service_usage(const char *prog)
{
	fatal("usage: %s -c CONFIG_DIR -n SERVICE -t TYPE [-j] [-p] "
	      "[-o name=value]... [-- args]", prog);
}

static void service_parse_args(int argc, char **argv,
			       struct service_args *args)
{
	int c;

	memset(args, 0, sizeof(*args));
	/* '+': stop at the first non-option, the daemon's own arguments. */
	while ((c = getopt(argc, argv, "+c:n:t:o:jp")) != -1) {
		switch (c) {
		case 'c':
			args->config_dir = optarg;
			break;
		case 'n':
			service_name_value = optarg;
			break;
		case 't':
			args->type = optarg;
			break;
		case 'j':
			args->jail = true;
			break;
		case 'p':
			args->keep_root = true;
			break;
		case 'o':
			if (args->noverrides == SERVICE_OVERRIDES_MAX)
				fatal("too many -o options (most %d)",
				      SERVICE_OVERRIDES_MAX);
			args->overrides[args->noverrides++] = optarg;
			break;
		default:
			service_usage(argv[0]);
		}
	}
	service_extra_argc = argc - optind;
	service_extra_argv = argv + optind;
	args->config_dir = conf_file_dir(args->config_dir);
}

/* master already reported main.cf's warnings once; every daemon start
 * repeating them would flood the log. */
static void service_conf_quiet(const char *msg) { (void)msg; }

static void service_load_conf(const struct service_args *args)
{
	const char *error;

	if (conf_load(args->config_dir, service_conf_quiet, &error) < 0)
		fatal("%s", error);
	for (size_t i = 0; i < args->noverrides; i++) {
		char *name = xstrdup(args->overrides[i]);
		char *eq = strchr(name, '=');
		if (eq == NULL)
			fatal("-o %s: expected name=value", name);
		*eq = '\0';
		if (conf_set(str_trim(name), str_trim(eq + 1), &error) < 0)
			fatal("-o %s: %s", args->overrides[i], error);
		free(name);
	}
}

/* SIGTERM: a single-client daemon exits at once. A client in mid-session
 * has not been told its mail is accepted, and local's caller (qmgr) keeps
 * the recipient until it gets an answer, so nothing is lost. An event
 * daemon that must finish a step first takes SIGTERM into its own loop
 * (event_signal_set), which blocks this handler. */
static void service_on_term(int signo)
{
	(void)signo;
	service_stop_flag = 1;
	_exit(0);
}

static void service_signals(void)
{
	sigset_t none;
	struct sigaction sa;

	/* master blocks the signals it reads through its signalfd, and a
	 * blocked mask survives exec: undo that first. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);	/* reload is master's business */
	sa.sa_handler = service_on_term;
	sigaction(SIGTERM, &sa, NULL);
}

/* Dies with master: a daemon without its supervisor would keep serving
 * with stale configuration and nobody to restart or stop it. Must be set
 * after the privilege drop, which clears it. */
static void service_watch_parent(void)
{
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0)
		fatal("prctl(PR_SET_PDEATHSIG): %s", strerror(errno));
	const char *ppid_env = getenv("SUREL_MASTER_PID");
	uint64_t ppid;

	if (ppid_env != NULL && str_to_u64(ppid_env, &ppid) == 0) {
		if ((uint64_t)getppid() != ppid)
			fatal("master (pid %s) has gone away", ppid_env);
	} else if (getppid() == 1) {
		fatal("parent has gone away");
	}
}

static void service_chroot(const char *queue_dir)
{
	const char *error;

	if (chroot(queue_dir) < 0 || chdir("/") < 0)
		fatal("chroot %s: %s", queue_dir, strerror(errno));
	/* Absolute queue paths keep working inside the jail. */
	if (conf_set("queue_directory", "/", &error) < 0)
		fatal("queue_directory: %s", error);
}

/* Becomes mail_owner (or the user that user_param names) for good; with
 * -j, chroots to queue_directory first. Only when started as root: an
 * ordinary user runs as itself. With -p (master.cf unpriv = n) root stays
 * root, jailed if asked. */
static void service_drop_privileges(bool jail, bool keep_root,
				    const char *user_param)
{
	const char *param = user_param != NULL ? user_param : "mail_owner";
	const char *owner = conf_str(param);
	const char *queue_dir = conf_str("queue_directory");
	struct passwd *pw;

	if (geteuid() != 0) {
		if (jail)
			log_warn("not running as root: chroot to %s skipped",
				 queue_dir);
		return;
	}
	if (keep_root) {
		if (jail)
			service_chroot(queue_dir);
		return;
	}
	errno = 0;
	pw = getpwnam(owner);
	if (pw == NULL)
		fatal("%s %s: unknown user%s%s", param, owner,
		      errno != 0 ? ": " : "", errno != 0 ? strerror(errno) : "");
	if (pw->pw_uid == 0 || pw->pw_gid == 0)
		fatal("%s %s must not have uid or gid 0", param, owner);
	uid_t uid = pw->pw_uid;
	gid_t gid = pw->pw_gid;

	if (initgroups(pw->pw_name, gid) < 0)
		fatal("initgroups %s: %s", owner, strerror(errno));
	if (jail)
		service_chroot(queue_dir);
	if (setgid(gid) < 0)
		fatal("setgid %ld: %s", (long)gid, strerror(errno));
	if (setuid(uid) < 0)
		fatal("setuid %ld: %s", (long)uid, strerror(errno));
	/* Paranoia that costs nothing: root must be gone for good. */
	if (setuid(0) == 0 || seteuid(0) == 0 || setgid(0) == 0 ||
	    getuid() != uid || geteuid() != uid || getegid() != gid)
		fatal("could not drop privileges to %s", owner);
}

static void service_status(char status)
{
	if (!service_status_ok)
		return;
	/* EPIPE (SIGPIPE is ignored): master is gone, and so are we. */
	if (fs_write_all(SERVICE_STATUS_FD, &status, 1) < 0) {
		if (errno == EPIPE)
			exit(0);
		fatal("write status to master: %s", strerror(errno));
	}
}

static void service_check_fds(void)
{
	struct stat st;

	if (fstat(SERVICE_LISTEN_FD, &st) < 0 || !S_ISSOCK(st.st_mode))
		fatal("fd %d is not a listening socket: this program is "
		      "started by master", SERVICE_LISTEN_FD);
	if (fstat(SERVICE_STATUS_FD, &st) == 0 && S_ISFIFO(st.st_mode)) {
		service_status_ok = true;
		fs_set_cloexec(SERVICE_STATUS_FD);
	}
	fs_set_cloexec(SERVICE_LISTEN_FD);
}

/* Waits up to timeout_ms (-1: forever) for a client; 1 ready, 0 timeout.
 * Also watches the status pipe: master closes its end to retire us
 * (reload) or because it is gone, and an idle process then just exits. */
static int service_wait_client(int timeout_ms)
{
	struct pollfd pfd[2] = {
		{ .fd = SERVICE_LISTEN_FD, .events = POLLIN },
		{ .fd = service_status_ok ? SERVICE_STATUS_FD : -1 },
	};

	for (;;) {
		int n = poll(pfd, 2, timeout_ms);
		if (n > 0 && (pfd[1].revents & (POLLERR | POLLHUP)))
			exit(0);
		if (n > 0)
			return 1;
		if (n == 0)
			return 0;
		if (errno != EINTR)
			fatal("poll: %s", strerror(errno));
	}
}

/* The pre-fork loop. The listening socket is non-blocking and shared by
 * every sibling: all wake up, one wins the accept, the others get EAGAIN
 * and wait again. */
static __attribute__((noreturn)) void
service_accept_loop(const struct service_def *def)
{
	uint64_t max_use = conf_int("max_use");
	uint64_t max_idle_ms = conf_time("max_idle") * 1000;
	uint64_t served = 0;
	uint64_t idle_since = time_mono_ms();

	if (fs_set_nonblock(SERVICE_LISTEN_FD) < 0)
		fatal("fcntl O_NONBLOCK: %s", strerror(errno));
	while (max_use == 0 || served < max_use) {
		int timeout = -1;
		if (max_idle_ms > 0) {
			uint64_t idle = time_mono_ms() - idle_since;
			if (idle >= max_idle_ms)
				break;
			uint64_t left = max_idle_ms - idle;
			timeout = left > 3600 * 1000 ? 3600 * 1000 : (int)left;
		}
		if (service_wait_client(timeout) == 0)
			continue;	/* re-check the idle deadline */
		int fd = accept4(SERVICE_LISTEN_FD, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR || errno == ECONNABORTED ||
			    errno == EPROTO)
				continue;
			fatal("accept: %s", strerror(errno));
		}
		service_status(SERVICE_STATUS_BUSY);
		metrics_count(METRICS_CONNECTIONS);
		def->serve(fd);
		close(fd);
		served++;
		/* Leaving: say nothing, the closing pipe tells master. */
		if (max_use != 0 && served >= max_use)
			break;
		service_status(SERVICE_STATUS_IDLE);
		idle_since = time_mono_ms();
	}
	exit(0);
}

void service_main(int argc, char **argv, const struct service_def *def)
{
	struct service_args args;

	ASSERT(def != NULL && def->name != NULL);
	ASSERT((def->serve != NULL) != (def->loop != NULL));
	/* First: master left the region on a fixed fd, which the first
	 * open() would otherwise not land on but must not be confused by. */
	metrics_attach();
	service_signals();
	/* Until main.cf says where the log goes, problems go to syslog and
	 * to stderr (the operator's terminal with master -f). */
	log_init(def->name, NULL);
	log_set_stderr(true);
	service_parse_args(argc, argv, &args);
	service_load_conf(&args);
	log_init(def->name, conf_str("maillog_file"));
	log_set_stderr(false);
	service_watch_parent();
	service_check_fds();
	if (chdir(conf_str("queue_directory")) < 0)
		fatal("chdir %s: %s", conf_str("queue_directory"),
		      strerror(errno));

	if (def->pre_jail != NULL)
		def->pre_jail();
	service_drop_privileges(args.jail, args.keep_root, def->user_param);
	service_watch_parent();
	if (def->post_jail != NULL)
		def->post_jail();

	if (def->loop != NULL) {
		def->loop(SERVICE_LISTEN_FD);
		exit(0);
	}
	service_accept_loop(def);
}

static event_signal_fn *loop_stop;
static void *loop_stop_ctx;

static void service_loop_hangup(int fd, unsigned events, void *ctx)
{
	struct event_loop *loop = ctx;

	event_fd_clear(loop, fd);
	loop_stop(SIGTERM, loop_stop_ctx);
}

void service_loop_stop_on(struct event_loop *loop, event_signal_fn *stop,
			  void *ctx)
{
	struct stat st;

	loop_stop = stop;
	loop_stop_ctx = ctx;
	if (event_signal_set(loop, SIGTERM, stop, ctx) < 0 ||
	    event_signal_set(loop, SIGINT, stop, ctx) < 0)
		fatal("cannot watch signals: %s", strerror(errno));
	if (fstat(SERVICE_STATUS_FD, &st) == 0 && S_ISFIFO(st.st_mode) &&
	    event_fd_set(loop, SERVICE_STATUS_FD, EVENT_READ,
			 service_loop_hangup, loop) < 0)
		log_warn("cannot watch the status pipe: %s", strerror(errno));
}
