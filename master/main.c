/* master: the supervisor of an instance. Creates the queue layout, takes
 * the instance lock, opens master.cf's listeners, starts the daemons and
 * keeps them running; SIGHUP reloads, SIGTERM stops. */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "conf.h"
#include "conf_file.h"
#include "event.h"
#include "fsutil.h"
#include "log.h"
#include "mem.h"
#include "metrics.h"
#include "master.h"
#include "master_queue.h"

struct master master;

static char pid_path[4096];
static int pid_fd = -1;

static void master_usage(void)
{
	fprintf(stderr, "usage: master [-c CONFIG_DIR] [-f] [-t]\n");
	exit(1);
}

static void master_conf_warn(const char *msg)
{
	log_warn("%s", msg);
}

static void master_queue_noted(const char *msg)
{
	log_info("%s", msg);
}

/* Loads main.cf and what master keeps of it. Strings are copied: conf's
 * own live only until the load after next. */
static int master_load_conf(const char **error_r)
{
	struct master_queue_owner owner;

	if (conf_load(master.config_dir, master_conf_warn, error_r) < 0)
		return -1;
	log_init("master", conf_str("maillog_file"));
	if (master_queue_owner(&owner, error_r) < 0)
		return -1;
	master.root = owner.root;
	master.owner_uid = owner.uid;
	master.owner_gid = owner.gid;
	free(master.queue_dir);
	master.queue_dir = xstrdup(conf_str("queue_directory"));
	free(master.daemon_dir);
	master.daemon_dir = xstrdup(conf_str("daemon_directory"));
	return master_queue_setup(master.queue_dir,
				  conf_str("data_directory"), &owner,
				  master_queue_noted, error_r);
}

/* One master per instance: an exclusive lock held for our whole life. */
static void master_lock(void)
{
	long pid;
	const char *error;

	if (master_queue_pid_path(pid_path, sizeof(pid_path),
				  master.queue_dir) < 0)
		fatal("%s: path too long", master.queue_dir);
	pid_fd = open(pid_path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
		      0644);
	if (pid_fd < 0)
		fatal("open %s: %s", pid_path, strerror(errno));
	if (flock(pid_fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK)
			fatal("lock %s: %s", pid_path, strerror(errno));
		if (master_queue_running(master.queue_dir, &pid, &error) < 0)
			pid = 0;
		log_error("the mail system is already running (pid %ld, "
			  "lock %s)", pid, pid_path);
		exit(1);
	}
}

static void master_write_pid(void)
{
	char text[32];
	int n = snprintf(text, sizeof(text), "%10ld\n", (long)getpid());

	if (ftruncate(pid_fd, 0) < 0 ||
	    pwrite(pid_fd, text, (size_t)n, 0) != n)
		fatal("write %s: %s", pid_path, strerror(errno));
}

/* Double fork, new session, stdio on /dev/null. The first parent exits
 * only when the daemon says it is up (pid written), so `surel start` and
 * scripts may use the instance as soon as it returns. Returns the fd to
 * write that word to. */
static int master_daemonize(void)
{
	int p[2];
	char c;

	if (pipe2(p, O_CLOEXEC) < 0)
		fatal("pipe: %s", strerror(errno));
	pid_t pid = fork();
	if (pid < 0)
		fatal("fork: %s", strerror(errno));
	if (pid > 0) {
		ssize_t n;
		close(p[1]);
		do
			n = read(p[0], &c, 1);
		while (n < 0 && errno == EINTR);
		/* Reap the middle process: no zombie under a lazy init. */
		waitpid(pid, NULL, 0);
		_exit(n == 1 && c == 'u' ? 0 : 1);
	}
	close(p[0]);
	if (setsid() < 0)
		fatal("setsid: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		fatal("fork: %s", strerror(errno));
	if (pid > 0)
		_exit(0);
	int null = open("/dev/null", O_RDWR);
	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 ||
	    dup2(null, 2) < 0)
		fatal("/dev/null: %s", strerror(errno));
	if (null > 2)
		close(null);
	return p[1];
}

/* --- signals --- */

static void master_stop_done(void *ctx)
{
	event_loop_stop(master.loop);
}

static void master_stop_kill(void *ctx)
{
	if (master_children_count() == 0) {
		event_loop_stop(master.loop);
		return;
	}
	log_warn("%u processes did not stop in %d s: killing them",
		 master_children_count(), MASTER_STOP_WAIT_MS / 1000);
	master_children_signal(SIGKILL);
	event_timer_add(master.loop, 1000, master_stop_done, NULL);
}

