"""The access(5) actions that act after the restriction lists (REDIRECT,
BCC, FILTER, DEFER_IF_PERMIT, DEFER_IF_REJECT), DNSBL replies with their
TXT reason, the per-session DNS cache, and the DNS restrictions
reject_unknown_{sender,recipient}_domain,
reject_unknown_{client,reverse_client,helo}_hostname, reject_rhsbl_*,
against dnsmasq.

Clients connect from 127.0.0.x, outside BASE_MAIN_CF's mynetworks.
REDIRECT and BCC are checked in the Maildirs, FILTER by a scripted SMTP
peer that receives every recipient in place of local delivery.
Loopback only; every wait is bounded; what a test starts it stops."""

import os
import re
import smtplib
import unittest

from instance import DAEMON_DIR, Instance, new_marker, wait_until
from smtp_peer import Dnsmasq, ScriptedPeer
from test_relay import RelayCase

SENDER_ACCESS = """\
redirector@sender.test  REDIRECT bob@example.test
bccer@sender.test       BCC carol@example.test
teamredirect@sender.test REDIRECT team@example.test
filtered@sender.test    FILTER smtp:[127.0.0.1]:%d
dip@sender.test         DEFER_IF_PERMIT not now
dir@sender.test         DEFER_IF_REJECT maybe later
badredirect@sender.test REDIRECT nobody
"""

REASON = "Listed by zen.test: see https://zen.test/q?ip=127.0.0.2"


def smtp(inst, source="127.0.0.1", helo="client.example.net"):
    s = smtplib.SMTP("127.0.0.1", inst.port, timeout=15,
                     source_address=(source, 0))
    s.ehlo(helo)
    return s


def message(sender, rcpts, marker):
    return ("From: %s\r\nTo: %s\r\nSubject: %s\r\n\r\n%s\r\n"
            % (sender, ", ".join(rcpts), marker, marker))


