"""Delivery status notices (RFC 3464, qmgr_notice.c) and the mail loop
check (hopcount_limit), end to end: a surel instance relays to scripted
peers (smtp_peer.py) that refuse at RCPT, at the end of DATA, with
multi-line replies, or defer; the notices arrive, from the null sender,
in the local sender's Maildir and are read with Python's email package.

Two instances: one whose peer offers DSN (bounces, NOTIFY=NEVER, mail
from <>, no success notice, loops) and one whose peer does not, with
delay_warning_time and maximal_queue_lifetime of seconds (relayed
success notice, end-of-DATA refusal, delay warning, expiry). Loopback
only; every wait is bounded; what a test starts it stops."""

import email
import email.policy
import re
import unittest

from instance import new_marker, read_file, wait_until
from smtp_peer import ScriptedPeer
from test_relay import RelayCase, sender_instance

ME = "me@local.test"


def peer_rcpt(addr):
    if addr.startswith("nobody@"):
        return "550 5.1.1 <%s>: Recipient address rejected" % addr
    if addr.startswith("multi@"):
        return "550-5.1.1 first line\n550 5.1.1 second line"
    if addr.startswith("later@"):
        return "450 4.2.0 <%s>: mailbox busy" % addr
    return "250 2.1.5 Ok"


def unfold(value):
    """A header field's value with its folding undone."""
    return re.sub(r"\r?\n[ \t]", " ", value)


class NoticeCase(RelayCase):

    @classmethod
    def start(cls, ext=None, **main_cf):
        cls.peer = ScriptedPeer(rcpt=peer_rcpt, ext=ext)
        try:
            cls.inst = sender_instance(cls.peer.port, **main_cf)
        except Exception:
            cls.peer.stop()
            raise

    def notices(self, marker):
        """The messages in ME's Maildir that mention marker, parsed."""
        out = []
        for p in self.inst.messages(ME):
            data = read_file(p)
            if marker.encode() in data:
                out.append(email.message_from_bytes(
                    data, policy=email.policy.compat32))
        return out

    def notice(self, marker, subject_part, timeout=20):
        def look():
            for m in self.notices(marker):
                if subject_part in (m["Subject"] or ""):
                    return m
            return None
        msg = wait_until(look, timeout, 0.1)
        self.assertIsNotNone(msg, "no notice %r for %s\n%s" % (
            subject_part, marker, self.inst.diagnostics()))
        return msg

    def report(self, msg, kind="delivery-status"):
        """(text part, per-message fields, [per-recipient fields],
        original part) of a multipart/report notice."""
        self.assertEqual(msg.get_content_type(), "multipart/report")
        self.assertEqual(msg.get_param("report-type"), kind)
        self.assertEqual(msg["Return-Path"], "<>")
        self.assertIn("MAILER-DAEMON@out.local.test", msg["From"])
        self.assertEqual(msg["Auto-Submitted"], "auto-replied")
        parts = msg.get_payload()
        self.assertEqual(parts[0].get_content_type(), "text/plain")
        self.assertEqual(parts[1].get_content_type(),
                         "message/" + kind)
        blocks = parts[1].get_payload()
        self.assertEqual(blocks[0]["Reporting-MTA"], "dns; out.local.test")
        return parts[0], blocks[0], blocks[1:], parts[2]


