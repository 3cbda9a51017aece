/* master_service: master.cf lines as services: their listening sockets
 * (inet [host:]port, unix private/ or public/), the watch that starts a
 * process when a client waits and none is idle, and wakeup timers. */
#include "config.h"
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "conf.h"
#include "event.h"
#include "fsutil.h"
#include "log.h"
#include "master_cf.h"
#include "mem.h"
#include "metrics.h"
#include "str.h"
#include "master.h"

#define MASTER_ERROR_MAX 1024

static char service_error[MASTER_ERROR_MAX];

static int service_fail(const char **error_r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int service_fail(const char **error_r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(service_error, sizeof(service_error), fmt, ap);
	va_end(ap);
	*error_r = service_error;
	return -1;
}

/* --- listeners --- */

/* "[host:]port", "[v6]:port", "*:port"; host NULL means every address. */
static int service_split_inet(char *spec, char **host_r, char **port_r)
{
	char *colon;

	*host_r = NULL;
	if (spec[0] == '[') {
		char *end = strchr(spec, ']');
		if (end == NULL || end[1] != ':')
			return -1;
		*end = '\0';
		*host_r = spec + 1;
		*port_r = end + 2;
	} else if ((colon = strrchr(spec, ':')) != NULL) {
		if (strchr(spec, ':') != colon)
			return -1;	/* bare IPv6 needs brackets */
		*colon = '\0';
		*host_r = spec;
		*port_r = colon + 1;
	} else {
		*port_r = spec;
	}
	if (*host_r != NULL && ((*host_r)[0] == '\0' ||
				strcmp(*host_r, "*") == 0))
		*host_r = NULL;
	return **port_r == '\0' ? -1 : 0;
}

static int service_port(const char *port, char out[8])
{
	uint64_t n;

	if (str_to_u64(port, &n) < 0) {
		struct servent *se = getservbyname(port, "tcp");
		if (se == NULL)
			return -1;
		n = ntohs((uint16_t)se->s_port);
	}
	if (n == 0 || n > 65535)
		return -1;
	snprintf(out, 8, "%u", (unsigned)n);
	return 0;
}

static int service_bind(int family, const struct sockaddr *sa,
			socklen_t salen, bool dual)
{
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
			0);
	int on = 1, off = 0;

	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0 ||
	    (dual && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off,
				sizeof(off)) < 0) ||
	    (family == AF_INET6 && !dual &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) < 0) ||
	    bind(fd, sa, salen) < 0 || listen(fd, MASTER_LISTEN_BACKLOG) < 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

static int service_listen_inet(const char *name, const char **error_r)
{
	char *spec = xstrdup(name), *host, *port;
	char portnum[8];
	int fd = -1;

	if (service_split_inet(spec, &host, &port) < 0 ||
	    service_port(port, portnum) < 0) {
		free(spec);
		return service_fail(error_r, "inet service %s: expected "
				    "[host:]port", name);
	}
	if (host == NULL) {
		/* One dual-stack socket when the kernel has IPv6. */
		struct sockaddr_in6 s6 = { .sin6_family = AF_INET6,
			.sin6_port = htons((uint16_t)strtoul(portnum, NULL,
							     10)),
			.sin6_addr = IN6ADDR_ANY_INIT };
		struct sockaddr_in s4 = { .sin_family = AF_INET,
			.sin_port = s6.sin6_port,
			.sin_addr.s_addr = htonl(INADDR_ANY) };
		fd = service_bind(AF_INET6, (struct sockaddr *)&s6,
				  sizeof(s6), true);
		if (fd < 0 && errno == EAFNOSUPPORT)
			fd = service_bind(AF_INET, (struct sockaddr *)&s4,
					  sizeof(s4), false);
	} else {
		struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
			.ai_flags = AI_PASSIVE | AI_NUMERICSERV };
		struct addrinfo *ai;
		int ret = getaddrinfo(host, portnum, &hints, &ai);
		if (ret != 0) {
			service_fail(error_r, "inet service %s: %s", name,
				     gai_strerror(ret));
			free(spec);
			return -1;
		}
		fd = service_bind(ai->ai_family, ai->ai_addr, ai->ai_addrlen,
				  false);
		freeaddrinfo(ai);
	}
	free(spec);
	if (fd < 0)
		return service_fail(error_r, "bind %s: %s", name,
				    strerror(errno));
	return fd;
}