class Actions(RelayCase):
    @classmethod
    def setUpClass(cls):
        agent = os.path.join(DAEMON_DIR, "smtp")
        if not os.access(agent, os.X_OK):
            raise AssertionError("%s is not installed" % agent)
        cls.peer = ScriptedPeer()
        cls.querylog = None
        cls.set_up_instance(cls.make_instance)

    @classmethod
    def make_instance(cls):
        import tempfile
        fd, cls.querylog = tempfile.mkstemp(prefix="dnsmasq-q-")
        os.close(fd)
        cls.dns = Dnsmasq(extra=[
            "--txt-record=2.0.0.127.zen.test,%s" % REASON,
            "--host-record=bad.test.dbl.test,127.0.0.2",
            "--log-queries", "--log-facility=%s" % cls.querylog])
        inst = Instance(
            dns_resolver="127.0.0.1:%d" % cls.dns.port,
            smtpd_client_restrictions="reject_rbl_client zen.test",
            smtpd_relay_restrictions=(
                "permit_mynetworks, reject_unauth_destination"),
            smtp_connect_timeout="2s", smtp_tls_security_level="none")
        inst.master_cf_text += "smtp unix - - n - - smtp\n"
        rbl_replies = os.path.join(inst.etc, "rbl_replies")
        with open(rbl_replies, "w") as f:
            f.write("dbl.test $rbl_code 5.7.9 $rbl_class $rbl_what is on "
                    "$rbl_domain${rbl_reason?: $rbl_reason}\n")
        inst.main_cf["rbl_reply_maps"] = "texthash:" + rbl_replies
        access = os.path.join(inst.etc, "sender_access")
        inst.main_cf["smtpd_sender_restrictions"] = (
            "check_sender_access texthash:%s, reject_rhsbl_sender dbl.test"
            % access)
        inst.write_config()
        with open(access, "w") as f:
            f.write(SENDER_ACCESS % cls.peer.port)
        return inst.start_or_cleanup()

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            if cls.querylog is not None:
                os.unlink(cls.querylog)

    def send(self, sender, rcpts, marker):
        with smtp(self.inst) as s:
            s.sendmail(sender, rcpts, message(sender, rcpts, marker))

    def rcpt(self, sender, rcpt, source="127.0.0.1"):
        with smtp(self.inst, source) as s:
            code, text = s.mail(sender)
            self.assertEqual(code, 250, text)
            code, text = s.rcpt(rcpt)
            s.rset()
        return code, text.decode()

    # -- REDIRECT, BCC, FILTER

    def test_redirect_replaces_every_recipient(self):
        m = new_marker("redirect")
        self.send("redirector@sender.test",
                  ["alice@example.test", "dave@example.org"], m)
        data = self.inst.find_message("bob@example.test", m)
        self.assertIn(m.encode(), data)
        self.log_of(r"redirect: to=<dave@example\.org> -> "
                    r"<bob@example\.test>")
        self.queue_empty()
        self.assertEqual(self.inst.count_marker(m), 1)

    def test_redirect_to_an_alias_is_expanded(self):
        m = new_marker("redirect-alias")
        self.send("teamredirect@sender.test", ["dave@example.org"], m)
        for rcpt in ("alice@example.test", "bob@example.test",
                     "carol@example.test"):
            self.inst.find_message(rcpt, m)
        self.log_of(r"to=<bob@example\.test>, orig_to=<team@example\.test>"
                    r", relay=local, .*status=sent")
        self.queue_empty()
        self.assertEqual(self.inst.count_marker(m), 3)

    def test_bcc_adds_one_recipient(self):
        m = new_marker("bcc")
        self.send("bccer@sender.test", ["alice@example.test"], m)
        self.inst.find_message("alice@example.test", m)
        self.inst.find_message("carol@example.test", m)
        self.queue_empty()
        self.assertEqual(self.inst.count_marker(m), 2)
        # Already a recipient: one copy only.
        m = new_marker("bcc-dup")
        self.send("bccer@sender.test", ["carol@example.test"], m)
        self.inst.find_message("carol@example.test", m)
        self.queue_empty()
        self.assertEqual(self.inst.count_marker(m), 1)

    def test_filter_routes_every_recipient(self):
        m = new_marker("filter")
        self.send("filtered@sender.test",
                  ["alice@example.test", "bob@example.test"], m)
        sess = self.session_with(m)
        rcpts = re.findall(rb"RCPT TO:<([^>]*)>", sess["raw"])
        self.assertEqual(sorted(rcpts),
                         [b"alice@example.test", b"bob@example.test"])
        self.log_of(r"to=<alice@example\.test>, relay=127\.0\.0\.1"
                    r"\[127\.0\.0\.1\]:%d, .*status=sent" % self.peer.port)
        self.queue_empty()
        # Not delivered locally: the filter re-injects what it accepts.
        self.assertEqual(self.inst.count_marker(m), 0)

    def test_bad_redirect_is_a_configuration_error(self):
        self.assertEqual(self.rcpt("badredirect@sender.test",
                                   "alice@example.test"),
                         (451, "4.3.5 Server configuration error"))
        self.log_of(r"warning: access table: .*REDIRECT needs user@domain")

    # -- DEFER_IF_PERMIT, DEFER_IF_REJECT

    def test_defer_if_permit(self):
        self.assertEqual(self.rcpt("dip@sender.test", "alice@example.test"),
                         (450, "4.7.1 <dip@sender.test>: Sender address "
                               "rejected: not now"))
        # A later reject still rejects.
        self.assertEqual(self.rcpt("dip@sender.test", "x@remote.test"),
                         (554, "5.7.1 <x@remote.test>: Relay access "
                               "denied"))

    def test_defer_if_reject(self):
        self.assertEqual(self.rcpt("dir@sender.test", "x@remote.test"),
                         (450, "4.7.1 <dir@sender.test>: Sender address "
                               "rejected: maybe later"))
        self.assertEqual(self.rcpt("dir@sender.test",
                                   "alice@example.test")[0], 250)

    # -- DNSBL reasons, the session's DNS cache

    def test_dnsbl_reason_and_cache(self):
        listed = ("5.7.1 Service unavailable; Client host [127.0.0.2] "
                  "blocked using zen.test; " + REASON)
        with smtp(self.inst, "127.0.0.2") as s:
            self.assertEqual(s.mail("x@fine.test")[0], 250)
            for rcpt in ("alice@example.test", "bob@example.test",
                         "carol@example.test"):
                code, text = s.rcpt(rcpt)
                self.assertEqual((code, text.decode()), (554, listed))
        self.log_of(r"NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.2\]: "
                    r"554 5\.7\.1 Service unavailable; .*; Listed by")

        # Three RCPTs, one look-up of each kind (dnsmasq logs each query).
        def queries(qtype):
            with open(self.querylog, errors="replace") as f:
                return len(re.findall(r"query\[%s\] 2\.0\.0\.127\.zen\.test "
                                      % qtype, f.read()))
        self.assertTrue(wait_until(lambda: queries("A") >= 1, 5))
        self.assertEqual((queries("A"), queries("TXT")), (1, 1))

    def test_rhsbl_sender_with_rbl_reply_maps(self):
        # The zone's template from rbl_reply_maps (no TXT record here).
        self.assertEqual(self.rcpt("eve@bad.test", "alice@example.test"),
                         (554, "5.7.9 Sender address eve@bad.test is on "
                               "dbl.test"))
        self.assertEqual(self.rcpt("eve@good.test",
                                   "alice@example.test")[0], 250)


