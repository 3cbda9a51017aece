/* pickup: queues the messages of maildrop/ (see pickup.h). master runs it
 * as a unix service on public/pickup with a periodic wakeup (master.cf:
 * "pickup unix n - n 60 1 pickup"); sureldrop connects after each
 * message so that mail goes out at once. Every connection, whatever it
 * says, means "scan maildrop/". One process (maxproc 1): two scans of
 * the same directory would queue a file twice. */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "conf.h"
#include "log.h"
#include "maps.h"
#include "queue_id.h"
#include "service.h"
#include "pickup.h"

/* Files queued per scan: the rest waits for the next wakeup, so a flood
 * of submissions cannot keep the process from master's signals. */
#define PICKUP_SCAN_MAX 10000

struct pickup_config pickup_config;

static void pickup_pre_jail(void)
{
	struct pickup_config *c = &pickup_config;
	const char *error;

	c->queue_dir = conf_str("queue_directory");
	c->myhostname = conf_str("myhostname");
	c->myorigin = conf_str("myorigin");
	c->mail_name = conf_str("mail_name");
	c->size_max = conf_size("message_size_limit");
	c->delimiter = conf_str("recipient_delimiter");
	if (*conf_str("virtual_alias_maps") != '\0' &&
	    maps_open(conf_str("virtual_alias_maps"), 0, &c->alias_maps,
		      &error) < 0)
		fatal("virtual_alias_maps: %s", error);
	/* Postfix's cleanup runs the same tables for local mail. */
	if (content_check_config_load(&c->check, &c->checks, &error) < 0)
		fatal("%s", error);
	c->header_max = c->check.header_max;
}

static void scan(void)
{
	char path[4096];
	size_t done = 0;

	snprintf(path, sizeof(path), "%s/maildrop", pickup_config.queue_dir);
	DIR *d = opendir(path);
	if (d == NULL) {
		log_warn("opendir %s: %s", path, strerror(errno));
		return;
	}
	struct dirent *de;
	while (done < PICKUP_SCAN_MAX && !service_stopping() &&
	       (de = readdir(d)) != NULL) {
		/* Only names sureldrop makes: a user cannot steer us to
		 * "..", and odd files are left for the operator. */
		if (!queue_id_valid(de->d_name))
			continue;
		(void)pickup_file(dirfd(d), de->d_name);
		done++;
	}
	closedir(d);
}

static void pickup_serve(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char line[128];

	/* "wakeup\n" from master or sureldrop; its text does not matter,
	 * and a silent client costs at most a second. */
	if (poll(&p, 1, 1000) > 0)
		(void)!read(fd, line, sizeof(line));
	scan();
}

int main(int argc, char **argv)
{
	static const struct service_def def = {
		.name = "pickup",
		.pre_jail = pickup_pre_jail,
		.serve = pickup_serve,
	};

	service_main(argc, argv, &def);
}
