/* smtpd_anvil: the client connection and rate limits, counted by anvil
 * (anvil/anvil.h) and enforced here as Postfix's smtpd does: too many
 * connections or connections too fast get 421 and the session ends;
 * too many messages, recipients or AUTH commands get 450 and the session
 * goes on; too many new TLS sessions get 421 before the handshake. Clients in smtpd_client_event_limit_exceptions are not
 * counted. An authenticated user's messages are counted whatever the
 * client (smtpd_sasl_user_message_rate_limit): that limit is for an
 * account whose password was stolen, wherever it logs in from.
 *
 * One session per process, so the session's anvil connection lives in
 * this file. It opens at the first event and closes at the end of the
 * session; when anvil cannot be reached, or stops answering, the session
 * warns once and goes on without limits: mail must not stop because the
 * counter did. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include "anvil_client.h"
#include "conf.h"
#include "log.h"
#include "service.h"
#include "smtpd.h"

/* The longest wait for anvil per event; a slow anvil costs one such
 * wait per session, since the first failure turns the limits off. */
#define SMTPD_ANVIL_TIMEOUT_MS 1000
/* How much of a user name goes into a log line. */
#define SMTPD_ANVIL_USER_LOG 255

struct anvil_limits {
	uint64_t count, conn_rate, msg_rate, rcpt_rate, auth_rate, user_rate;
	uint64_t newtls_rate;
};

static struct netmatch *exceptions;
static struct anvil_limits lim;
static struct anvil_client *client;
static bool exempt;		/* this client is not counted */
static bool broken;		/* anvil failed this session: no limits */
static bool loaded;		/* the three above are this session's */

void smtpd_anvil_init(void)
{
	char **words = conf_list("smtpd_client_event_limit_exceptions");
	const char *error;

	if (netmatch_parse(words, &exceptions, &error) < 0)
		fatal("smtpd_client_event_limit_exceptions: %s", error);
	free(words);
}

static void load_limits(void)
{
	lim.count = conf_int("smtpd_client_connection_count_limit");
	lim.conn_rate = conf_int("smtpd_client_connection_rate_limit");
	lim.msg_rate = conf_int("smtpd_client_message_rate_limit");
	lim.rcpt_rate = conf_int("smtpd_client_recipient_rate_limit");
	lim.auth_rate = conf_int("smtpd_client_auth_rate_limit");
	lim.user_rate = conf_int("smtpd_sasl_user_message_rate_limit");
	lim.newtls_rate = conf_int("smtpd_client_new_tls_session_rate_limit");
}

/* Once per session, at its first event: the TLS wrapper's handshake
 * comes before the connection is counted. */
static void session_setup(struct smtpd_session *s)
{
	if (loaded)
		return;
	load_limits();
	broken = false;
	exempt = netmatch_has(exceptions, s->client_addr);
	loaded = true;
}

static void anvil_failed(const char *what)
{
	log_warn("anvil: %s: no connection or rate limits for this session",
		 what);
	broken = true;
	anvil_client_free(&client);
}

/* Counts event for ident. true with *reply when anvil counted it; false
 * when there is no answer to go by (no limit). */
static bool ask(struct smtpd_session *s, enum anvil_event event,
		const char *ident, struct anvil_reply *reply)
{
	const char *error;
	char path[4096 + sizeof(ANVIL_SOCKET)];

	if (broken)
		return false;
	if (client == NULL) {
		snprintf(path, sizeof(path), "%s/%s", s->p->queue_directory,
			 ANVIL_SOCKET);
		client = anvil_client_open(path, SMTPD_ANVIL_TIMEOUT_MS,
					   &error);
		if (client == NULL) {
			anvil_failed(error);
			return false;
		}
	}
	if (anvil_client_event(client, event, service_name(), ident, reply,
			       &error) < 0) {
		anvil_failed(error);
		return false;
	}
	if (!reply->ok) {
		log_warn("anvil: cannot count %s from %s[%s]: %s",
			 anvil_proto_event_name(event), s->client_name,
			 s->client_addr, reply->error);
		return false;
	}
	return true;
}

