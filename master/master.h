/* master: the supervisor's shared state. main.c starts, reloads and stops;
 * master_service.c turns master.cf into services with open listeners;
 * master_spawn.c forks, counts and reaps their processes. */
#ifndef SUREL_MASTER_H
#define SUREL_MASTER_H
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define MASTER_LISTEN_BACKLOG 100
#define MASTER_STOP_WAIT_MS 5000	/* SIGTERM, then SIGKILL after this */
#define MASTER_RETIRE_WAIT_MS 1000	/* idle child told to go, then TERM */
#define MASTER_THROTTLE_MIN_MS 1000	/* first back-off after a failure */

enum master_child_state {
	MASTER_CHILD_IDLE,	/* started, or said SERVICE_STATUS_IDLE */
	MASTER_CHILD_BUSY,	/* said SERVICE_STATUS_BUSY */
	MASTER_CHILD_RETIRED,	/* told to finish; not counted any more */
};

struct master_service;

struct master_child {
	pid_t pid;
	int status_fd;		/* read end of its status pipe, or -1 */
	enum master_child_state state;
	bool termed;		/* we sent it SIGTERM or SIGKILL */
	uint64_t start_ms;	/* monotonic time of the fork */
	uint64_t retire_timer;
	struct master_service *svc;	/* NULL once its service is gone */
	struct master_child *next;
};

/* One master.cf line, with what master keeps for it. */
struct master_service {
	char *name;		/* "127.0.0.1:2525", "qmgr" */
	char *type;		/* "inet" or "unix" */
	bool private_;		/* unix: private/ (else public/) */
	bool chroot;
	bool unpriv;		/* n: the daemon keeps root (when root) */
	unsigned wakeup;	/* seconds, 0 = none */
	bool wakeup_if_used;	/* "300?": only once a client came */
	unsigned maxproc;	/* 0 = no limit */
	char *path;		/* $daemon_directory/command */
	char **args;		/* master.cf arguments after the command */
	char *socket_path;	/* unix: the socket file */

	int listen_fd;
	bool watching;		/* listen_fd is in the event loop */
	unsigned nchildren;	/* not retired */
	unsigned nidle;
	bool always_on;		/* keep one process running (qmgr) */
	bool used;		/* a client came at least once */
	bool throttled;
	uint64_t throttle_ms;	/* next back-off */
	uint64_t throttle_timer;
	uint64_t wakeup_timer;
	int metrics_slot;	/* its slot in master.metrics, or -1 */
	struct master_service *next;
};

/* Global state of the one master process. */
struct master {
	struct event_loop *loop;
	const char *config_dir;
	char *queue_dir;
	char *daemon_dir;
	uid_t owner_uid;	/* mail_owner when root, else ourselves */
	gid_t owner_gid;
	bool root;
	bool stopping;
	struct master_service *services;
	struct master_child *children;
	/* The counters every child adds to (lib/metrics.h), or NULL. */
	struct metrics_region *metrics;
	int metrics_fd;
};

extern struct master master;

/* master_service.c */
/* Reads master.cf and makes the service list match it: opens listeners
 * of new services, keeps the sockets (and children) of services still
 * there, closes the others (their children then belong to no service).
 * On error nothing changes: -1 with *error_r. */
int master_services_load(const char **error_r);
/* Arms wakeup timers and listener watches, starts always-on services. */
void master_services_start(void);
/* After a count changed: watches the listener when a client would find
 * no idle process, keeps always-on services running. */
void master_service_update(struct master_service *svc);
/* Timer callback: the back-off after a failure is over. */
void master_service_unthrottle(void *ctx);
void master_services_close_all(void);

/* master_spawn.c */
void master_spawn(struct master_service *svc);
/* Tells one child to finish: closing its status pipe makes a pre-forked
 * daemon exit once it is idle; a still idle one gets SIGTERM after
 * MASTER_RETIRE_WAIT_MS. */
void master_child_retire(struct master_child *child);
void master_children_retire_all(void);
/* Reload: the child now belongs to svc (NULL: its service is gone). */
void master_child_move(struct master_child *child,
		       struct master_service *svc);
/* Processes of svc still alive, retired ones included. */
unsigned master_children_alive(const struct master_service *svc);
/* Back-off after an abnormal exit: 1 s, doubling up to
 * service_throttle_time while failures follow each other. */
void master_throttle(struct master_service *svc);
/* SIGCHLD: reaps every exited child, restarts or throttles. */
void master_reap(void);
void master_children_signal(int signo);
unsigned master_children_count(void);

#endif
