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
            # What a DSN reports: who answered, the reply, the command.
            self.assertEqual(ans["mta_1"], "mx1.mx.test")
            self.assertEqual(ans["diag_1"],
                             "550 5.1.1 <bad@example.test>: no such user")
            self.assertEqual(ans["cmd_1"], "RCPT TO")
            self.assertEqual(ans["cmd_2"], "RCPT TO")
            self.assertNotIn("pass_1", ans)
            # good: accepted at the end of DATA; the peer offered DSN
            # only in the pipelined round.
            self.assertEqual(ans["cmd_0"], "end of DATA")
            self.assertEqual(ans.get("pass_0"),
                             "1" if ext is None else None)
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

    DOWNGRADE_MSG = (
        b"From: s@x.test\nSubject: mixed\nMIME-Version: 1.0\n"
        b"Content-Type: multipart/mixed; boundary=\"o\"\n\n"
        b"--o\nContent-Type: text/plain; charset=utf-8\n"
        b"Content-Transfer-Encoding: 8bit\n\n"
        b"caf\xc3\xa9 = tr\xc3\xa8s bien \n.dot line\n" + b"\xc3\xa9" * 600 +
        b"\n--o\nContent-Type: text/html; charset=utf-8\n\n<p>\xe2\x82\xac\t"
        b"</p>\n--o\nContent-Type: application/octet-stream\n"
        b"Content-Transfer-Encoding: base64\n\nAAECA/8=\n"
        b"--o\nContent-Type: message/rfc822\n\nSubject: inner\n"
        b"MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n"
        b"inner \xc3\xbc\n--o--\n")

    def assert_downgraded(self, p, data):
        """What p received is data made 7-bit: MAIL FROM without BODY=,
        7-bit lines of at most 998 octets, every part's decoded payload
        the original's."""
        import email
        import email.policy
        sess = p.sessions[0]
        wire = sess["data"]
        if not sess.get("bdat"):
            wire = re.sub(rb"(?m)^\.", b"", wire)
        mail = [c for c in p.commands() if c.startswith("MAIL")][0]
        self.assertNotIn("BODY=", mail)
        for line in wire.split(b"\r\n"):
            self.assertLessEqual(len(line), 998)
            self.assertTrue(all(c < 0x80 for c in line), line)
        self.assertNotIn(b"\n", wire.replace(b"\r\n", b""))
        got = email.message_from_bytes(wire.replace(b"\r\n", b"\n"),
                                       policy=email.policy.compat32)
        want = email.message_from_bytes(data, policy=email.policy.compat32)
        gparts, wparts = list(got.walk()), list(want.walk())
        self.assertEqual(len(gparts), len(wparts))
        for g, w in zip(gparts, wparts):
            self.assertEqual(g.get_content_type(), w.get_content_type())
            if g.is_multipart() or g.get_content_maintype() == "message":
                continue
            self.assertEqual(g.get_payload(decode=True),
                             w.get_payload(decode=True))
            if w.get("Content-Transfer-Encoding", "7bit").lower() in \
                    ("7bit", "8bit"):
                self.assertEqual(g["Content-Transfer-Encoding"],
                                 "quoted-printable")
        return wire

    def test_8bit_downgrade(self):
        """A server without 8BITMIME gets the 8-bit message converted
        (RFC 6152 3): DATA, and BDAT with the converted size."""
        for ext in (["PIPELINING", "SIZE 100000"], ["CHUNKING"]):
            p = self.peer(ext=ext)
            data = self.DOWNGRADE_MSG
            qid, ans = self.request("mx.test:%d" % p.port, ["a@example.test"],
                                    data=data, body="8bitmime")
            self.assertEqual(ans["status_0"], "0", ans)
            wire = self.assert_downgraded(p, data)
            # The message's header section goes as it was.
            head = data[:data.index(b"\n\n") + 2].replace(b"\n", b"\r\n")
            self.assertTrue(wire.startswith(head))
            cmds = p.commands()
            if "CHUNKING" in ext:
                self.assertIn("BDAT %d LAST" % len(wire), cmds)
            else:
                self.assertIn("SIZE=%d" % len(wire), cmds[1])
        # Not declared 8-bit, no MIME-Version: one text/plain part.
        p = self.peer(ext=["PIPELINING"])
        data = b"Subject: x\n\n\xc3\xa9t\xc3\xa9 \n"
        qid, ans = self.request("mx.test:%d" % p.port, ["a@example.test"],
                                data=data)
        self.assertEqual(ans["status_0"], "0")
        self.assertEqual(p.sessions[0]["data"],
                         b"Subject: x\r\nMIME-Version: 1.0\r\n"
                         b"Content-Transfer-Encoding: quoted-printable\r\n"
                         b"\r\n=C3=A9t=C3=A9=20\r\n")

    def test_8bit_not_convertible(self):
        """What cannot be made 7-bit fails with 5.6.3 before MAIL."""
        p = self.peer(ext=["PIPELINING"])
        for data, why in (
                (b"Subject: caf\xc3\xa9\n\n\xc3\xa9\n",
                 "8-bit octets in a header field"),
                (b"MIME-Version: 1.0\nContent-Transfer-Encoding: binary\n\n"
                 b"\xc3\xa9\n",
                 "a part has Content-Transfer-Encoding: binary")):
            qid, ans = self.request("mx.test:%d" % p.port, ["a@example.test"],
                                    data=data, body="8bitmime")
            self.assertEqual((ans["status_0"], ans["dsn_0"]), ("5", "5.6.3"))
            self.assertEqual(ans["reason_0"], "host mx1.mx.test[127.0.0.1] "
                             "does not support 8BITMIME and the message "
                             "cannot be converted to 7 bits: " + why)
        self.assertFalse(any(c.startswith("MAIL")
                             for s in range(len(p.sessions))
                             for c in p.commands(s)))
        # Declared 8BITMIME but all ASCII: goes as it is, without BODY=.
        data = b"Subject: x\n\nascii\n"
        qid, ans = self.request("mx.test:%d" % p.port, ["a@example.test"],
                                data=data, body="8bitmime")
        self.assertEqual(ans["status_0"], "0")
        s = len(p.sessions) - 1
        self.assertIn("MAIL FROM:<s@x.test>", p.commands(s))
        self.assertEqual(p.sessions[s]["data"], data.replace(b"\n", b"\r\n"))

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


class Ipv4Only(SmtpClientCase):
    """inet_protocols = ipv4: no AAAA look-up, no IPv6 connection."""

    MAIN_CF = {"inet_protocols": "ipv4"}

    def test_ipv6_only_mx_is_not_reachable(self):
        qid, ans = self.request("v6.test:25", ["a@v6.test"])
        self.assertEqual(ans["status_0"], "5", ans)
        self.assertEqual(ans["dsn_0"], "5.4.4")

    def test_ipv4_mx_still_works(self):
        p = self.peer()
        qid, ans = self.request("mx.test:%d" % p.port, ["a@mx.test"])
        self.assertEqual(ans["status_0"], "0", ans)


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
