/* surel: the operator's control command, like postfix(1): start, stop,
 * reload, status and check an instance (a configuration directory). */
#include "config.h"
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "conf.h"
#include "conf_file.h"
#include "log.h"
#include "master_cf.h"
#include "super_client.h"
#include "timeutil.h"
#include "surel_check.h"
#include "../master/master_queue.h"

#define SUREL_STOP_WAIT_MS 30000	/* master itself gives up after 6 s */
#define SUREL_PATH_MAX 4096

static char config_dir[PATH_MAX];
/* main.cf warnings (unknown names): problems for `surel check` only. */
static int conf_warnings;
/* `surel check` counts a repaired owner or mode as a problem; `surel
 * start` only repairs. */
static bool repairs_are_problems;
static int repairs;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	fputs("surel: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

#define die(...) do { say("fatal: " __VA_ARGS__); exit(1); } while (0)

static void conf_warned(const char *msg)
{
	say("warning: %s", msg);
	conf_warnings++;
}

static void check_warned(const char *msg)
{
	say("warning: %s", msg);
}

/* "created PATH" is a fresh install; "fixed mode of PATH" a wrong one. */
static void queue_noted(const char *msg)
{
	if (repairs_are_problems && strncmp(msg, "fixed ", 6) == 0) {
		say("warning: %s", msg);
		repairs++;
	} else {
		say("%s", msg);
	}
}

static void master_path(char *out, size_t outsize)
{
	int n = snprintf(out, outsize, "%s/master",
			 conf_str("daemon_directory"));

	if (n < 0 || (size_t)n >= outsize)
		die("daemon_directory: path too long");
}

/* 1 with *pid_r (> 1) when a master runs, else 0. */
static int running(long *pid_r)
{
	const char *error;
	int ret = master_queue_running(conf_str("queue_directory"), pid_r,
				       &error);

	if (ret < 0)
		die("%s", error);
	if (ret == 1 && *pid_r <= 1)
		die("%s/pid/master.pid: locked but holds no valid pid",
		    conf_str("queue_directory"));
	return ret;
}

/* A daemon program must be a regular executable file. */
static int check_program(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		say("warning: %s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode) || access(path, X_OK) < 0) {
		say("warning: %s: not an executable file", path);
		return -1;
	}
	return 0;
}

/* What `surel start` needs: master.cf, the queue layout, the programs. */
static int check_base(void)
{
	struct master_queue_owner owner;
	struct master_cf *cf;
	const char *error;
	char path[SUREL_PATH_MAX];
	int problems = 0;

	if (master_cf_load(config_dir, &cf, &error) < 0)
		die("%s", error);
	if (master_queue_owner(&owner, &error) < 0)
		die("%s", error);
	if (master_queue_setup(conf_str("queue_directory"),
			       conf_str("data_directory"), &owner,
			       queue_noted, &error) < 0) {
		say("warning: %s", error);
		problems++;
	}
	master_path(path, sizeof(path));
	problems += check_program(path) < 0;
	for (size_t i = 0; i < cf->count; i++) {
		const char *address;
		/* "$metrics_listen": a parameter master would not find
		 * stops master at start. */
		if (master_cf_service_address(&cf->entries[i], conf_find_str,
					      &address, &error) < 0) {
			say("warning: %s/%s", config_dir, error);
			problems++;
		}
		int n = snprintf(path, sizeof(path), "%s/%s",
				 conf_str("daemon_directory"),
				 cf->entries[i].command);
		if (n < 0 || (size_t)n >= sizeof(path))
			die("daemon_directory: path too long");
		problems += check_program(path) < 0;
	}
	master_cf_free(&cf);
	return problems;
}

static int cmd_check(void)
{
	int problems;

	repairs_are_problems = true;
	problems = check_base() + repairs + conf_warnings;
	problems += surel_check_tables(config_dir, check_warned);
	problems += surel_check_tls(config_dir, check_warned);
	problems += surel_check_relay(config_dir, check_warned);
	problems += surel_check_overrides(config_dir, check_warned);
	return problems == 0 ? 0 : 1;
}

static int cmd_start(void)
{
	char path[SUREL_PATH_MAX];
	long pid;
	int status;

	if (check_base() != 0)
		die("configuration problems: not starting the mail system");
	if (running(&pid))
		die("the mail system is already running");
	say("starting the mail system");
	log_info("starting the mail system");
	master_path(path, sizeof(path));
	pid_t child = fork();
	if (child < 0)
		die("fork: %s", strerror(errno));
	if (child == 0) {
		execl(path, path, "-c", config_dir, (char *)NULL);
		say("fatal: cannot execute %s: %s", path, strerror(errno));
		_exit(127);
	}
	/* master daemonizes; its first process exits once the daemon is up. */
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die("mail system startup failed");
	return 0;
}

static int cmd_start_fg(void)
{
	char path[SUREL_PATH_MAX];
	long pid;

	if (check_base() != 0)
		die("configuration problems: not starting the mail system");
	if (running(&pid))
		die("the mail system is already running");
	master_path(path, sizeof(path));
	execl(path, path, "-f", "-c", config_dir, (char *)NULL);
	die("cannot execute %s: %s", path, strerror(errno));
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
			       .tv_nsec = (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int cmd_stop(void)
{
	long pid;

	if (!running(&pid))
		die("the mail system is not running");
	say("stopping the mail system");
	log_info("stopping the mail system");
	if (kill((pid_t)pid, SIGTERM) < 0)
		die("kill %ld: %s", pid, strerror(errno));
	/* Done when the lock is free: master holds it to its last breath. */
	uint64_t deadline = time_mono_ms() + SUREL_STOP_WAIT_MS;
	while (running(&pid)) {
		if (time_mono_ms() > deadline)
			die("the mail system (pid %ld) did not stop in %d s",
			    pid, SUREL_STOP_WAIT_MS / 1000);
		sleep_ms(50);
	}
	return 0;
}

static int cmd_reload(void)
{
	struct master_cf *cf;
	const char *error;
	long pid;

	/* main.cf was loaded already; a broken master.cf is caught here
	 * rather than in master's log. */
	if (master_cf_load(config_dir, &cf, &error) < 0)
		die("%s", error);
	master_cf_free(&cf);
	if (!running(&pid))
		die("the mail system is not running");
	say("refreshing the mail system");
	log_info("refreshing the mail system");
	if (kill((pid_t)pid, SIGHUP) < 0)
		die("kill %ld: %s", pid, strerror(errno));
	return 0;
}

static int cmd_status(void)
{
	long pid;

	if (running(&pid)) {
		say("the mail system is running: PID: %ld", pid);
		return 0;
	}
	say("the mail system is not running");
	return 1;
}

/* Postfix's "postfix flush": every deferred message tried now (and dead
 * destinations with it), asked of qmgr (lib/super_client.h). */
static int cmd_flush(void)
{
	struct super_request req = { .op = SUPER_FLUSH, .all = true };
	struct super_reply r;
	const char *error;

	errno = 0;
	if (super_client_call(conf_str("queue_directory"), &req, &r,
			      &error) < 0)
		die("%s: %s (is the mail system running?)", error,
		    errno != 0 ? strerror(errno) : "bad reply");
	if (r.status != SUPER_OK)
		die("flush: %s", r.status == SUPER_ERROR ? r.text : "refused");
	log_info("flushing the queue: %llu deferred message%s", r.count,
		 r.count == 1 ? "" : "s");
	return 0;
}

static const struct surel_cmd {
	const char *name;
	int (*fn)(void);
} surel_cmds[] = {
	{ "check", cmd_check },
	{ "flush", cmd_flush },
	{ "reload", cmd_reload },
	{ "start", cmd_start },
	{ "start-fg", cmd_start_fg },
	{ "status", cmd_status },
	{ "stop", cmd_stop },
};

static void usage(void)
{
	fprintf(stderr, "usage: surel [-c CONFIG_DIR] "
		"start|stop|reload|status|check|flush|start-fg\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *dir = NULL, *error;
	int c;

	while ((c = getopt(argc, argv, "c:")) != -1) {
		if (c != 'c')
			usage();
		dir = optarg;
	}
	if (optind + 1 != argc)
		usage();
	dir = conf_file_dir(dir);
	/* Absolute: master and its daemons run in the queue directory. */
	if (realpath(dir, config_dir) == NULL)
		die("%s: %s", dir, strerror(errno));
	const struct surel_cmd *cmd = NULL;
	for (size_t i = 0; i < sizeof(surel_cmds) / sizeof(surel_cmds[0]); i++)
		if (strcmp(argv[optind], surel_cmds[i].name) == 0)
			cmd = &surel_cmds[i];
	if (cmd == NULL)
		usage();
	if (conf_load(config_dir, conf_warned, &error) < 0)
		die("%s", error);
	log_init("surel", conf_str("maillog_file"));
	return cmd->fn();
}
