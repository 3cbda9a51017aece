"""sendmail -bv (address verification, as Postfix's): sendmail queues
the recipients through sureldrop and pickup marked verify=yes; qmgr
routes them as for a delivery, the agents answer trace-only requests
(local resolves the mailbox, smtp says MAIL and RCPT but never DATA),
and the sender gets one multipart/report with Postfix's actions
deliverable / undeliverable; nothing is delivered, nothing is retried,
no ordinary bounce is sent, and the message leaves the queue.

The report lands in the sender's Maildir (-f alice@example.test) and is
parsed with Python's email package. Remote recipients go to a scripted
SMTP peer on loopback through relayhost. As root sendmail runs as an
ordinary member of setgid_group (test_sendmail's set-up); as a user, as
that user."""

import email
import email.policy
import os
import re
import unittest

from instance import (DAEMON_DIR, IS_ROOT, Instance, new_marker,
                      wait_until)
from smtp_peer import ScriptedPeer
from test_sendmail import (DROP_GROUP, EX_OK, EX_USAGE, SendmailBase,
                           ensure_group_and_users, install_setgid_drop)

SENDER = "alice@example.test"
ALIASES = {"pair@example.test": "bob@example.test, carol@example.test",
           "postmaster@example.test": "alice@example.test"}


def peer_rcpt(addr):
    return {"no@remote.test": "550 5.1.1 <no@remote.test>: no such user",
            "busy@remote.test": "451 4.3.0 try again later",
            }.get(addr, "250 2.1.5 Ok")


