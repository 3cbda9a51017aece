"""Hard limits: message size (SIZE= and streamed bodies), line lengths,
NUL bytes, 10,000 recipients, and smtpd's memory staying bounded."""

import time

from instance import (SharedInstanceCase, OwnInstanceCase, RssSampler,
                      SANITIZED, new_marker, make_message)


def crlf(s):
    return s.replace("\r\n", "\n").replace("\n", "\r\n")


# How much one process may grow while a client streams megabytes at it.
# ASan's allocator keeps freed memory in quarantine (capped at 16 MB by
# the instance's ASAN_OPTIONS), hence the larger allowance.
RSS_GROWTH_MAX_KB = (48 if SANITIZED else 16) * 1024

LINE = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!!\r\n"


def send_body(raw, nbytes):
    """Streams at least nbytes of 76-byte lines; returns how many lines,
    or None if the server closed the connection while we were sending."""
    per_block = 65536 // len(LINE)
    block = LINE * per_block
    lines = 0
    try:
        while lines * len(LINE) < nbytes:
            raw.send(block)
            lines += per_block
    except (BrokenPipeError, ConnectionResetError):
        return None
    return lines


class Limits(SharedInstanceCase):
    CONFIG = {"smtpd_recipient_limit": "100"}

    def start_data(self, r, rcpt="alice@example.test", mail_params=""):
        self.assertEqual(r.cmd("EHLO client.example")[0], 250)
        self.assertEqual(r.cmd("MAIL FROM:<big@remote.example>%s" % mail_params)[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<%s>" % rcpt)[0], 250)
        self.assertEqual(r.cmd("DATA")[0], 354)

    def assert_not_delivered(self, marker):
        self.inst.settle()
        self.assertEqual(self.inst.count_marker(marker), 0,
                         "a refused message was delivered")

    def test_size_parameter_over_limit_552(self):
        with self.inst.raw() as r:
            self.assertEqual(r.cmd("EHLO client.example")[0], 250)
            code, text = r.cmd("MAIL FROM:<big@remote.example> SIZE=2000000")
            self.assertEqual(code, 552, text)
            self.assertIn("5.3.4", text)
            code, text = r.cmd("MAIL FROM:<big@remote.example> SIZE=1048577")
            self.assertEqual(code, 552, text)
            code, text = r.cmd("MAIL FROM:<big@remote.example> SIZE=1048576")
            self.assertEqual(code, 250, text)

    def test_oversize_body_552_streamed_nothing_delivered(self):
        m = new_marker("big")
        with self.inst.raw() as r:
            self.start_data(r)
            pid = self.inst.server_pid(r)
            self.assertIsNotNone(pid, "cannot find the smtpd serving us")
            with RssSampler(lambda: [pid]) as rss:
                r.send(crlf(make_message("big@remote.example",
                                         ["alice@example.test"], m)))
                completed = send_body(r, 20 * 1024 * 1024) is not None
                if completed:
                    r.send(b".\r\n")
                code, text = r.reply_or_eof()
            self.assertEqual(code, 552, "%s (whole body sent: %s)" % (text, completed))
            self.assertIn("5.3.4", text)
            self.assertLess(rss.growth_kb(), RSS_GROWTH_MAX_KB,
                            "smtpd grew by %d kB reading a 20 MB message" % rss.growth_kb())
            # The session goes on after a refused message.
            if completed:
                self.assertEqual(r.cmd("NOOP")[0], 250)
        self.assertEqual([p for p in self.inst.queue_files("incoming")], [])
        self.assert_not_delivered(m)

    def test_header_line_over_limit_552_560(self):
        m = new_marker("hdr")
        with self.inst.raw() as r:
            self.start_data(r)
            r.send(crlf(make_message("big@remote.example", ["alice@example.test"], m,
                                     extra_headers="X-Long: " + "a" * 200000 + "\r\n"))
                   + ".\r\n")
            code, text = r.reply_or_eof()
            self.assertEqual(code, 552, text)
            self.assertIn("5.6.0", text)
        self.assert_not_delivered(m)

    def test_command_line_over_limit_500(self):
        with self.inst.raw() as r:
            self.assertEqual(r.cmd("EHLO client.example")[0], 250)
            code, text = r.cmd("NOOP " + "x" * 20000)
            self.assertEqual(code, 500, text)

    def test_overlong_address_refused(self):
        with self.inst.raw() as r:
            self.assertEqual(r.cmd("EHLO client.example")[0], 250)
            self.assertEqual(r.cmd("MAIL FROM:<a@remote.example>")[0], 250)
            code, text = r.cmd("RCPT TO:<%s@example.test>" % ("a" * 5000))
            self.assertIn(code, (500, 501, 553), text)

    def test_nul_in_command_refused(self):
        with self.inst.raw() as r:
            self.assertEqual(r.cmd("EHLO client.example")[0], 250)
            code, text = r.cmd(b"MAIL FROM:<a\x00b@remote.example>")
            self.assertIn(code, (0, 500, 501, 553), text)
        with self.inst.raw() as r:
            code, text = r.cmd(b"NO\x00OP")
            self.assertIn(code, (0, 500, 501), text)

    def test_nul_in_data(self):
        """NUL in the content: either refused (nothing delivered) or
        delivered with the bytes around it intact; never half-written."""
        m = new_marker("nul")
        with self.inst.raw() as r:
            self.start_data(r)
            body = make_message("a@remote.example", ["alice@example.test"], m,
                                body="before\x00after")
            r.send(crlf(body).encode() + b".\r\n")
            code, text = r.reply_or_eof()
        self.assertIn(code // 100, (2, 5), text)
        if code == 250:
            data = self.inst.find_message("alice@example.test", m)
            self.assertTrue(b"before\x00after" in data or b"beforeafter" in data, data[-200:])
        else:
            self.assert_not_delivered(m)

    def test_10000_recipients_452_connection_survives(self):
        limit = 100
        with self.inst.raw(timeout=60) as r:
            self.assertEqual(r.cmd("EHLO client.example")[0], 250)
            pid = self.inst.server_pid(r)
            self.assertIsNotNone(pid)
            self.assertEqual(r.cmd("MAIL FROM:<many@remote.example>")[0], 250)
            codes = []
            last452 = ""
            closed = None
            with RssSampler(lambda: [pid], 0.05) as rss:
                try:
                    for _ in range(20):
                        r.send(b"RCPT TO:<alice@example.test>\r\n" * 500)
                        for _ in range(500):
                            code, text = r.reply()
                            codes.append(code)
                            if code == 452:
                                last452 = text
                except (EOFError, ConnectionResetError, BrokenPipeError) as e:
                    closed = str(e)
            if closed:
                self.fail("server closed the connection after %d RCPT replies "
                          "(%d accepted; %s); it should survive 10,000\n%s"
                          % (len(codes), codes.count(250), closed, self.inst.diagnostics(5)))
            self.assertEqual(codes[:limit], [250] * limit)
            self.assertEqual(set(codes[limit:]), {452})
            self.assertIn("4.5.3", last452)
            self.assertLess(rss.growth_kb(), RSS_GROWTH_MAX_KB)
            # Still a working session.
            self.assertEqual(r.cmd("RSET")[0], 250)
            m = new_marker("after10k")
            self.assertEqual(r.cmd("MAIL FROM:<many@remote.example>")[0], 250)
            self.assertEqual(r.cmd("RCPT TO:<bob@example.test>")[0], 250)
            self.assertEqual(r.cmd("DATA")[0], 354)
            r.send(crlf(make_message("many@remote.example", ["bob@example.test"], m)) + ".\r\n")
            self.assertEqual(r.reply()[0], 250)
        self.inst.find_message("bob@example.test", m)


class LargeMessage(OwnInstanceCase):

    def test_large_message_streamed_through(self):
        """A 24 MB message within the limit: delivered whole while neither
        smtpd nor local holds it in memory."""
        inst = self.new_instance(message_size_limit="67108864")
        m = new_marker("large")
        size = 24 * 1024 * 1024
        with inst.raw(timeout=60) as r:
            self.assertEqual(r.cmd("EHLO client.example")[0], 250)
            pid = inst.server_pid(r)
            self.assertEqual(r.cmd("MAIL FROM:<big@remote.example> SIZE=%d" % (size + 4096))[0], 250)
            self.assertEqual(r.cmd("RCPT TO:<carol@example.test>")[0], 250)
            self.assertEqual(r.cmd("DATA")[0], 354)
            with RssSampler(lambda: [pid] + inst.processes("local")) as rss:
                r.send(crlf(make_message("big@remote.example", ["carol@example.test"], m)))
                lines = send_body(r, size)
                self.assertIsNotNone(lines)
                r.send(b".\r\n")
                code, text = r.reply()
                self.assertEqual(code, 250, text)
                t0 = time.monotonic()
                data = inst.find_message("carol@example.test", m, timeout=60)
            self.assertGreater(len(data), lines * (len(LINE) - 1))
            self.assertEqual(data.count(LINE.replace(b"\r\n", b"\n")), lines)
            self.assertLess(rss.growth_kb(), RSS_GROWTH_MAX_KB,
                            "a process grew by %d kB passing a 24 MB message "
                            "(delivery took %.1fs)" % (rss.growth_kb(), time.monotonic() - t0))
