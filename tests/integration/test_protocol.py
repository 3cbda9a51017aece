"""The ESMTP protocol as clients use it: EHLO keywords, pipelining, BDAT
(CHUNKING), 8BITMIME, SMTPUTF8, DSN parameters, VRFY, and Debian's swaks."""

import re
import shutil
import subprocess
import time

from instance import SharedInstanceCase, new_marker, parse, make_message


def crlf(s):
    return s.replace("\r\n", "\n").replace("\n", "\r\n")


class Protocol(SharedInstanceCase):

    def ehlo(self, r):
        code, text = r.cmd("EHLO client.example")
        self.assertEqual(code, 250, text)
        return text

    def test_ehlo_keywords(self):
        with self.inst.raw() as r:
            self.assertEqual(r.greeting[0], 220)
            text = self.ehlo(r)
            kws = [line[4:].split()[0].upper() for line in text.split("\n")[1:]]
            for kw in ("PIPELINING", "SIZE", "8BITMIME", "ENHANCEDSTATUSCODES",
                       "SMTPUTF8", "CHUNKING", "DSN"):
                self.assertIn(kw, kws, text)
            self.assertRegex(text, r"\n250[- ]SIZE 1048576\b")
            self.assertEqual(r.cmd("QUIT")[0], 221)
            self.assertTrue(r.closed(5))

    def test_noop_rset_help(self):
        with self.inst.raw() as r:
            self.ehlo(r)
            self.assertEqual(r.cmd("NOOP")[0], 250)
            self.assertEqual(r.cmd("RSET")[0], 250)
            self.assertIn(r.cmd("HELP")[0], (214, 250))

    def test_rset_forgets_transaction(self):
        with self.inst.raw() as r:
            self.ehlo(r)
            self.assertEqual(r.cmd("MAIL FROM:<a@remote.example>")[0], 250)
            self.assertEqual(r.cmd("RCPT TO:<alice@example.test>")[0], 250)
            self.assertEqual(r.cmd("RSET")[0], 250)
            self.assertEqual(r.cmd("DATA")[0], 503)
            self.assertEqual(r.cmd("RCPT TO:<alice@example.test>")[0], 503)

    def test_vrfy_disabled_502(self):
        with self.inst.raw() as r:
            self.ehlo(r)
            code, text = r.cmd("VRFY alice@example.test")
            self.assertEqual(code, 502, text)
            self.assertNotIn("alice", text.lower().replace("vrfy", ""))

    def test_pipelining_rfc_groups(self):
        m = new_marker()
        with self.inst.raw() as r:
            self.ehlo(r)
            r.send("MAIL FROM:<p@remote.example>\r\nRCPT TO:<alice@example.test>\r\n"
                   "RCPT TO:<nobody@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n")
            codes = [c for c, _ in r.replies(5)]
            self.assertEqual(codes, [250, 250, 550, 250, 354])
            r.send(crlf(make_message("p@remote.example", ["alice@example.test"], m))
                   + ".\r\nQUIT\r\n")
            codes = [c for c, _ in r.replies(2)]
            self.assertEqual(codes, [250, 221])
        self.inst.find_message("alice@example.test", m)
        self.inst.find_message("bob@example.test", m)

    def test_pipelining_whole_session_one_write(self):
        m1, m2 = new_marker(), new_marker()
        msg1 = crlf(make_message("p@remote.example", ["carol@example.test"], m1))
        msg2 = crlf(make_message("p@remote.example", ["dave@example.org"], m2))
        with self.inst.raw() as r:
            r.send("EHLO client.example\r\n"
                   "MAIL FROM:<p@remote.example>\r\nRCPT TO:<carol@example.test>\r\nDATA\r\n"
                   + msg1 + ".\r\n"
                   "MAIL FROM:<p@remote.example> BODY=8BITMIME\r\n"
                   "RCPT TO:<dave@example.org>\r\nDATA\r\n" + msg2 + ".\r\nQUIT\r\n")
            codes = [c for c, _ in r.replies(9)]
            self.assertEqual(codes, [250, 250, 250, 354, 250, 250, 250, 354, 250])
            self.assertEqual(r.reply()[0], 221)
        self.inst.find_message("carol@example.test", m1)
        self.inst.find_message("dave@example.org", m2)
        time.sleep(0.3)
        self.assertEqual(self.inst.count_marker(m1), 1)
        self.assertEqual(self.inst.count_marker(m2), 1)

    def bdat_session(self, r, rcpt):
        self.ehlo(r)
        self.assertEqual(r.cmd("MAIL FROM:<b@remote.example>")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<%s>" % rcpt)[0], 250)

    def test_bdat_chunks_and_last(self):
        m = new_marker()
        msg = crlf(make_message("b@remote.example", ["bob@example.test"], m,
                                body=".not stuffed\r\nline\r\n.\r\nafter a dot line"))
        raw = msg.encode()
        parts = [raw[:10], raw[10:57], raw[57:]]
        with self.inst.raw() as r:
            self.bdat_session(r, "bob@example.test")
            for i, p in enumerate(parts):
                last = " LAST" if i == len(parts) - 1 else ""
                r.send(b"BDAT %d%s\r\n" % (len(p), last.encode()) + p)
                code, text = r.reply()
                self.assertEqual(code, 250, text)
            self.assertEqual(r.cmd("QUIT")[0], 221)
        data = self.inst.find_message("bob@example.test", m)
        # BDAT content is not dot-stuffed: it arrives byte for byte.
        self.assertIn(b"\n.not stuffed\nline\n.\nafter a dot line\n", data)

    def test_bdat_zero_last(self):
        m = new_marker()
        raw = crlf(make_message("b@remote.example", ["carol@example.test"], m)).encode()
        with self.inst.raw() as r:
            self.bdat_session(r, "carol@example.test")
            r.send(b"BDAT %d\r\n" % len(raw) + raw)
            self.assertEqual(r.reply()[0], 250)
            code, text = r.cmd("BDAT 0 LAST")
            self.assertEqual(code, 250, text)
        data = self.inst.find_message("carol@example.test", m)
        self.assertEqual(parse(data)["X-Marker"], m)

    def test_bdat_pipelined_one_write(self):
        m = new_marker()
        raw = crlf(make_message("b@remote.example", ["alice@example.test"], m)).encode()
        a, b = raw[:33], raw[33:]
        with self.inst.raw() as r:
            self.ehlo(r)
            r.send(b"MAIL FROM:<b@remote.example>\r\nRCPT TO:<alice@example.test>\r\n"
                   b"BDAT %d\r\n%sBDAT %d LAST\r\n%sQUIT\r\n" % (len(a), a, len(b), b))
            codes = [c for c, _ in r.replies(5)]
            self.assertEqual(codes, [250, 250, 250, 250, 221])
        self.inst.find_message("alice@example.test", m)

    def test_drop_after_message_logged_as_end_of_message(self):
        # Postfix's stage names: a client that drops after its message was
        # answered is not one lost in the middle of DATA or BDAT.
        for verb in ("DATA", "BDAT"):
            m = new_marker()
            raw = crlf(make_message("b@remote.example", ["bob@example.test"], m)).encode()
            since = self.inst.log_size()
            with self.inst.raw() as r:
                self.bdat_session(r, "bob@example.test")
                if verb == "DATA":
                    self.assertEqual(r.cmd("DATA")[0], 354)
                    r.send(raw + b".\r\n")
                else:
                    r.send(b"BDAT %d LAST\r\n" % len(raw) + raw)
                self.assertEqual(r.reply()[0], 250)
            self.assertTrue(self.inst.wait_log(
                r"lost connection after END-OF-MESSAGE from "
                r"unknown\[127\.0\.0\.1\]", since=since),
                self.inst.log()[since:])
            self.inst.find_message("bob@example.test", m)

    def test_data_after_bdat_refused(self):
        with self.inst.raw() as r:
            self.bdat_session(r, "alice@example.test")
            r.send(b"BDAT 5\r\nHello")
            self.assertEqual(r.reply()[0], 250)
            code, _ = r.cmd("DATA")
            self.assertEqual(code // 100, 5)

    def test_8bitmime_body_intact(self):
        m = new_marker()
        body8 = "caf\u00e9 \u00fcber \u65e5\u672c\u8a9e".encode("utf-8") + b" latin1:\xe9\xff\x80"
        msg = (b"From: <e@remote.example>\r\nTo: <alice@example.test>\r\n"
               b"Subject: 8bit " + m.encode() + b"\r\nMIME-Version: 1.0\r\n"
               b"Content-Type: text/plain; charset=utf-8\r\n"
               b"Content-Transfer-Encoding: 8bit\r\n\r\n" + body8 + b"\r\n")
        with self.inst.smtp() as s:
            s.ehlo("client.example")
            self.assertTrue(s.has_extn("8bitmime"))
            s.sendmail("e@remote.example", ["alice@example.test"], msg,
                       mail_options=["BODY=8BITMIME"])
        data = self.inst.find_message("alice@example.test", m)
        self.assertIn(b"\n" + body8 + b"\n", data)

    def test_smtputf8_addresses(self):
        m = new_marker()
        rcpt = "\u03b4\u03bf\u03ba\u03b9\u03bc\u03ae@example.test"
        sender = "j\u00f6ran@s\u00e4nder.example"
        msg = ("From: <%s>\r\nTo: <%s>\r\nSubject: utf8 %s\r\n\r\nhej\r\n"
               % (sender, rcpt, m)).encode("utf-8")
        with self.inst.smtp() as s:
            s.ehlo("client.example")
            self.assertTrue(s.has_extn("smtputf8"))
            refused = s.sendmail(sender, [rcpt], msg,
                                 mail_options=["SMTPUTF8", "BODY=8BITMIME"])
            self.assertEqual(refused, {})
        data = self.inst.find_message(rcpt, m)
        lines = data.split(b"\n")
        self.assertEqual(lines[0], ("Return-Path: <%s>" % sender).encode("utf-8"))
        self.assertEqual(lines[1], ("Delivered-To: %s" % rcpt).encode("utf-8"))

    def test_utf8_address_without_smtputf8_refused(self):
        with self.inst.raw() as r:
            self.ehlo(r)
            code, _ = r.cmd("MAIL FROM:<j\u00f6ran@remote.example>")
            self.assertEqual(code // 100, 5)

    def test_dsn_parameters_accepted(self):
        m = new_marker()
        with self.inst.raw() as r:
            self.ehlo(r)
            self.assertEqual(r.cmd("MAIL FROM:<d@remote.example> RET=HDRS ENVID=QQ314159")[0], 250)
            code, text = r.cmd("RCPT TO:<bob@example.test> NOTIFY=SUCCESS,FAILURE "
                               "ORCPT=rfc822;bob@example.test")
            self.assertEqual(code, 250, text)
            self.assertEqual(r.cmd("RCPT TO:<carol@example.test> NOTIFY=NEVER")[0], 250)
            self.assertEqual(r.cmd("DATA")[0], 354)
            r.send(crlf(make_message("d@remote.example", ["bob@example.test"], m)) + ".\r\n")
            self.assertEqual(r.reply()[0], 250)
        self.inst.find_message("bob@example.test", m)
        self.inst.find_message("carol@example.test", m)

    def swaks(self, *extra):
        if not shutil.which("swaks"):
            self.fail("swaks is not installed (dev/deps installs it)")
        m = new_marker("swaks")
        p = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(self.inst.port),
                            "--from", "swaks@remote.example", "--to", "dave@example.org",
                            "--helo", "swaks.example", "--header", "X-Marker: " + m,
                            "--timeout", "20"] + list(extra),
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout[-3000:] + p.stderr[-2000:])
        data = self.inst.find_message("dave@example.org", m)
        self.assertIn(b"X-Marker: " + m.encode(), data)
        return p.stdout

    def test_swaks_plain(self):
        out = self.swaks()
        self.assertRegex(out, r"\n<-  250 2\.0\.0 .*queued as")

    def test_swaks_pipelining(self):
        out = self.swaks("--pipeline")
        self.assertNotIn("not advertised", out)

    def test_swaks_chunking(self):
        help_text = subprocess.run(["swaks", "--help"], capture_output=True,
                                   text=True, timeout=30).stdout
        if not re.search(r"--(bdat|chunking)", help_text):
            self.skipTest("this swaks has no BDAT support")
        self.swaks("--bdat")