/* The goodbye of a connection limit: 421, and the session ends. */
static int hang_up(struct smtpd_session *s, const char *what,
		   uint32_t value)
{
	log_warn("%s limit exceeded: %lu from %s[%s] for service %s", what,
		 (unsigned long)value, s->client_name, s->client_addr,
		 service_name());
	smtpd_reply_nocount(s, "421 4.7.0 %s Error: too many connections "
			    "from %s", s->p->myhostname, s->client_addr);
	stream_set_timeout(s->stream, SMTPD_GOODBYE_TIMEOUT_MS);
	(void)smtpd_reply_flush(s, true);
	return -1;
}

int smtpd_anvil_connect(struct smtpd_session *s)
{
	struct anvil_reply r;

	session_setup(s);
	/* The count limit has a default; a session is counted even
	 * without rate limits, so that "count" is right when one is set. */
	if (exempt || (lim.count == 0 && lim.conn_rate == 0) ||
	    !ask(s, ANVIL_CONNECT, s->client_addr, &r))
		return 0;
	if (lim.count > 0 && r.count > lim.count)
		return hang_up(s, "Connection concurrency", r.count);
	if (lim.conn_rate > 0 && r.rate > lim.conn_rate)
		return hang_up(s, "Connection rate", r.rate);
	return 0;
}

/* A per-client rate check: -1 (logged, 450 given) over the limit. */
static int rate_check(struct smtpd_session *s, enum anvil_event event,
		      uint64_t limit, const char *what, const char *reply)
{
	struct anvil_reply r;

	if (exempt || limit == 0 || !ask(s, event, s->client_addr, &r) ||
	    r.rate <= limit)
		return 0;
	log_warn("%s rate limit exceeded: %lu from %s[%s] for service %s",
		 what, (unsigned long)r.rate, s->client_name, s->client_addr,
		 service_name());
	smtpd_reply(s, "450 4.7.1 Error: too %s from %s", reply,
		    s->client_addr);
	return -1;
}

int smtpd_anvil_mail(struct smtpd_session *s)
{
	struct anvil_reply r;

	if (rate_check(s, ANVIL_MESSAGE, lim.msg_rate,
		       "Message delivery request", "much mail") < 0)
		return -1;
	if (s->sasl_username == NULL || lim.user_rate == 0 ||
	    !ask(s, ANVIL_USER_MESSAGE, s->sasl_username, &r) ||
	    r.rate <= lim.user_rate)
		return 0;
	char user[4 * SMTPD_ANVIL_USER_LOG + 1];
	log_warn("SASL user message rate limit exceeded: %lu from %s[%s] "
		 "sasl_username=%s for service %s", (unsigned long)r.rate,
		 s->client_name, s->client_addr,
		 log_escape(user, sizeof(user), s->sasl_username,
			    SMTPD_ANVIL_USER_LOG), service_name());
	smtpd_reply(s, "450 4.7.1 Error: too much mail from this user");
	return -1;
}

int smtpd_anvil_rcpt(struct smtpd_session *s)
{
	return rate_check(s, ANVIL_RCPT, lim.rcpt_rate, "Recipient address",
			  "many recipients");
}

int smtpd_anvil_auth(struct smtpd_session *s)
{
	return rate_check(s, ANVIL_AUTH, lim.auth_rate, "AUTH command",
			  "many AUTH commands");
}

/* Every TLS session is new (smtpd resumes none: lib/tls.c), so each
 * handshake is counted, before it starts: a client over the limit costs
 * no handshake. */
int smtpd_anvil_newtls(struct smtpd_session *s, bool reply)
{
	struct anvil_reply r;

	session_setup(s);
	if (exempt || lim.newtls_rate == 0 ||
	    !ask(s, ANVIL_NEWTLS, s->client_addr, &r) ||
	    r.rate <= lim.newtls_rate)
		return 0;
	log_warn("New TLS session rate limit exceeded: %lu from %s[%s] for "
		 "service %s", (unsigned long)r.rate, s->client_name,
		 s->client_addr, service_name());
	if (reply) {
		smtpd_reply_nocount(s, "421 4.7.0 %s Error: too many new TLS "
				    "sessions from %s", s->p->myhostname,
				    s->client_addr);
		stream_set_timeout(s->stream, SMTPD_GOODBYE_TIMEOUT_MS);
		(void)smtpd_reply_flush(s, true);
	}
	return -1;
}

void smtpd_anvil_disconnect(struct smtpd_session *s)
{
	/* Closing the connection ends the count in anvil. */
	anvil_client_free(&client);
	exempt = false;
	broken = false;
	loaded = false;
}
