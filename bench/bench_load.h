/* bench_load: what a load generator does whatever its protocol (pop3load,
 * imapload): the server's process tree sampled for CPU and memory around
 * a run, and a pool of threads that run sessions for a while and collect
 * their latencies. Header-only like bench_util.h (include that first). */
#ifndef SUREL_BENCH_LOAD_H
#define SUREL_BENCH_LOAD_H
#include <ctype.h>
#include <dirent.h>
#include <pthread.h>
#include <stdint.h>

#define BENCH_MAX_LAT (1UL << 22)	/* latencies kept per thread */

/* ---- server process tree: CPU and memory ---- */

struct tree_sample {
	double cpu_s;
	long rss_kb, pss_kb, nprocs;
};

/* The root and its descendants (by ppid): CPU (own and reaped children's)
   and memory summed. */
static void sample_tree(long root, bool with_pss, struct tree_sample *s)
{
	static struct proc_info all[MAX_PROCS];
	static bool in[MAX_PROCS];
	size_t n = 0;
	DIR *d = opendir("/proc");
	struct dirent *de;
	double hz = (double)sysconf(_SC_CLK_TCK);
	long page_kb = sysconf(_SC_PAGESIZE) / 1024;

	memset(s, 0, sizeof(*s));
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL && n < MAX_PROCS)
		if (isdigit((unsigned char)de->d_name[0]) &&
		    read_stat(strtol(de->d_name, NULL, 10), &all[n])) {
			in[n] = all[n].pid == root;
			n++;
		}
	closedir(d);
	for (bool changed = true; changed;) {
		changed = false;
		for (size_t i = 0; i < n; i++) {
			if (in[i])
				continue;
			for (size_t j = 0; j < n; j++)
				if (in[j] && all[j].pid == all[i].ppid) {
					in[i] = changed = true;
					break;
				}
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (!in[i])
			continue;
		s->cpu_s += (all[i].ut + all[i].st + all[i].cut + all[i].cst) / hz;
		s->rss_kb += all[i].rss_pages * page_kb;
		if (with_pss)
			s->pss_kb += read_pss_kb(all[i].pid);
		s->nprocs++;
	}
}

static struct tree_sample bench_peak;
static volatile bool bench_sampler_stop;
static long bench_sample_pid;
static unsigned bench_sample_ms = 100;

static void *bench_sampler_main(void *arg)
{
	(void)arg;
	while (!bench_sampler_stop) {
		struct tree_sample s;

		sample_tree(bench_sample_pid, true, &s);
		if (s.pss_kb > bench_peak.pss_kb)
			bench_peak.pss_kb = s.pss_kb;
		if (s.rss_kb > bench_peak.rss_kb)
			bench_peak.rss_kb = s.rss_kb;
		if (s.nprocs > bench_peak.nprocs)
			bench_peak.nprocs = s.nprocs;
		usleep(bench_sample_ms * 1000);
	}
	return NULL;
}

static double self_cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Runs run() with the tree of pid (0: none) measured around it: prints
   "RESULT mode=MODE", what run() prints (" key=value" fields), the
   server's CPU and peak memory (after settle seconds, so that work the
   server finishes after its last reply counts), and our own CPU. Returns
   run()'s status. */
static int bench_measure(const char *mode, long pid, unsigned settle,
			 int (*run)(void))
{
	struct tree_sample a = { 0 }, b = { 0 };
	pthread_t sampler;
	double self0, self1;
	int rc;

	bench_sample_pid = pid;
	if (pid > 0) {
		sample_tree(pid, false, &a);
		if (a.nprocs == 0)
			die("no process %ld", pid);
		if (pthread_create(&sampler, NULL, bench_sampler_main, NULL) != 0)
			die("pthread_create failed");
	}
	self0 = self_cpu_s();
	printf("RESULT mode=%s", mode);
	rc = run();
	self1 = self_cpu_s();
	if (pid > 0) {
		sleep(settle);
		bench_sampler_stop = true;
		pthread_join(sampler, NULL);
		sample_tree(pid, false, &b);
		printf(" server_cpu_s=%.3f peak_rss_kb=%ld peak_pss_kb=%ld peak_procs=%ld",
		       b.cpu_s - a.cpu_s, bench_peak.rss_kb, bench_peak.pss_kb,
		       bench_peak.nprocs);
	}
	printf(" client_cpu_s=%.3f\n", self1 - self0);
	return rc;
}