static int service_listen_unix(const char *path, bool private_,
			       const char **error_r)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	if (str_copy(sun.sun_path, sizeof(sun.sun_path), path) < 0)
		return service_fail(error_r, "%s: socket path too long", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
			0);
	if (fd < 0)
		return service_fail(error_r, "socket: %s", strerror(errno));
	/* A socket left by an earlier master; we hold the lock, so nobody
	 * else is serving it. */
	if (unlink(path) < 0 && errno != ENOENT) {
		close(fd);
		return service_fail(error_r, "unlink %s: %s", path,
				    strerror(errno));
	}
	/* The mode comes from the umask at bind and the owner from lchown:
	 * private/ and public/ belong to mail_owner, who could swap the new
	 * socket for a symlink before a chmod or chown by path, which would
	 * follow it as root (to /etc/shadow, say). */
	mode_t old_umask = umask(private_ ? 0177 : 0111);
	int ret = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old_umask);
	if (ret < 0 ||
	    (master.root && lchown(path, master.owner_uid,
				   master.owner_gid) < 0) ||
	    listen(fd, MASTER_LISTEN_BACKLOG) < 0) {
		service_fail(error_r, "listen on %s: %s", path,
			     strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* --- building services from master.cf --- */

static void service_free(struct master_service **svcp)
{
	struct master_service *svc = *svcp;

	if (svc == NULL)
		return;
	free(svc->name);
	free(svc->type);
	free(svc->path);
	for (size_t i = 0; svc->args != NULL && svc->args[i] != NULL; i++)
		free(svc->args[i]);
	free(svc->args);
	free(svc->socket_path);
	free(svc);
	*svcp = NULL;
}

/* The daemon's arguments: -o overrides as master.cf gave them, then
 * "--" and the extra arguments so that none is taken for an option. */
static char **service_build_args(const struct master_cf_entry *e)
{
	size_t n = 0, max = 2 * e->override_count + e->arg_count + 2;
	char **args = xcalloc(max, sizeof(*args));

	for (size_t i = 0; i < e->override_count; i++) {
		size_t len = strlen(e->overrides[i].name) +
			     strlen(e->overrides[i].value) + 2;
		char *ov = xmalloc(len);
		snprintf(ov, len, "%s=%s", e->overrides[i].name,
			 e->overrides[i].value);
		args[n++] = xstrdup("-o");
		args[n++] = ov;
	}
	if (e->arg_count > 0)
		args[n++] = xstrdup("--");
	for (size_t i = 0; i < e->arg_count; i++)
		args[n++] = xstrdup(e->args[i]);
	args[n] = NULL;
	return args;
}

static int service_from_entry(const struct master_cf_entry *e,
			      struct master_service **svc_r,
			      const char **error_r)
{
	struct master_service *svc = xcalloc(1, sizeof(*svc));
	size_t len;

	svc->name = xstrdup(e->service);
	svc->type = xstrdup(master_cf_type_name(e->type));
	svc->private_ = e->private;
	svc->chroot = e->chroot;
	svc->unpriv = e->unpriv;
	svc->wakeup = e->wakeup;
	svc->wakeup_if_used = e->wakeup_if_used;
	svc->maxproc = e->maxproc != MASTER_CF_MAXPROC_DEFAULT ? e->maxproc :
		(unsigned)conf_int("default_process_limit");
	len = strlen(master.daemon_dir) + strlen(e->command) + 2;
	svc->path = xmalloc(len);
	snprintf(svc->path, len, "%s/%s", master.daemon_dir, e->command);
	svc->args = service_build_args(e);
	svc->always_on = (e->wakeup > 0 && !e->wakeup_if_used) ||
			 strcmp(e->command, "qmgr") == 0;
	svc->listen_fd = -1;
	if (e->type == MASTER_CF_INET && svc->name[0] == '/') {
		/* An inet service whose $parameter named a socket path
		 * (metrics_listen = /run/surel/metrics): a UNIX socket
		 * anyone may connect to, where the parameter says. */
		svc->socket_path = xstrdup(svc->name);
		svc->private_ = false;
	} else if (e->type == MASTER_CF_UNIX) {
		if (strchr(e->service, '/') != NULL || e->service[0] == '.') {
			service_free(&svc);
			return service_fail(error_r, "master.cf, line %u: bad "
					    "unix service name", e->line);
		}
		len = strlen(master.queue_dir) + strlen(e->service) + 10;
		svc->socket_path = xmalloc(len);
		snprintf(svc->socket_path, len, "%s/%s/%s", master.queue_dir,
			 e->private ? "private" : "public", e->service);
	}
	/* Last: an entry refused above takes no slot. */
	svc->metrics_slot = master.metrics == NULL ? -1 :
		metrics_slot_assign(master.metrics, svc->name, svc->type,
				    e->command);
	if (master.metrics != NULL && svc->metrics_slot < 0)
		log_warn("master.cf, line %u: no metrics slot left for "
			 "service %s: it goes uncounted", e->line, svc->name);
	*svc_r = svc;
	return 0;
}

/* The same listening socket: same kind and address. */
static bool service_same_socket(const struct master_service *a,
				const struct master_service *b)
{
	if (strcmp(a->type, b->type) != 0 || strcmp(a->name, b->name) != 0)
		return false;
	return a->socket_path == NULL ||
	       strcmp(a->socket_path, b->socket_path) == 0;
}

static struct master_service *service_find_old(const struct master_service *n)
{
	for (struct master_service *o = master.services; o != NULL;
	     o = o->next)
		if (service_same_socket(o, n))
			return o;
	return NULL;
}

static int service_open(struct master_service *svc, const char **error_r)
{
	svc->listen_fd = svc->socket_path != NULL ?
		service_listen_unix(svc->socket_path, svc->private_, error_r) :
		service_listen_inet(svc->name, error_r);
	return svc->listen_fd < 0 ? -1 : 0;
}

static void service_close(struct master_service *svc)
{
	if (svc->watching)
		event_fd_clear(master.loop, svc->listen_fd);
	svc->watching = false;
	if (svc->listen_fd >= 0)
		close(svc->listen_fd);
	svc->listen_fd = -1;
	if (svc->throttle_timer != 0)
		event_timer_cancel(master.loop, svc->throttle_timer);
	if (svc->wakeup_timer != 0)
		event_timer_cancel(master.loop, svc->wakeup_timer);
	svc->throttle_timer = svc->wakeup_timer = 0;
}

/* Takes the old service's socket and state into its replacement. */
static void service_take_over(struct master_service *n,
			      struct master_service *o)
{
	n->listen_fd = o->listen_fd;
	o->listen_fd = -1;
	n->used = o->used;
	n->throttle_ms = o->throttle_ms;
	if (o->watching)
		event_fd_clear(master.loop, n->listen_fd);
	o->watching = false;
	/* A throttled service stays throttled, for the time left. */
	n->throttled = o->throttled;
	if (o->throttled) {
		event_timer_cancel(master.loop, o->throttle_timer);
		o->throttle_timer = 0;
		n->throttle_timer = event_timer_add(master.loop,
			MASTER_THROTTLE_MIN_MS, master_service_unthrottle, n);
	}
	for (struct master_child *c = master.children; c != NULL; c = c->next)
		if (c->svc == o)
			master_child_move(c, n);
}

static void service_list_free(struct master_service **list)
{
	while (*list != NULL) {
		struct master_service *svc = *list;
		*list = svc->next;
		service_close(svc);
		service_free(&svc);
	}
}

/* Builds the new list, opening only the sockets not open yet. */
static int service_build_list(const struct master_cf *cf,
			      struct master_service **list_r,
			      const char **error_r)
{
	struct master_service *list = NULL, **tail = &list;

	for (size_t i = 0; i < cf->count; i++) {
		struct master_service *svc = NULL;
		struct master_cf_entry e = cf->entries[i];
		const char *address;
		int ret = master_cf_service_address(&e, conf_find_str,
						    &address, error_r);
		if (ret < 0)
			goto fail;
		if (ret == 0)
			continue;	/* its parameter is empty: off */
		e.service = (char *)address;
		if (service_from_entry(&e, &svc, error_r) < 0)
			goto fail;
		*tail = svc;
		tail = &svc->next;
		if (service_find_old(svc) == NULL &&
		    service_open(svc, error_r) < 0)
			goto fail;
	}
	*list_r = list;
	return 0;
fail:
	service_list_free(&list);
	return -1;
}

/* Sets every slot's process gauges from the services' counts. */
static void master_metrics_refresh(void)
{
	if (master.metrics == NULL)
		return;
	for (int i = 0; i < METRICS_SLOTS; i++)
		metrics_slot_processes(master.metrics, i, 0, 0);
	for (struct master_service *s = master.services; s != NULL;
	     s = s->next)
		metrics_slot_processes(master.metrics, s->metrics_slot,
				       s->nchildren, s->nchildren - s->nidle);
}

int master_services_load(const char **error_r)
{
	struct master_cf *cf;
	struct master_service *list, *o;

	if (master_cf_load(master.config_dir, &cf, error_r) < 0)
		return -1;
	int ret = service_build_list(cf, &list, error_r);
	master_cf_free(&cf);
	if (ret < 0)
		return -1;
	/* Committed: move kept sockets over, drop the rest. */
	for (struct master_service *n = list; n != NULL; n = n->next)
		if (n->listen_fd < 0 && (o = service_find_old(n)) != NULL)
			service_take_over(n, o);
	while ((o = master.services) != NULL) {
		master.services = o->next;
		for (struct master_child *c = master.children; c != NULL;
		     c = c->next)
			if (c->svc == o)
				master_child_move(c, NULL);
		if (o->listen_fd >= 0 && o->socket_path != NULL)
			unlink(o->socket_path);
		service_close(o);
		service_free(&o);
	}
	master.services = list;
	master_metrics_refresh();
	return 0;
}

/* --- running --- */

static void service_listen_ready(int fd, unsigned events, void *ctx)
{
	struct master_service *svc = ctx;

	svc->used = true;
	if (svc->nidle == 0 && !svc->throttled && !master.stopping &&
	    (svc->maxproc == 0 || svc->nchildren < svc->maxproc))
		master_spawn(svc);
	else
		master_service_update(svc);
}

void master_service_unthrottle(void *ctx)
{
	struct master_service *svc = ctx;

	svc->throttle_timer = 0;
	svc->throttled = false;
	master_service_update(svc);
}

void master_service_update(struct master_service *svc)
{
	if (master.stopping || svc->listen_fd < 0)
		return;
	bool room = svc->maxproc == 0 || svc->nchildren < svc->maxproc;
	if (svc->always_on && !svc->throttled &&
	    master_children_alive(svc) == 0) {
		master_spawn(svc);	/* calls us again, with a child */
		return;
	}
	bool want = svc->nidle == 0 && room && !svc->throttled;
	if (want == svc->watching)
		return;
	if (want && event_fd_set(master.loop, svc->listen_fd, EVENT_READ,
				 service_listen_ready, svc) < 0)
		fatal("event_fd_set: %s", strerror(errno));
	if (!want)
		event_fd_clear(master.loop, svc->listen_fd);
	svc->watching = want;
}

/* Pokes a unix service: "wakeup\n" makes qmgr look at the queue even if
 * a notification from smtpd was lost. Never blocks. */
static void service_wakeup(void *ctx)
{
	struct master_service *svc = ctx;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	svc->wakeup_timer = event_timer_add(master.loop,
		(uint64_t)svc->wakeup * 1000, service_wakeup, svc);
	if (svc->wakeup_if_used && !svc->used)
		return;
	if (str_copy(sun.sun_path, sizeof(sun.sun_path),
		     svc->socket_path) < 0)
		return;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
			0);
	if (fd < 0)
		return;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0 &&
	    write(fd, "wakeup\n", 7) != 7)
		log_warn("wakeup %s: %s", svc->socket_path, strerror(errno));
	close(fd);
}

void master_services_start(void)
{
	for (struct master_service *svc = master.services; svc != NULL;
	     svc = svc->next) {
		if (svc->wakeup > 0 && svc->wakeup_timer == 0) {
			if (svc->socket_path == NULL)
				log_warn("service %s: wakeup is only for "
					 "unix services", svc->name);
			else
				svc->wakeup_timer = event_timer_add(
					master.loop,
					(uint64_t)svc->wakeup * 1000,
					service_wakeup, svc);
		}
		master_service_update(svc);
	}
}

void master_services_close_all(void)
{
	for (struct master_service *svc = master.services; svc != NULL;
	     svc = svc->next)
		service_close(svc);
}