class ContentFilter(RelayCase):
    """content_filter on the main listener; a second listener with
    "-o content_filter=" is where the filter sends mail back."""

    @classmethod
    def setUpClass(cls):
        cls.peer = ScriptedPeer()
        cls.set_up_instance(cls.make_instance)

    @classmethod
    def make_instance(cls):
        from instance import free_port
        inst = Instance(
            content_filter="smtp:[127.0.0.1]:%d" % cls.peer.port,
            smtp_connect_timeout="2s", smtp_tls_security_level="none")
        cls.reinject_port = free_port()
        inst.master_cf_text += (
            "smtp unix - - n - - smtp\n"
            "127.0.0.1:%d inet n - n - 2 smtpd -o content_filter=\n"
            % cls.reinject_port)
        inst.write_config()
        return inst.start_or_cleanup()

    def test_filtered_then_reinjected(self):
        m = new_marker("content-filter")
        body = message("x@fine.test", ["alice@example.test"], m)
        with smtp(self.inst) as s:
            s.sendmail("x@fine.test", ["alice@example.test"], body)
        sess = self.session_with(m)
        self.assertIn(b"RCPT TO:<alice@example.test>", sess["raw"])
        self.queue_empty()
        self.assertEqual(self.inst.count_marker(m), 0)
        # What the filter sends back is delivered.
        with smtplib.SMTP("127.0.0.1", self.reinject_port,
                          timeout=15) as s:
            s.sendmail("x@fine.test", ["alice@example.test"], sess["data"])
        self.inst.find_message("alice@example.test", m)
        self.queue_empty()
        self.assertEqual(len(self.peer.sessions), 1)


class BadFilter(RelayCase):
    """A content filter whose transport qmgr does not know: the mail
    waits in the queue (4.3.5), never delivered around the filter."""

    @classmethod
    def setUpClass(cls):
        cls.set_up_instance(lambda: Instance(
            content_filter="scan:[127.0.0.1]:10025").start_or_cleanup())

    def test_deferred_not_lost(self):
        m = new_marker("bad-filter")
        with smtp(self.inst) as s:
            s.sendmail("x@fine.test", ["alice@example.test"],
                       message("x@fine.test", ["alice@example.test"], m))
        self.log_of(r"to=<alice@example\.test>, .*dsn=4\.3\.5, "
                    r"status=deferred \(bad content filter "
                    r"\"scan:\[127\.0\.0\.1\]:10025\"")
        self.assertEqual(self.inst.count_marker(m), 0)
        self.assertTrue(wait_until(
            lambda: self.inst.queue_files("deferred"), 10),
            self.inst.diagnostics())


