/* authd: the authentication daemon, the only process that reads password
 * data. master runs one (master.cf: "auth unix - - n - 1 authd") as
 * auth_owner; it verifies passwords and looks users up for pop3d, imapd
 * and smtpd over private/auth. This file: configuration, the loop, the
 * once-a-second tick, and stopping. See authd.h for the rest. */
#include "config.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include "authd.h"
#include "conf.h"
#include "fsutil.h"
#include "log.h"
#include "service.h"
#include "timeutil.h"

#define AUTHD_TICK_MS 1000
/* After SIGTERM or a reload, held fail replies are still sent: they are
 * due within auth_failure_delay_max, plus this margin. */
#define AUTHD_STOP_GRACE_MS 2000
#define AUTHD_FD_RESERVE 64

struct authd_state authd;

static uint64_t stop_deadline_ms;
static uint64_t delay_max_ms;

static void on_tick(void *ctx)
{
	uint64_t now = time_mono_ms();

	authd_conn_tick(now);
	if (authd.stopping) {
		if (authd_conn_busy() == 0 || now >= stop_deadline_ms) {
			event_loop_stop(authd.loop);
			return;
		}
	} else if (authd_users_refresh(authd.users)) {
		/* reload lines appear without waiting for a login */
		authd_cache_clear(authd.cache);
	}
	event_timer_add(authd.loop, AUTHD_TICK_MS, on_tick, NULL);
}

static void on_stop(int signo, void *ctx)
{
	uint64_t now = time_mono_ms();

	if (authd.stopping)
		return;
	authd.stopping = true;
	authd_conn_stop_accepting();
	authd_conn_tick(now);
	stop_deadline_ms = now + delay_max_ms + AUTHD_STOP_GRACE_MS;
	if (authd_conn_busy() == 0)
		event_loop_stop(authd.loop);
}

/* Every client holds a descriptor: makes room for AUTHD_CONN_MAX, and
 * returns how many clients fit (a hard limit may be lower: clients beyond
 * it are refused at accept rather than left to find no descriptor). */
static size_t raise_fd_limit(void)
{
	struct rlimit rl;
	rlim_t want = AUTHD_CONN_MAX + AUTHD_FD_RESERVE;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return AUTHD_CONN_MAX;
	if (rl.rlim_cur >= want)
		return AUTHD_CONN_MAX;
	rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0 && getrlimit(RLIMIT_NOFILE,
							   &rl) < 0)
		return AUTHD_CONN_MAX;
	if (rl.rlim_cur >= want)
		return AUTHD_CONN_MAX;
	size_t fit = rl.rlim_cur > 2 * AUTHD_FD_RESERVE ?
		(size_t)(rl.rlim_cur - AUTHD_FD_RESERVE) :
		(size_t)(rl.rlim_cur / 2);
	log_warn("open file limit %llu: at most %zu clients at once",
		 (unsigned long long)rl.rlim_cur, fit);
	return fit;
}

static void authd_configure(void)
{
	uint64_t delay_ms = conf_time("auth_failure_delay") * 1000;
	uint64_t reset_ms = conf_time("auth_failure_reset_time") * 1000;
	uint64_t ttl_ms = conf_time("auth_cache_ttl") * 1000;
	char **specs = conf_list("auth_user_maps");
	struct buf desc;

	delay_max_ms = conf_time("auth_failure_delay_max") * 1000;
	authd.allow_plain = conf_bool("auth_allow_plain_passwords");
	authd.users = authd_users_open(specs);
	free(specs);
	authd.throttle = authd_throttle_new(delay_ms, delay_max_ms, reset_ms,
					    AUTHD_TABLE_MAX);
	authd.cache = authd_cache_new(ttl_ms, AUTHD_TABLE_MAX);

	buf_init(&desc, 2048);
	authd_users_describe(authd.users, &desc);
	if (authd_users_table_count(authd.users) == 0)
		log_warn("auth_user_maps is empty: every login fails");
	log_info("starting: %zu user table%s%s%s",
		 authd_users_table_count(authd.users),
		 authd_users_table_count(authd.users) == 1 ? "" : "s",
		 desc.len > 0 ? ": " : "", buf_cstr(&desc));
	buf_deinit(&desc);
}

static void authd_loop(int listen_fd)
{
	size_t max_conns;

	authd.loop = event_loop_new();
	max_conns = raise_fd_limit();
	authd_configure();
	service_loop_stop_on(authd.loop, on_stop, NULL);
	if (fs_set_nonblock(listen_fd) < 0)
		fatal("fcntl O_NONBLOCK: %s", strerror(errno));
	authd_conn_start(listen_fd, max_conns);
	event_timer_add(authd.loop, AUTHD_TICK_MS, on_tick, NULL);
	event_loop_run(authd.loop);

	authd_conn_close_all();
	authd_cache_free(&authd.cache);
	authd_throttle_free(&authd.throttle);
	authd_users_free(&authd.users);
	event_loop_free(&authd.loop);
}

int main(int argc, char **argv)
{
	static const struct service_def def = {
		.name = "authd",
		.loop = authd_loop,
		.user_param = "auth_owner",
	};

	service_main(argc, argv, &def);
}