class WithDsnPeer(NoticeCase):
    @classmethod
    def setUpClass(cls):
        cls.start(mynetworks="127.0.0.1/32")

    def test_rcpt_550_bounce_names_only_the_refused(self):
        m = new_marker()
        code, text, qid = self.inst.send(
            ["nobody@remote.test", "someone@remote.test"], marker=m,
            sender=ME, mail_options=["RET=FULL", "ENVID=env+2Bid"])
        self.assertEqual(code, 250, text)
        line = self.log_of(r"%s: sender non-delivery notification: (\w+)"
                           % qid)
        msg = self.notice(m, "Undelivered Mail Returned to Sender")
        text, per_msg, rcpts, orig = self.report(msg)
        self.assertEqual(per_msg["Original-Envelope-Id"], "env+id")
        self.assertEqual(per_msg["X-Surel-Queue-ID"], qid)
        self.assertEqual(len(rcpts), 1, rcpts)
        r = rcpts[0]
        self.assertEqual(r["Final-Recipient"], "rfc822; nobody@remote.test")
        self.assertEqual(r["Action"], "failed")
        self.assertEqual(r["Status"], "5.1.1")
        self.assertEqual(r["Remote-MTA"], "dns; 127.0.0.1")
        self.assertEqual(unfold(r["Diagnostic-Code"]),
                         "smtp; 550 5.1.1 <nobody@remote.test>: Recipient "
                         "address rejected")
        self.assertIn("nobody@remote.test", text.get_payload())
        self.assertNotIn("someone@remote.test", str(rcpts))
        # RET=FULL: the whole original, body and all.
        self.assertEqual(orig.get_content_type(), "message/rfc822")
        self.assertIn("marker " + m, orig.get_payload()[0].get_payload())
        self.log_of(r"%s: removed" % line.group(1))
        self.queue_empty()

    def test_multiline_reply_joined_headers_only(self):
        m = new_marker()
        code, text, qid = self.inst.send(
            "multi@remote.test", marker=m, sender=ME,
            mail_options=["RET=HDRS"])
        self.assertEqual(code, 250, text)
        msg = self.notice(m, "Undelivered Mail Returned to Sender")
        _, _, rcpts, orig = self.report(msg)
        self.assertEqual(unfold(rcpts[0]["Diagnostic-Code"]),
                         "smtp; 550-5.1.1 first line 550 5.1.1 second line")
        self.assertEqual(orig.get_content_type(), "text/rfc822-headers")
        self.assertIn("X-Marker: " + m, orig.get_payload())
        self.assertNotIn("marker " + m + "\n", orig.get_payload())

    def test_notify_never_gets_no_bounce(self):
        m = new_marker()
        code, text, qid = self.inst.send(
            "nobody@remote.test", marker=m, sender=ME,
            rcpt_options=["NOTIFY=NEVER"])
        self.assertEqual(code, 250, text)
        self.log_of(r"%s: to=<nobody@remote\.test>.*status=bounced" % qid)
        self.log_of(r"qmgr\[\d+\]: %s: removed" % qid)
        self.assertNotRegex(self.inst.log(), r"%s: sender " % qid)
        self.assertEqual(self.notices(m), [])

    def test_null_sender_failure_dropped(self):
        m = new_marker()
        code, text, qid = self.inst.send("nobody@remote.test", marker=m,
                                         sender="")
        self.assertEqual(code, 250, text)
        self.log_of(r"%s: undeliverable mail from <>: no notification"
                    % qid)
        self.log_of(r"qmgr\[\d+\]: %s: removed" % qid)
        self.assertNotRegex(self.inst.log(), r"%s: sender " % qid)
        self.queue_empty()

    def test_success_passed_on_to_dsn_peer_no_notice(self):
        m = new_marker()
        code, text, qid = self.inst.send(
            "someone@remote.test", marker=m, sender=ME,
            rcpt_options=["NOTIFY=SUCCESS"])
        self.assertEqual(code, 250, text)
        self.log_of(r"qmgr\[\d+\]: %s: removed" % qid)
        self.assertNotRegex(self.inst.log(), r"%s: sender " % qid)
        raw = b"".join(s["raw"] for s in self.peer.sessions)
        self.assertIn(b"RCPT TO:<someone@remote.test> NOTIFY=SUCCESS", raw)

    def test_loop_51_received_bounces_546(self):
        m = new_marker()
        hops = "".join("Received: from hop%d.example by x; "
                       "Sun, 22 Nov 2026 10:00:00 +0000\r\n" % i
                       for i in range(51))
        body = hops + ("From: <%s>\r\nSubject: loop %s\r\nX-Marker: %s\r\n"
                       "\r\nmarker %s\r\n" % (ME, m, m, m))
        code, text, qid = self.inst.send("someone@remote.test", body=body,
                                         sender=ME)
        self.assertEqual(code, 250, text)
        self.log_of(r"%s: to=<someone@remote\.test>, relay=none, .*"
                    r"dsn=5\.4\.6, status=bounced \(mail forwarding loop"
                    % qid)
        msg = self.notice(m, "Undelivered Mail Returned to Sender")
        _, _, rcpts, _ = self.report(msg)
        self.assertEqual(rcpts[0]["Status"], "5.4.6")
        self.assertIn("mail forwarding loop",
                      unfold(rcpts[0]["Diagnostic-Code"]))
        for s in self.peer.sessions:
            self.assertNotIn(m.encode(), s["raw"])