class DnsChecks(RelayCase):
    """reject_unknown_* against dnsmasq: 127.0.0.5 has no PTR, 127.0.0.6
    a PTR whose name has no address, 127.0.0.7 a PTR that leads back."""

    @classmethod
    def setUpClass(cls):
        cls.dns = Dnsmasq(extra=[
            # Our own reverse zone: no PTR is NXDOMAIN, not a failure.
            "--local=/0.0.127.in-addr.arpa/",
            "--ptr-record=6.0.0.127.in-addr.arpa,six.hosts.test",
            "--host-record=seven.hosts.test,127.0.0.7",
            "--host-record=helo.hosts.test,127.0.0.8"])
        cls.set_up_instance(lambda: Instance(
            dns_resolver="127.0.0.1:%d" % cls.dns.port,
            smtpd_client_restrictions=(
                "check_client_access inline:{ 127.0.0.1=OK }, "
                "reject_unknown_reverse_client_hostname"),
            smtpd_helo_restrictions=(
                "check_client_access inline:{ 127.0.0.1=OK }, "
                "reject_unknown_client_hostname, "
                "reject_unknown_helo_hostname"),
            smtpd_sender_restrictions="reject_unknown_sender_domain",
            smtpd_relay_restrictions=(
                "reject_unknown_recipient_domain, permit_mynetworks, "
                "reject_unauth_destination")).start_or_cleanup())

    def rcpt(self, sender="x@mx.test", rcpt="alice@example.test",
             source="127.0.0.1", helo="mx.test"):
        with smtp(self.inst, source, helo) as s:
            code, text = s.mail(sender)
            self.assertEqual(code, 250, text)
            code, text = s.rcpt(rcpt)
            s.rset()
        return code, text.decode()

    def test_unknown_sender_domain(self):
        self.assertEqual(self.rcpt("x@nosuch.test"),
                         (450, "4.1.8 <x@nosuch.test>: Sender address "
                               "rejected: Domain not found"))
        self.assertEqual(self.rcpt("x@nullmx.test"),
                         (556, "5.7.27 <x@nullmx.test>: Sender address "
                               "rejected: Domain nullmx.test does not "
                               "accept mail (nullMX)"))
        self.assertEqual(self.rcpt("x@mx.test")[0], 250)
        # An A record without MX is enough (RFC 5321 5.1).
        self.assertEqual(self.rcpt("x@mx1.mx.test")[0], 250)
        self.assertEqual(self.rcpt("")[0], 250)

    def test_unknown_recipient_domain(self):
        self.assertEqual(self.rcpt(rcpt="u@nosuch.test"),
                         (450, "4.1.2 <u@nosuch.test>: Recipient address "
                               "rejected: Domain not found"))
        self.assertEqual(self.rcpt(rcpt="u@nullmx.test"),
                         (556, "5.1.10 <u@nullmx.test>: Recipient address "
                               "rejected: Domain nullmx.test does not "
                               "accept mail (nullMX)"))
        # A domain that exists goes on to the relay check.
        self.assertEqual(self.rcpt(rcpt="u@mx.test"),
                         (554, "5.7.1 <u@mx.test>: Relay access denied"))
        # Ours are never looked up in DNS.
        self.assertEqual(self.rcpt(rcpt="alice@example.test")[0], 250)

    def test_unknown_reverse_client_hostname(self):
        self.assertEqual(self.rcpt(source="127.0.0.5"),
                         (450, "4.7.25 Client host rejected: cannot find "
                               "your reverse hostname, [127.0.0.5]"))
        self.log_of(r"NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.5\]: "
                    r"450 4\.7\.25 Client host rejected: cannot find your "
                    r"reverse hostname")

    def test_unknown_client_hostname(self):
        # A PTR is enough for the reverse check, not for the full one.
        self.assertEqual(self.rcpt(source="127.0.0.6"),
                         (450, "4.7.25 Client host rejected: cannot find "
                               "your hostname, [127.0.0.6]"))
        self.assertEqual(self.rcpt(source="127.0.0.7")[0], 250)

    def test_unknown_helo_hostname(self):
        self.assertEqual(self.rcpt(source="127.0.0.7", helo="no.hosts.test"),
                         (450, "4.7.1 <no.hosts.test>: Helo command "
                               "rejected: Host not found"))
        self.assertEqual(self.rcpt(source="127.0.0.7",
                                   helo="helo.hosts.test")[0], 250)
        self.assertEqual(self.rcpt(source="127.0.0.7",
                                   helo="[127.0.0.7]")[0], 250)


if __name__ == "__main__":
    unittest.main()
