"""delivery/smtp, the outbound SMTP client, over a real instance. The test
plays qmgr: it writes a message's content under the instance's queue
(active/ID), connects to private/smtp, reads the version 2 hello and sends
version 2 requests (deliver_proto.h), then checks the answers, the log
lines and what the peer received byte for byte.

Peers: a scripted server in this file (every misbehaviour on demand:
rejections, multi-line and malformed replies, silence, a close after the
final dot, STARTTLS that fails or works), aiosmtpd (python3-aiosmtpd), and
a second surel instance whose smtpd delivers into its Maildir. DNS:
dnsmasq on a free loopback port with MX records for .test names that point
at 127.0.0.1; the next hop "domain:PORT" reaches the MX hosts on the
peer's port. Loopback only; every wait is bounded; what a test starts it
stops by pid."""

import re
import ssl
import time
import unittest

from instance import Instance, free_port, test_certificate, wait_until
from smtp_peer import (Agent, Dnsmasq, SmtpClientCase, aiosmtpd_controller,
                       new_qid)


LOG_SENT = (r"^\S+ \d+ \d\d:\d\d:\d\d \S+ surel/smtp\[\d+\]: %s: "
            r"to=<%s>, relay=%s, delay=[0-9.]+, "
            r"delays=[0-9.]+/[0-9.]+/[0-9.]+/[0-9.]+, dsn=%s, status=%s "
            r"\(%s\)$")