class WithPlainPeer(NoticeCase):
    @classmethod
    def setUpClass(cls):
        cls.start(ext=["PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES"],
                  mynetworks="127.0.0.1/32", delay_warning_time="1s",
                  maximal_queue_lifetime="5s", minimal_backoff_time="1s",
                  maximal_backoff_time="1s", queue_run_delay="1s")

    def test_success_relayed_notice(self):
        m = new_marker()
        code, text, qid = self.inst.send(
            "someone@remote.test", marker=m, sender=ME,
            rcpt_options=["NOTIFY=SUCCESS"])
        self.assertEqual(code, 250, text)
        self.log_of(r"%s: sender delivery status notification: \w+" % qid)
        msg = self.notice(m, "Successful Mail Delivery Report")
        _, _, rcpts, orig = self.report(msg)
        self.assertEqual(rcpts[0]["Action"], "relayed")
        self.assertEqual(rcpts[0]["Status"], "2.0.0")
        self.assertEqual(orig.get_content_type(), "text/rfc822-headers")

    def test_end_of_data_554_bounce(self):
        m = new_marker()
        self.peer.dot = "554 5.7.1 content rejected"
        try:
            code, text, qid = self.inst.send("someone@remote.test",
                                             marker=m, sender=ME)
            self.assertEqual(code, 250, text)
            msg = self.notice(m, "Undelivered Mail Returned to Sender")
        finally:
            self.peer.dot = "250 2.0.0 Ok: queued as ABC"
        _, _, rcpts, _ = self.report(msg)
        self.assertEqual(rcpts[0]["Status"], "5.7.1")
        self.assertEqual(unfold(rcpts[0]["Diagnostic-Code"]),
                         "smtp; 554 5.7.1 content rejected")

    def test_delay_warning_then_expiry(self):
        m = new_marker()
        code, text, qid = self.inst.send("later@remote.test", marker=m,
                                         sender=ME)
        self.assertEqual(code, 250, text)
        self.log_of(r"%s: sender delay notification: \w+" % qid, 15)
        msg = self.notice(m, "Delayed Mail (still being retried)")
        _, _, rcpts, _ = self.report(msg)
        self.assertEqual(rcpts[0]["Action"], "delayed")
        self.assertEqual(rcpts[0]["Status"], "4.2.0")
        self.assertIn("Will-Retry-Until", rcpts[0])
        self.log_of(r"%s: from=<me@local\.test>, status=expired, "
                    r"returned to sender" % qid, 20)
        msg = self.notice(m, "Undelivered Mail Returned to Sender")
        _, _, rcpts, _ = self.report(msg)
        self.assertEqual(rcpts[0]["Action"], "failed")
        self.assertEqual(rcpts[0]["Status"], "4.2.0")
        self.assertEqual(unfold(rcpts[0]["Diagnostic-Code"]),
                         "smtp; 450 4.2.0 <later@remote.test>: mailbox busy")
        # One delay warning only, though it was deferred again after it.
        self.assertEqual(len(re.findall(
            r"%s: sender delay notification" % qid, self.inst.log())), 1)
        self.queue_empty()


if __name__ == "__main__":
    unittest.main()
