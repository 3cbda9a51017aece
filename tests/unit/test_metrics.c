#include "config.h"
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include "metrics.h"
#include "metrics_text.h"
#include "queue_id.h"
#include "unit.h"

static struct metrics_region *region;

static void test_slots(void)
{
	int fd;
	const char *error;

	UNIT_CHECK(metrics_region_create(&fd, &region, &error) == 0);
	UNIT_CHECK(region->start_time > 0);
	int smtp = metrics_slot_assign(region, "smtp", "inet", "smtpd");
	int smtp_unix = metrics_slot_assign(region, "smtp", "unix", "smtp");
	UNIT_CHECK(smtp == 0 && smtp_unix == 1);
	/* a reload finds the same slot, whatever the program now is */
	UNIT_CHECK(metrics_slot_assign(region, "smtp", "inet", "other") ==
		   smtp);
	UNIT_STREQ(region->slot[smtp].program, "smtpd");
	char long_name[METRICS_NAME_MAX + 1];
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	UNIT_CHECK(metrics_slot_assign(region, long_name, "unix", "x") < 0);
	/* the table fills up, then refuses */
	char name[32];
	int last = -2;
	for (int i = 2; i < METRICS_SLOTS; i++) {
		snprintf(name, sizeof(name), "svc%d", i);
		last = metrics_slot_assign(region, name, "unix", "local");
	}
	UNIT_CHECK(last == METRICS_SLOTS - 1);
	UNIT_CHECK(metrics_slot_assign(region, "one-more", "unix", "x") < 0);
	metrics_slot_processes(region, smtp, 5, 2);
	UNIT_CHECK(region->slot[smtp].processes == 5 &&
		   region->slot[smtp].busy == 2);
	metrics_slot_processes(region, -1, 1, 1);	/* ignored */
	metrics_slot_processes(region, METRICS_SLOTS, 1, 1);

	/* A child: the region on METRICS_FD, its slot in the environment. */
	metrics_count(METRICS_CONNECTIONS);	/* not attached: nothing */
	UNIT_CHECK(region->slot[smtp].counter[METRICS_CONNECTIONS] == 0);
	UNIT_CHECK(dup2(fd, METRICS_FD) == METRICS_FD);
	setenv(METRICS_SLOT_ENV, "0", 1);
	metrics_attach();
	UNIT_CHECK(getenv(METRICS_SLOT_ENV) == NULL);
	UNIT_CHECK(fcntl(METRICS_FD, F_GETFD) < 0);	/* closed */
	UNIT_CHECK(metrics_region() != NULL);
	metrics_count(METRICS_CONNECTIONS);
	metrics_count(METRICS_CONNECTIONS);
	metrics_count(METRICS_AUTH_FAIL);
	metrics_count_tls("TLSv1.3");
	metrics_count_tls("TLSv1.2");
	metrics_count_tls("SSLv3");
	metrics_count_delivery(DELIVER_OK, "2.0.0");
	metrics_count_delivery(DELIVER_TEMPFAIL, "4.4.1");
	metrics_count_delivery(DELIVER_TEMPFAIL, "4.4.2");
	metrics_count_delivery(DELIVER_PERMFAIL, "5.1.1");
	metrics_count_delivery(DELIVER_PERMFAIL, "garbage");
	const struct metrics_slot *s = &region->slot[smtp];
	UNIT_CHECK(s->counter[METRICS_CONNECTIONS] == 2);
	UNIT_CHECK(s->counter[METRICS_AUTH_FAIL] == 1);
	UNIT_CHECK(s->counter[METRICS_TLS_1_3] == 1 &&
		   s->counter[METRICS_TLS_1_2] == 1 &&
		   s->counter[METRICS_TLS_OTHER] == 1);
	UNIT_CHECK(s->delivery[METRICS_SENT][0] == 1);
	UNIT_CHECK(s->delivery[METRICS_DEFERRED][4] == 2);
	UNIT_CHECK(s->delivery[METRICS_BOUNCED][1] == 1);
	UNIT_CHECK(s->delivery[METRICS_BOUNCED][0] == 1);
	UNIT_CHECK(region->slot[smtp_unix].counter[METRICS_CONNECTIONS] == 0);
	close(fd);
}

