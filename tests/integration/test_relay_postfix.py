"""surel relays to a real peer: a private Postfix (Debian's package, see
postfix.py) on loopback is surel's relayhost and delivers peer.test to
Maildirs with its virtual agent. What arrives must be what was sent, byte
for byte, apart from the trace headers on top (surel's and Postfix's
Received, the Return-Path, X-Original-To and Delivered-To of Postfix's
virtual agent): lines that start with
a dot (surel dot-stuffs, Postfix un-stuffs), 8-bit text sent with
BODY=8BITMIME, and a 1 MiB message. A recipient Postfix does not know is
refused at RCPT (550 5.1.1) and surel logs status=bounced with Postfix's
reply. Needs root (Postfix's master) and the postfix package; skips with
the reason otherwise. Loopback only; every wait is bounded."""

import re
import unittest

import postfix
from instance import ensure_test_user, new_marker, wait_until
from test_relay import SENDER, RelayCase, sender_instance

RCPT = "rcpt@peer.test"
TRACE = re.compile(rb"(Received|Return-Path|X-Original-To|Delivered-To):")


def strip_trace(data):
    """data without the trace header fields on top (with their folded
    continuation lines)."""
    lines = data.split(b"\n")
    i = 0
    while i < len(lines) and TRACE.match(lines[i]):
        i += 1
        while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
            i += 1
    return b"\n".join(lines[i:])


def message(marker, body, extra=b""):
    """A message (bytes, CRLF line ends) with marker in its Message-ID."""
    head = (b"From: Sender <%s>\r\nTo: <%s>\r\nSubject: relay %s\r\n"
            b"Date: Sun, 22 Nov 2026 12:00:00 +0000\r\n"
            b"Message-ID: <%s@client.example>\r\n" % (
                SENDER.encode(), RCPT.encode(), marker.encode(),
                marker.encode()))
    return head + extra + b"\r\n" + body


@unittest.skipIf(postfix.skip_reason(), postfix.skip_reason())
class ToPostfix(RelayCase):

    @classmethod
    def setUpClass(cls):
        # The Maildirs' owner: the test user surel's instances run as.
        # debug_peer_list: smtpd logs the SMTP commands it receives.
        cls.peer = postfix.Postfix(ensure_test_user(), ["peer.test"],
                                   {RCPT: "peer.test/rcpt/"},
                                   {"debug_peer_list": "127.0.0.1"})
        cls.peer.start()
        try:
            # The test default mynetworks keeps 127.0.0.1 out; the 1 MiB
            # message needs more than the test default size limit.
            cls.inst = sender_instance(cls.peer.port,
                                       mynetworks="127.0.0.1/32",
                                       message_size_limit="10240000")
        except Exception:
            cls.peer.stop()
            raise

    def diag(self):
        return "\n%s\n%s" % (self.inst.diagnostics(), self.peer.diagnostics())

    def relay(self, marker, data, mail_options=()):
        """Sends data to RCPT through surel; returns what Postfix
        delivered (bytes) once surel logged it sent."""
        code, text, qid = self.inst.send(RCPT, body=data, sender=SENDER,
                                         mail_options=mail_options)
        self.assertEqual(code, 250, text)
        m = self.inst.wait_log(
            r"surel/smtp\[\d+\]: %s: to=<%s>, relay=127\.0\.0\.1"
            r"\[127\.0\.0\.1\]:%d, .*status=(\w+)" % (
                qid, re.escape(RCPT), self.peer.port), 30)
        self.assertTrue(m, "surel logged no result" + self.diag())
        self.assertEqual(m.group(1), "sent", m.group(0) + self.diag())

        def find():
            for got in self.peer.delivered(RCPT).values():
                if ("<%s@client.example>" % marker).encode() in got:
                    return got
            return None
        got = wait_until(find, 20)
        self.assertIsNotNone(got, "Postfix delivered nothing" + self.diag())
        return got

    def assert_same(self, sent, got):
        # Maildir files hold LF line ends; the message went as CRLF.
        want = sent.replace(b"\r\n", b"\n")
        rest = strip_trace(got)
        self.assertTrue(got.startswith(b"Return-Path: <%s>\n" %
                                       SENDER.encode()), got[:300])
        self.assertIn(b"\nDelivered-To: %s\n" % RCPT.encode(),
                      got[:len(got) - len(rest)])
        if rest != want:
            n = next((i for i, (a, b) in enumerate(zip(rest, want))
                      if a != b), min(len(rest), len(want)))
            self.fail("content differs at byte %d of %d/%d: got %r, sent %r"
                      % (n, len(rest), len(want), rest[max(0, n - 40):n + 40],
                         want[max(0, n - 40):n + 40]))

    def test_dot_leading_lines(self):
        m = new_marker()
        body = (b"first\r\n.\r\n..\r\n.hidden\r\n...three dots\r\n"
                b" .not leading\r\n.\r\nlast line\r\n")
        sent = message(m, body)
        self.assert_same(sent, self.relay(m, sent))

    def test_8bit_body_8bitmime(self):
        m = new_marker()
        body = ("Gr\u00fc\u00dfe aus K\u00f6ln, \u0161\u0107\u017e, "
                "\u65e5\u672c\u8a9e\r\n\u00a0non-breaking\r\n").encode()
        sent = message(m, body, b"MIME-Version: 1.0\r\nContent-Type: "
                       b"text/plain; charset=utf-8\r\n"
                       b"Content-Transfer-Encoding: 8bit\r\n")
        got = self.relay(m, sent, mail_options=("BODY=8BITMIME",))
        self.assert_same(sent, got)
        # surel announced it to Postfix as 8-bit (Postfix's smtpd logs the
        # commands of peers in debug_peer_list).
        self.assertRegex(self.peer.log(), r"< \S+\[127\.0\.0\.1\]: MAIL "
                         r"FROM:<%s>.* BODY=8BITMIME" % re.escape(SENDER))

    def test_one_mebibyte(self):
        m = new_marker()
        line = b"%-74s\r\n"
        body = b"".join(line % (b"line %d of the large message" % i)
                        for i in range(1024 * 1024 // 76 + 1))
        sent = message(m, body)
        self.assertGreater(len(sent), 1024 * 1024)
        self.assert_same(sent, self.relay(m, sent))

    def test_unknown_recipient_bounced_with_postfix_reply(self):
        m = new_marker()
        sent = message(m, b"nobody reads this\r\n")
        code, text, qid = self.inst.send("nobody@peer.test", body=sent,
                                         sender=SENDER)
        self.assertEqual(code, 250, text)
        got = self.inst.wait_log(
            r"surel/smtp\[\d+\]: %s: to=<nobody@peer\.test>, "
            r"relay=127\.0\.0\.1\[127\.0\.0\.1\]:%d, .*dsn=5\.1\.1, "
            r"status=bounced \(.*550 5\.1\.1 <nobody@peer\.test>: "
            r"Recipient address rejected: User unknown in virtual mailbox "
            r"table" % (qid, self.peer.port), 30)
        self.assertTrue(got, "no bounced line with Postfix's reply" +
                        self.diag())
        self.assertRegex(self.peer.log(), r"NOQUEUE: reject: RCPT from "
                         r"\S+\[127\.0\.0\.1\]: 550 5\.1\.1 "
                         r"<nobody@peer\.test>")
        self.assertTrue(wait_until(self.inst.queue_empty, 20),
                        "queue not empty" + self.diag())


if __name__ == "__main__":
    unittest.main()