class Delivery(SmtpClientCase):
    """What goes on the wire, and what comes back."""

    def test_sent_bytes_pipelined(self):
        p = self.peer()
        data = (b"Subject: dots\n\nline1\n.dot\n..two\n.\n"
                b"8bit \xc3\xa9\ncr\r\nlast")
        qid, ans = self.request(
            "mx.test:%d" % p.port,
            [("a@example.test", "rfc822;a+40example.test", "SUCCESS,FAILURE"),
             ("b@example.test", "", "NEVER")],
            data=data, ret="HDRS", envid="env+2Bid", body="8bitmime")
        self.assertEqual(ans["status_0"], "0")
        self.assertEqual(ans["status_1"], "0")
        self.assertEqual(ans["dsn_0"], "2.0.0")
        self.assertEqual(ans["reason_0"], "250 2.0.0 Ok: queued as ABC")
        self.assertEqual(ans["site"], "ok")
        sess = p.sessions[0]
        self.assertEqual(sess["data"],
                         b"Subject: dots\r\n\r\nline1\r\n..dot\r\n...two\r\n"
                         b"..\r\n8bit \xc3\xa9\r\ncr\r\nlast\r\n")
        cmds = p.commands()
        self.assertEqual(cmds[0], "EHLO mx.example.test")
        self.assertEqual(cmds[1], "MAIL FROM:<s@x.test> SIZE=%d BODY=8BITMIME "
                         "RET=HDRS ENVID=env+2Bid" % len(data))
        self.assertEqual(cmds[2], "RCPT TO:<a@example.test> "
                         "NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a+40example.test")
        self.assertEqual(cmds[3], "RCPT TO:<b@example.test> NOTIFY=NEVER")
        self.assertEqual(cmds[4], "DATA")
        # The agent connection closed: the cached server connection is
        # QUIT at once.
        self.assertTrue(wait_until(lambda: p.commands()[-1:] == ["QUIT"], 5))
        # PIPELINING: MAIL, both RCPTs and DATA came in one write.
        group = [c for c in sess["chunks"] if b"MAIL FROM" in c][0]
        self.assertIn(b"RCPT TO:<b@example.test>", group)
        self.assertTrue(group.endswith(b"DATA\r\n"))
        lines = self.log_of(qid, 2)
        relay = re.escape("mx1.mx.test[127.0.0.1]:%d" % p.port)
        for addr, line in zip(("a@example.test", "b@example.test"), lines):
            self.assertRegex(line, LOG_SENT % (
                qid, re.escape(addr), relay, r"2\.0\.0", "sent",
                re.escape("250 2.0.0 Ok: queued as ABC")))

    def test_chunking_bdat(self):
        """CHUNKING: one BDAT LAST, CRLF line ends, no dot-stuffing, the
        size exact (a CR LF split over the 64 KiB reads included)."""
        for ext in (["PIPELINING", "CHUNKING", "8BITMIME"], ["CHUNKING"]):
            p = self.peer(ext=ext)
            # The CR of a CRLF is the last octet of the first 64 KiB read.
            data = (b"Subject: bdat\n\n.dot\nbare\n" + b"x" * 65510 +
                    b"\r\nafter split\r\n..\nend")
            qid, ans = self.request("mx.test:%d" % p.port,
                                    ["a@example.test", "b@example.test"],
                                    data=data)
            self.assertEqual((ans["status_0"], ans["status_1"]), ("0", "0"))
            want = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") + \
                b"\r\n"
            self.assertEqual(p.sessions[0]["data"], want)
            cmds = p.commands()
            self.assertIn("BDAT %d LAST" % len(want), cmds)
            self.assertNotIn("DATA", cmds)

    def test_many_recipients(self):
        """300 recipients pipelined in one write: every answer in order."""
        rcpts = ["r%03d@example.test" % i for i in range(300)]
        p = self.peer(rcpt=lambda a: "550 5.1.1 no" if a.startswith("r1")
                      else "250 2.1.5 Ok")
        qid, ans = self.request("mx.test:%d" % p.port, rcpts)
        for i, r in enumerate(rcpts):
            self.assertEqual(ans["status_%d" % i],
                             "5" if r.startswith("r1") else "0")
        self.assertEqual(len(self.log_of(qid, 300)), 300)
        self.assertEqual(p.commands()[1 + 300 + 1], "DATA")

    def test_helo_fallback_no_extensions(self):
        """EHLO refused: HELO, and then no parameter, no pipelining."""
        p = self.peer(ehlo="502 5.5.2 EHLO not here")
        qid, ans = self.request("mx.test:%d" % p.port,
                                [("a@example.test", "rfc822;a@x", "NEVER"),
                                 "b@example.test"],
                                ret="FULL", envid="e1")
        self.assertEqual((ans["status_0"], ans["status_1"]), ("0", "0"))
        cmds = p.commands()
        self.assertEqual(cmds[:6], ["EHLO mx.example.test",
                                    "HELO mx.example.test",
                                    "MAIL FROM:<s@x.test>",
                                    "RCPT TO:<a@example.test>",
                                    "RCPT TO:<b@example.test>", "DATA"])
        # One command per write: MAIL's chunk holds nothing else.
        mail = [c for c in p.sessions[0]["chunks"] if b"MAIL FROM" in c][0]
        self.assertNotIn(b"RCPT", mail)

    def test_per_recipient_answers(self):
        def rcpt(addr):
            return {"bad@example.test": "550 5.1.1 <bad@example.test>: no such user",
                    "full@example.test": "452 4.2.2 mailbox full",
                    "old@example.test": "552 too many"}.get(addr, "250 2.1.5 Ok")
        for ext in (None, []):      # pipelined, then one at a time
            p = self.peer(rcpt=rcpt, ext=ext)
            qid, ans = self.request("mx.test:%d" % p.port,
                                    ["good@example.test", "bad@example.test",
                                     "full@example.test", "old@example.test"])
            self.assertEqual([ans["status_%d" % i] for i in range(4)],
                             ["0", "5", "4", "4"])
            self.assertEqual(ans["dsn_1"], "5.1.1")
            self.assertEqual(ans["dsn_2"], "4.2.2")
            # RFC 5321 4.5.3.1.10: 552 to RCPT is a 452.
            self.assertEqual(ans["dsn_3"], "4.0.0")
            self.assertEqual(ans["reason_1"],
                             "host mx1.mx.test[127.0.0.1] said: 550 5.1.1 "
                             "<bad@example.test>: no such user (in reply to "
                             "RCPT TO command)")
            self.assertEqual(ans["site"], "ok")
            lines = self.log_of(qid, 4)
            self.assertIn("status=bounced (host mx1.mx.test[127.0.0.1] said: "
                          "550 5.1.1", lines[1])
            self.assertIn("status=deferred (host", lines[2])

    def test_reject_at_greeting_is_temporary_and_site_dead(self):
        p = self.peer(greeting="554 5.7.1 go away")
        qid, ans = self.request("mx.test:%d" % p.port, ["a@example.test"])
        self.assertEqual(ans["status_0"], "4")
        self.assertEqual(ans["dsn_0"], "4.7.1")
        self.assertEqual(ans["reason_0"], "host mx1.mx.test[127.0.0.1] refused "
                         "to talk to me: 554 5.7.1 go away")
        self.assertEqual(ans["site"], "dead")
        self.assertIn("relay=mx1.mx.test[127.0.0.1]:%d," % p.port,
                      self.log_of(qid)[0])

    def test_reject_at_mail(self):
        for ext in (None, []):
            p = self.peer(mail="553 5.7.1 sender rejected", ext=ext)
            qid, ans = self.request("mx.test:%d" % p.port,
                                    ["a@example.test", "b@example.test"])
            self.assertEqual((ans["status_0"], ans["status_1"]), ("5", "5"))
            self.assertEqual(ans["reason_1"], "host mx1.mx.test[127.0.0.1] said: "
                             "553 5.7.1 sender rejected (in reply to MAIL FROM "
                             "command)")
            # Pipelined, this peer said 354 to DATA anyway: the client
            # must then end an empty message at once (RFC 2920 3.1).
            self.assertIn(p.sessions[0]["data"], (None, b""))

    def test_end_of_data_replies(self):
        for dot, status, dsn in (("452 4.3.1 no space", "4", "4.3.1"),
                                 ("554 5.6.0 content rejected", "5", "5.6.0")):
            p = self.peer(dot=dot)
            qid, ans = self.request("mx.test:%d" % p.port,
                                    ["a@example.test", "b@example.test"])
            self.assertEqual((ans["status_0"], ans["status_1"]), (status, status))
            self.assertEqual(ans["dsn_0"], dsn)
            self.assertEqual(ans["reason_0"], "host mx1.mx.test[127.0.0.1] said: "
                             "%s (in reply to end of DATA command)" % dot)

    def test_data_command_rejected(self):
        p = self.peer(data="554 5.5.1 no valid recipients")
        qid, ans = self.request("mx.test:%d" % p.port, ["a@example.test"])
        self.assertEqual(ans["status_0"], "5")
        self.assertIn("(in reply to DATA command)", ans["reason_0"])

    def test_all_recipients_rejected_pipelined(self):
        """No recipient accepted: no content, even after a 354."""
        p = self.peer(rcpt=lambda a: "550 5.1.1 no")
        qid, ans = self.request("mx.test:%d" % p.port, ["a@example.test"])
        self.assertEqual(ans["status_0"], "5")
        self.assertIn(p.sessions[0]["data"], (None, b""))

    def test_unexpected_reply_codes(self):
        """A 354 to MAIL, a 250 to DATA: protocol errors, temporary."""
        for kw, dsn in (({"mail": "354 go ahead"}, "4.5.0"),
                        ({"data": "250 2.0.0 fine", "ext": []}, "4.5.0")):
            p = self.peer(**kw)
            qid, ans = self.request("mx.test:%d" % p.port, ["a@example.test"])
            self.assertEqual((ans["status_0"], ans["dsn_0"]), ("4", dsn))

    def test_multiline_replies(self):
        p = self.peer(greeting="220-peer.test hello\n220-more\n220 ready",
                      dot="250-2.0.0 Ok\n250-second line\n250 2.0.0 queued as Z")
        qid, ans = self.request("mx.test:%d" % p.port, ["a@example.test"])
        self.assertEqual(ans["status_0"], "0")
        self.assertEqual(ans["reason_0"],
                         "250-2.0.0 Ok 250-second line 250 2.0.0 queued as Z")

    def test_peer_greets_with_our_name_loops(self):
        """An MX that is this host (its EHLO names our myhostname): the
        mail would loop, so it fails with 5.4.6, as in Postfix."""
        me = self.inst.main_cf["myhostname"]
        p = self.peer(ehlo="250-%s\n250 PIPELINING" % me)
        qid, ans = self.request("mx.test:%d" % p.port, ["a@example.test"])
        self.assertEqual((ans["status_0"], ans["dsn_0"]), ("5", "5.4.6"))
        self.assertIn("loops back to myself", ans["reason_0"])
        self.assertNotIn("MAIL FROM", " ".join(p.commands()))

    def test_malformed_reply(self):
        p = self.peer(rcpt=lambda a: "25O not a code")
        qid, ans = self.request("mx.test:%d" % p.port, ["a@example.test"])
        self.assertEqual(ans["status_0"], "4")
        self.assertTrue(ans["reason_0"].startswith("malformed reply"),
                        ans["reason_0"])
        self.assertIsNone(p.sessions[0]["data"])

    def test_reply_too_long(self):
        p = self.peer(mail="250 " + "x" * 5000)
        qid, ans = self.request("mx.test:%d" % p.port, ["a@example.test"])
        self.assertEqual(ans["status_0"], "4")
        self.assertIn("malformed reply", ans["reason_0"])

    def test_peer_goes_silent(self):
        p = self.peer(data="HANG")
        t0 = time.monotonic()
        qid, ans = self.request("mx.test:%d" % p.port, ["a@example.test"])
        self.assertLess(time.monotonic() - t0, 10)
        self.assertEqual(ans["status_0"], "4")
        self.assertEqual(ans["dsn_0"], "4.4.2")
        self.assertEqual(ans["reason_0"], "conversation with mx1.mx.test"
                         "[127.0.0.1] timed out while sending DATA command")

    def test_close_after_final_dot(self):
        p = self.peer(dot=None)
        qid, ans = self.request("mx.test:%d" % p.port,
                                ["a@example.test", "b@example.test"])
        self.assertEqual((ans["status_0"], ans["status_1"]), ("4", "4"))
        self.assertEqual(ans["reason_0"], "lost connection with mx1.mx.test"
                         "[127.0.0.1] while sending end of data -- message "
                         "may be sent more than once")
        self.assertIsNotNone(p.sessions[0]["data"])

    def test_size_limit(self):
        p = self.peer(ext=["SIZE 10", "PIPELINING"])
        qid, ans = self.request("mx.test:%d" % p.port, ["a@example.test"],
                                data=b"Subject: big\n\n" + b"x" * 100 + b"\n")
        self.assertEqual(ans["status_0"], "5")
        self.assertEqual(ans["dsn_0"], "5.3.4")
        self.assertIn("exceeds size limit 10 of server", ans["reason_0"])
        self.assertFalse(any(c.startswith("MAIL") for c in p.commands()))

    def test_8bit_to_7bit_peer(self):
        p = self.peer(ext=["PIPELINING"])
        qid, ans = self.request("mx.test:%d" % p.port, ["a@example.test"],
                                data=b"Subject: x\n\n\xc3\xa9\n", body="8bitmime")
        self.assertEqual((ans["status_0"], ans["dsn_0"]), ("5", "5.6.3"))
        # Declared 8BITMIME but all ASCII: goes, without BODY=.
        qid, ans = self.request("mx.test:%d" % p.port, ["a@example.test"],
                                data=b"Subject: x\n\nascii\n", body="8bitmime")
        self.assertEqual(ans["status_0"], "0")
        self.assertIn("MAIL FROM:<s@x.test>", p.commands(1))

    def test_smtputf8(self):
        p = self.peer(ext=["PIPELINING", "8BITMIME"])
        qid, ans = self.request("mx.test:%d" % p.port,
                                ["\u03b4@example.test"], smtputf8="1")
        self.assertEqual((ans["status_0"], ans["dsn_0"]), ("5", "5.6.7"))
        self.assertEqual(ans["reason_0"], "SMTPUTF8 is required, but was not "
                         "offered by host mx1.mx.test[127.0.0.1]")
        p2 = self.peer()
        qid, ans = self.request("mx.test:%d" % p2.port,
                                ["\u03b4@example.test"], smtputf8="1")
        self.assertEqual(ans["status_0"], "0")
        self.assertIn("SMTPUTF8", p2.commands()[1])
        self.assertEqual(p2.commands()[2], "RCPT TO:<\u03b4@example.test>")

    def test_connection_reuse(self):
        """Requests for the same next hop on one agent connection share
        one server connection (RSET between them); the log says
        conn_use=N from the second; the connection is QUIT when
        smtp_connection_cache_time_limit (2s) has passed."""
        p = self.peer()
        agent = Agent(self.inst)
        try:
            qids = []
            for n in range(3):
                qid, ans = self.request("[127.0.0.1]:%d" % p.port,
                                        ["a%d@example.test" % n], agent=agent)
                self.assertEqual(ans["status_0"], "0")
                qids.append(qid)
            self.assertEqual(len(p.sessions), 1)
            self.assertTrue(wait_until(lambda: "QUIT" in p.commands(), 6),
                            "cached connection not closed in time")
        finally:
            agent.close()
        cmds = p.commands()
        self.assertEqual(cmds.count("EHLO mx.example.test"), 1)
        self.assertEqual(cmds.count("RSET"), 2)
        self.assertEqual(cmds.count("DATA"), 3)
        self.assertNotIn("conn_use=", self.log_of(qids[0])[0])
        self.assertIn("relay=127.0.0.1[127.0.0.1]:%d, conn_use=3, delay=" %
                      p.port, self.log_of(qids[2])[0])

    def test_no_reuse_for_another_nexthop_or_after_rset_failure(self):
        p = self.peer()
        q = self.peer(rset="421 4.3.2 closing")
        agent = Agent(self.inst)
        try:
            for nexthop in ("[127.0.0.1]:%d" % p.port,
                            "mx.test:%d" % p.port,
                            "[127.0.0.1]:%d" % q.port,
                            "[127.0.0.1]:%d" % q.port):
                qid, ans = self.request(nexthop, ["a@example.test"],
                                        agent=agent)
                self.assertEqual(ans["status_0"], "0")
        finally:
            agent.close()
        # Another next hop string: a new connection, the old one QUIT.
        self.assertEqual(len(p.sessions), 2)
        self.assertEqual(p.commands(0)[-1], "QUIT")
        # RSET refused: a new connection carries the mail.
        self.assertEqual(len(q.sessions), 2)
        self.assertEqual(q.commands(0)[-1], "RSET")

    def test_bad_request_closes_connection(self):
        agent = Agent(self.inst)
        try:
            agent.send([("queue_id", "X"), ("rcpt_0", "a@b")])
            with self.assertRaises(EOFError):
                agent.read_msg()
        finally:
            agent.close()


