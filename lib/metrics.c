/* metrics: the shared counter region (see metrics.h). */
#define _GNU_SOURCE
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "metrics.h"
#include "str.h"

static struct metrics_region *attached;
static struct metrics_slot *own;

int metrics_region_create(int *fd_r, struct metrics_region **region_r,
			  const char **error_r)
{
	int fd = memfd_create("surel-metrics", MFD_CLOEXEC);

	if (fd < 0) {
		*error_r = "memfd_create failed";
		return -1;
	}
	if (ftruncate(fd, sizeof(struct metrics_region)) < 0) {
		close(fd);
		*error_r = "cannot size the metrics region";
		return -1;
	}
	struct metrics_region *r = mmap(NULL, sizeof(*r),
					PROT_READ | PROT_WRITE, MAP_SHARED,
					fd, 0);
	if (r == MAP_FAILED) {
		close(fd);
		*error_r = "cannot map the metrics region";
		return -1;
	}
	/* A new memfd reads as zeros: only the header needs writing. */
	r->start_time = (uint64_t)time(NULL);
	__atomic_store_n(&r->magic, METRICS_MAGIC, __ATOMIC_RELEASE);
	*fd_r = fd;
	*region_r = r;
	return 0;
}

static bool slot_is(const struct metrics_slot *s, const char *name,
		    const char *type)
{
	return strcmp(s->name, name) == 0 && strcmp(s->type, type) == 0;
}

int metrics_slot_assign(struct metrics_region *r, const char *name,
			const char *type, const char *program)
{
	int free_slot = -1;

	for (int i = 0; i < METRICS_SLOTS; i++) {
		struct metrics_slot *s = &r->slot[i];
		if (!s->in_use) {
			if (free_slot < 0)
				free_slot = i;
		} else if (slot_is(s, name, type)) {
			return i;
		}
	}
	if (free_slot < 0)
		return -1;
	struct metrics_slot *s = &r->slot[free_slot];
	/* A name that does not fit leaves the slot free. */
	if (str_copy(s->name, sizeof(s->name), name) < 0 ||
	    str_copy(s->type, sizeof(s->type), type) < 0)
		return -1;
	/* A long program name is cut: it is a label, not a key. */
	snprintf(s->program, sizeof(s->program), "%s", program);
	/* Readers look at in_use first: the names are there before it. */
	__atomic_store_n(&s->in_use, 1, __ATOMIC_RELEASE);
	return free_slot;
}

void metrics_slot_processes(struct metrics_region *r, int slot,
			    unsigned processes, unsigned busy)
{
	if (r == NULL || slot < 0 || slot >= METRICS_SLOTS)
		return;
	__atomic_store_n(&r->slot[slot].processes, processes,
			 __ATOMIC_RELAXED);
	__atomic_store_n(&r->slot[slot].busy, busy, __ATOMIC_RELAXED);
}

/* The region on fd, mapped for writing, if it is one: right size, right
 * magic. NULL otherwise (the caller counts nothing, quietly). */
static struct metrics_region *map_fd(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (size_t)st.st_size != sizeof(struct metrics_region))
		return NULL;
	struct metrics_region *r = mmap(NULL, sizeof(*r),
					PROT_READ | PROT_WRITE, MAP_SHARED,
					fd, 0);
	if (r == MAP_FAILED)
		return NULL;
	if (__atomic_load_n(&r->magic, __ATOMIC_ACQUIRE) != METRICS_MAGIC) {
		munmap(r, sizeof(*r));
		return NULL;
	}
	return r;
}

void metrics_attach(void)
{
	const char *env = getenv(METRICS_SLOT_ENV);
	char *end;

	if (env == NULL)
		return;
	errno = 0;
	long slot = strtol(env, &end, 10);
	unsetenv(METRICS_SLOT_ENV);	/* not for programs we run */
	if (errno != 0 || *end != '\0' || end == env || slot < 0 ||
	    slot >= METRICS_SLOTS)
		return;
	attached = map_fd(METRICS_FD);
	close(METRICS_FD);
	if (attached != NULL)
		own = &attached->slot[slot];
}

const struct metrics_region *metrics_region(void)
{
	return attached;
}

void metrics_count(enum metrics_counter c)
{
	if (own != NULL && c < METRICS_COUNTER_COUNT)
		__atomic_fetch_add(&own->counter[c], 1, __ATOMIC_RELAXED);
}

void metrics_count_tls(const char *protocol)
{
	if (strcmp(protocol, "TLSv1.3") == 0)
		metrics_count(METRICS_TLS_1_3);
	else if (strcmp(protocol, "TLSv1.2") == 0)
		metrics_count(METRICS_TLS_1_2);
	else
		metrics_count(METRICS_TLS_OTHER);
}

unsigned metrics_dsn_subject(const char *dsn)
{
	/* X.Y.Z: X a class digit, Y the subject (one digit), Z digits. */
	if (dsn == NULL || dsn[0] < '2' || dsn[0] > '5' || dsn[1] != '.')
		return 0;
	const char *p = dsn + 2;
	size_t ylen = strspn(p, "0123456789");
	if (ylen != 1 || p[1] != '.' || strspn(p + 2, "0123456789") == 0)
		return 0;
	unsigned y = (unsigned)(p[0] - '0');
	return y < METRICS_DSN_SUBJECTS ? y : 0;
}

void metrics_count_delivery(enum deliver_status status, const char *dsn)
{
	enum metrics_outcome outcome = status == DELIVER_OK ? METRICS_SENT :
		status == DELIVER_TEMPFAIL ? METRICS_DEFERRED :
		METRICS_BOUNCED;

	if (own == NULL)
		return;
	__atomic_fetch_add(&own->delivery[outcome][metrics_dsn_subject(dsn)],
			   1, __ATOMIC_RELAXED);
}
