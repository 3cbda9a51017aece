"""header_checks and body_checks (pcre: tables) in smtpd over a real
instance: each action as the client sees it (the reply to DATA and to
BDAT LAST) and as the Maildir shows it, Postfix's log lines, the
body_checks_size_limit, a regex that hits PCRE2's match limit, and a bad
regex that stops smtpd at start with the table's file and line.
Loopback only; every wait is bounded."""

import os
import signal
import smtplib
import socket
import time
import unittest

from instance import Instance, new_marker, wait_until
from test_relay import RelayCase

HEADER_CHECKS = r"""
# header_checks: one logical header at a time, unfolded
/^Subject:.*reject-me/          REJECT no thanks
/^Subject:.*reject-plain/       REJECT
/^Subject:.*reject-coded/       REJECT 5.7.9 coded reason
/^Subject:.*discard-me/         DISCARD dropped it
/^Subject:.*hold-me/            HOLD held it
/^Subject:.*warn-me/            WARN watch this
/^Subject: folded start folded end/ WARN folded header seen whole
/^X-Drop-Me:/                   IGNORE
/^X-Replace-Me: (\S+)/          REPLACE X-Replaced: was $1
/^X-Prepend-Here:/              PREPEND X-Prepended: before it
/^X-Filter-Me:/                 FILTER smtp:[127.0.0.1]:2525
/^X-Slow: (a+)+$/               REJECT never reached
/^Received: from ourselves-helo/ WARN own Received seen
/^Content-Disposition:.*filename="?evil\.exe/ REJECT 5.7.1 no executables
"""

BODY_CHECKS = r"""
/^body-reject-line/             REJECT 5.7.2 bad body line
/^strip this line/              IGNORE
/^replace this line/            REPLACE this line was replaced
/^late-marker/                  REJECT late line
/^prepend before this/          PREPEND an inserted line
"""

SIZE_LIMIT = 2000


def message(marker, headers="", body="hello\r\n"):
    return ("From: a@sender.example\r\nTo: alice@example.test\r\n"
            "Subject: %s\r\n%s\r\n%s" % (marker, headers, body))