class SendmailVerify(SendmailBase):
    peer = None

    @classmethod
    def make_shared_instance(cls):
        if not os.access(os.path.join(DAEMON_DIR, "smtp"), os.X_OK):
            raise AssertionError("the smtp agent is not installed")
        if IS_ROOT:
            ensure_group_and_users()
            install_setgid_drop()
        cls.peer = ScriptedPeer(rcpt=peer_rcpt)
        inst = Instance(aliases=ALIASES, myorigin="example.test",
                        setgid_group=DROP_GROUP,
                        relayhost="[127.0.0.1]:%d" % cls.peer.port,
                        smtp_connect_timeout="2s", smtp_helo_timeout="5s",
                        smtp_quit_timeout="1s",
                        smtp_tls_security_level="none")
        inst.master_cf_text += ("pickup unix n - n 60 1 pickup\n"
                                "smtp unix - - n - - smtp\n")
        inst.write_config()
        if IS_ROOT:
            os.chmod(inst.logdir, 0o1777)
        return inst

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            if cls.peer is not None:
                cls.peer.stop()
                cls.peer = None

    # -- helpers

    def counts(self):
        return {a: len(self.inst.messages(a)) for a in self.inst.users}

    def verify(self, args, data=b""):
        """Runs sendmail -bv -f SENDER args; returns the report (an
        email.message.EmailMessage) and the mailbox counts before."""
        before = self.counts()
        r = self.sendmail(["-bv", "-f", SENDER] + args, data)
        self.assertEqual(r.returncode, EX_OK, r.stderr)
        self.assertEqual(r.stdout, b"")
        msgs = self.inst.wait_for_maildir(SENDER, before[SENDER] + 1)
        report = email.message_from_bytes(msgs[-1],
                                          policy=email.policy.default)
        return report, before

    def parse(self, report):
        """The per-recipient blocks {Final-Recipient address: block} and
        the text part, after checking the report's structure. An address
        listed twice must have the same action twice (the block kept is
        the last)."""
        self.assertEqual(report.get_content_type(), "multipart/report")
        self.assertEqual(report.get_param("report-type"), "delivery-status")
        self.assertEqual(report["Subject"], "Mail Delivery Status Report")
        self.assertEqual(report["To"].addresses[0].addr_spec, SENDER)
        self.assertTrue(report["From"].startswith("MAILER-DAEMON@"))
        parts = report.get_payload()
        self.assertEqual(len(parts), 3)
        self.assertEqual(parts[0].get_content_type(), "text/plain")
        self.assertEqual(parts[1].get_content_type(),
                         "message/delivery-status")
        self.assertEqual(parts[2].get_content_type(), "text/rfc822-headers")
        blocks = parts[1].get_payload()
        self.assertEqual(blocks[0]["Reporting-MTA"], "dns; mx.example.test")
        rcpts = {}
        for b in blocks[1:]:
            addr = b["Final-Recipient"].split(";", 1)[1].strip()
            if addr in rcpts:
                self.assertEqual(rcpts[addr]["Action"], b["Action"])
            rcpts[addr] = b
        for p in report.walk():
            self.assertFalse(p.defects, p.defects)
        return rcpts, parts[0].get_content()

    def assert_gone(self, qid):
        self.assertTrue(wait_until(self.inst.queue_empty, 20),
                        self.inst.diagnostics())
        self.inst.wait_log(r"\b%s: removed" % qid)
        self.assertNotRegex(self.inst.log(),
                            r"%s: sender non-delivery" % qid)

    def untouched(self, before, *addrs):
        after = self.counts()
        for a in addrs:
            self.assertEqual(after[a], before[a], a)

    @staticmethod
    def qid_of(report):
        return report.get_payload()[1].get_payload()[0]["X-Surel-Queue-ID"]

    # -- local recipients

    def test_local_alias_and_unknown(self):
        report, before = self.verify(["bob@example.test",
                                      "pair@example.test",
                                      "nobody@example.test"])
        rcpts, text = self.parse(report)
        # The alias expands to both of its members; bob is there twice
        # (himself and through pair), each with its own line.
        self.assertEqual(set(rcpts), {"bob@example.test",
                                      "carol@example.test",
                                      "nobody@example.test"})
        self.assertEqual(rcpts["carol@example.test"]["Action"],
                         "deliverable")
        self.assertEqual(rcpts["carol@example.test"]["Status"], "2.0.0")
        self.assertEqual(rcpts["bob@example.test"]["Action"], "deliverable")
        self.assertEqual(rcpts["nobody@example.test"]["Action"],
                         "undeliverable")
        self.assertEqual(rcpts["nobody@example.test"]["Status"], "5.1.1")
        self.assertIn("X-Surel; delivers to maildir",
                      rcpts["carol@example.test"]["Diagnostic-Code"])
        flat = " ".join(text.split())
        self.assertIn("<bob@example.test>: delivery via local: delivers "
                      "to maildir", flat)
        self.assertIn("<carol@example.test> (expanded from "
                      "<pair@example.test>): delivery via local: delivers "
                      "to maildir", flat)
        self.assertIn("<nobody@example.test>: undeliverable: unknown "
                      "user", flat)
        self.assertEqual(flat.count("<bob@example.test>"), 2)
        # Nothing delivered anywhere; the sender got the report only.
        self.untouched(before, "bob@example.test", "carol@example.test",
                       "dave@example.org")
        self.assertEqual(len(self.inst.messages(SENDER)),
                         before[SENDER] + 1)
        qid = self.qid_of(report)
        self.assert_gone(qid)
        log = self.inst.log()
        self.assertRegex(log, r"local\[\d+\]: %s: to=<carol@example\.test>, "
                         r"orig_to=<pair@example\.test>, relay=local, .*"
                         r"dsn=2\.0\.0, status=deliverable \(delivers to "
                         r"maildir\)" % qid)
        self.assertRegex(log, r"local\[\d+\]: %s: to=<nobody@example\.test>"
                         r".*status=undeliverable \(unknown user" % qid)
        self.assertNotRegex(log, r"%s: .*status=(sent|bounced)" % qid)

    def test_t_takes_the_recipients_from_the_headers(self):
        m = new_marker()
        report, before = self.verify(
            ["-t"], ("To: carol@example.test\nCc: dave@example.org\n"
                     "Subject: %s\n\nbody %s\n" % (m, m)).encode())
        rcpts, _ = self.parse(report)
        self.assertEqual(set(rcpts), {"carol@example.test",
                                      "dave@example.org"})
        for b in rcpts.values():
            self.assertEqual(b["Action"], "deliverable")
        # The message itself is not collected: the probe's header only.
        self.assertNotIn(m, report.as_string())
        self.untouched(before, "carol@example.test", "dave@example.org")
        self.assertEqual(self.inst.count_marker(m), 0)
        self.assert_gone(self.qid_of(report))

    # -- a remote peer

    def test_remote_recipients_see_rcpt_never_data(self):
        n = len(self.peer.sessions)
        report, before = self.verify(["ok@remote.test", "no@remote.test",
                                      "busy@remote.test"])
        rcpts, text = self.parse(report)
        self.assertEqual(rcpts["ok@remote.test"]["Action"], "deliverable")
        self.assertEqual(rcpts["ok@remote.test"]["Status"], "2.1.5")
        self.assertEqual(rcpts["ok@remote.test"]["Diagnostic-Code"],
                         "smtp; 250 2.1.5 Ok")
        self.assertEqual(rcpts["no@remote.test"]["Action"], "undeliverable")
        self.assertEqual(rcpts["no@remote.test"]["Status"], "5.1.1")
        self.assertIn("550 5.1.1 <no@remote.test>: no such user",
                      rcpts["no@remote.test"]["Diagnostic-Code"])
        self.assertEqual(rcpts["no@remote.test"]["Remote-MTA"],
                         "dns; 127.0.0.1")
        # A temporary refusal is not retried: undeliverable, 4.x.x.
        self.assertEqual(rcpts["busy@remote.test"]["Action"],
                         "undeliverable")
        self.assertEqual(rcpts["busy@remote.test"]["Status"], "4.3.0")
        flat = " ".join(text.split())
        self.assertIn("<ok@remote.test>: delivery via smtp: host 127.0.0.1 "
                      "said: 250 2.1.5 Ok (in reply to RCPT TO command)",
                      flat)
        self.assertIn("<no@remote.test>: undeliverable: host 127.0.0.1 "
                      "said: 550 5.1.1", flat)
        # The peer: MAIL and the RCPTs, then RSET; never DATA.
        self.assertTrue(wait_until(lambda: len(self.peer.sessions) > n, 10))
        cmds = self.peer.commands(n)
        self.assertTrue(cmds[1].startswith("MAIL FROM:<%s>" % SENDER), cmds)
        self.assertEqual([c.split(">")[0] for c in cmds[2:5]],
                         ["RCPT TO:<ok@remote.test", "RCPT TO:<no@remote.test",
                          "RCPT TO:<busy@remote.test"])
        self.assertEqual(cmds[5], "RSET")
        self.assertFalse([c for c in cmds if c in ("DATA",)
                          or c.startswith("BDAT")], cmds)
        self.assertIsNone(self.peer.sessions[n]["data"])
        qid = self.qid_of(report)
        self.assert_gone(qid)
        log = self.inst.log()
        self.assertRegex(log, r"smtp\[\d+\]: %s: to=<ok@remote\.test>, "
                         r"relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+, .*"
                         r"dsn=2\.1\.5, status=deliverable" % qid)
        self.assertRegex(log, r"smtp\[\d+\]: %s: to=<busy@remote\.test>, "
                         r".*dsn=4\.3\.0, status=undeliverable" % qid)
        # Not deferred, not retried: one attempt only.
        self.assertEqual(len(re.findall(r"%s: to=<busy@remote\.test>" % qid,
                                        log)), 1)
        self.untouched(before, "bob@example.test", "carol@example.test")

    # -- no report, bad input

    def test_null_sender_gets_no_report(self):
        before = self.counts()
        r = self.sendmail(["-bv", "-f", "", "bob@example.test"], b"")
        self.assertEqual(r.returncode, EX_OK, r.stderr)
        m = self.inst.wait_log(r"(\w+): address verification for <>: "
                               r"no report")
        self.assertIsNotNone(m, self.inst.diagnostics())
        self.assert_gone(m.group(1))
        self.untouched(before, *self.inst.users)

    def test_no_recipients_is_a_usage_error(self):
        r = self.sendmail(["-bv"], b"")
        self.assertEqual(r.returncode, EX_USAGE, r.stderr)
        self.assertIn(b"no recipients", r.stderr)
        r = self.sendmail(["-bv", "-t"], b"Subject: none\n\nbody\n")
        self.assertEqual(r.returncode, EX_USAGE, r.stderr)


if __name__ == "__main__":
    unittest.main()
