"""Mail for a domain that is not ours leaves the machine: smtpd's relay
permission (mynetworks; an alias of ours may point outside), qmgr's
routing of such recipients to the smtp agent with relayhost as next hop,
and the answer handled like local's (sent, bounced, deferred).

Peers: the scripted server of smtp_peer.py (the exact envelope and
content), and a second surel instance whose smtpd delivers into its
Maildir. relayhost is always "[127.0.0.1]:PORT" (no DNS). Loopback only;
every wait is bounded; what a test starts it stops."""

import os
import re
import time
import unittest

from instance import (DAEMON_DIR, Instance, free_port, new_marker, parse,
                      wait_until)
from smtp_peer import ScriptedPeer

SENDER = "sender@local.test"


def sender_instance(relay_port, **main_cf):
    """An instance whose only domain is local.test, with the smtp agent,
    relaying through [127.0.0.1]:relay_port."""
    agent = os.path.join(DAEMON_DIR, "smtp")
    if not os.access(agent, os.X_OK):
        raise AssertionError("%s is not installed" % agent)
    cfg = {
        "myhostname": "out.local.test",
        "virtual_mailbox_domains": "local.test",
        "relayhost": "[127.0.0.1]:%d" % relay_port,
        "smtp_connect_timeout": "2s",
        "smtp_helo_timeout": "5s",
        "smtp_quit_timeout": "1s",
        "smtp_tls_security_level": "none",
    }
    cfg.update(main_cf)
    inst = Instance(users={"me@local.test": "local.test/me/"},
                    aliases={"fwd@local.test": "someone@remote.test",
                             "both@local.test":
                                 "me@local.test, other@remote.test"},
                    **cfg)
    inst.master_cf_text = (
        "127.0.0.1:%d inet n - n - 4 smtpd\n"
        "qmgr unix n - n 300 1 qmgr\n"
        "local unix - - n - - local\n"
        "smtp unix - - n - - smtp\n" % inst.port)
    inst.write_config()
    return inst.start_or_cleanup()


class RelayCase(unittest.TestCase):
    """A class's instance with its helpers (a peer, a dnsmasq), which
    tearDownClass stops, whichever the class started."""
    inst = None
    peer = None
    dns = None

    @classmethod
    def set_up_instance(cls, make):
        """cls.inst = make(); when it fails, the peer and dnsmasq already
        started are stopped (unittest calls no tearDownClass after a
        failed setUpClass)."""
        try:
            cls.inst = make()
        except Exception:
            cls.stop_helpers()
            raise

    @classmethod
    def stop_helpers(cls):
        try:
            if cls.peer is not None:
                cls.peer.stop()
        finally:
            if cls.dns is not None:
                cls.dns.stop()

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.inst is not None:
                cls.inst.cleanup_or_fail()
        finally:
            cls.stop_helpers()

    def assert_relay_refused(self, inst, local_rcpt):
        """inst refuses someone@remote.test with 554 5.7.1 Relay access
        denied, and accepts local_rcpt (one of its own) in the same
        transaction."""
        with inst.smtp() as s:
            s.ehlo("client.example")
            self.assertEqual(s.mail(SENDER)[0], 250)
            code, text = s.rcpt("someone@remote.test")
            self.assertEqual(code, 554, text)
            self.assertTrue(text.startswith(b"5.7.1"), text)
            self.assertIn(b"Relay access denied", text)
            self.assertEqual(s.rcpt(local_rcpt)[0], 250)
            s.rset()

    def log_of(self, pattern, timeout=20):
        m = self.inst.wait_log(pattern, timeout)
        self.assertTrue(m, "no log line %r\n%s" % (pattern,
                                                  self.inst.diagnostics()))
        return m

    def queue_empty(self):
        self.assertTrue(wait_until(self.inst.queue_empty, 20),
                        "queue not empty\n" + self.inst.diagnostics())

    def session_with(self, marker, timeout=20):
        """The peer's session whose message carries marker."""
        def find():
            for sess in list(self.peer.sessions):
                if sess["data"] is not None and marker.encode() in \
                        sess["data"]:
                    return sess
            return None
        sess = wait_until(find, timeout)
        self.assertIsNotNone(sess, "the peer got no message\n" +
                             self.inst.diagnostics())
        return sess


