/* anvil: the connection and rate counter service (see anvil.h). This
 * file: configuration, the loop, the once-a-second tick that expires
 * idle keys, and the statistics lines every anvil_status_update_time. */
#include "config.h"
#include <errno.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include "anvil.h"
#include "conf.h"
#include "fsutil.h"
#include "log.h"
#include "service.h"
#include "timeutil.h"

#define ANVIL_TICK_MS 1000
#define ANVIL_FD_RESERVE 64

static struct event_loop *loop;
static struct anvil_table *table;
static uint64_t unit_s, status_ms, next_status_ms;

/* The statistics lines' names for each rate, as Postfix's anvil logs. */
static const char *const rate_names[ANVIL_EVENT_COUNT] = {
	[ANVIL_CONNECT] = "connection rate",
	[ANVIL_MESSAGE] = "message rate",
	[ANVIL_RCPT] = "recipient rate",
	[ANVIL_AUTH] = "auth rate",
	[ANVIL_NEWTLS] = "newtls rate",
	[ANVIL_USER_MESSAGE] = "user message rate",
};

/* "Nov 22 19:40:01" for a time on the table's (monotonic) clock. */
static void format_at(char *out, size_t size, uint64_t at_ms, uint64_t now)
{
	time_t when = time(NULL) - (time_t)((now - at_ms) / 1000);
	struct tm tm;

	if (localtime_r(&when, &tm) == NULL ||
	    strftime(out, size, "%b %e %H:%M:%S", &tm) == 0)
		out[0] = '\0';
}

static void log_stats(uint64_t now)
{
	const struct anvil_stats *st = anvil_table_stats(table);
	char at[64], key[4 * ANVIL_KEY_MAX + 1];

	for (unsigned ev = 0; ev < ANVIL_EVENT_COUNT; ev++) {
		const struct anvil_stat *r = &st->rate[ev];
		if (rate_names[ev] == NULL || r->value == 0)
			continue;
		format_at(at, sizeof(at), r->at_ms, now);
		log_info("statistics: max %s %lu/%llus for (%s) at %s",
			 rate_names[ev], (unsigned long)r->value,
			 (unsigned long long)unit_s,
			 log_escape(key, sizeof(key), r->key, ANVIL_KEY_MAX),
			 at);
	}
	if (st->count.value > 0) {
		format_at(at, sizeof(at), st->count.at_ms, now);
		log_info("statistics: max connection count %lu for (%s) at %s",
			 (unsigned long)st->count.value,
			 log_escape(key, sizeof(key), st->count.key,
				    ANVIL_KEY_MAX), at);
	}
	if (st->max_size > 0) {
		format_at(at, sizeof(at), st->max_size_at_ms, now);
		log_info("statistics: max cache size %zu at %s", st->max_size,
			 at);
	}
	anvil_table_stats_reset(table);
}

static void on_tick(void *ctx)
{
	uint64_t now = time_mono_ms();

	anvil_table_expire(table, now);
	anvil_conn_tick();
	if (now >= next_status_ms) {
		log_stats(now);
		next_status_ms = now + status_ms;
	}
	event_timer_add(loop, ANVIL_TICK_MS, on_tick, NULL);
}

static void on_stop(int signo, void *ctx)
{
	event_loop_stop(loop);
}

/* Every client holds a descriptor: makes room for ANVIL_CONN_MAX. A
 * lower hard limit only means refused clients, which go without
 * limits. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	rlim_t want = ANVIL_CONN_MAX + ANVIL_FD_RESERVE;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		log_warn("cannot raise the open file limit: %s",
			 strerror(errno));
}

static void anvil_loop(int listen_fd)
{
	uint64_t max_keys = conf_int("anvil_table_size_limit");

	unit_s = conf_time("anvil_rate_time_unit");
	if (unit_s == 0)
		fatal("anvil_rate_time_unit must be at least 1s");
	status_ms = conf_time("anvil_status_update_time") * 1000;
	if (status_ms == 0)
		status_ms = ANVIL_TICK_MS;
	next_status_ms = time_mono_ms() + status_ms;
	loop = event_loop_new();
	table = anvil_table_new(unit_s * 1000, max_keys);
	raise_fd_limit();
	service_loop_stop_on(loop, on_stop, NULL);
	if (fs_set_nonblock(listen_fd) < 0)
		fatal("fcntl O_NONBLOCK: %s", strerror(errno));
	anvil_conn_start(loop, listen_fd, table);
	log_info("starting: rate time unit %llus, at most %llu keys",
		 (unsigned long long)unit_s, (unsigned long long)max_keys);
	event_timer_add(loop, ANVIL_TICK_MS, on_tick, NULL);
	event_loop_run(loop);

	log_stats(time_mono_ms());
	anvil_conn_stop_accepting();
	anvil_conn_close_all();
	anvil_table_free(&table);
	event_loop_free(&loop);
}

int main(int argc, char **argv)
{
	static const struct service_def def = {
		.name = "anvil",
		.loop = anvil_loop,
	};

	service_main(argc, argv, &def);
}
