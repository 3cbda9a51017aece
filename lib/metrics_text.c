/* metrics_text: the exposition (see metrics_text.h). */
#include "config.h"
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "metrics_text.h"

/* One counter family and the region counters behind its series. */
struct counter_family {
	const char *name;	/* without _total */
	const char *help;
	struct {
		enum metrics_counter counter;
		const char *label;	/* an extra label, or NULL */
	} series[3];
	unsigned nseries;
};

static const struct counter_family counter_families[] = {
	{ "surel_connections", "Clients accepted by the processes of a "
	  "service (SMTP, IMAP and POP3 sessions, qmgr's requests to "
	  "delivery agents).", { { METRICS_CONNECTIONS, NULL } }, 1 },
	{ "surel_auth_successes", "Logins whose password authd accepted.",
	  { { METRICS_AUTH_OK, NULL } }, 1 },
	{ "surel_auth_failures", "Logins whose password authd refused.",
	  { { METRICS_AUTH_FAIL, NULL } }, 1 },
	{ "surel_tls_handshakes", "TLS handshakes completed, as server or "
	  "client, by protocol version.",
	  { { METRICS_TLS_1_3, "version=\"TLSv1.3\"" },
	    { METRICS_TLS_1_2, "version=\"TLSv1.2\"" },
	    { METRICS_TLS_OTHER, "version=\"other\"" } }, 3 },
	{ "surel_messages_received", "Messages committed to the queue "
	  "(smtpd: over SMTP; pickup: local submissions; qmgr: the "
	  "notices it writes).", { { METRICS_RECEIVED, NULL } }, 1 },
};

static const char *const outcome_names[METRICS_OUTCOME_COUNT] = {
	[METRICS_SENT] = "sent",
	[METRICS_DEFERRED] = "deferred",
	[METRICS_BOUNCED] = "bounced",
};
static const char outcome_class[METRICS_OUTCOME_COUNT] = {
	[METRICS_SENT] = '2', [METRICS_DEFERRED] = '4',
	[METRICS_BOUNCED] = '5',
};

static int family_head(struct buf *b, const char *name, const char *type,
		       const char *help, bool openmetrics)
{
	/* Prometheus text names a counter by its samples' name; OpenMetrics
	 * names the family, without the suffix. */
	const char *suffix = strcmp(type, "counter") == 0 && !openmetrics ?
			     "_total" : "";

	return buf_printf(b, "# HELP %s%s %s\n# TYPE %s%s %s\n", name, suffix,
			  help, name, suffix, type);
}

/* A label value: \, " and newline escaped; anything else as it is (the
 * names come from master.cf, whose fields hold no white space). */
static int label_value(struct buf *b, const char *v)
{
	for (; *v != '\0'; v++) {
		int ret;
		if (*v == '\\' || *v == '"')
			ret = buf_printf(b, "\\%c", *v);
		else if (*v == '\n')
			ret = buf_append_str(b, "\\n");
		else
			ret = buf_append_char(b, *v);
		if (ret < 0)
			return -1;
	}
	return 0;
}

/* service="...",type="...",program="..." of a slot. */
static int slot_labels(struct buf *b, const struct metrics_slot *s)
{
	if (buf_append_str(b, "service=\"") < 0 || label_value(b, s->name) < 0 ||
	    buf_append_str(b, "\",type=\"") < 0 || label_value(b, s->type) < 0 ||
	    buf_append_str(b, "\",program=\"") < 0 ||
	    label_value(b, s->program) < 0)
		return -1;
	return buf_append_char(b, '"');
}

static bool slot_used(const struct metrics_slot *s)
{
	return __atomic_load_n(&s->in_use, __ATOMIC_ACQUIRE) != 0;
}

/* name{slot labels[,extra]} value */
static int slot_sample(struct buf *b, const char *name,
		       const struct metrics_slot *s, const char *extra,
		       uint64_t value)
{
	if (buf_printf(b, "%s{", name) < 0 || slot_labels(b, s) < 0)
		return -1;
	if (extra != NULL && buf_printf(b, ",%s", extra) < 0)
		return -1;
	return buf_printf(b, "} %llu\n", (unsigned long long)value);
}

static int counters(struct buf *b, const struct metrics_region *r,
		    bool openmetrics)
{
	char sample[96];

	for (size_t f = 0; f < sizeof(counter_families) /
			       sizeof(counter_families[0]); f++) {
		const struct counter_family *fam = &counter_families[f];
		if (family_head(b, fam->name, "counter", fam->help,
				openmetrics) < 0)
			return -1;
		snprintf(sample, sizeof(sample), "%s_total", fam->name);
		for (unsigned i = 0; i < METRICS_SLOTS; i++) {
			const struct metrics_slot *s = &r->slot[i];
			if (!slot_used(s))
				continue;
			for (unsigned k = 0; k < fam->nseries; k++) {
				uint64_t v = __atomic_load_n(
					&s->counter[fam->series[k].counter],
					__ATOMIC_RELAXED);
				if (slot_sample(b, sample, s,
						fam->series[k].label, v) < 0)
					return -1;
			}
		}
	}
	return 0;
}

