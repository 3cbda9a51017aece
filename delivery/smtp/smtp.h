/* smtp: the outbound SMTP client's parts: main.c (the service, the
 * request loop, the answer and the log lines), smtp_dest.c (the next
 * hop's addresses and the walk over them), smtp_cache.c (a connection
 * kept for the next request to the same next hop), smtp_session.c (one
 * connection: connect, greeting, EHLO/HELO, STARTTLS, replies, QUIT) and
 * smtp_trans.c (one mail transaction: MAIL, RCPT, DATA and the
 * per-recipient results) and smtp_downgrade.c (the content as it goes
 * out: as stored, or converted to 7 bits for a server without 8BITMIME). */
#ifndef SUREL_SMTP_H
#define SUREL_SMTP_H
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include "deliver_proto.h"
#include "buf.h"
#include "dns.h"
#include "maps.h"
#include "mime_downgrade.h"
#include "dkim.h"
#include "smtp_reply.h"
#include "stream.h"
#include "tls.h"
#include "tls_client.h"

/* Replies from the network: bounded (the RFC says 512 octets a line). */
#define SMTP_REPLY_LINE_MAX 4096
#define SMTP_REPLY_LINES_MAX 100
#define SMTP_REPLY_TOTAL_MAX 65536
#define SMTP_REASON_MAX 1024

/* Configuration read once at start (pre_jail). Timeouts in ms. */
struct smtp_config {
	const char *helo_name;		/* myhostname */
	int connect_ms, helo_ms, mail_ms, rcpt_ms, data_init_ms;
	int data_xfer_ms, data_done_ms, quit_ms, starttls_ms;
	int rset_ms;
	uint64_t cache_time_ms;		/* smtp_connection_cache_time_limit */
	size_t mx_address_limit;
	unsigned families;		/* inet_protocols: DNS_FAMILY_* */
	enum dns_prefer prefer;		/* smtp_address_preference */
	bool balance;			/* smtp_balance_inet_protocols */
	struct dns_resolver *resolver;
	enum tls_policy_level tls_level;	/* smtp_tls_security_level */
	struct maps *tls_policy_maps;
	struct tls_client *tls;		/* NULL: TLS cannot be used */
	struct maps *dkim_table;	/* dkim_signing_table; NULL: none */
	struct dkim_signer *dkim;	/* with dkim_table */
	const char *tls_error;		/* why tls is NULL */
};
extern struct smtp_config smtp_config;

/* One recipient's outcome. */
struct smtp_rcpt_result {
	bool final;			/* set: no later step changes it */
	enum deliver_status status;
	char dsn[SMTP_REPLY_STATUS_SIZE];
	char reason[SMTP_REASON_MAX];
	/* What a DSN reports (deliver_answer's optional attributes): the
	 * server that answered, its reply, the command; "" when none. */
	char mta[DELIVER_MTA_MAX + 1];
	char diag[DELIVER_DIAG_MAX + 1];
	char cmd[DELIVER_CMD_MAX + 1];
	bool dsn_passed;	/* sent with the DSN extension (NOTIFY passed) */
};

/* One request being served. */
struct smtp_delivery {
	const struct deliver_request2 *req;
	struct smtp_rcpt_result *res;	/* req->rcpt_count of them */
	bool site_dead;
	char relay[DNS_NAME_TEXT_MAX + INET6_ADDRSTRLEN + 16];	/* "none" */
	uint64_t start_us;		/* the request arrived */
	uint64_t setup_us;		/* connection set up: delays c/d */
	unsigned conn_use;		/* the connection's nth delivery */
	/* During a transaction (smtp_trans.c): the content's conversion to
	 * 7 bits (RFC 6152) for a server without 8BITMIME, NULL when it
	 * goes as stored, and then its size with CRLF line ends. */
	struct mime_downgrade *downgrade;
	uint64_t downgrade_size;
	/* The DKIM-Signature fields to send before the content (LF line
	 * ends; empty: unsigned), computed over the content as sent. */
	struct buf dkim_sig;
};