static void master_on_term(int signo, void *ctx)
{
	if (master.stopping)
		return;
	log_info("terminating on signal %d", signo);
	master.stopping = true;
	master_services_close_all();
	master_children_signal(SIGTERM);
	if (master_children_count() == 0)
		event_loop_stop(master.loop);
	else
		event_timer_add(master.loop, MASTER_STOP_WAIT_MS,
				master_stop_kill, NULL);
}

static void master_on_chld(int signo, void *ctx)
{
	master_reap();
	if (master.stopping && master_children_count() == 0)
		event_loop_stop(master.loop);
}

static void master_on_hup(int signo, void *ctx)
{
	const char *error;

	if (master.stopping)
		return;
	/* A broken main.cf keeps the running configuration (conf_load
	 * changes nothing on error). */
	if (master_load_conf(&error) < 0) {
		log_error("reload failed: %s", error);
		return;
	}
	if (master_services_load(&error) < 0) {
		log_error("reload failed: %s", error);
		return;
	}
	/* Every process restarts with the new configuration; busy ones
	 * finish their client first. */
	master_children_retire_all();
	log_info("reload -- version %s, configuration %s", PACKAGE_VERSION,
		 master.config_dir);
	master_services_start();
}

static void master_signals(void)
{
	signal(SIGPIPE, SIG_IGN);
	if (event_signal_set(master.loop, SIGTERM, master_on_term, NULL) < 0 ||
	    event_signal_set(master.loop, SIGINT, master_on_term, NULL) < 0 ||
	    event_signal_set(master.loop, SIGHUP, master_on_hup, NULL) < 0 ||
	    event_signal_set(master.loop, SIGCHLD, master_on_chld, NULL) < 0)
		fatal("signalfd: %s", strerror(errno));
}

/* --- main --- */

struct master_opts {
	bool foreground;
	bool test;
};

static void master_parse_args(int argc, char **argv, struct master_opts *o)
{
	int c;

	memset(o, 0, sizeof(*o));
	while ((c = getopt(argc, argv, "c:ft")) != -1) {
		switch (c) {
		case 'c':
			master.config_dir = optarg;
			break;
		case 'f':
			o->foreground = true;
			break;
		case 't':
			o->test = true;
			break;
		default:
			master_usage();
		}
	}
	if (optind != argc)
		master_usage();
	master.config_dir = conf_file_dir(master.config_dir);
	/* Absolute: master and its daemons run in the queue directory. */
	static char abs_dir[PATH_MAX];
	if (realpath(master.config_dir, abs_dir) == NULL) {
		fprintf(stderr, "master: %s: %s\n", master.config_dir,
			strerror(errno));
		exit(1);
	}
	master.config_dir = abs_dir;
}

/* -t: is a master running for this instance? Exit 0 if so, 1 if not. */
static void master_test(void)
{
	long pid;
	const char *error;
	const char *queue_dir = conf_str("queue_directory");
	int ret = master_queue_running(queue_dir, &pid, &error);

	if (ret < 0)
		fatal("%s", error);
	exit(ret == 1 ? 0 : 1);
}

int main(int argc, char **argv)
{
	struct master_opts opts;
	const char *error;
	int notify_fd = -1;

	master_parse_args(argc, argv, &opts);
	umask(022);
	/* Until started, problems go to the operator's terminal too. */
	log_init("master", NULL);
	log_set_stderr(true);
	if (opts.test) {
		if (conf_load(master.config_dir, NULL, &error) < 0)
			fatal("%s", error);
		master_test();
	}
	if (master_load_conf(&error) < 0)
		fatal("%s", error);
	master_lock();
	/* Before the services: each is given its slot as it is loaded. */
	master.metrics_fd = -1;
	if (metrics_region_create(&master.metrics_fd, &master.metrics,
				  &error) < 0)
		log_warn("%s: the metrics service has nothing to show",
			 error);
	if (master_services_load(&error) < 0)
		fatal("%s", error);
	if (!opts.foreground)
		notify_fd = master_daemonize();
	if (chdir(master.queue_dir) < 0)
		fatal("chdir %s: %s", master.queue_dir, strerror(errno));
	master_write_pid();
	master.loop = event_loop_new();
	master_signals();
	log_info("daemon started -- version %s, configuration %s",
		 PACKAGE_VERSION, master.config_dir);
	log_set_stderr(false);
	if (notify_fd >= 0) {
		if (write(notify_fd, "u", 1) != 1) {
			/* the parent is gone; nothing to tell */
		}
		close(notify_fd);
	}
	master_services_start();
	event_loop_run(master.loop);

	unlink(pid_path);
	event_loop_free(&master.loop);
	return 0;
}