class Dns(SmtpClientCase):
    """The next hop's addresses."""

    def test_second_mx_when_first_refuses(self):
        p = self.peer()
        qid, ans = self.request("two.test:%d" % p.port, ["a@two.test"])
        self.assertEqual(ans["status_0"], "0")
        self.assertIn("relay=mx1.mx.test[127.0.0.1]:%d," % p.port,
                      self.log_of(qid)[0])

    def test_null_mx(self):
        qid, ans = self.request("nullmx.test:25", ["a@nullmx.test"])
        self.assertEqual((ans["status_0"], ans["dsn_0"]), ("5", "5.1.10"))
        self.assertEqual(ans["site"], "ok")
        self.assertIn("relay=none,", self.log_of(qid)[0])

    def test_nxdomain(self):
        qid, ans = self.request("nosuch.test:25", ["a@nosuch.test"])
        self.assertEqual((ans["status_0"], ans["dsn_0"]), ("5", "5.4.4"))
        self.assertIn("Host or domain name not found", ans["reason_0"])

    def test_mx_name_is_a_cname(self):
        p = self.peer()
        qid, ans = self.request("cname.test:%d" % p.port, ["a@cname.test"])
        self.assertEqual(ans["status_0"], "0", ans)
        self.assertEqual(len(p.sessions), 1)
        self.assertIn("[127.0.0.1]:%d," % p.port, self.log_of(qid)[0])

    def test_ipv6_mx_host(self):
        try:
            p = self.peer(host="::1")
        except OSError as e:
            self.skipTest("no IPv6 loopback: %s" % e)
        qid, ans = self.request("v6.test:%d" % p.port, ["a@v6.test"])
        self.assertEqual(ans["status_0"], "0", ans)
        self.assertIn("relay=v6.mx.test[::1]:%d," % p.port,
                      self.log_of(qid)[0])
        self.assertIn(b"Subject: t\r\n", p.sessions[0]["data"])

    def test_ipv6_literal_nexthop(self):
        try:
            p = self.peer(host="::1")
        except OSError as e:
            self.skipTest("no IPv6 loopback: %s" % e)
        qid, ans = self.request("[ipv6:::1]:%d" % p.port, ["a@v6.test"])
        self.assertEqual(ans["status_0"], "0", ans)
        self.assertIn("[::1]:%d," % p.port, self.log_of(qid)[0])

    def test_nobody_listens(self):
        port = free_port()
        qid, ans = self.request("mx.test:%d" % port, ["a@example.test"])
        self.assertEqual((ans["status_0"], ans["dsn_0"]), ("4", "4.4.1"))
        self.assertEqual(ans["reason_0"], "connect to mx1.mx.test[127.0.0.1]:"
                         "%d: Connection refused" % port)
        self.assertEqual(ans["site"], "dead")


