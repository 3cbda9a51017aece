"""TLS in smtpd: STARTTLS (RFC 3207) and implicit TLS on the SMTPS port,
as clients use them (smtplib) and as attackers abuse them: plaintext
pipelined behind STARTTLS (CVE-2011-0411), STARTTLS twice, a TLS 1.1
client, a plaintext client on the TLS port, clients that vanish in the
handshake; the "encrypt" security level; and certificate trouble at
start-up."""

import os
import re
import smtplib
import socket
import ssl
import subprocess
import time

from instance import (Instance, OwnInstanceCase, Raw, SharedInstanceCase,
                      make_message, new_marker, test_certificate)

USING_RE = (r"\(using TLSv1\.[23] with cipher [A-Z0-9_-]+ "
            r"\((\d+)/(\d+) bits\)\)")
ESTABLISHED_RE = (r"Anonymous TLS connection established from "
                  r"unknown\[127\.0\.0\.1\]: (TLSv1\.[23]) with cipher "
                  r"([A-Z0-9_-]+) \((\d+)/(\d+) bits\)")


def crlf(s):
    return s.replace("\r\n", "\n").replace("\n", "\r\n")


def old_tls_context():
    """A client that speaks at most TLS 1.1 (OpenSSL 3 allows that only
    at security level 0)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    return ctx


class TlsRaw(Raw):
    """A Raw connection that can switch to TLS."""

    def starttls(self, ctx):
        code, text = self.cmd("STARTTLS")
        if code != 220:
            raise AssertionError("STARTTLS: %d %s" % (code, text))
        self.wrap(ctx)

    def wrap(self, ctx):
        assert self.buf == b"", self.buf
        self.sock = ctx.wrap_socket(self.sock)


def ehlo_keywords(text):
    return [line[4:].split()[0].upper() for line in text.split("\n")[1:]]


class Tls(SharedInstanceCase):
    INSTANCE_ARGS = {"access": True}

    def raw(self, port=None, timeout=15):
        return TlsRaw(port or self.inst.port, timeout=timeout)

    def ehlo(self, r):
        code, text = r.cmd("EHLO client.example")
        self.assertEqual(code, 250, text)
        return ehlo_keywords(text)

    def test_starttls_delivery(self):
        m = new_marker("tls")
        since = self.inst.log_size()
        # Bigger than a TLS record and a socket buffer: many records,
        # partial writes.
        body = "\r\n".join("line %d %s" % (i, "x" * 60) for i in range(8000))
        msg = make_message("s@remote.example", ["alice@example.test"], m,
                           body=body)
        with smtplib.SMTP("127.0.0.1", self.inst.port, timeout=15) as s:
            s.ehlo("client.example")
            self.assertTrue(s.has_extn("starttls"))
            s.starttls(context=self.inst.ssl_context())
            s.ehlo("client.example")
            self.assertFalse(s.has_extn("starttls"))
            self.assertTrue(s.has_extn("pipelining"))
            s.sendmail("s@remote.example", ["alice@example.test"],
                       msg.encode())
        data = self.inst.find_message("alice@example.test", m)
        head = data.split(b"\n\n", 1)[0].decode()
        rx = re.search(r"Received: from client\.example \(unknown "
                       r"\[127\.0\.0\.1\]\)\n\t" + USING_RE +
                       r"\n\tby mx\.example\.test \(\S+\) with ESMTPS id ",
                       head)
        self.assertTrue(rx, head)
        self.assertEqual(rx.group(1), rx.group(2))
        self.assertIn(("line 7999 " + "x" * 60).encode(), data)
        log = self.inst.wait_log(ESTABLISHED_RE, since=since)
        self.assertTrue(log, self.inst.diagnostics())
        self.assertTrue(self.inst.wait_log(
            r"disconnect from unknown\[127\.0\.0\.1\] ehlo=2 starttls=1 "
            r"mail=1 rcpt=1 data=1 quit=1 commands=7", since=since),
            self.inst.diagnostics())

    def test_smtps_delivery(self):
        m = new_marker("smtps")
        since = self.inst.log_size()
        with smtplib.SMTP_SSL("127.0.0.1", self.inst.smtps_port, timeout=15,
                              context=self.inst.ssl_context()) as s:
            s.ehlo("client.example")
            self.assertFalse(s.has_extn("starttls"))
            self.assertEqual(s.docmd("STARTTLS")[0], 554)
            s.sendmail("s@remote.example", ["bob@example.test"],
                       make_message("s@remote.example", ["bob@example.test"],
                                    m).encode())
        data = self.inst.find_message("bob@example.test", m).decode()
        self.assertRegex(data, USING_RE + r"\n\tby mx\.example\.test "
                         r"\(\S+\) with ESMTPS id ")
        self.assertTrue(self.inst.wait_log(ESTABLISHED_RE, since=since))

    def test_pipelined_plaintext_discarded(self):
        """The command injection of CVE-2011-0411: what follows STARTTLS
        in the same plaintext write must never be executed."""
        since = self.inst.log_size()
        with self.raw() as r:
            self.ehlo(r)
            r.send("STARTTLS\r\nMAIL FROM:<x@y>\r\n")
            code, text = r.reply()
            self.assertEqual(code, 220, text)
            r.wrap(self.inst.ssl_context())
            # Executed, the injected MAIL would be answered now (503:
            # the session was reset), ahead of anything we ask.
            r.sock.settimeout(1.0)
            with self.assertRaises(socket.timeout):
                r.sock.recv(1)
            r.sock.settimeout(15)
            self.assertNotIn("STARTTLS", self.ehlo(r))
            self.assertEqual(r.cmd("QUIT")[0], 221)
        self.assertTrue(self.inst.wait_log(
            r"improper command pipelining after STARTTLS from "
            r"unknown\[127\.0\.0\.1\]: 17 octets of plaintext discarded: "
            r"MAIL FROM:<x@y>", since=since), self.inst.diagnostics())
        line = self.inst.wait_log(r"disconnect from unknown\[127\.0\.0\.1\].*",
                                  since=since)
        self.assertTrue(line)
        self.assertNotIn("mail=", line.group(0))

    def test_session_reset_after_starttls(self):
        with self.raw() as r:
            self.ehlo(r)
            self.assertEqual(r.cmd("MAIL FROM:<a@remote.example>")[0], 250)
            r.starttls(self.inst.ssl_context())
            # HELO/EHLO and the transaction are forgotten.
            self.assertEqual(r.cmd("MAIL FROM:<a@remote.example>")[0], 503)
            self.assertNotIn("STARTTLS", self.ehlo(r))
            self.assertEqual(r.cmd("RCPT TO:<alice@example.test>")[0], 503)

    def test_pipelining_inside_tls(self):
        m = new_marker("pipe")
        with self.raw() as r:
            self.ehlo(r)
            r.starttls(self.inst.ssl_context())
            r.send("EHLO client.example\r\nMAIL FROM:<p@remote.example>\r\n"
                   "RCPT TO:<carol@example.test>\r\nDATA\r\n")
            self.assertEqual([c for c, _ in r.replies(4)], [250, 250, 250, 354])
            r.send(crlf(make_message("p@remote.example",
                                     ["carol@example.test"], m))
                   + ".\r\nQUIT\r\n")
            self.assertEqual([c for c, _ in r.replies(2)], [250, 221])
        data = self.inst.find_message("carol@example.test", m)
        self.assertIn(b"with ESMTPS id", data)

    def test_starttls_twice_and_arguments(self):
        with self.raw() as r:
            self.ehlo(r)
            code, text = r.cmd("STARTTLS now")
            self.assertEqual(code, 501, text)
            r.starttls(self.inst.ssl_context())
            self.ehlo(r)
            code, text = r.cmd("STARTTLS")
            self.assertEqual(code, 554, text)
            self.assertIn("5.5.1 Error: TLS already active", text)
            # The session goes on over TLS.
            self.assertEqual(r.cmd("NOOP")[0], 250)

    def test_tls11_client_refused(self):
        since = self.inst.log_size()
        with smtplib.SMTP("127.0.0.1", self.inst.port, timeout=15) as s:
            s.ehlo("client.example")
            with self.assertRaises((ssl.SSLError, OSError)):
                s.starttls(context=old_tls_context())
        self.assertTrue(self.inst.wait_log(
            r"SSL_accept error from unknown\[127\.0\.0\.1\]: "
            r"unsupported protocol", since=since), self.inst.diagnostics())
        since = self.inst.log_size()
        with self.assertRaises((ssl.SSLError, OSError)):
            smtplib.SMTP_SSL("127.0.0.1", self.inst.smtps_port, timeout=15,
                             context=old_tls_context())
        self.assertTrue(self.inst.wait_log(
            r"SSL_accept error from unknown\[127\.0\.0\.1\]: "
            r"unsupported protocol", since=since), self.inst.diagnostics())

    def test_plaintext_client_on_smtps(self):
        since = self.inst.log_size()
        with Raw(self.inst.smtps_port, timeout=15, greeting=False) as r:
            r.send("EHLO client.example\r\n")
            got = b""
            r.sock.settimeout(10)
            deadline = time.monotonic() + 10
            closed = False
            while time.monotonic() < deadline:
                try:
                    chunk = r.sock.recv(4096)
                except ConnectionResetError:
                    closed = True
                    break
                if not chunk:
                    closed = True
                    break
                got += chunk
            self.assertTrue(closed, "SMTPS did not hang up on plaintext")
            # A TLS alert at most: no SMTP greeting in the clear.
            self.assertNotIn(b"220", got)
        self.assertTrue(self.inst.wait_log(
            r"SSL_accept error from unknown\[127\.0\.0\.1\]: ", since=since))
        self.check_still_serving()

    def test_client_vanishes_mid_handshake(self):
        since = self.inst.log_size()
        # Half a ClientHello on SMTPS, then gone; the same after STARTTLS;
        # and a client that connects to SMTPS and leaves at once.
        half = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"
        for _ in range(3):
            with Raw(self.inst.smtps_port, timeout=15, greeting=False) as r:
                r.send(half)
        with Raw(self.inst.smtps_port, timeout=15, greeting=False):
            pass
        with self.raw() as r:
            self.ehlo(r)
            self.assertEqual(r.cmd("STARTTLS")[0], 220)
            r.send(half)
        with self.raw() as r:
            self.ehlo(r)
            self.assertEqual(r.cmd("STARTTLS")[0], 220)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if len(re.findall(r"SSL_accept error from \S+: lost connection",
                              self.inst.log()[since:])) >= 6:
                break
            time.sleep(0.1)
        self.assertGreaterEqual(
            len(re.findall(r"SSL_accept error from \S+: lost connection",
                           self.inst.log()[since:])), 6,
            self.inst.diagnostics())
        self.check_still_serving()

    def check_still_serving(self):
        with smtplib.SMTP_SSL("127.0.0.1", self.inst.smtps_port, timeout=15,
                              context=self.inst.ssl_context()) as s:
            self.assertEqual(s.noop()[0], 250)
        self.assertEqual([l for l in self.inst.log_lines()
                          if "smtpd" in l and ("fatal:" in l or "panic:" in l)],
                         [])


class TlsConfig(OwnInstanceCase):
    """Security levels and configuration errors: an instance each."""

    def ssl_context(self):
        ctx = ssl.create_default_context(cafile=test_certificate()[0])
        ctx.check_hostname = False
        return ctx

    def tls_instance(self, start=True, **main_cf):
        cert, key = test_certificate()
        kw = {"smtpd_tls_cert_file": cert, "smtpd_tls_key_file": key}
        kw.update(main_cf)
        return self.new_instance(start=start, **kw)

    def test_encrypt_requires_starttls(self):
        inst = self.tls_instance(smtpd_tls_security_level="encrypt")
        with TlsRaw(inst.port) as r:
            self.assertIn("STARTTLS", ehlo_keywords(r.cmd("EHLO c.example")[1]))
            code, text = r.cmd("MAIL FROM:<a@remote.example>")
            self.assertEqual(code, 530, text)
            self.assertIn("5.7.0 Must issue a STARTTLS command first", text)
            r.starttls(self.ssl_context())
            self.assertEqual(r.cmd("EHLO c.example")[0], 250)
            self.assertEqual(r.cmd("MAIL FROM:<a@remote.example>")[0], 250)

    def test_level_none_and_no_certificate(self):
        inst = self.tls_instance(smtpd_tls_security_level="none")
        with TlsRaw(inst.port) as r:
            self.assertNotIn("STARTTLS", ehlo_keywords(r.cmd("EHLO c.example")[1]))
            self.assertEqual(r.cmd("STARTTLS")[0], 502)
            self.assertEqual(r.cmd("NOOP")[0], 250)
        plain = self.new_instance()
        with TlsRaw(plain.port) as r:
            self.assertNotIn("STARTTLS", ehlo_keywords(r.cmd("EHLO c.example")[1]))
            self.assertEqual(r.cmd("STARTTLS")[0], 502)

    def test_handshake_timeout(self):
        inst = self.tls_instance(smtpd_starttls_timeout="2s")
        since = inst.log_size()
        with TlsRaw(inst.port) as r:
            r.cmd("EHLO c.example")
            self.assertEqual(r.cmd("STARTTLS")[0], 220)
            t0 = time.monotonic()
            self.assertTrue(r.closed(15))
            self.assertLess(time.monotonic() - t0, 12)
        self.assertTrue(inst.wait_log(
            r"SSL_accept error from unknown\[127\.0\.0\.1\]: timeout",
            since=since), inst.diagnostics())

    def start_failing(self, inst, regex):
        """Starts inst whose smtpd must refuse to start: a client (which
        makes master start smtpd) is not greeted, the log shows regex and
        the exit, and master lives on."""
        inst.start(wait=False)
        deadline = time.monotonic() + 20
        sock = None
        while sock is None and time.monotonic() < deadline:
            try:
                sock = socket.create_connection(("127.0.0.1", inst.port),
                                                timeout=3)
            except ConnectionRefusedError:
                time.sleep(0.1)
        self.assertIsNotNone(sock, "master did not listen")
        with sock:
            try:
                greeting = sock.recv(100)
            except (socket.timeout, ConnectionResetError):
                greeting = b""
        self.assertEqual(greeting, b"")
        self.assertTrue(inst.wait_log(regex, timeout=20), inst.diagnostics())
        self.assertTrue(inst.wait_log(r"smtpd pid \d+ exit status 75",
                                      timeout=20), inst.diagnostics())
        self.assertTrue(inst.running())

    def test_key_mismatch_is_fatal(self):
        inst = self.tls_instance(start=False)
        other = os.path.join(inst.dir, "other-key.pem")
        subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-out", other],
                       check=True, timeout=60, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        os.chmod(other, 0o644)
        inst.set_main_cf(smtpd_tls_key_file=other)
        self.start_failing(inst, r"fatal: smtpd_tls_key_file \S+: the key "
                           r"does not match the certificate")

    def test_encrypt_without_certificate_is_fatal(self):
        inst = self.new_instance(start=False,
                                 smtpd_tls_security_level="encrypt")
        self.start_failing(inst, r"fatal: smtpd_tls_security_level = "
                           r"encrypt needs a certificate")

    def test_missing_certificate_is_fatal(self):
        inst = self.tls_instance(start=False,
                                 smtpd_tls_cert_file="/nonexistent/cert.pem")
        self.start_failing(inst, r"fatal: smtpd_tls_cert_file "
                           r"/nonexistent/cert.pem: cannot load the "
                           r"certificate: No such file")