class ToScriptedPeer(RelayCase):
    """mynetworks set explicitly to the loopback host."""

    @classmethod
    def setUpClass(cls):
        cls.peer = ScriptedPeer(rcpt=lambda a: (
            "550 5.1.1 <%s>: no such user" % a if a.startswith("nobody@")
            else "250 2.1.5 Ok"))
        cls.set_up_instance(lambda: sender_instance(
            cls.peer.port, mynetworks="127.0.0.1/32"))

    def test_sent_envelope_and_content(self):
        m = new_marker()
        code, text, qid = self.inst.send("someone@remote.test", marker=m,
                                         sender=SENDER)
        self.assertEqual(code, 250, text)
        sess = self.session_with(m)
        # The agent keeps its connection for the next message (RSET):
        # this message's transaction is the one that carries the marker.
        raw = sess["raw"].decode("utf-8", "replace")
        txn = [t for t in raw.split("MAIL FROM:") if m in t]
        self.assertEqual(len(txn), 1, raw)
        self.assertTrue(txn[0].startswith("<%s>" % SENDER), txn[0])
        self.assertEqual(re.findall(r"RCPT TO:<[^>]*>", txn[0]),
                         ["RCPT TO:<someone@remote.test>"])
        msg = parse(sess["data"])
        self.assertEqual(msg["X-Marker"], m)
        self.assertIn(b"marker " + m.encode(), sess["data"])
        # The Received: line smtpd added travels with it.
        self.assertTrue(msg["Received"].startswith("from client.example"),
                        msg["Received"])
        self.log_of(r"surel/smtp\[\d+\]: %s: to=<someone@remote\.test>, "
                    r"relay=127\.0\.0\.1\[127\.0\.0\.1\]:%d, .*dsn=2\.0\.0, "
                    r"status=sent \(250 2\.0\.0 Ok: queued as ABC\)"
                    % (qid, self.peer.port))
        self.log_of(r"surel/qmgr\[\d+\]: %s: removed" % qid)
        self.queue_empty()

    def test_local_and_remote_in_one_message(self):
        """An alias that expands to a local mailbox and a remote address:
        each goes its way."""
        m = new_marker()
        code, text, qid = self.inst.send("both@local.test", marker=m,
                                         sender=SENDER)
        self.assertEqual(code, 250, text)
        data = self.inst.find_message("me@local.test", m)
        self.assertEqual(parse(data)["X-Marker"], m)
        sess = self.session_with(m)
        self.assertIn(b"RCPT TO:<other@remote.test>", sess["raw"])
        # The version 2 request carries no orig_to (only the DSN ORCPT).
        self.log_of(r"%s: to=<other@remote\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+, .*"
                    r"status=sent" % qid)
        self.log_of(r"%s: to=<me@local\.test>, orig_to=<both@local\.test>"
                    r", relay=local, .*status=sent" % qid)
        self.queue_empty()

    def test_rcpt_550_bounced_queue_empty(self):
        m = new_marker()
        code, text, qid = self.inst.send("nobody@remote.test", marker=m,
                                         sender=SENDER)
        self.assertEqual(code, 250, text)
        self.log_of(r"surel/smtp\[\d+\]: %s: to=<nobody@remote\.test>, "
                    r"relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+, .*dsn=5\.1\.1, "
                    r"status=bounced \(.*550 5\.1\.1" % qid)
        self.log_of(r"surel/qmgr\[\d+\]: %s: removed" % qid)
        self.queue_empty()
        self.assertNotRegex(self.inst.log(),
                            r"%s: to=<nobody@remote\.test>.*status=sent"
                            % qid)