class Tls(SmtpClientCase):
    """STARTTLS at may (the instance's level) and, per smtp_tls_policy_maps,
    encrypt (enc.test) and dane (dane.test, not supported: defer)."""

    def tls_context(self):
        cert, key = test_certificate()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        return ctx

    def test_starttls_works(self):
        p = self.peer(starttls="ok", tls_context=self.tls_context())
        qid, ans = self.request("mx.test:%d" % p.port, ["a@example.test"])
        self.assertEqual(ans["status_0"], "0")
        self.assertTrue(p.sessions[0]["tls"])
        self.assertEqual(p.sessions[0]["data"], b"Subject: t\r\n\r\nhello\r\n")
        self.assertTrue(wait_until(lambda: any(
            re.search(r"surel/smtp\[\d+\]: Untrusted TLS connection established "
                      r"to mx1\.mx\.test\[127\.0\.0\.1\]:%d: TLSv1\.[23] with "
                      r"cipher \S+ \(\d+/\d+ bits\)" % p.port, l)
            for l in self.inst.log_lines()), 10), "no TLS log line")

    def test_may_handshake_failure_retries_plain(self):
        p = self.peer(starttls="fail")
        qid, ans = self.request("mx.test:%d" % p.port, ["a@example.test"])
        self.assertEqual(ans["status_0"], "0")
        self.assertEqual(len(p.sessions), 2)
        self.assertNotIn("STARTTLS", p.commands(1))
        self.assertIsNotNone(p.sessions[1]["data"])

    def test_encrypt_handshake_failure_defers(self):
        p = self.peer(starttls="fail")
        qid, ans = self.request("enc.test:%d" % p.port, ["a@enc.test"])
        self.assertEqual((ans["status_0"], ans["dsn_0"]), ("4", "4.7.5"))
        self.assertEqual(len(p.sessions), 1)

    def test_encrypt_not_offered_defers(self):
        p = self.peer()
        qid, ans = self.request("enc.test:%d" % p.port, ["a@enc.test"])
        self.assertEqual((ans["status_0"], ans["dsn_0"]), ("4", "4.7.4"))
        self.assertFalse(any(c.startswith("MAIL") for c in p.commands()))

    def test_unsupported_level_defers(self):
        p = self.peer()
        qid, ans = self.request("dane.test:%d" % p.port, ["a@dane.test"])
        self.assertEqual((ans["status_0"], ans["dsn_0"]), ("4", "4.7.5"))
        self.assertEqual(p.sessions, [])


