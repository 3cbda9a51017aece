"""Delivery: one and many recipients, aliases, recipient validation, the
headers a delivered message carries, and the Postfix-format log lines."""

import os
import re
import time

from instance import (SharedInstanceCase, new_marker, parse, make_message,
                      queue_id_of)

LOG_PREFIX = r"^[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d \S+ surel/\w+\[\d+\]: "


def qid_of(reply_text, data):
    """The queue id from the 250 reply ("queued as ID") or else from the
    Received: header ("id ID")."""
    qid = queue_id_of(reply_text)
    if qid is None:
        m = re.search(rb"\bid ([0-9A-Za-z]{8,})", data)
        qid = m.group(1).decode() if m else None
    return qid


class Delivery(SharedInstanceCase):

    def test_one_recipient(self):
        m = new_marker()
        code, text, _ = self.inst.send("alice@example.test", marker=m)
        self.assertEqual(code, 250, text)
        data = self.inst.find_message("alice@example.test", m)
        msg = parse(data)
        self.assertEqual(msg["X-Marker"], m)
        self.assertEqual(msg["Subject"], "test " + m)
        self.assertIn(("marker %s" % m).encode(), data)
        self.assertEqual(self.inst.count_marker(m), 1)

    def test_many_recipients(self):
        m = new_marker()
        rcpts = ["alice@example.test", "bob@example.test",
                 "carol@example.test", "dave@example.org"]
        code, text, _ = self.inst.send(rcpts, marker=m)
        self.assertEqual(code, 250, text)
        for r in rcpts:
            data = self.inst.find_message(r, m)
            self.assertEqual(parse(data)["Delivered-To"], r)
        time.sleep(0.3)
        self.assertEqual(self.inst.count_marker(m), len(rcpts))

    def test_alias_one_to_many(self):
        m = new_marker()
        code, text, _ = self.inst.send("team@example.test", marker=m)
        self.assertEqual(code, 250, text)
        for r in ("alice@example.test", "bob@example.test", "carol@example.test"):
            data = self.inst.find_message(r, m)
            self.assertEqual(parse(data)["Delivered-To"], r)
        time.sleep(0.3)
        self.assertEqual(self.inst.count_marker(m), 3)
        self.assertTrue(self.inst.wait_log(
            r"to=<bob@example\.test>, orig_to=<team@example\.test>, relay=local", 10),
            self.inst.diagnostics())

    def test_alias_nested(self):
        m = new_marker()
        code, text, _ = self.inst.send("chain@example.test", marker=m)
        self.assertEqual(code, 250, text)
        for r in ("alice@example.test", "bob@example.test",
                  "carol@example.test", "dave@example.org"):
            self.inst.find_message(r, m)
        time.sleep(0.3)
        self.assertEqual(self.inst.count_marker(m), 4)

    def test_alias_to_single_user(self):
        m = new_marker()
        code, text, _ = self.inst.send("postmaster@example.test", marker=m)
        self.assertEqual(code, 250, text)
        data = self.inst.find_message("alice@example.test", m)
        self.assertEqual(parse(data)["Delivered-To"], "alice@example.test")

    def test_unknown_user_550_511(self):
        with self.inst.smtp() as s:
            s.ehlo("client.example")
            self.assertEqual(s.mail("sender@remote.example")[0], 250)
            code, text = s.rcpt("nobody@example.test")
            self.assertEqual(code, 550, text)
            self.assertTrue(text.startswith(b"5.1.1"), text)
            # The session goes on: a known user is still accepted.
            self.assertEqual(s.rcpt("alice@example.test")[0], 250)
            s.rset()

    def test_other_domain_relay_denied_554_571(self):
        with self.inst.smtp() as s:
            s.ehlo("client.example")
            self.assertEqual(s.mail("sender@remote.example")[0], 250)
            code, text = s.rcpt("someone@elsewhere.example")
            self.assertEqual(code, 554, text)
            self.assertTrue(text.startswith(b"5.7.1"), text)
            self.assertIn(b"elay", text)  # "Relay access denied"
            self.assertEqual(s.rcpt("bob@example.test")[0], 250)
            s.rset()

    def test_only_accepted_recipients_get_it(self):
        m = new_marker()
        with self.inst.smtp() as s:
            s.ehlo("client.example")
            s.mail("sender@remote.example")
            self.assertEqual(s.rcpt("nobody@example.test")[0], 550)
            self.assertEqual(s.rcpt("carol@example.test")[0], 250)
            self.assertEqual(s.rcpt("x@elsewhere.example")[0], 554)
            code, text = s.data(make_message("sender@remote.example",
                                             ["carol@example.test"], m))
            self.assertEqual(code, 250, text)
        self.inst.find_message("carol@example.test", m)
        time.sleep(0.3)
        self.assertEqual(self.inst.count_marker(m), 1)

    def test_headers_return_path_delivered_to_received(self):
        m = new_marker()
        code, text, _ = self.inst.send("bob@example.test", marker=m,
                                       sender="Some.One@remote.example")
        self.assertEqual(code, 250, text)
        data = self.inst.find_message("bob@example.test", m)
        lines = data.split(b"\n")
        self.assertEqual(lines[0], b"Return-Path: <Some.One@remote.example>")
        self.assertEqual(lines[1], b"Delivered-To: bob@example.test")
        msg = parse(data)
        self.assertEqual(len(msg.get_all("Return-Path")), 1)
        self.assertEqual(len(msg.get_all("Delivered-To")), 1)
        received = msg.get_all("Received")
        self.assertEqual(len(received), 1, received)
        rcv = re.sub(r"\s+", " ", received[0])
        self.assertIn("from client.example", rcv)
        self.assertIn("[127.0.0.1]", rcv)
        self.assertIn("by mx.example.test", rcv)
        self.assertRegex(rcv, r"with ESMTP\b")
        self.assertRegex(rcv, r"\bid [0-9A-Za-z]+")
        # Ends with an RFC 5322 date.
        self.assertRegex(rcv, r"; \w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}")
        # Received comes before the client's own headers.
        self.assertLess(data.index(b"Received:"), data.index(b"X-Marker:"))
        # Maildir files use LF line endings.
        self.assertNotIn(b"\r\n", data)

    def test_null_sender(self):
        m = new_marker()
        code, text, _ = self.inst.send("alice@example.test", marker=m, sender="")
        self.assertEqual(code, 250, text)
        data = self.inst.find_message("alice@example.test", m)
        self.assertTrue(data.startswith(b"Return-Path: <>\n"), data[:80])

    def test_helo_gives_with_smtp(self):
        m = new_marker()
        with self.inst.smtp() as s:
            self.assertEqual(s.helo("old.example")[0], 250)
            s.mail("sender@remote.example")
            s.rcpt("carol@example.test")
            code, _ = s.data(make_message("sender@remote.example",
                                          ["carol@example.test"], m))
            self.assertEqual(code, 250)
        rcv = re.sub(r"\s+", " ", parse(self.inst.find_message(
            "carol@example.test", m))["Received"])
        self.assertIn("from old.example", rcv)
        self.assertRegex(rcv, r"with SMTP\b")

    def test_body_dots_and_lines_intact(self):
        m = new_marker()
        body = ".leading dot\r\n..two dots\r\n.\r\nnot the end\r\n\r\n\r\nlast"
        code, text, _ = self.inst.send("bob@example.test", marker=m,
                                       body=make_message("a@remote.example",
                                                         ["bob@example.test"], m,
                                                         body=body))
        self.assertEqual(code, 250, text)
        data = self.inst.find_message("bob@example.test", m)
        self.assertIn(b"\n.leading dot\n..two dots\n.\nnot the end\n\n\nlast\n", data)

    def test_several_transactions_one_connection(self):
        marks = [new_marker() for _ in range(5)]
        with self.inst.smtp() as s:
            s.ehlo("client.example")
            for i, m in enumerate(marks):
                if i % 2:
                    self.assertEqual(s.rset()[0], 250)
                s.mail("sender@remote.example")
                s.rcpt("dave@example.org")
                code, text = s.data(make_message("sender@remote.example",
                                                 ["dave@example.org"], m))
                self.assertEqual(code, 250, text)
        for m in marks:
            self.inst.find_message("dave@example.org", m)

    def test_maildir_layout(self):
        m = new_marker()
        self.inst.send("carol@example.test", marker=m)
        self.inst.find_message("carol@example.test", m)
        md = self.inst.maildir("carol@example.test")
        for sub in ("new", "cur", "tmp"):
            self.assertTrue(os.path.isdir(os.path.join(md, sub)), sub)
        self.assertEqual(self.inst.tmp_files("carol@example.test"), [])
        names = [os.path.basename(p) for p in self.inst.messages("carol@example.test")]
        self.assertEqual(len(names), len(set(names)))
        for n in names:
            self.assertNotIn("/", n)
            self.assertRegex(n, r"^\d+\.")  # "time.unique.host"
        # Delivery runs as mail_owner (the unprivileged surel-test when
        # the instance is started by root): the mail store belongs to it.
        want = self.inst.owner.pw_uid
        for p in [md, os.path.join(md, "new")] + self.inst.messages("carol@example.test"):
            self.assertEqual(os.stat(p).st_uid, want,
                             "%s owned by uid %d, not mail_owner %s"
                             % (p, os.stat(p).st_uid, self.inst.owner.pw_name))

    def test_log_lines_postfix_format(self):
        m = new_marker()
        code, text, _ = self.inst.send("alice@example.test", marker=m)
        self.assertEqual(code, 250, text)
        data = self.inst.find_message("alice@example.test", m)
        qid = qid_of(text, data)
        self.assertIsNotNone(qid, "no queue id in %r" % text)
        rx_from = (LOG_PREFIX + re.escape(qid) +
                   r": from=<sender@remote\.example>, size=\d+, nrcpt=1\b")
        rx_to = (LOG_PREFIX + re.escape(qid) +
                 r": to=<alice@example\.test>, relay=local, delay=\d+(\.\d+)?, "
                 r"delays=[\d.]+/[\d.]+/[\d.]+/[\d.]+, dsn=2\.0\.0, "
                 r"status=sent \(delivered to maildir\)$")
        self.assertTrue(self.inst.wait_log(rx_from, 10),
                        "no from= line for %s\n%s" % (qid, self.inst.diagnostics()))
        self.assertTrue(self.inst.wait_log(rx_to, 10),
                        "no to= line for %s\n%s" % (qid, self.inst.diagnostics()))
        # Every line has the syslog layout and stays on one line.
        for line in self.inst.log_lines():
            self.assertRegex(line, LOG_PREFIX)