/* ---- sessions for a while, from many threads ---- */

/* One session as user (0-based) over conn: 0, or -1 with a reason in
   err. */
typedef int bench_session_fn(void *conn, unsigned user, char *err,
			     size_t errsize);

struct bench_worker {
	pthread_t thread;
	unsigned id, users;
	double deadline;
	void *conn;
	bench_session_fn *fn;
	unsigned long sessions, failed;
	uint32_t *lat_us;
	size_t nlat;
	char last_error[256];
};

static void *bench_worker_main(void *arg)
{
	struct bench_worker *w = arg;

	while (now_s() < w->deadline) {
		double t0 = now_s();

		if (w->fn(w->conn, w->id % w->users, w->last_error,
			  sizeof(w->last_error)) < 0) {
			w->failed++;
			usleep(10000);	/* no busy loop against a refusing server */
			continue;
		}
		w->sessions++;
		if (w->nlat < BENCH_MAX_LAT)
			w->lat_us[w->nlat++] = (uint32_t)((now_s() - t0) * 1e6);
	}
	return NULL;
}

static int bench_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* conc threads, thread i running fn as user (i mod users) over and over
   for duration seconds, each with its own conn from conn_new (freed with
   free()). Prints " sessions= failed= seconds= rate= p50_ms= p99_ms=".
   Returns 1 when a session failed, else 0. */
static int bench_run_sessions(unsigned conc, unsigned users, unsigned duration,
			      void *(*conn_new)(void), bench_session_fn *fn)
{
	struct bench_worker *w = calloc(conc, sizeof(*w));
	unsigned long sessions = 0, failed = 0;
	size_t nlat = 0;
	uint32_t *all;
	double t0, t1;
	const char *err = "";

	if (w == NULL)
		die("out of memory");
	t0 = now_s();
	for (unsigned i = 0; i < conc; i++) {
		w[i].id = i;
		w[i].users = users;
		w[i].deadline = t0 + duration;
		w[i].fn = fn;
		w[i].conn = conn_new();
		w[i].lat_us = malloc(BENCH_MAX_LAT * sizeof(uint32_t));
		if (w[i].lat_us == NULL || w[i].conn == NULL)
			die("out of memory");
		if (pthread_create(&w[i].thread, NULL, bench_worker_main, &w[i]) != 0)
			die("pthread_create failed");
	}
	for (unsigned i = 0; i < conc; i++)
		pthread_join(w[i].thread, NULL);
	t1 = now_s();
	for (unsigned i = 0; i < conc; i++) {
		sessions += w[i].sessions;
		failed += w[i].failed;
		nlat += w[i].nlat;
		if (w[i].failed > 0)
			err = w[i].last_error;
	}
	all = malloc((nlat + 1) * sizeof(uint32_t));
	if (all == NULL)
		die("out of memory");
	nlat = 0;
	for (unsigned i = 0; i < conc; i++) {
		memcpy(all + nlat, w[i].lat_us, w[i].nlat * sizeof(uint32_t));
		nlat += w[i].nlat;
	}
	qsort(all, nlat, sizeof(uint32_t), bench_cmp_u32);
	printf(" sessions=%lu failed=%lu seconds=%.2f rate=%.1f p50_ms=%.2f p99_ms=%.2f",
	       sessions, failed, t1 - t0, sessions / (t1 - t0),
	       nlat ? all[(size_t)(0.50 * (nlat - 1) + 0.5)] / 1e3 : 0.0,
	       nlat ? all[(size_t)(0.99 * (nlat - 1) + 0.5)] / 1e3 : 0.0);
	if (failed > 0)
		fprintf(stderr, "%s: %lu failed sessions; last: %s\n", bench_prog,
			failed, err);
	for (unsigned i = 0; i < conc; i++) {
		free(w[i].lat_us);
		free(w[i].conn);
	}
	free(all);
	free(w);
	return failed > 0 ? 1 : 0;
}

#endif
