"""Connection and rate limits (smtpd with anvil, surel-anvil(8)).

One instance with several smtpd services, each with its own limits given
with -o; anvil counts per service, so each service's counts are its own.
Clients are on loopback, which is in mynetworks, the default of
smtpd_client_event_limit_exceptions: main.cf sets the exceptions to a
network no test uses, and one service sets them back to loopback.
anvil_rate_time_unit is short (RATE_UNIT seconds) so that a test can see
a window end. Every loop is bounded; anvil is stopped and killed by its
pid only."""

import os
import signal
import smtplib
import time
import unittest

from instance import (Instance, Raw, b64_plain, free_port, new_marker,
                      password_of, wait_until)

ALICE = "alice@example.test"
BOB = "bob@example.test"
RATE_UNIT = 5
HOST = "mx.example.test"
TOO_MANY = "421 4.7.0 %s Error: too many connections from 127.0.0.1" % HOST


def message(sender, rcpt, marker):
    return ("From: <%s>\r\nTo: <%s>\r\nSubject: limits\r\n"
            "X-Marker: %s\r\n\r\nmarker %s\r\n" % (sender, rcpt, marker,
                                                   marker))


class RateLimits(unittest.TestCase):
    inst = None

    @classmethod
    def setUpClass(cls):
        inst = Instance(access=True,
                        anvil_rate_time_unit="%ds" % RATE_UNIT,
                        anvil_status_update_time="2s",
                        smtpd_client_event_limit_exceptions="192.0.2.0/24")
        ports = {}
        services = {
            "count": "-o smtpd_client_connection_count_limit=2",
            "rate": "-o smtpd_client_connection_rate_limit=3",
            "mail": "-o smtpd_client_message_rate_limit=2",
            "rcpt": "-o smtpd_client_recipient_rate_limit=2",
            "exempt": "-o smtpd_client_connection_count_limit=1 "
                      "-o smtpd_client_message_rate_limit=1 "
                      "-o smtpd_client_event_limit_exceptions=127.0.0.0/8",
            "killed": "-o smtpd_client_connection_count_limit=1",
            "newtls": "-o smtpd_client_new_tls_session_rate_limit=2",
        }
        for name, opts in services.items():
            ports[name] = free_port()
            inst.master_cf_text += "127.0.0.1:%d inet n - n - 10 smtpd %s\n" % (
                ports[name], opts)
        # AUTH on implicit TLS; the clients are exempt, their users not.
        ports["user"] = free_port()
        inst.master_cf_text += (
            "127.0.0.1:%d inet n - n - 10 smtpd -o smtpd_tls_wrappermode=yes "
            "-o smtpd_sasl_auth_enable=yes "
            "-o smtpd_sasl_user_message_rate_limit=2 "
            "-o smtpd_client_event_limit_exceptions=127.0.0.0/8\n"
            "anvil unix - - n - 1 anvil\n" % ports["user"])
        ports["auth"] = free_port()
        inst.master_cf_text += (
            "127.0.0.1:%d inet n - n - 10 smtpd -o smtpd_tls_wrappermode=yes "
            "-o smtpd_sasl_auth_enable=yes "
            "-o smtpd_client_auth_rate_limit=2\n" % ports["auth"])
        inst.write_config()
        cls.ports = ports
        cls.inst = inst.start_or_cleanup()

    @classmethod
    def tearDownClass(cls):
        if cls.inst is not None:
            cls.inst.cleanup_or_fail()

    def setUp(self):
        self.conns = []

    def tearDown(self):
        for c in self.conns:
            c.close()

    # -- helpers

    def raw(self, name):
        c = Raw(self.ports[name], timeout=15)
        self.conns.append(c)
        return c

    def send_one(self, name, marker, retry=False):
        """A whole message to alice on service name; the final reply.
        retry: connect again (for up to 10 s) while the greeting is a
        421, for a count limit that the smtpd of a connection just closed
        may still hold."""
        deadline = time.monotonic() + (10 if retry else 0)
        while True:
            c = self.raw(name)
            if c.greeting[0] != 421 or time.monotonic() >= deadline:
                break
            c.close()
            time.sleep(0.2)
        self.assertEqual(c.greeting[0], 220, c.greeting)
        c.cmd("EHLO client.example")
        self.assertEqual(c.cmd("MAIL FROM:<someone@remote.test>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<%s>" % ALICE)[0], 250)
        self.assertEqual(c.cmd("DATA")[0], 354)
        reply = c.cmd(message("someone@remote.test", ALICE, marker) + ".")
        c.cmd("QUIT")
        c.close()
        return reply

    def greets(self, name):
        """True when a new connection to service name gets 220."""
        c = Raw(self.ports[name], timeout=15)
        try:
            return c.greeting[0] == 220
        finally:
            c.close()

    def wait_window(self):
        """Sleeps past the current rate window (bounded: one unit)."""
        time.sleep(RATE_UNIT + 0.5)

    def assert_log(self, regex, timeout=20, since=0):
        self.assertTrue(self.inst.wait_log(regex, timeout, since),
                        "no log line matching %r" % regex)

    def anvil_pid(self):
        pid = self.inst.wait_service("anvil", timeout=20)
        self.assertIsNotNone(pid, "anvil is not running")
        return pid

    # -- tests

    def test_connection_count(self):
        a, b = self.raw("count"), self.raw("count")
        self.assertEqual(a.greeting[0], 220)
        self.assertEqual(b.greeting[0], 220)
        c = self.raw("count")
        self.assertEqual(c.greeting, (421, TOO_MANY))
        self.assertTrue(c.closed())
        self.assert_log(r"warning: Connection concurrency limit exceeded: "
                        r"3 from unknown\[127\.0\.0\.1\] for service "
                        r"127\.0\.0\.1:%d" % self.ports["count"])
        # A client that leaves gives its slot back.
        a.cmd("QUIT")
        a.close()
        self.assertTrue(wait_until(lambda: self.greets("count"), 10,
                                   interval=0.2))

    def test_connection_rate(self):
        for _ in range(3):
            c = self.raw("rate")
            self.assertEqual(c.greeting[0], 220)
            c.cmd("QUIT")
            c.close()
        c = self.raw("rate")
        self.assertEqual(c.greeting, (421, TOO_MANY))
        self.assertTrue(c.closed())
        self.assert_log(r"warning: Connection rate limit exceeded: 4 "
                        r"from unknown\[127\.0\.0\.1\] for service "
                        r"127\.0\.0\.1:%d" % self.ports["rate"])
        # The statistics name the busiest key, which may be another
        # test's service: any service on loopback will do.
        self.assert_log(r"anvil\[\d+\]: statistics: max connection rate "
                        r"[4-9]/%ds for \(127\.0\.0\.1:\d+:127\.0\.0\.1\) "
                        r"at \w{3} [ \d]\d \d\d:\d\d:\d\d$" % RATE_UNIT,
                        timeout=10)
        self.wait_window()
        c = self.raw("rate")
        self.assertEqual(c.greeting[0], 220)

    def test_message_rate(self):
        self.assertEqual(self.send_one("mail", new_marker())[0], 250)
        c = self.raw("mail")
        c.cmd("EHLO client.example")
        self.assertEqual(c.cmd("MAIL FROM:<a@remote.test>")[0], 250)
        self.assertEqual(c.cmd("RSET")[0], 250)
        self.assertEqual(c.cmd("MAIL FROM:<a@remote.test>"),
                         (450, "450 4.7.1 Error: too much mail from 127.0.0.1"))
        # Not a disconnect: the session goes on, and so does the count.
        self.assertEqual(c.cmd("NOOP")[0], 250)
        c.cmd("QUIT")
        d = self.raw("mail")
        d.cmd("EHLO client.example")
        self.assertEqual(d.cmd("MAIL FROM:<a@remote.test>")[0], 450)
        self.assert_log(r"warning: Message delivery request rate limit "
                        r"exceeded: 3 from unknown\[127\.0\.0\.1\]")
        self.wait_window()
        self.assertEqual(d.cmd("MAIL FROM:<a@remote.test>")[0], 250)

    def test_recipient_rate(self):
        c = self.raw("rcpt")
        c.cmd("EHLO client.example")
        self.assertEqual(c.cmd("MAIL FROM:<a@remote.test>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<%s>" % ALICE)[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<%s>" % BOB)[0], 250)
        self.assertEqual(
            c.cmd("RCPT TO:<carol@example.test>"),
            (450, "450 4.7.1 Error: too many recipients from 127.0.0.1"))
        # The two accepted recipients still get the message.
        self.assertEqual(c.cmd("DATA")[0], 354)
        self.assertEqual(c.cmd(message("a@remote.test", ALICE,
                                       new_marker()) + ".")[0], 250)
        self.assert_log(r"warning: Recipient address rate limit "
                        r"exceeded: 3 from unknown\[127\.0\.0\.1\]")

    def test_exceptions_not_counted(self):
        """mynetworks (here 127.0.0.0/8) is exempt from every client
        limit: with limits of 1, three connections and three messages."""
        held = [self.raw("exempt") for _ in range(3)]
        for c in held:
            self.assertEqual(c.greeting[0], 220)
        c = held[0]
        c.cmd("EHLO client.example")
        for _ in range(3):
            self.assertEqual(c.cmd("MAIL FROM:<a@remote.test>")[0], 250)
            self.assertEqual(c.cmd("RSET")[0], 250)
        self.assertNotIn("from unknown[127.0.0.1] for service 127.0.0.1:%d"
                         % self.ports["exempt"], self.inst.log())

    def submit(self, user, count):
        """count messages from user over AUTH; the list of replies (the
        MAIL reply code when refused, else 250)."""
        out = []
        s = smtplib.SMTP_SSL("127.0.0.1", self.ports["user"], timeout=30,
                             context=self.inst.ssl_context())
        try:
            s.ehlo("client.example")
            s.login(user, password_of(user))
            for _ in range(count):
                try:
                    s.sendmail(user, [ALICE], message(user, ALICE,
                                                      new_marker()))
                    out.append(250)
                except smtplib.SMTPSenderRefused as e:
                    out.append((e.smtp_code, e.smtp_error.decode()))
            s.quit()
        finally:
            s.close()
        return out

    def test_user_message_rate(self):
        self.assertEqual(self.submit(ALICE, 2), [250, 250])
        # A new session, the same user: still over, whatever the client.
        self.assertEqual(self.submit(ALICE, 1), [
            (450, "4.7.1 Error: too much mail from this user")])
        self.assert_log(r"warning: SASL user message rate limit "
                        r"exceeded: 3 from unknown\[127\.0\.0\.1\] "
                        r"sasl_username=alice@example\.test")
        # Another user has a count of her own.
        self.assertEqual(self.submit(BOB, 1), [250])
        self.wait_window()
        self.assertEqual(self.submit(ALICE, 1), [250])

    def test_auth_rate(self):
        c = Raw(self.ports["auth"], timeout=15,
                context=self.inst.ssl_context())
        self.conns.append(c)
        c.cmd("EHLO client.example")
        wrong = b64_plain(ALICE, "not the password")
        self.assertEqual(c.cmd("AUTH PLAIN " + wrong)[0], 535)
        self.assertEqual(c.cmd("AUTH PLAIN " + wrong)[0], 535)
        self.assertEqual(
            c.cmd("AUTH PLAIN " + b64_plain(ALICE, password_of(ALICE))),
            (450, "450 4.7.1 Error: too many AUTH commands from 127.0.0.1"))
        self.assert_log(r"warning: AUTH command rate limit exceeded: 3 "
                        r"from unknown\[127\.0\.0\.1\] for service "
                        r"127\.0\.0\.1:%d" % self.ports["auth"])

    def test_new_tls_session_rate(self):
        for _ in range(2):
            c = self.raw("newtls")
            c.cmd("EHLO client.example")
            self.assertEqual(c.cmd("STARTTLS")[0], 220)
            c.starttls(self.inst.ssl_context())
            self.assertEqual(c.cmd("EHLO client.example")[0], 250)
            c.cmd("QUIT")
            c.close()
        c = self.raw("newtls")
        c.cmd("EHLO client.example")
        self.assertEqual(c.cmd("STARTTLS"), (
            421, "421 4.7.0 %s Error: too many new TLS sessions from "
            "127.0.0.1" % HOST))
        self.assertTrue(c.closed())
        self.assert_log(r"warning: New TLS session rate limit exceeded: 3 "
                        r"from unknown\[127\.0\.0\.1\] for service "
                        r"127\.0\.0\.1:%d" % self.ports["newtls"])

    def test_anvil_gone(self):
        """A stopped (slow) anvil costs a bounded wait and no mail; a
        killed one is restarted by master and limits are back."""
        a = self.raw("killed")
        self.assertEqual(a.greeting[0], 220)
        self.assertEqual(self.raw("killed").greeting[0], 421)
        pid = self.anvil_pid()
        os.kill(pid, signal.SIGSTOP)
        try:
            since = self.inst.log_size()
            started = time.monotonic()
            self.assertEqual(self.send_one("killed", new_marker())[0], 250)
            self.assertLess(time.monotonic() - started, 10)
            self.assert_log(r"smtpd\[\d+\]: warning: anvil: timeout "
                               r"talking to anvil: no connection or rate "
                               r"limits for this session", since=since)
        finally:
            os.kill(pid, signal.SIGKILL)
        new = self.inst.wait_service("anvil", timeout=30, exclude=(pid,))
        self.assertIsNotNone(new, "master did not restart anvil")
        a.close()
        # The new anvil counts again: one connection, then a 421.

        def limited():
            x = Raw(self.ports["killed"], timeout=15)
            y = Raw(self.ports["killed"], timeout=15)
            try:
                return x.greeting[0] == 220 and y.greeting[0] == 421
            finally:
                x.close()
                y.close()
        self.assertTrue(wait_until(limited, 20, interval=0.5))
        # And mail still flows, once the smtpd processes of the two
        # connections above have ended their sessions.
        self.assertEqual(self.send_one("killed", new_marker(),
                                       retry=True)[0], 250)


if __name__ == "__main__":
    unittest.main()