class ContentChecks(RelayCase):
    @classmethod
    def setUpClass(cls):
        cls.set_up_instance(cls.make_instance)

    @classmethod
    def make_instance(cls):
        inst = Instance(body_checks_size_limit=str(SIZE_LIMIT))
        hc = os.path.join(inst.etc, "header_checks.pcre")
        bc = os.path.join(inst.etc, "body_checks.pcre")
        inst.main_cf["header_checks"] = "pcre:" + hc
        inst.main_cf["body_checks"] = "pcre:" + bc
        inst.write_config()
        with open(hc, "w") as f:
            f.write(HEADER_CHECKS)
        with open(bc, "w") as f:
            f.write(BODY_CHECKS)
        return inst.start_or_cleanup()

    def smtp(self, helo="client.example.net"):
        s = smtplib.SMTP("127.0.0.1", self.inst.port, timeout=15)
        s.ehlo(helo)
        return s

    def send(self, data, helo="client.example.net"):
        """The reply to the end of DATA: (code, text)."""
        with self.smtp(helo) as s:
            self.assertEqual(s.mail("a@sender.example")[0], 250)
            self.assertEqual(s.rcpt("alice@example.test")[0], 250)
            code, text = s.data(data.encode())
        return code, text.decode()

    def delivered(self, marker):
        return self.inst.find_message("alice@example.test", marker)

    def assert_not_delivered(self, marker, wait=2.0):
        # Another message sent after it is delivered first: qmgr has had
        # its chance at the earlier one.
        after = new_marker("after")
        self.assertEqual(self.send(message(after))[0], 250)
        self.delivered(after)
        time.sleep(wait)
        self.assertEqual(self.inst.count_marker(marker), 0)

    # -- REJECT

    def test_reject_with_text(self):
        marker = new_marker("reject-me")
        code, text = self.send(message(marker))
        self.assertEqual((code, text), (550, "5.7.1 no thanks"))
        self.assertTrue(self.inst.wait_log(
            r"\w+: reject: header Subject: %s from unknown\[127\.0\.0\.1\]; "
            r"from=<a@sender\.example> to=<alice@example\.test> "
            r"proto=ESMTP helo=<client\.example\.net>: 5\.7\.1 no thanks"
            % marker, 10), self.inst.log()[-2000:])
        self.assert_not_delivered(marker, 0.5)

    def test_reject_default_and_coded(self):
        self.assertEqual(self.send(message(new_marker("reject-plain"))),
                         (550, "5.7.1 message content rejected"))
        self.assertEqual(self.send(message(new_marker("reject-coded"))),
                         (550, "5.7.9 coded reason"))

    def test_reject_in_bdat(self):
        """CHUNKING: the verdict comes with BDAT LAST."""
        marker = new_marker("reject-me")
        body = message(marker).encode()
        with socket.create_connection(("127.0.0.1", self.inst.port),
                                      timeout=15) as sock:
            f = sock.makefile("rb")

            def reply():
                lines = []
                while True:
                    line = f.readline()
                    self.assertTrue(line, "connection closed")
                    lines.append(line)
                    if line[3:4] == b" ":
                        return lines

            reply()
            sock.sendall(b"EHLO client.example.net\r\n")
            self.assertTrue(any(b"CHUNKING" in x for x in reply()))
            sock.sendall(b"MAIL FROM:<a@sender.example>\r\n")
            self.assertTrue(reply()[0].startswith(b"250"))
            sock.sendall(b"RCPT TO:<alice@example.test>\r\n")
            self.assertTrue(reply()[0].startswith(b"250"))
            half = len(body) // 2
            sock.sendall(b"BDAT %d\r\n" % half + body[:half])
            self.assertTrue(reply()[0].startswith(b"250"))
            sock.sendall(b"BDAT %d LAST\r\n" % (len(body) - half) +
                         body[half:])
            self.assertEqual(reply()[0], b"550 5.7.1 no thanks\r\n")
            sock.sendall(b"QUIT\r\n")
            reply()
        self.assert_not_delivered(marker, 0.5)

    def test_reject_mime_header_of_part(self):
        """mime_header_checks ($header_checks by default) see the headers
        of a multipart part."""
        marker = new_marker("mime")
        body = ("--b1\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
                "--b1\r\nContent-Type: application/octet-stream\r\n"
                "Content-Disposition: attachment; filename=\"evil.exe\"\r\n"
                "\r\nAAAA\r\n--b1--\r\n")
        code, text = self.send(message(
            marker, "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; "
            "boundary=\"b1\"\r\n", body))
        self.assertEqual((code, text), (550, "5.7.1 no executables"))

    # -- DISCARD, HOLD, WARN

    def test_discard(self):
        marker = new_marker("discard-me")
        code, text = self.send(message(marker))
        self.assertEqual(code, 250, text)
        self.assertTrue(self.inst.wait_log(
            r"\w+: discard: header Subject: %s from unknown\[127\.0\.0\.1\]"
            r";.*: dropped it" % marker, 10))
        self.assert_not_delivered(marker)

    def test_hold(self):
        """The queue file carries hold=yes. qmgr is stopped while the file
        is looked at; with the hold/ queue (another branch) the file may
        sit in hold/ instead of incoming/: either is accepted."""
        qmgr = self.inst.processes("qmgr")
        self.assertTrue(qmgr, "no qmgr process")
        for pid in qmgr:
            os.kill(pid, signal.SIGSTOP)
        try:
            marker = new_marker("hold-me")
            code, text = self.send(message(marker))
            self.assertEqual(code, 250, text)
            qid = text.rsplit(" ", 1)[1]
            paths = [os.path.join(self.inst.queue, d, qid)
                     for d in ("incoming", "hold")]
            found = [p for p in paths if os.path.exists(p)]
            self.assertEqual(len(found), 1, paths)
            with open(found[0], "rb") as f:
                data = f.read()
            self.assertIn(b"\nA\thold\tyes\n", data)
            self.assertNotIn(b"\nA\tpad\t", data)
            self.assertIn(marker.encode(), data)
        finally:
            for pid in qmgr:
                os.kill(pid, signal.SIGCONT)
        self.assertTrue(self.inst.wait_log(
            r"%s: hold: header Subject: %s from .*: held it" % (qid, marker),
            10))
        # Once qmgr honours hold=yes (the hold/ queue), the message must
        # not be delivered; before that it is, and only the attribute is
        # asserted above.
        if os.path.exists(os.path.join(self.inst.queue, "hold", qid)):
            self.assert_not_delivered(marker)

    def test_no_hold_leaves_no_attribute(self):
        """The place kept for a HOLD stays a filler that readers ignore
        and the message is delivered."""
        marker = new_marker("plain")
        self.assertEqual(self.send(message(marker))[0], 250)
        data = self.delivered(marker)
        self.assertNotIn(b"pad", data.split(b"\n\n", 1)[0])

    def test_warn_and_folded_header(self):
        marker = new_marker("warn-me")
        code, _ = self.send(message(marker, "X-Other: 1\r\n"))
        self.assertEqual(code, 250)
        self.delivered(marker)
        self.assertTrue(self.inst.wait_log(
            r"\w+: warning: header Subject: %s from .*: watch this"
            % marker, 10))
        # A folded header is looked up unfolded, as one.
        folded = ("From: a@sender.example\r\nSubject: folded start\r\n"
                  " folded end\r\n\r\nx %s\r\n" % new_marker("fold"))
        self.assertEqual(self.send(folded)[0], 250)
        self.assertTrue(self.inst.wait_log(
            r"warning: header Subject: folded start folded end from .*"
            r": folded header seen whole", 10))

    def test_own_received_is_checked(self):
        marker = new_marker("rcvd")
        self.assertEqual(self.send(message(marker),
                                   helo="ourselves-helo.example")[0], 250)
        self.assertTrue(self.inst.wait_log(
            r"warning: header Received: from ourselves-helo\.example .*"
            r": own Received seen", 10))

    # -- edits

    def test_ignore_replace_prepend(self):
        marker = new_marker("edit")
        headers = ("X-Drop-Me: gone\r\n\tcontinued too\r\n"
                   "X-Replace-Me: first second\r\n"
                   "X-Prepend-Here: stays\r\n")
        code, _ = self.send(message(marker, headers))
        self.assertEqual(code, 250)
        data = self.delivered(marker)
        head = data.split(b"\n\n", 1)[0] + b"\n"
        self.assertNotIn(b"X-Drop-Me", head)
        self.assertNotIn(b"continued too", head)
        self.assertNotIn(b"X-Replace-Me", head)
        self.assertIn(b"\nX-Replaced: was first\n", head)
        self.assertIn(b"\nX-Prepended: before it\nX-Prepend-Here: stays\n",
                      head)
        self.assertTrue(self.inst.wait_log(
            r"replace: header X-Replace-Me: first second from .*: "
            r"X-Replaced: was first$", 10))
        self.assertTrue(self.inst.wait_log(
            r"prepend: header X-Prepend-Here: stays from .*: "
            r"X-Prepended: before it$", 10))

    def test_body_edits(self):
        marker = new_marker("body")
        body = ("keep 1\r\nstrip this line\r\nreplace this line please\r\n"
                "prepend before this\r\nkeep 2 %s\r\n" % marker)
        self.assertEqual(self.send(message(marker, "", body))[0], 250)
        data = self.delivered(marker)
        text = data.split(b"\n\n", 1)[1]
        self.assertEqual(
            text, b"keep 1\nthis line was replaced\nan inserted line\n"
            b"prepend before this\nkeep 2 %s\n" % marker.encode())

    def test_body_reject(self):
        marker = new_marker("breject")
        code, text = self.send(message(
            marker, "", "fine\r\nbody-reject-line here\r\n"))
        self.assertEqual((code, text), (550, "5.7.2 bad body line"))
        self.assertTrue(self.inst.wait_log(
            r"\w+: reject: body body-reject-line here from .*: "
            r"5\.7\.2 bad body line", 10))

    def test_body_size_limit(self):
        """Lines starting past body_checks_size_limit octets of a body
        part are not checked; within it they are."""
        filler = "".join("filler line %04d ..............\r\n" % i
                         for i in range(SIZE_LIMIT // 30 + 5))
        self.assertGreater(len(filler), SIZE_LIMIT)
        late = new_marker("late")
        self.assertEqual(self.send(message(
            late, "", filler + "late-marker %s\r\n" % late))[0], 250)
        self.delivered(late)
        early = new_marker("early")
        self.assertEqual(self.send(message(
            early, "", "late-marker %s\r\n" % early + filler))[0], 550)
        # Each MIME part has its own limit: the marker right after a
        # boundary past the limit is checked again.
        part = new_marker("part")
        body = ("--b2\r\n\r\n" + filler + "--b2\r\nContent-Type: text/plain"
                "\r\n\r\nlate-marker %s\r\n--b2--\r\n" % part)
        self.assertEqual(self.send(message(
            part, "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; "
            "boundary=b2\r\n", body))[0], 550)

    # -- tables

    def test_unsupported_action_logged_once(self):
        for _ in range(2):
            marker = new_marker("filter")
            self.assertEqual(self.send(message(marker, "X-Filter-Me: 1\r\n"))
                             [0], 250)
            self.delivered(marker)
        self.assertTrue(self.inst.wait_log(r"action FILTER is not supported",
                                           10))
        # Once per smtpd process: at most as many lines as processes.
        self.assertLessEqual(self.inst.log().count(
            "action FILTER is not supported"), 2)

    def test_match_limit_warning(self):
        """A regex that hits PCRE2's match limit is no match, and a
        warning names the table and line."""
        marker = new_marker("slow")
        self.assertEqual(self.send(message(
            marker, "X-Slow: " + "a" * 40 + "!\r\n"))[0], 250)
        self.delivered(marker)
        self.assertTrue(self.inst.wait_log(
            r"warning: \w+: header_checks: pcre:\S+header_checks\.pcre: "
            r".*line 14: .*limit", 10), self.inst.log()[-2000:])


class BadTable(unittest.TestCase):
    def test_bad_regex_stops_smtpd(self):
        inst = Instance()
        hc = os.path.join(inst.etc, "hc.pcre")
        inst.main_cf["header_checks"] = "pcre:" + hc
        inst.write_config()
        with open(hc, "w") as f:
            f.write("/^Subject: ok/ WARN fine\n/^Subject: (unclosed/ REJECT\n")
        try:
            inst.start(wait=False)
            for _ in range(3):
                try:
                    with smtplib.SMTP("127.0.0.1", inst.port, timeout=5) as s:
                        s.noop()
                except (OSError, smtplib.SMTPException):
                    pass
                if inst.wait_log(r"fatal: header_checks:", 3):
                    break
            self.assertTrue(inst.wait_log(
                r"smtpd\S*: fatal: header_checks: .*hc\.pcre, line 2: ", 10),
                inst.log()[-2000:])
        finally:
            inst.cleanup_or_fail()


if __name__ == "__main__":
    unittest.main()
