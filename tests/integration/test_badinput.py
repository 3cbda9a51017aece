"""Bad input from SMTP clients: SMTP smuggling (bare LF / bare CR and
every non-standard end-of-data), malformed MAIL/RCPT, clients that stall,
talk early, disconnect mid-DATA or make too many errors."""

import time

from instance import SharedInstanceCase, new_marker, make_message, wait_until


def crlf(s):
    return s.replace("\r\n", "\n").replace("\n", "\r\n")


class Smuggling(SharedInstanceCase):
    """smtpd_forbid_bare_newline = normal as the issue reads it: a bare LF
    or CR in a command or in DATA is refused and the client disconnected;
    only <CR><LF>.<CR><LF> ends a message."""

    def assert_rejected_and_closed(self, r, what):
        code, text = r.reply_or_eof()
        self.assertNotEqual(code // 100, 2, "%s: accepted: %s" % (what, text))
        self.assertNotEqual(code // 100, 3, "%s: %s" % (what, text))
        self.assertTrue(r.closed(10), "%s: connection still open after %d %s"
                        % (what, code, text))

    def start_data(self, r):
        """A transaction to alice up to the 354 of DATA."""
        self.assertEqual(r.cmd("EHLO client.example")[0], 250)
        self.assertEqual(r.cmd("MAIL FROM:<a@remote.example>")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<alice@example.test>")[0], 250)
        self.assertEqual(r.cmd("DATA")[0], 354)

    def smuggle(self, ending):
        outer, inner = new_marker("outer"), new_marker("smuggled")
        payload = (crlf(make_message("a@remote.example", ["alice@example.test"], outer))
                   .rstrip("\r\n").encode()
                   + ending
                   + b"MAIL FROM:<evil@remote.example>\r\nRCPT TO:<bob@example.test>\r\n"
                     b"DATA\r\n"
                   + crlf(make_message("evil@remote.example", ["bob@example.test"], inner)).encode()
                   + b".\r\n")
        with self.inst.raw() as r:
            self.start_data(r)
            try:
                r.send(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.assert_rejected_and_closed(r, repr(ending))
        self.inst.settle()
        self.assertEqual(self.inst.count_marker(inner), 0, "smuggled message delivered")
        self.assertEqual(self.inst.count_marker(outer), 0, "refused message delivered")

    def test_end_lf_dot_lf(self):
        self.smuggle(b"\n.\n")

    def test_end_lf_dot_crlf(self):
        self.smuggle(b"\n.\r\n")

    def test_end_crlf_dot_lf(self):
        self.smuggle(b"\r\n.\n")

    def test_end_cr_dot_cr(self):
        self.smuggle(b"\r.\r")

    def test_end_cr_dot_crlf(self):
        self.smuggle(b"\r.\r\n")

    def data_with(self, line):
        m = new_marker("bare")
        with self.inst.raw() as r:
            self.start_data(r)
            try:
                r.send(crlf(make_message("a@remote.example", ["alice@example.test"], m))
                       .encode() + line + b"\r\n.\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.assert_rejected_and_closed(r, repr(line))
        self.inst.settle()
        self.assertEqual(self.inst.count_marker(m), 0)

    def test_bare_lf_in_data(self):
        self.data_with(b"one\ntwo")

    def test_bare_cr_in_data(self):
        self.data_with(b"one\rtwo")

    def command_with(self, data):
        with self.inst.raw() as r:
            self.assertEqual(r.cmd("EHLO client.example")[0], 250)
            try:
                r.send(data)
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.assert_rejected_and_closed(r, repr(data))

    def test_bare_lf_ends_command(self):
        self.command_with(b"NOOP\n")

    def test_bare_lf_between_commands(self):
        self.command_with(b"MAIL FROM:<a@remote.example>\nRCPT TO:<alice@example.test>\r\n")

    def test_bare_cr_in_command(self):
        self.command_with(b"NOOP\rQUIT\r\n")

    def test_bare_lf_in_first_command(self):
        with self.inst.raw() as r:
            r.send(b"EHLO client.example\n")
            self.assert_rejected_and_closed(r, "EHLO<LF>")


class Malformed(SharedInstanceCase):
    """Malformed MAIL FROM / RCPT TO: syntax errors are 501, unknown
    parameters 555 (RFC 5321) or 501; out of sequence 503."""

    def after_ehlo(self, r):
        self.assertEqual(r.cmd("EHLO client.example")[0], 250)

    def check_mail(self, cmd, codes=(501,)):
        with self.inst.raw() as r:
            self.after_ehlo(r)
            code, text = r.cmd(cmd)
            self.assertIn(code, codes, "%r -> %s" % (cmd, text))
            # A valid MAIL still works afterwards.
            self.assertEqual(r.cmd("MAIL FROM:<ok@remote.example>")[0], 250)

    def check_rcpt(self, cmd, codes=(501,)):
        with self.inst.raw() as r:
            self.after_ehlo(r)
            self.assertEqual(r.cmd("MAIL FROM:<ok@remote.example>")[0], 250)
            code, text = r.cmd(cmd)
            self.assertIn(code, codes, "%r -> %s" % (cmd, text))
            self.assertEqual(r.cmd("RCPT TO:<alice@example.test>")[0], 250)

    def test_mail_no_angle_brackets(self):
        self.check_mail("MAIL FROM:ok@remote.example")

    def test_mail_unclosed_bracket(self):
        self.check_mail("MAIL FROM:<ok@remote.example")

    def test_mail_space_in_local_part(self):
        self.check_mail("MAIL FROM:<o k@remote.example>")

    def test_mail_double_at(self):
        self.check_mail("MAIL FROM:<a@@remote.example>")

    def test_mail_missing_colon(self):
        self.check_mail("MAIL FROM <ok@remote.example>")

    def test_mail_garbage_after_address(self):
        self.check_mail("MAIL FROM:<ok@remote.example>garbage", (501, 555))

    def test_mail_bad_size_value(self):
        self.check_mail("MAIL FROM:<ok@remote.example> SIZE=abc")

    def test_mail_bad_body_value(self):
        self.check_mail("MAIL FROM:<ok@remote.example> BODY=9BIT")

    def test_mail_bad_ret_value(self):
        self.check_mail("MAIL FROM:<ok@remote.example> RET=EVERYTHING")

    def test_mail_unknown_parameter(self):
        self.check_mail("MAIL FROM:<ok@remote.example> FOO=bar", (501, 555))

    def test_mail_duplicate_parameter(self):
        self.check_mail("MAIL FROM:<ok@remote.example> SIZE=10 SIZE=20", (501, 555))

    def test_rcpt_no_angle_brackets(self):
        self.check_rcpt("RCPT TO:alice@example.test")

    def test_rcpt_null_address(self):
        self.check_rcpt("RCPT TO:<>", (501, 553))

    def test_rcpt_no_domain(self):
        self.check_rcpt("RCPT TO:<alice>", (501, 553, 550))

    def test_rcpt_bad_notify(self):
        self.check_rcpt("RCPT TO:<alice@example.test> NOTIFY=SOMETIMES")

    def test_rcpt_notify_never_with_other(self):
        self.check_rcpt("RCPT TO:<alice@example.test> NOTIFY=NEVER,SUCCESS")

    def test_rcpt_bad_orcpt(self):
        self.check_rcpt("RCPT TO:<alice@example.test> ORCPT=garbage")

    def test_rcpt_unknown_parameter(self):
        self.check_rcpt("RCPT TO:<alice@example.test> FOO=bar", (501, 555))

    def test_out_of_sequence_503(self):
        with self.inst.raw() as r:
            self.after_ehlo(r)
            self.assertEqual(r.cmd("RCPT TO:<alice@example.test>")[0], 503)
            self.assertEqual(r.cmd("DATA")[0], 503)
            self.assertEqual(r.cmd("MAIL FROM:<ok@remote.example>")[0], 250)
            self.assertEqual(r.cmd("MAIL FROM:<ok@remote.example>")[0], 503)
            self.assertIn(r.cmd("DATA")[0], (503, 554))  # no recipients yet
            self.assertEqual(r.cmd("BDAT 0 LAST")[0] // 100, 5)

    def test_mail_before_helo_503(self):
        with self.inst.raw() as r:
            self.assertEqual(r.cmd("MAIL FROM:<ok@remote.example>")[0], 503)

    def test_unknown_command_500(self):
        with self.inst.raw() as r:
            self.after_ehlo(r)
            self.assertEqual(r.cmd("FROBNICATE now")[0], 500)
            self.assertEqual(r.cmd("NOOP")[0], 250)

    def test_bdat_bad_size(self):
        with self.inst.raw() as r:
            self.after_ehlo(r)
            self.assertEqual(r.cmd("MAIL FROM:<ok@remote.example>")[0], 250)
            self.assertEqual(r.cmd("RCPT TO:<alice@example.test>")[0], 250)
            code, text = r.cmd("BDAT banana")
            self.assertEqual(code, 501, text)

    def test_disconnect_mid_data_nothing_queued(self):
        m = new_marker("cut")
        with self.inst.raw() as r:
            self.after_ehlo(r)
            self.assertEqual(r.cmd("MAIL FROM:<ok@remote.example>")[0], 250)
            self.assertEqual(r.cmd("RCPT TO:<alice@example.test>")[0], 250)
            self.assertEqual(r.cmd("DATA")[0], 354)
            r.send(crlf(make_message("ok@remote.example", ["alice@example.test"], m))
                   + "more body\r\n" * 1000)
        # Nothing half-written is left in incoming/ after a moment.

        left = wait_until(lambda: not self.inst.queue_files("incoming"), 10)
        self.assertTrue(left, "left in incoming/: %s" % self.inst.queue_files("incoming"))
        self.inst.settle()
        self.assertEqual(self.inst.count_marker(m), 0)

    def test_disconnect_mid_bdat_nothing_queued(self):
        m = new_marker("cutbdat")
        with self.inst.raw() as r:
            self.after_ehlo(r)
            self.assertEqual(r.cmd("MAIL FROM:<ok@remote.example>")[0], 250)
            self.assertEqual(r.cmd("RCPT TO:<alice@example.test>")[0], 250)
            body = crlf(make_message("ok@remote.example", ["alice@example.test"], m)).encode()
            r.send(b"BDAT %d\r\n" % len(body) + body)
            self.assertEqual(r.reply()[0], 250)
            r.send(b"BDAT 100000 LAST\r\nonly a part")

        self.assertTrue(wait_until(lambda: not self.inst.queue_files("incoming"), 10))
        self.inst.settle()
        self.assertEqual(self.inst.count_marker(m), 0)


class Strict(SharedInstanceCase):
    """An instance with short timers: pre-greeting wait 1s, command and
    DATA timeouts 2s, hard error limit 5."""

    CONFIG = {"smtpd_pregreet_wait": "1s", "smtpd_timeout": "2s",
              "smtpd_data_timeout": "2s", "smtpd_hard_error_limit": "5"}

    def test_early_talker_554(self):
        with self.inst.raw(greeting=False) as r:
            r.send(b"EHLO early.example\r\n")
            codes = []
            for _ in range(5):
                code, text = r.reply_or_eof()
                if code == 0:
                    break
                codes.append((code, text))
                if code == 554:
                    break
            self.assertTrue(codes, "closed without a reply")
            self.assertEqual(codes[-1][0], 554, codes)
            self.assertNotIn(250, [c for c, _ in codes])
            self.assertTrue(r.closed(10))

    def test_patient_client_greeted(self):
        t0 = time.monotonic()
        with self.inst.raw() as r:
            self.assertEqual(r.greeting[0], 220)
            self.assertGreaterEqual(time.monotonic() - t0, 0.9,
                                    "greeting came before smtpd_pregreet_wait")
            self.assertEqual(r.cmd("EHLO ok.example")[0], 250)

    def test_stalled_client_421(self):
        with self.inst.raw(timeout=20) as r:
            self.assertEqual(r.cmd("EHLO slow.example")[0], 250)
            t0 = time.monotonic()
            code, text = r.reply_or_eof()
            waited = time.monotonic() - t0
            self.assertEqual(code, 421, text)
            self.assertIn("4.4.2", text)
            self.assertTrue(r.closed(5))
            self.assertLess(waited, 8)
            self.assertGreater(waited, 1.5)

    def test_stall_mid_data_421_nothing_queued(self):
        m = new_marker("stall")
        with self.inst.raw(timeout=20) as r:
            self.assertEqual(r.cmd("EHLO slow.example")[0], 250)
            self.assertEqual(r.cmd("MAIL FROM:<s@remote.example>")[0], 250)
            self.assertEqual(r.cmd("RCPT TO:<alice@example.test>")[0], 250)
            self.assertEqual(r.cmd("DATA")[0], 354)
            r.send(crlf(make_message("s@remote.example", ["alice@example.test"], m)))
            code, text = r.reply_or_eof()
            self.assertEqual(code, 421, text)
            self.assertTrue(r.closed(5))

        self.assertTrue(wait_until(lambda: not self.inst.queue_files("incoming"), 10))
        self.inst.settle()
        self.assertEqual(self.inst.count_marker(m), 0)

    def test_too_many_errors_421(self):
        with self.inst.raw() as r:
            self.assertEqual(r.cmd("EHLO bad.example")[0], 250)
            codes = []
            for _ in range(10):
                try:
                    r.send(b"BOGUS\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    break
                code, _ = r.reply_or_eof()
                if code == 0:
                    break
                codes.append(code)
                if code == 421:
                    break
            self.assertIn(421, codes, codes)
            self.assertIn(codes.index(421), (4, 5, 6), codes)
            self.assertTrue(r.closed(5))