/* Sets every recipient that has no final result yet. */
void smtp_result_all(struct smtp_delivery *d, enum deliver_status status,
		     const char *dsn, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void smtp_result_set(struct smtp_rcpt_result *r, enum deliver_status status,
		     const char *dsn, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

struct smtp_session;
struct smtp_reply;
struct smtp_fail;
/* As smtp_result_set / smtp_result_all with f's outcome, and the server's
 * reply to cmd recorded for the DSN. */
void smtp_result_reply(struct smtp_rcpt_result *r,
		       const struct smtp_session *sess,
		       const struct smtp_reply *reply, const char *cmd,
		       const struct smtp_fail *f);
void smtp_result_all_reply(struct smtp_delivery *d,
			   const struct smtp_session *sess,
			   const struct smtp_reply *reply, const char *cmd,
			   const struct smtp_fail *f);

/* smtp_dest.c: serves d->req: looks the next hop up, walks its addresses
 * and runs the transaction on the first usable connection. Every
 * recipient has a final result afterwards. */
void smtp_dest_deliver(struct smtp_delivery *d);

/* The connection cache (smtp_dest.c): at most one session, kept after a
 * delivery for smtp_connection_cache_time_limit for the next request to
 * the same next hop. */
/* Milliseconds until the cached session expires, or -1 without one. */
int smtp_cache_wait_ms(void);
/* QUITs and closes the cached session, if any. */
void smtp_cache_close(void);
/* The cached session for nexthop, when there is one, it has not expired
 * and RSET works (relay gets its relay= text); else NULL, and any cached
 * session is closed. The caller owns what it gets. */
struct smtp_session *smtp_cache_take(const char *nexthop, char *relay,
				     size_t relay_size);
/* Keeps sess (taken over) for nexthop, or closes it with QUIT when reuse
 * is false or the cache is off. */
void smtp_cache_put(struct smtp_session *sess, const char *nexthop,
		    const char *relay, bool reuse);

/* One connection to a server. */
struct smtp_session {
	int fd;
	struct stream *s;
	struct tls_conn *tls;
	struct smtp_reply_parser *parser;
	struct smtp_ehlo ehlo;		/* ext 0 after HELO */
	char host[DNS_NAME_TEXT_MAX + 1];
	char addr[INET6_ADDRSTRLEN];
	unsigned port;
	char label[DNS_NAME_TEXT_MAX + INET6_ADDRSTRLEN + 4]; /* host[addr] */
	unsigned uses;			/* deliveries started on it */
};

/* Why a session step failed: a temporary or permanent outcome with its
 * text, plus whether the next address may be tried. */
struct smtp_fail {
	enum deliver_status status;
	char dsn[SMTP_REPLY_STATUS_SIZE];
	char reason[SMTP_REASON_MAX];
	bool next_address;	/* this server's fault: try another */
	bool retry_plain;	/* TLS at may failed: this address again
				 * without TLS */
	bool connected;		/* the TCP connection was made: the log's
				 * relay= names the server */
};

void smtp_fail_set(struct smtp_fail *f, enum deliver_status status,
		   const char *dsn, bool next_address, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* The TLS wanted for a session. */
struct smtp_tls_want {
	enum tls_policy_level level;
	const struct tls_policy *policy;	/* NULL: main.cf's */
	const char *nexthop_domain;
	bool host_is_secure;
};

/* smtp_session.c. Connects to addr, reads the greeting, says EHLO (HELO
 * when refused) and starts TLS as want says (none when plain). 0 with
 * *sess_r ready for MAIL, or -1 with *fail filled and nothing open. */
int smtp_session_open(const struct dns_mx_addr *addr, unsigned port,
		      const struct smtp_tls_want *want, bool plain,
		      struct smtp_session **sess_r, struct smtp_fail *fail);
/* Sends QUIT (waiting at most smtp_quit_timeout for the reply) unless
 * lost, then closes. */
void smtp_session_close(struct smtp_session **sess, bool lost);
/* Reads one reply within timeout_ms. 0 with *reply_r (valid until the
 * next read), or -1 with *fail filled ("... while <what>"). */
int smtp_session_read(struct smtp_session *sess, int timeout_ms,
		      const char *what, const struct smtp_reply **reply_r,
		      struct smtp_fail *fail);
/* Sends cmd (a whole command with its CRLF) and what was buffered
 * before it, and reads the reply within timeout_ms: 0 with *reply_r, or
 * -1 with *fail ("... while <what>"). */
int smtp_session_command(struct smtp_session *sess, const char *cmd,
			 int timeout_ms, const char *what,
			 const struct smtp_reply **reply_r,
			 struct smtp_fail *fail);
/* Flushes the commands buffered; -1 with *fail on a failed write. */
int smtp_session_flush(struct smtp_session *sess, int timeout_ms,
		       const char *what, struct smtp_fail *fail);
/* RSET before a cached session is used again: 0 when the server said
 * 2xx, -1 (the session is then to be closed as lost) otherwise. */
int smtp_session_rset(struct smtp_session *sess);
/* Fills fail from a reply: "host X said: REPLY (in reply to CMD command)"
 * with the reply's class and enhanced code. */
void smtp_session_reply_fail(const struct smtp_session *sess,
			     const struct smtp_reply *reply, unsigned flags,
			     const char *cmd, struct smtp_fail *fail);

/* smtp_trans.c: one mail transaction on an open session; sets the
 * recipients' results. Returns 0 when the session may still be used
 * (QUIT), -1 when it is lost. */
int smtp_trans_run(struct smtp_delivery *d, struct smtp_session *sess);

/* smtp_dkim.c: before MAIL (after the downgrade check), d->dkim_sig gets
 * the signatures the request and dkim_signing_table ask for. 0 to go on
 * (signed or not), -1 when every recipient has its result (deferred: a
 * table or key that cannot be read). */
int smtp_dkim_prepare(struct smtp_delivery *d, int fd);

/* smtp_downgrade.c. The content as it goes out, piece by piece (LF line
 * ends, before dot-stuffing): the queue file's octets, or their
 * conversion by dg (a convert pass starts at init). */
struct smtp_source {
	const struct deliver_request2 *req;
	int fd;
	uint64_t off, end;
	struct mime_downgrade *dg;	/* NULL: as stored */
	char *in;
	struct buf conv;
	bool done;
};
void smtp_source_init(struct smtp_source *src,
		      const struct deliver_request2 *req, int fd,
		      struct mime_downgrade *dg);
void smtp_source_deinit(struct smtp_source *src);
/* The next piece (*piece_r, valid until the next call): its length, 0 at
 * the end, or -1 with *f (a read error, or the content changed since the
 * check). The caller then has sent part of the message and hangs up. */
ssize_t smtp_source_next(struct smtp_source *src, const char **piece_r,
			 struct smtp_fail *f);
/* The octets of the content with CRLF line ends, a missing final line
 * end added (what BDAT sends): 0 with *size_r, or -1 with *f. */
int smtp_source_size(struct smtp_source *src, uint64_t *size_r,
		     struct smtp_fail *f);
/* 1 if the content has an octet >= 0x80 (in its header section only when
 * headers_only), 0 if not, -1 on a read error. */
int smtp_content_8bit(int fd, const struct deliver_request2 *req,
		      bool headers_only);
/* The 8BITMIME check before MAIL: when the server lacks 8BITMIME and the
 * content has 8-bit octets, sets d->downgrade (converted in a first pass
 * that sends nothing) and d->downgrade_size, or fails every recipient
 * (5.6.3 when the message cannot be converted). 0 to go on, -1 when every
 * recipient has its result. */
int smtp_downgrade_check(struct smtp_delivery *d,
			 const struct smtp_session *sess, int fd);

#endif