static void test_dsn_subject(void)
{
	static const struct { const char *dsn; unsigned subject; } t[] = {
		{ "2.0.0", 0 }, { "4.4.1", 4 }, { "5.7.26", 7 },
		{ "5.1.10", 1 }, { "4.2.2", 2 },
		{ "5.8.1", 0 },		/* no such subject */
		{ "5.12.1", 0 }, { "5.1", 0 }, { "5.1.", 0 }, { "6.1.1", 0 },
		{ "x.1.1", 0 }, { "", 0 }, { "5..1", 0 },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		UNIT_CHECK(metrics_dsn_subject(t[i].dsn) == t[i].subject);
	UNIT_CHECK(metrics_dsn_subject(NULL) == 0);
}

static void test_text(void)
{
	struct metrics_queues q = { .known = true };
	struct buf b;

	q.q[QUEUE_LIST_DEFERRED].messages = 3;
	q.q[QUEUE_LIST_DEFERRED].oldest_arrival = 1000;
	buf_init(&b, 1 << 20);
	UNIT_CHECK(metrics_text_format(region, &q, 1600, false, &b) == 0);
	const char *t = buf_cstr(&b);
	UNIT_CHECK(strstr(t, "# TYPE surel_connections_total counter\n") !=
		   NULL);
	UNIT_CHECK(strstr(t, "surel_connections_total{service=\"smtp\","
			  "type=\"inet\",program=\"smtpd\"} 2\n") != NULL);
	UNIT_CHECK(strstr(t, "surel_connections_total{service=\"smtp\","
			  "type=\"unix\",program=\"smtp\"} 0\n") != NULL);
	UNIT_CHECK(strstr(t, "surel_tls_handshakes_total{service=\"smtp\","
			  "type=\"inet\",program=\"smtpd\",version="
			  "\"TLSv1.3\"} 1\n") != NULL);
	UNIT_CHECK(strstr(t, "surel_deliveries_total{service=\"smtp\","
			  "type=\"inet\",program=\"smtpd\",status="
			  "\"deferred\",dsn=\"4.4\"} 2\n") != NULL);
	/* only counted outcomes appear */
	UNIT_CHECK(strstr(t, "dsn=\"4.0\"") == NULL);
	UNIT_CHECK(strstr(t, "surel_queue_messages{queue=\"deferred\"} 3\n")
		   != NULL);
	UNIT_CHECK(strstr(t, "surel_queue_oldest_age_seconds{queue="
			  "\"deferred\"} 600\n") != NULL);
	UNIT_CHECK(strstr(t, "surel_queue_oldest_age_seconds{queue="
			  "\"hold\"} 0\n") != NULL);
	UNIT_CHECK(strstr(t, "surel_processes{service=\"smtp\",type="
			  "\"inet\",program=\"smtpd\"} 5\n") != NULL);
	UNIT_CHECK(strstr(t, "surel_processes_busy{service=\"smtp\",type="
			  "\"inet\",program=\"smtpd\"} 2\n") != NULL);
	UNIT_CHECK(strstr(t, "# EOF") == NULL);

	/* OpenMetrics: families without _total, and the end marker */
	buf_reset(&b);
	q.known = false;
	UNIT_CHECK(metrics_text_format(region, &q, 1600, true, &b) == 0);
	t = buf_cstr(&b);
	UNIT_CHECK(strstr(t, "# TYPE surel_connections counter\n") != NULL);
	UNIT_CHECK(strstr(t, "surel_connections_total{") != NULL);
	UNIT_CHECK(strstr(t, "surel_queue_messages") == NULL);
	UNIT_CHECK(b.len > 6 && strcmp(t + b.len - 6, "# EOF\n") == 0);

	/* label values are escaped; a full buffer is an error */
	struct metrics_region *r = calloc(1, sizeof(*r));
	UNIT_CHECK(metrics_slot_assign(r, "a\"b\\c", "unix", "x\ny") == 0);
	buf_reset(&b);
	UNIT_CHECK(metrics_text_format(r, &q, 0, false, &b) == 0);
	UNIT_CHECK(strstr(buf_cstr(&b), "service=\"a\\\"b\\\\c\",type=\"unix\","
			  "program=\"x\\ny\"") != NULL);
	struct buf small;
	buf_init(&small, 100);
	UNIT_CHECK(metrics_text_format(r, &q, 0, false, &small) < 0);
	buf_deinit(&small);
	free(r);
	buf_deinit(&b);
}

static void test_queue_id_seconds(void)
{
	char id[QUEUE_ID_MAX];
	uint64_t us;

	queue_id_new(id, &us);
	UNIT_CHECK(queue_id_seconds(id) == us / 1000000);
	UNIT_CHECK(queue_id_seconds("6740A3B2F0A1B2C3F1E") == 0x6740A3B2F0ULL);
	UNIT_CHECK(queue_id_seconds("6740a3b2f0A1B2C3F1E") == 0);
}

int main(void)
{
	test_slots();
	test_dsn_subject();
	test_text();
	test_queue_id_seconds();
	return unit_done();
}
