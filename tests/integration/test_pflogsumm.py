"""pflogsumm (Debian's package) over the maillog_file of a test run
reports what the run did: the "Grand Totals" (received, delivered,
deferred, bounced, rejected, held, discarded, bytes, senders,
recipients) and the per-domain tables, counted by the test as it made
the traffic.

One instance with pickup and the smtp agent (relayhost: a scripted peer
on loopback that answers 450 for defer@, 550 for nobody@ and 250 for
anyone else), header_checks that HOLD and DISCARD. The traffic: mail
over SMTP to local mailboxes, to the peer, deferred by it, bounced by it
(whose bounce goes back out to the peer), one message through
sendmail.surel, a held and a discarded one, and two RCPTs smtpd refuses
(an unknown user, relay access from outside mynetworks). pflogsumm is
told our syslog name (--syslog-name=surel: lines say surel/smtpd[pid]),
as it is told a Postfix instance's syslog_name."""

import os
import re
import shutil
import smtplib
import subprocess
import unittest

from instance import (BIN_DIR, DAEMON_DIR, IS_ROOT, Instance, make_message,
                      new_marker, wait_until)
from smtp_peer import ScriptedPeer
from test_sendmail import (DROP_GROUP, SUBMIT_USER, as_user,
                           ensure_group_and_users, install_setgid_drop)

PFLOGSUMM = shutil.which("pflogsumm") or "/usr/sbin/pflogsumm"
REMOTE = "sender@remote.test"


def peer_rcpt(addr):
    if addr.startswith("defer@"):
        return "450 4.2.0 <%s>: mailbox busy" % addr
    if addr.startswith("nobody@"):
        return "550 5.1.1 <%s>: no such user" % addr
    return "250 2.1.5 Ok"


def grand_totals(report):
    """The "Grand Totals" section as {label: number}; pflogsumm prints
    "  N  label" (with a k or m suffix only past 512k)."""
    part = report.split("Grand Totals", 1)[1].split("Per-Hour", 1)[0]
    out = {}
    for m in re.finditer(r"^\s*(\d+)([ km])\s+([a-z/. ]+?)(?:\s+\(.*)?$",
                         part, re.M):
        scale = {" ": 1, "k": 1024, "m": 1024 * 1024}[m.group(2)]
        out[m.group(3).strip()] = int(m.group(1)) * scale
    return out


def section(report, title):
    """The text of the section whose title starts with title, up to the
    first blank line after it."""
    return report[report.index(title):].split("\n\n", 1)[0]


def table_rows(report, title):
    """The rows of a section's table (those that start with a count),
    split into fields."""
    return [line.split() for line in section(report, title).splitlines()
            if re.match(r"\s*\d", line)]


def delivery_table(report):
    """Host/Domain Summary: Message Delivery, {domain: (sent, bytes,
    defers)}."""
    return {f[-1]: (int(f[0]), int(f[1]), int(f[2])) for f in
            table_rows(report, "Host/Domain Summary: Message Delivery")}


def received_table(report):
    """Host/Domain Summary: Messages Received, {domain: (count, bytes)}."""
    return {f[-1]: (int(f[0]), int(f[1])) for f in
            table_rows(report, "Host/Domain Summary: Messages Received")}


@unittest.skipUnless(os.access(PFLOGSUMM, os.X_OK),
                     "pflogsumm is not installed (Debian: pflogsumm)")
class PflogsummTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        if IS_ROOT:
            ensure_group_and_users()
            install_setgid_drop()
        cls.peer = ScriptedPeer(rcpt=peer_rcpt)
        try:
            cls.inst = cls.make_instance()
        except Exception:
            cls.peer.stop()
            raise

    @classmethod
    def make_instance(cls):
        if not os.access(os.path.join(DAEMON_DIR, "smtp"), os.X_OK):
            raise AssertionError("the smtp agent is not installed")
        inst = Instance(
            myorigin="example.test", setgid_group=DROP_GROUP,
            relayhost="[127.0.0.1]:%d" % cls.peer.port,
            mynetworks="127.0.0.1/32", smtp_tls_security_level="none",
            smtp_connect_timeout="2s")
        rules = os.path.join(inst.etc, "header_checks")
        with open(rules, "w") as f:
            f.write("/^Subject: .*hold-me/ HOLD\n"
                    "/^Subject: .*lose-me/ DISCARD\n"
                    "/^Subject: .*refuse-me/ REJECT not wanted\n")
        inst.main_cf["header_checks"] = "pcre:" + rules
        inst.master_cf_text += ("smtp unix - - n - - smtp\n"
                                "pickup unix n - n 60 1 pickup\n")
        inst.write_config()
        return inst.start_or_cleanup()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.inst.cleanup_or_fail()
        finally:
            cls.peer.stop()

    # -- traffic

    def smtp_send(self, sender, rcpts, subject="test"):
        """One accepted message over SMTP; returns (queue id, its
        length with LF line ends)."""
        body = make_message(sender, rcpts, new_marker(), subject)
        code, text, qid = self.inst.send(rcpts, body=body, sender=sender,
                                         subject=subject)
        self.assertEqual(code, 250, text)
        self.assertIsNotNone(qid, text)
        return qid, len(body.replace("\r\n", "\n").encode())

    def refused_rcpt(self, rcpt, source):
        """A RCPT smtpd refuses (5xx) from the loopback address source."""
        with smtplib.SMTP("127.0.0.1", self.inst.port, timeout=15,
                          source_address=(source, 0)) as s:
            s.ehlo("client.example")
            self.assertEqual(s.mail(REMOTE)[0], 250)
            code, text = s.rcpt(rcpt)
            self.assertGreaterEqual(code, 500, text)
            s.rset()
        return text

    def smtp_refused_content(self):
        """A message smtpd refuses after DATA (header_checks REJECT);
        returns its queue id, from the log."""
        body = make_message(REMOTE, ["alice@example.test"], new_marker(),
                            "refuse-me")
        with self.inst.smtp() as s:
            s.ehlo("client.example")
            self.assertEqual(s.mail(REMOTE)[0], 250)
            self.assertEqual(s.rcpt("alice@example.test")[0], 250)
            code, text = s.data(body)
            self.assertEqual(code, 550, text)
        return self.wait_log(r"surel/smtpd\[\d+\]: (\w+): client=\S+"
                             r"(?![\s\S]*client=)").group(1)

    def sendmail(self, rcpt, text):
        env = self.inst.env()
        env["SUREL_CONFIG_DIR"] = self.inst.etc
        r = subprocess.run([os.path.join(BIN_DIR, "sendmail.surel"), rcpt],
                           input=text.encode(), capture_output=True,
                           timeout=60, env=env,
                           preexec_fn=as_user(SUBMIT_USER) if IS_ROOT
                           else None)
        self.assertEqual(r.returncode, 0, r.stderr)

    def wait_log(self, pattern):
        m = self.inst.wait_log(pattern, 30)
        self.assertTrue(m, "no log line %r\n%s" % (pattern,
                                                   self.inst.diagnostics()))
        return m

    def sizes(self):
        """size= of every "from=<...>, size=" line of qmgr, by queue id."""
        return {m.group(1): int(m.group(2)) for m in re.finditer(
            r"surel/qmgr\[\d+\]: (\w+): from=<[^>]*>, size=(\d+),",
            self.inst.log())}

    def pflogsumm(self):
        r = subprocess.run([PFLOGSUMM, "--syslog-name=surel",
                            self.inst.maillog], capture_output=True,
                           text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def test_grand_totals_and_domains(self):
        inst = self.inst
        sent = {}           # i -> length of the i-th message, LF ends
        local1, sent[0] = self.smtp_send(REMOTE, ["alice@example.test"])
        local2, sent[1] = self.smtp_send(REMOTE, ["bob@example.test",
                                                  "carol@example.test"])
        out1, sent[2] = self.smtp_send("alice@example.test",
                                       ["someone@remote.test"])
        deferred, sent[3] = self.smtp_send(REMOTE, ["defer@remote.test"])
        bounced, sent[4] = self.smtp_send(REMOTE, ["nobody@remote.test"])
        held, sent[5] = self.smtp_send(REMOTE, ["alice@example.test"],
                                       subject="hold-me")
        lost, sent[6] = self.smtp_send(REMOTE, ["bob@example.test"],
                                       subject="lose-me")
        self.assertIn(b"User unknown", self.refused_rcpt(
            "nosuch@example.test", "127.0.0.1"))
        self.assertIn(b"Relay access denied", self.refused_rcpt(
            "someone@remote.test", "127.0.0.2"))
        self.sendmail("dave@example.org", "Subject: local\n\nhello\n")
        refused = self.smtp_refused_content()
        self.sendmail("carol@example.test", "Subject: hold-me local\n\nx\n")
        self.sendmail("carol@example.test", "Subject: lose-me local\n\nx\n")

        to = r"surel/(?:local|smtp)\[\d+\]: %s: to=<%s>, .*status=%s "
        for qid, rcpt in ((local1, "alice@example.test"),
                          (local2, "bob@example.test"),
                          (local2, "carol@example.test"),
                          (out1, "someone@remote.test")):
            self.wait_log(to % (qid, re.escape(rcpt), "sent"))
        self.wait_log(to % (deferred, "defer@remote\\.test", "deferred"))
        self.wait_log(to % (bounced, "nobody@remote\\.test", "bounced"))
        pickup_id = self.wait_log(r"surel/pickup\[\d+\]: (\w+): uid=\d+ "
                                  r"from=<").group(1)
        for action, subject in (("hold", "hold-me"), ("discard", "lose-me")):
            self.wait_log(r"surel/cleanup\[\d+\]: \w+: %s: header Subject: "
                          r"%s local from local; from=<\S+@example\.test> "
                          r"to=<carol@example\.test>$" % (action, subject))
        self.wait_log(r"surel/cleanup\[\d+\]: %s: reject: header Subject: "
                      r"refuse-me \S+ from .*: 5\.7\.1 not wanted$" % refused)
        self.wait_log(to % (pickup_id, "dave@example\\.org", "sent"))
        # The bounce (from=<>) goes back to the sender through the peer.
        self.wait_log(r"surel/smtp\[\d+\]: \w+: to=<sender@remote\.test>, "
                      r".*status=sent ")
        self.wait_log(r"surel/cleanup\[\d+\]: %s: hold: header Subject: "
                      r"hold-me" % held)
        self.wait_log(r"surel/cleanup\[\d+\]: %s: discard: header "
                      r"Subject: lose-me" % lost)
        self.assertTrue(wait_until(lambda: len(inst.queue_files("hold")) == 2,
                                   20), inst.diagnostics())

        report = self.pflogsumm()
        t = grand_totals(report)
        msg = "%s\n%s" % (report, inst.diagnostics(60))
        # 8 over SMTP (one refused after its content), 3 through
        # pickup; the bounce is not "received".
        self.assertEqual(t["received"], 11, msg)
        # alice, bob, carol, dave, someone@remote, and the bounce to
        # sender@remote.
        self.assertEqual(t["delivered"], 6, msg)
        self.assertEqual(t["forwarded"], 0, msg)
        self.assertEqual(t["deferred"], 1, msg)
        self.assertEqual(t["bounced"], 1, msg)
        # two RCPTs, one message by header_checks
        self.assertEqual(t["rejected"], 3, msg)
        self.assertEqual(t["reject warnings"], 0, msg)
        # one over SMTP, one through pickup, each
        self.assertEqual(t["held"], 2, msg)
        self.assertEqual(t["discarded"], 2, msg)
        # sender@remote.test, alice@example.test, the sendmail user.
        self.assertEqual(t["senders"], 3, msg)
        self.assertEqual(t["sending hosts/domains"], 2, msg)
        # alice, bob, carol, dave, someone@remote, sender@remote.
        self.assertEqual(t["recipients"], 6, msg)
        self.assertEqual(t["recipient hosts/domains"], 3, msg)
        self.assertRegex(report, r"\(\d+\s+deferrals\)")

        # Bytes: size= of qmgr's "from=<>, size=" line (pflogsumm counts
        # its first per queue id) is the content as queued: what the
        # client sent plus our Received: header.
        sizes = self.sizes()
        smtp_ids = [local1, local2, out1, deferred, bounced]
        for i, qid in enumerate(smtp_ids):
            self.assertIn(qid, sizes, msg)
            self.assertGreaterEqual(sizes[qid], sent[i], qid)
            self.assertLess(sizes[qid], sent[i] + 1024, qid)
        self.assertIn(pickup_id, sizes, msg)
        # Held, discarded and refused messages never become active, so
        # have no size line (as in Postfix, where cleanup keeps them
        # from qmgr): their bytes are not "received".
        for qid in (held, lost, refused):
            self.assertNotIn(qid, sizes, msg)
        received = smtp_ids + [pickup_id]
        self.assertEqual(t["bytes received"],
                         sum(sizes[q] for q in received), msg)
        bounce_ids = [q for q in sizes if q not in received]
        self.assertEqual(len(bounce_ids), 1, sizes)
        per_rcpt = [sizes[local1], sizes[local2], sizes[local2],
                    sizes[out1], sizes[pickup_id], sizes[bounce_ids[0]]]
        self.assertEqual(t["bytes delivered"], sum(per_rcpt), msg)

        d = delivery_table(report)
        self.assertEqual(d["example.test"],
                         (3, sizes[local1] + 2 * sizes[local2], 0), msg)
        self.assertEqual(d["example.org"], (1, sizes[pickup_id], 0), msg)
        self.assertEqual(d["remote.test"][0], 2, msg)
        self.assertEqual(d["remote.test"][1],
                         sizes[out1] + sizes[bounce_ids[0]], msg)
        self.assertGreaterEqual(d["remote.test"][2], 1, msg)
        r = received_table(report)
        self.assertEqual(r["remote.test"][0],
                         len([q for q in received if q != out1
                              and q != pickup_id]), msg)
        self.assertEqual(r["example.test"][0], 2, msg)

        # The reasons pflogsumm picks out of our lines.
        rejects = section(report, "message reject detail")
        self.assertIn("Relay access denied", rejects)
        self.assertIn("User unknown", rejects)
        # Header actions under cleanup, "header", then what matched (the
        # " from host" part trimmed off as pflogsumm does for Postfix).
        detail = r"(?m)^  cleanup\n    header \(total: %d\)\n"
        self.assertRegex(rejects, detail % 1 + r"\s+1\s+Subject: refuse-me ")
        for title, subject in (("message hold detail", "hold-me"),
                               ("message discard detail", "lose-me")):
            text = section(report, title)
            self.assertRegex(text, detail % 2, text)
            self.assertRegex(text, r"(?m)^\s+1\s+Subject: %s m-" % subject)
            self.assertRegex(text, r"(?m)^\s+1\s+Subject: %s local$"
                             % subject)
        self.assertRegex(section(report, "message deferral detail"),
                         r"mailbox busy")
        self.assertRegex(section(report, "message bounce detail"),
                         r"no such user")


if __name__ == "__main__":
    unittest.main()