class DnsDown(SmtpClientCase):
    """A resolver that does not answer: temporary, and the site is dead."""

    @classmethod
    def setUpClass(cls):
        cls.dns = Dnsmasq()
        dead = free_port()
        try:
            cls.inst = cls.make_instance(dead)
        except Exception:
            cls.dns.stop()
            raise

    def test_dns_down(self):
        t0 = time.monotonic()
        qid, ans = self.request("mx.test:25", ["a@mx.test"], read_timeout=30)
        self.assertLess(time.monotonic() - t0, 25)
        self.assertEqual(ans["status_0"], "4")
        self.assertEqual(ans["dsn_0"], "4.4.3")
        self.assertEqual(ans["site"], "dead")
        self.assertIn("relay=none,", self.log_of(qid)[0])


class RealPeers(SmtpClientCase):
    """aiosmtpd, and a second surel instance (its smtpd and local)."""

    def test_aiosmtpd(self):
        Controller = aiosmtpd_controller()

        class Handler:
            envelopes = []

            async def handle_DATA(self, server, session, envelope):
                self.envelopes.append(envelope)
                return "250 2.0.0 Ok: queued as AIO"

        handler = Handler()
        port = free_port()
        ctl = Controller(handler, hostname="127.0.0.1", port=port)
        ctl.start()
        try:
            qid, ans = self.request("mx.test:%d" % port,
                                    ["a@example.test", "b@example.test"],
                                    data=b"Subject: aio\n\n.dot\nbody\n")
        finally:
            ctl.stop()
        self.assertEqual((ans["status_0"], ans["status_1"]), ("0", "0"))
        self.assertEqual(ans["reason_0"], "250 2.0.0 Ok: queued as AIO")
        env = handler.envelopes[0]
        self.assertEqual(env.mail_from, "s@x.test")
        self.assertEqual(env.rcpt_tos, ["a@example.test", "b@example.test"])
        self.assertEqual(env.original_content,
                         b"Subject: aio\r\n\r\n.dot\r\nbody\r\n")

    def test_second_surel(self):
        # Another name: with ours the agent would see a loop.
        other = Instance(myhostname="peer.example.test")
        try:
            other.start()
            marker = "marker-%s" % new_qid()
            qid, ans = self.request(
                "[127.0.0.1]:%d" % other.port, ["alice@example.test"],
                data=("From: s@x.test\nTo: alice@example.test\n"
                      "Subject: %s\n\nvia surel\n" % marker).encode())
            self.assertEqual(ans["status_0"], "0", ans["reason_0"])
            self.assertRegex(ans["reason_0"], r"^250 2\.0\.0 ")
            msg = other.find_message("alice@example.test", marker)
            self.assertIsNotNone(msg)
        finally:
            reports = other.cleanup()
            self.assertEqual(reports, [])


if __name__ == "__main__":
    unittest.main()