static int deliveries(struct buf *b, const struct metrics_region *r,
		      bool openmetrics)
{
	char extra[64];

	if (family_head(b, "surel_deliveries", "counter", "Delivery attempts "
			"per recipient, by status (as the status= of the log "
			"lines) and DSN class.subject (RFC 3463).",
			openmetrics) < 0)
		return -1;
	for (unsigned i = 0; i < METRICS_SLOTS; i++) {
		const struct metrics_slot *s = &r->slot[i];
		if (!slot_used(s))
			continue;
		for (unsigned o = 0; o < METRICS_OUTCOME_COUNT; o++)
			for (unsigned y = 0; y < METRICS_DSN_SUBJECTS; y++) {
				uint64_t v = __atomic_load_n(
					&s->delivery[o][y], __ATOMIC_RELAXED);
				if (v == 0)
					continue;
				snprintf(extra, sizeof(extra),
					 "status=\"%s\",dsn=\"%c.%u\"",
					 outcome_names[o], outcome_class[o], y);
				if (slot_sample(b, "surel_deliveries_total", s,
						extra, v) < 0)
					return -1;
			}
	}
	return 0;
}

static int processes(struct buf *b, const struct metrics_region *r,
		     bool openmetrics)
{
	static const struct {
		const char *name, *help;
		size_t offset;
	} gauges[] = {
		{ "surel_processes", "Processes of a service that master "
		  "runs (not counting those told to finish).",
		  offsetof(struct metrics_slot, processes) },
		{ "surel_processes_busy", "Of those, the ones serving a "
		  "client.", offsetof(struct metrics_slot, busy) },
	};

	for (size_t g = 0; g < sizeof(gauges) / sizeof(gauges[0]); g++) {
		if (family_head(b, gauges[g].name, "gauge", gauges[g].help,
				openmetrics) < 0)
			return -1;
		for (unsigned i = 0; i < METRICS_SLOTS; i++) {
			const struct metrics_slot *s = &r->slot[i];
			if (!slot_used(s))
				continue;
			const uint32_t *p = (const uint32_t *)(const void *)
				((const char *)s + gauges[g].offset);
			if (slot_sample(b, gauges[g].name, s, NULL,
					__atomic_load_n(p, __ATOMIC_RELAXED))
			    < 0)
				return -1;
		}
	}
	return 0;
}

static int queues_text(struct buf *b, const struct metrics_queues *q,
		       uint64_t now, bool openmetrics)
{
	if (!q->known)
		return 0;
	if (family_head(b, "surel_queue_messages", "gauge", "Messages in "
			"each queue directory.", openmetrics) < 0)
		return -1;
	for (unsigned i = 0; i < QUEUE_LIST_COUNT; i++)
		if (buf_printf(b, "surel_queue_messages{queue=\"%s\"} %llu\n",
			       queue_list_name(i),
			       (unsigned long long)q->q[i].messages) < 0)
			return -1;
	if (family_head(b, "surel_queue_oldest_age_seconds", "gauge", "Age of "
			"the oldest message of each queue, from its arrival "
			"(0 when the queue is empty).", openmetrics) < 0)
		return -1;
	for (unsigned i = 0; i < QUEUE_LIST_COUNT; i++) {
		uint64_t at = q->q[i].oldest_arrival;
		uint64_t age = at != 0 && now > at ? now - at : 0;
		if (buf_printf(b, "surel_queue_oldest_age_seconds{queue=\"%s\"} "
			       "%llu\n", queue_list_name(i),
			       (unsigned long long)age) < 0)
			return -1;
	}
	return 0;
}

int metrics_text_format(const struct metrics_region *r,
			const struct metrics_queues *queues, uint64_t now,
			bool openmetrics, struct buf *b)
{
	if (family_head(b, "surel_start_time_seconds", "gauge", "When master "
			"started (Unix time): counters start from zero then.",
			openmetrics) < 0 ||
	    buf_printf(b, "surel_start_time_seconds %llu\n",
		       (unsigned long long)r->start_time) < 0)
		return -1;
	if (queues_text(b, queues, now, openmetrics) < 0 ||
	    processes(b, r, openmetrics) < 0 ||
	    counters(b, r, openmetrics) < 0 ||
	    deliveries(b, r, openmetrics) < 0)
		return -1;
	return openmetrics ? buf_append_str(b, "# EOF\n") : 0;
}