class ToSurel(RelayCase):
    """Default mynetworks (127.0.0.0/8 [::1]/128); the peer is a second
    surel whose own mynetworks (the test default) keeps 127.0.0.1 out."""

    @classmethod
    def setUpClass(cls):
        cls.peer = Instance()
        cls.peer.start()
        try:
            cls.inst = sender_instance(cls.peer.port, mynetworks=None)
        except Exception:
            cls.peer.cleanup()
            cls.peer = None
            raise

    @classmethod
    def tearDownClass(cls):
        peer, cls.peer = cls.peer, None
        try:
            super().tearDownClass()
        finally:
            if peer is not None:
                peer.cleanup_or_fail("peer sanitizer reports")

    def test_delivered_into_peer_maildir(self):
        m = new_marker()
        code, text, qid = self.inst.send(["alice@example.test",
                                          "bob@example.test"], marker=m,
                                         sender=SENDER)
        self.assertEqual(code, 250, text)
        for r in ("alice@example.test", "bob@example.test"):
            data = self.peer.find_message(r, m)
            msg = parse(data)
            self.assertEqual(msg["Delivered-To"], r)
            self.assertEqual(msg["Return-Path"], "<%s>" % SENDER)
            self.assertEqual(msg["X-Marker"], m)
            self.log_of(r"surel/smtp\[\d+\]: %s: to=<%s>, relay=127\.0\.0\.1"
                        r"\[127\.0\.0\.1\]:%d, .*status=sent \(250 "
                        % (qid, re.escape(r), self.peer.port))
        self.queue_empty()

    def test_peer_refuses_relay_554(self):
        """The peer's client (us, 127.0.0.1) is outside its mynetworks:
        554 5.7.1, while its own domain is still accepted."""
        self.assert_relay_refused(self.peer, "alice@example.test")


class PeerDown(RelayCase):
    """Nothing listens at relayhost; mynetworks keeps 127.0.0.1 out, so
    only an alias of ours may send mail out."""

    @classmethod
    def setUpClass(cls):
        # A dead destination stays dead for minimal_backoff_time: long
        # enough for test_dead_destination_defers_new_mail_at_once.
        cls.inst = sender_instance(free_port(), mynetworks="192.0.2.0/24",
                                   minimal_backoff_time="60s",
                                   maximal_backoff_time="120s")

    def test_outside_mynetworks_refused_554(self):
        self.assert_relay_refused(self.inst, "me@local.test")
        self.assertTrue(self.inst.wait_log(
            r"surel/smtpd\[\d+\]: NOQUEUE: reject: RCPT from .*554 5\.7\.1 "
            r"<someone@remote\.test>: Relay access denied", 10),
            self.inst.diagnostics())

    def test_alias_to_remote_deferred(self):
        m = new_marker()
        code, text, qid = self.inst.send("fwd@local.test", marker=m,
                                         sender=SENDER)
        self.assertEqual(code, 250, text)
        self.log_of(r"surel/smtp\[\d+\]: %s: to=<someone@remote\.test>, "
                    r"relay=\S+, .*status=deferred" % qid)

        def deferred():
            return any(os.path.basename(p) == qid
                       for p in self.inst.queue_files("deferred"))
        self.assertTrue(wait_until(deferred, 20),
                        "not in deferred/\n" + self.inst.diagnostics())
        self.assertNotRegex(self.inst.log(), r"%s: to=<someone@remote\.test>"
                            r".*status=(sent|bounced)" % qid)

    def test_dead_destination_defers_new_mail_at_once(self):
        """Mail that arrives for a destination marked dead goes to
        deferred/ at once ("delivery temporarily suspended"), also once
        qmgr's connections to smtp closed for lack of work: it must not
        sit in active/ until the destination revives."""
        qid1 = self.inst.send("fwd@local.test", sender=SENDER)[2]
        self.log_of(r"%s: to=<someone@remote\.test>, .*status=deferred"
                    % qid1)
        # qmgr closes an idle connection after 5 s: wait past that
        time.sleep(6.5)
        code, text, qid2 = self.inst.send("fwd@local.test", sender=SENDER)
        self.assertEqual(code, 250, text)
        self.log_of(r"%s: to=<someone@remote\.test>, .*relay=none, .*"
                    r"status=deferred \(delivery temporarily suspended"
                    % qid2, timeout=5)

        def deferred():
            return any(os.path.basename(p) == qid2
                       for p in self.inst.queue_files("deferred"))
        self.assertTrue(wait_until(deferred, 5),
                        "not in deferred/\n" + self.inst.diagnostics())


if __name__ == "__main__":
    unittest.main()
