"""delivery/smtp, the outbound SMTP client, over a real instance. The test
plays qmgr: it writes a message's content under the instance's queue
(active/ID), connects to private/smtp, reads the version 2 hello and sends
version 2 requests (deliver_proto.h), then checks the answers, the log
lines and what the peer received byte for byte.

Peers: a scripted server in this file (every misbehaviour on demand:
rejections, multi-line and malformed replies, silence, a close after the
final dot, STARTTLS that fails or works), aiosmtpd (python3-aiosmtpd), and
a second surel instance whose smtpd delivers into its Maildir. DNS:
dnsmasq on a free loopback port with MX records for .test names that point
at 127.0.0.1; the next hop "domain:PORT" reaches the MX hosts on the
peer's port. Loopback only; every wait is bounded; what a test starts it
stops by pid."""

import os
import re
import signal
import socket
import ssl
import subprocess
import threading
import time
import unittest

from instance import (IS_ROOT, Instance, free_port, test_certificate,
                      wait_until)

DNSMASQ = "/usr/sbin/dnsmasq"
TIMEOUT = 15
_qid_counter = [0]


def new_qid():
    _qid_counter[0] += 1
    return "%016X%03X" % (time.time_ns() // 1000, _qid_counter[0] & 0xFFF)


# ---------------------------------------------------------------- DNS

class Dnsmasq:
    """dnsmasq on a free loopback UDP/TCP port with the test zone."""

    def __init__(self):
        self.port = free_port()
        # As root dnsmasq would become "nobody": run it as whoever we are.
        import pwd
        user = pwd.getpwuid(os.geteuid()).pw_name
        args = [DNSMASQ, "--keep-in-foreground", "--no-resolv", "--no-hosts",
                "--conf-file=/dev/null", "--listen-address=127.0.0.1",
                "--bind-interfaces", "--port=%d" % self.port,
                "--user=%s" % user, "--pid-file=", "--local=/test/",
                "--mx-host=mx.test,mx1.mx.test,10",
                "--host-record=mx1.mx.test,127.0.0.1",
                # The first MX refuses connections (nothing listens on
                # 127.0.0.2 at the peer's port): the second one takes it.
                "--mx-host=two.test,dead.two.test,10",
                "--mx-host=two.test,mx1.mx.test,20",
                "--host-record=dead.two.test,127.0.0.2",
                "--mx-host=enc.test,mx1.mx.test,10",
                "--mx-host=dane.test,mx1.mx.test,10",
                "--dns-rr=nullmx.test,15,000000"]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        if not wait_until(self.ready, 10):
            self.stop()
            raise AssertionError("dnsmasq does not answer")

    def ready(self):
        if self.proc.poll() is not None:
            raise AssertionError("dnsmasq exited: %s" % self.proc.returncode)
        # A query for mx1.mx.test type A, id 0x1234.
        q = (b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
             b"\x03mx1\x02mx\x04test\x00\x00\x01\x00\x01")
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(0.3)
        try:
            s.sendto(q, ("127.0.0.1", self.port))
            return s.recv(512)[:2] == b"\x12\x34"
        except OSError:
            return False
        finally:
            s.close()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


# ---------------------------------------------------------------- peers

class ScriptedPeer:
    """A one-thread SMTP server on 127.0.0.1 that plays a script. Each
    connection's received octets are kept (self.sessions: list of dicts
    with "raw", "chunks", "data"). Hooks return a reply (str, sent with
    CRLF; may hold several lines separated by \\n), None to close the
    connection, or "HANG" to go silent until the client leaves."""

    def __init__(self, greeting="220 peer.test ESMTP", ext=None,
                 ehlo=None, helo="250 peer.test", mail="250 2.1.0 Ok",
                 rcpt=None, data="354 End data with <CR><LF>.<CR><LF>",
                 dot="250 2.0.0 Ok: queued as ABC", starttls=None,
                 tls_context=None, rset="250 2.0.0 Ok"):
        self.greeting = greeting
        self.ext = ["PIPELINING", "SIZE 10240000", "8BITMIME", "DSN",
                    "SMTPUTF8", "ENHANCEDSTATUSCODES"] if ext is None else ext
        self.ehlo = ehlo
        self.helo = helo
        self.mail = mail
        self.rcpt = rcpt or (lambda addr: "250 2.1.5 Ok")
        self.data = data
        self.dot = dot
        self.starttls = starttls      # None: not offered; "ok", "fail"
        self.rset = rset
        self.tls_context = tls_context
        self.sessions = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stopping = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def stop(self):
        self.stopping = True
        self.thread.join(TIMEOUT)
        self.sock.close()

    def run(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            sess = {"raw": b"", "chunks": [], "data": None, "tls": False}
            self.sessions.append(sess)
            try:
                self.serve(conn, sess)
            except (OSError, ValueError, ssl.SSLError):
                pass
            finally:
                conn.close()

    def say(self, conn, reply):
        if reply is None:
            return False
        if reply == "HANG":
            # Silent until the client hangs up (bounded).
            conn.settimeout(TIMEOUT)
            try:
                while conn.recv(4096):
                    pass
            except OSError:
                pass
            return False
        text = reply if isinstance(reply, bytes) else (
            "\r\n".join(reply.split("\n")) + "\r\n").encode()
        conn.sendall(text)
        return True

    def serve(self, conn, sess):
        conn.settimeout(TIMEOUT)
        buf = [b""]

        def line():
            for _ in range(10000):
                if b"\r\n" in buf[0]:
                    ln, buf[0] = buf[0].split(b"\r\n", 1)
                    return ln
                chunk = conn.recv(65536)
                if not chunk:
                    raise ValueError("eof")
                sess["raw"] += chunk
                sess["chunks"].append(chunk)
                buf[0] += chunk
            raise ValueError("no line")

        if not self.say(conn, self.greeting):
            return
        for _ in range(10000):
            ln = line().decode("utf-8", "replace")
            verb = ln.split(" ")[0].upper()
            if verb == "EHLO":
                if self.ehlo is not None:
                    reply = self.ehlo
                else:
                    ext = list(self.ext)
                    if self.starttls and not sess["tls"]:
                        ext.append("STARTTLS")
                    reply = "\n".join(["250-peer.test"] +
                                      ["250-" + e for e in ext[:-1]] +
                                      ["250 " + ext[-1]]) if ext else \
                        "250 peer.test"
            elif verb == "HELO":
                reply = self.helo
            elif verb == "STARTTLS":
                if not self.say(conn, "220 2.0.0 Ready to start TLS"):
                    return
                if self.starttls == "fail":
                    conn.sendall(b"this is not a TLS record\r\n" * 4)
                    return
                conn = self.tls_context.wrap_socket(conn, server_side=True)
                sess["tls"] = True
                buf[0] = b""
                continue
            elif verb == "MAIL":
                reply = self.mail
            elif verb == "RCPT":
                m = re.match(r"RCPT TO:<([^>]*)>", ln)
                reply = self.rcpt(m.group(1) if m else "")
            elif verb == "DATA":
                reply = self.data
                if not self.say(conn, reply):
                    return
                if not reply.startswith("354"):
                    continue
                for _ in range(100000):
                    if b"\r\n.\r\n" in b"\r\n" + buf[0]:
                        break
                    chunk = conn.recv(65536)
                    if not chunk:
                        raise ValueError("eof in data")
                    sess["raw"] += chunk
                    sess["chunks"].append(chunk)
                    buf[0] += chunk
                whole = b"\r\n" + buf[0]
                end = whole.index(b"\r\n.\r\n")
                sess["data"] = whole[2:end + 2]
                buf[0] = whole[end + 5:]
                if not self.say(conn, self.dot):
                    return
                continue
            elif verb == "RSET":
                reply = self.rset
            elif verb == "QUIT":
                self.say(conn, "221 2.0.0 Bye")
                return
            else:
                reply = "502 5.5.2 Error: command not recognized"
            if not self.say(conn, reply):
                return

    def commands(self, i=0):
        """The command lines of session i (the content left out)."""
        raw = self.sessions[i]["raw"]
        data = self.sessions[i]["data"]
        if data is not None:
            raw = raw.replace(data + b".\r\n", b"", 1)
        return [ln.decode("utf-8", "replace") for ln in raw.split(b"\r\n") if ln]


# ---------------------------------------------------------------- agent

class Agent:
    """A connection to private/smtp, as qmgr has one."""

    def __init__(self, inst):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(TIMEOUT)
        self.sock.connect(os.path.join(inst.queue, "private", "smtp"))
        self.buf = b""
        self.hello = self.read_msg()

    def read_msg(self, timeout=TIMEOUT):
        self.sock.settimeout(timeout)
        for _ in range(100000):
            if self.buf.startswith(b"\n") or b"\n\n" in self.buf:
                break
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("agent closed the connection")
            self.buf += chunk
        if self.buf.startswith(b"\n"):
            msg, self.buf = b"", self.buf[1:]
        else:
            msg, self.buf = self.buf.split(b"\n\n", 1)
        out = {}
        for ln in msg.decode("utf-8").split("\n"):
            k, v = ln.split("=", 1)
            assert k not in out, "repeated attribute %s" % k
            out[k] = v
        return out

    def send(self, attrs):
        text = "".join("%s=%s\n" % (k, v) for k, v in attrs) + "\n"
        self.sock.sendall(text.encode("utf-8"))

    def close(self):
        self.sock.close()


class SmtpClientCase(unittest.TestCase):
    """One instance (smtpd for its readiness, and the smtp agent; no qmgr,
    which would take the test's files in active/) and one dnsmasq for the
    class."""

    MAIN_CF = {}
    inst = None
    dns = None

    @classmethod
    def setUpClass(cls):
        cls.dns = Dnsmasq()
        try:
            cls.inst = cls.make_instance(cls.dns.port, **cls.MAIN_CF)
        except Exception:
            cls.dns.stop()
            raise

    @staticmethod
    def make_instance(dns_port, **main_cf):
        cfg = {
            "dns_resolver": "127.0.0.1:%d" % dns_port,
            "smtp_connect_timeout": "2s",
            "smtp_helo_timeout": "2s",
            "smtp_mail_timeout": "2s",
            "smtp_rcpt_timeout": "2s",
            "smtp_data_init_timeout": "2s",
            "smtp_data_xfer_timeout": "2s",
            "smtp_data_done_timeout": "2s",
            "smtp_quit_timeout": "1s",
            "smtp_starttls_timeout": "2s",
            "smtp_tls_security_level": "may",
            "smtp_tls_policy_maps": "inline:{ enc.test=encrypt, dane.test=dane }",
        }
        cfg.update(main_cf)
        inst = Instance(**cfg)
        inst.master_cf_text = (
            "127.0.0.1:%d inet n - n - 2 smtpd\n"
            "smtp unix - - n - - smtp\n" % inst.port)
        inst.write_config()
        try:
            inst.start()
        except Exception:
            inst.cleanup()
            raise
        return inst

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.inst is not None:
                reports = cls.inst.cleanup()
                if reports:
                    raise AssertionError("sanitizer reports:\n" +
                                         "\n".join(reports))
        finally:
            cls.dns.stop()

    def setUp(self):
        self.peers = []

    def tearDown(self):
        for p in self.peers:
            p.stop()

    def peer(self, **kw):
        p = ScriptedPeer(**kw)
        self.peers.append(p)
        return p

    def content(self, data, inst=None):
        """Writes data as active/ID's content; returns (qid, size)."""
        inst = inst or self.inst
        qid = new_qid()
        path = os.path.join(inst.queue, "active", qid)
        with open(path, "wb") as f:
            f.write(b"X" * 7 + data)
        if IS_ROOT:
            os.chown(path, inst.owner.pw_uid, inst.owner.pw_gid)
        self.addCleanup(lambda: os.path.exists(path) and os.unlink(path))
        return qid, len(data)

    def request(self, nexthop, rcpts, data=b"Subject: t\n\nhello\n",
                sender="s@x.test", ret="", envid="", smtputf8="0",
                body="7bit", inst=None, agent=None, read_timeout=TIMEOUT):
        """Sends one request (rcpts: addresses or (addr, orcpt, notify))
        and returns (qid, answer)."""
        inst = inst or self.inst
        qid, size = self.content(data, inst)
        attrs = [("queue_id", qid), ("queue_file", "active/" + qid),
                 ("offset", "7"), ("size", str(size)), ("sender", sender),
                 ("arrival", str(int(time.time() * 1e6) - 500000)),
                 ("active", str(int(time.time() * 1e6) - 100000)),
                 ("ret", ret), ("envid", envid), ("smtputf8", smtputf8),
                 ("body", body), ("nexthop", nexthop)]
        for i, r in enumerate(rcpts):
            addr, orcpt, notify = (r, "", "") if isinstance(r, str) else r
            attrs += [("rcpt_%d" % i, addr), ("orcpt_%d" % i, orcpt),
                      ("notify_%d" % i, notify)]
        own = agent is None
        agent = agent or Agent(inst)
        try:
            self.assertEqual(agent.hello, {"protocol": "deliver",
                                           "version": "2"})
            agent.send(attrs)
            ans = agent.read_msg(read_timeout)
        finally:
            if own:
                agent.close()
        names = ["status_%d" % i for i in range(len(rcpts))] + \
            ["dsn_%d" % i for i in range(len(rcpts))] + \
            ["reason_%d" % i for i in range(len(rcpts))] + ["site"]
        self.assertEqual(sorted(ans), sorted(names))
        return qid, ans

    def log_of(self, qid, count=1):
        """The delivery log lines of qid, once count of them are there."""
        pat = re.compile(r": %s: to=<" % qid)
        wait_until(lambda: len([l for l in self.inst.log_lines()
                                if pat.search(l)]) >= count, 10)
        return [l for l in self.inst.log_lines() if pat.search(l)]


LOG_SENT = (r"^\S+ \d+ \d\d:\d\d:\d\d \S+ surel/smtp\[\d+\]: %s: "
            r"to=<%s>, relay=%s, delay=[0-9.]+, "
            r"delays=[0-9.]+/[0-9.]+/[0-9.]+/[0-9.]+, dsn=%s, status=%s "
            r"\(%s\)$")


class Delivery(SmtpClientCase):
    """What goes on the wire, and what comes back."""

    def test_sent_bytes_pipelined(self):
        p = self.peer()
        data = (b"Subject: dots\n\nline1\n.dot\n..two\n.\n"
                b"8bit \xc3\xa9\ncr\r\nlast")
        qid, ans = self.request(
            "mx.test:%d" % p.port,
            [("a@example.test", "rfc822;a+40example.test", "SUCCESS,FAILURE"),
             ("b@example.test", "", "NEVER")],
            data=data, ret="HDRS", envid="env+2Bid", body="8bitmime")
        self.assertEqual(ans["status_0"], "0")
        self.assertEqual(ans["status_1"], "0")
        self.assertEqual(ans["dsn_0"], "2.0.0")
        self.assertEqual(ans["reason_0"], "250 2.0.0 Ok: queued as ABC")
        self.assertEqual(ans["site"], "ok")
        sess = p.sessions[0]
        self.assertEqual(sess["data"],
                         b"Subject: dots\r\n\r\nline1\r\n..dot\r\n...two\r\n"
                         b"..\r\n8bit \xc3\xa9\r\ncr\r\nlast\r\n")
        cmds = p.commands()
        self.assertEqual(cmds[0], "EHLO mx.example.test")
        self.assertEqual(cmds[1], "MAIL FROM:<s@x.test> SIZE=%d BODY=8BITMIME "
                         "RET=HDRS ENVID=env+2Bid" % len(data))
        self.assertEqual(cmds[2], "RCPT TO:<a@example.test> "
                         "NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a+40example.test")
        self.assertEqual(cmds[3], "RCPT TO:<b@example.test> NOTIFY=NEVER")
        self.assertEqual(cmds[4], "DATA")
        # The agent connection closed: the cached server connection is
        # QUIT at once.
        self.assertTrue(wait_until(lambda: p.commands()[-1:] == ["QUIT"], 5))
        # PIPELINING: MAIL, both RCPTs and DATA came in one write.
        group = [c for c in sess["chunks"] if b"MAIL FROM" in c][0]
        self.assertIn(b"RCPT TO:<b@example.test>", group)
        self.assertTrue(group.endswith(b"DATA\r\n"))
        lines = self.log_of(qid, 2)
        relay = re.escape("mx1.mx.test[127.0.0.1]:%d" % p.port)
        for addr, line in zip(("a@example.test", "b@example.test"), lines):
            self.assertRegex(line, LOG_SENT % (
                qid, re.escape(addr), relay, r"2\.0\.0", "sent",
                re.escape("250 2.0.0 Ok: queued as ABC")))

    def test_helo_fallback_no_extensions(self):
        """EHLO refused: HELO, and then no parameter, no pipelining."""
        p = self.peer(ehlo="502 5.5.2 EHLO not here")
        qid, ans = self.request("mx.test:%d" % p.port,
                                [("a@example.test", "rfc822;a@x", "NEVER"),
                                 "b@example.test"],
                                ret="FULL", envid="e1")
        self.assertEqual((ans["status_0"], ans["status_1"]), ("0", "0"))
        cmds = p.commands()
        self.assertEqual(cmds[:6], ["EHLO mx.example.test",
                                    "HELO mx.example.test",
                                    "MAIL FROM:<s@x.test>",
                                    "RCPT TO:<a@example.test>",
                                    "RCPT TO:<b@example.test>", "DATA"])
        # One command per write: MAIL's chunk holds nothing else.
        mail = [c for c in p.sessions[0]["chunks"] if b"MAIL FROM" in c][0]
        self.assertNotIn(b"RCPT", mail)

    def test_per_recipient_answers(self):
        def rcpt(addr):
            return {"bad@example.test": "550 5.1.1 <bad@example.test>: no such user",
                    "full@example.test": "452 4.2.2 mailbox full",
                    "old@example.test": "552 too many"}.get(addr, "250 2.1.5 Ok")
        for ext in (None, []):      # pipelined, then one at a time
            p = self.peer(rcpt=rcpt, ext=ext)
            qid, ans = self.request("mx.test:%d" % p.port,
                                    ["good@example.test", "bad@example.test",
                                     "full@example.test", "old@example.test"])
            self.assertEqual([ans["status_%d" % i] for i in range(4)],
                             ["0", "5", "4", "4"])
            self.assertEqual(ans["dsn_1"], "5.1.1")
            self.assertEqual(ans["dsn_2"], "4.2.2")
            # RFC 5321 4.5.3.1.10: 552 to RCPT is a 452.
            self.assertEqual(ans["dsn_3"], "4.0.0")
            self.assertEqual(ans["reason_1"],
                             "host mx1.mx.test[127.0.0.1] said: 550 5.1.1 "
                             "<bad@example.test>: no such user (in reply to "
                             "RCPT TO command)")
            self.assertEqual(ans["site"], "ok")
            lines = self.log_of(qid, 4)
            self.assertIn("status=bounced (host mx1.mx.test[127.0.0.1] said: "
                          "550 5.1.1", lines[1])
            self.assertIn("status=deferred (host", lines[2])

    def test_reject_at_greeting_is_temporary_and_site_dead(self):
        p = self.peer(greeting="554 5.7.1 go away")
        qid, ans = self.request("mx.test:%d" % p.port, ["a@example.test"])
        self.assertEqual(ans["status_0"], "4")
        self.assertEqual(ans["dsn_0"], "4.7.1")
        self.assertEqual(ans["reason_0"], "host mx1.mx.test[127.0.0.1] refused "
                         "to talk to me: 554 5.7.1 go away")
        self.assertEqual(ans["site"], "dead")
        self.assertIn("relay=mx1.mx.test[127.0.0.1]:%d," % p.port,
                      self.log_of(qid)[0])

    def test_reject_at_mail(self):
        for ext in (None, []):
            p = self.peer(mail="553 5.7.1 sender rejected", ext=ext)
            qid, ans = self.request("mx.test:%d" % p.port,
                                    ["a@example.test", "b@example.test"])
            self.assertEqual((ans["status_0"], ans["status_1"]), ("5", "5"))
            self.assertEqual(ans["reason_1"], "host mx1.mx.test[127.0.0.1] said: "
                             "553 5.7.1 sender rejected (in reply to MAIL FROM "
                             "command)")
            # Pipelined, this peer said 354 to DATA anyway: the client
            # must then end an empty message at once (RFC 2920 3.1).
            self.assertIn(p.sessions[0]["data"], (None, b""))

    def test_end_of_data_replies(self):
        for dot, status, dsn in (("452 4.3.1 no space", "4", "4.3.1"),
                                 ("554 5.6.0 content rejected", "5", "5.6.0")):
            p = self.peer(dot=dot)
            qid, ans = self.request("mx.test:%d" % p.port,
                                    ["a@example.test", "b@example.test"])
            self.assertEqual((ans["status_0"], ans["status_1"]), (status, status))
            self.assertEqual(ans["dsn_0"], dsn)
            self.assertEqual(ans["reason_0"], "host mx1.mx.test[127.0.0.1] said: "
                             "%s (in reply to end of DATA command)" % dot)

    def test_data_command_rejected(self):
        p = self.peer(data="554 5.5.1 no valid recipients")
        qid, ans = self.request("mx.test:%d" % p.port, ["a@example.test"])
        self.assertEqual(ans["status_0"], "5")
        self.assertIn("(in reply to DATA command)", ans["reason_0"])

    def test_all_recipients_rejected_pipelined(self):
        """No recipient accepted: no content, even after a 354."""
        p = self.peer(rcpt=lambda a: "550 5.1.1 no")
        qid, ans = self.request("mx.test:%d" % p.port, ["a@example.test"])
        self.assertEqual(ans["status_0"], "5")
        self.assertIn(p.sessions[0]["data"], (None, b""))

    def test_multiline_replies(self):
        p = self.peer(greeting="220-peer.test hello\n220-more\n220 ready",
                      dot="250-2.0.0 Ok\n250-second line\n250 2.0.0 queued as Z")
        qid, ans = self.request("mx.test:%d" % p.port, ["a@example.test"])
        self.assertEqual(ans["status_0"], "0")
        self.assertEqual(ans["reason_0"],
                         "250-2.0.0 Ok 250-second line 250 2.0.0 queued as Z")

    def test_malformed_reply(self):
        p = self.peer(rcpt=lambda a: "25O not a code")
        qid, ans = self.request("mx.test:%d" % p.port, ["a@example.test"])
        self.assertEqual(ans["status_0"], "4")
        self.assertTrue(ans["reason_0"].startswith("malformed reply"),
                        ans["reason_0"])
        self.assertIsNone(p.sessions[0]["data"])

    def test_reply_too_long(self):
        p = self.peer(mail="250 " + "x" * 5000)
        qid, ans = self.request("mx.test:%d" % p.port, ["a@example.test"])
        self.assertEqual(ans["status_0"], "4")
        self.assertIn("malformed reply", ans["reason_0"])

    def test_peer_goes_silent(self):
        p = self.peer(data="HANG")
        t0 = time.monotonic()
        qid, ans = self.request("mx.test:%d" % p.port, ["a@example.test"])
        self.assertLess(time.monotonic() - t0, 10)
        self.assertEqual(ans["status_0"], "4")
        self.assertEqual(ans["dsn_0"], "4.4.2")
        self.assertEqual(ans["reason_0"], "conversation with mx1.mx.test"
                         "[127.0.0.1] timed out while sending DATA command")

    def test_close_after_final_dot(self):
        p = self.peer(dot=None)
        qid, ans = self.request("mx.test:%d" % p.port,
                                ["a@example.test", "b@example.test"])
        self.assertEqual((ans["status_0"], ans["status_1"]), ("4", "4"))
        self.assertEqual(ans["reason_0"], "lost connection with mx1.mx.test"
                         "[127.0.0.1] while sending end of data -- message "
                         "may be sent more than once")
        self.assertIsNotNone(p.sessions[0]["data"])

    def test_size_limit(self):
        p = self.peer(ext=["SIZE 10", "PIPELINING"])
        qid, ans = self.request("mx.test:%d" % p.port, ["a@example.test"],
                                data=b"Subject: big\n\n" + b"x" * 100 + b"\n")
        self.assertEqual(ans["status_0"], "5")
        self.assertEqual(ans["dsn_0"], "5.3.4")
        self.assertIn("exceeds size limit 10 of server", ans["reason_0"])
        self.assertFalse(any(c.startswith("MAIL") for c in p.commands()))

    def test_8bit_to_7bit_peer(self):
        p = self.peer(ext=["PIPELINING"])
        qid, ans = self.request("mx.test:%d" % p.port, ["a@example.test"],
                                data=b"Subject: x\n\n\xc3\xa9\n", body="8bitmime")
        self.assertEqual((ans["status_0"], ans["dsn_0"]), ("5", "5.6.3"))
        # Declared 8BITMIME but all ASCII: goes, without BODY=.
        qid, ans = self.request("mx.test:%d" % p.port, ["a@example.test"],
                                data=b"Subject: x\n\nascii\n", body="8bitmime")
        self.assertEqual(ans["status_0"], "0")
        self.assertIn("MAIL FROM:<s@x.test>", p.commands(1))

    def test_smtputf8(self):
        p = self.peer(ext=["PIPELINING", "8BITMIME"])
        qid, ans = self.request("mx.test:%d" % p.port,
                                ["\u03b4@example.test"], smtputf8="1")
        self.assertEqual((ans["status_0"], ans["dsn_0"]), ("5", "5.6.7"))
        self.assertEqual(ans["reason_0"], "SMTPUTF8 is required, but was not "
                         "offered by host mx1.mx.test[127.0.0.1]")
        p2 = self.peer()
        qid, ans = self.request("mx.test:%d" % p2.port,
                                ["\u03b4@example.test"], smtputf8="1")
        self.assertEqual(ans["status_0"], "0")
        self.assertIn("SMTPUTF8", p2.commands()[1])
        self.assertEqual(p2.commands()[2], "RCPT TO:<\u03b4@example.test>")

    def test_connection_reuse(self):
        """Requests for the same next hop on one agent connection share
        one server connection (RSET between them); the log says
        conn_use=N from the second; the connection is QUIT when
        smtp_connection_cache_time_limit (2s) has passed."""
        p = self.peer()
        agent = Agent(self.inst)
        try:
            qids = []
            for n in range(3):
                qid, ans = self.request("[127.0.0.1]:%d" % p.port,
                                        ["a%d@example.test" % n], agent=agent)
                self.assertEqual(ans["status_0"], "0")
                qids.append(qid)
            self.assertEqual(len(p.sessions), 1)
            self.assertTrue(wait_until(lambda: "QUIT" in p.commands(), 6),
                            "cached connection not closed in time")
        finally:
            agent.close()
        cmds = p.commands()
        self.assertEqual(cmds.count("EHLO mx.example.test"), 1)
        self.assertEqual(cmds.count("RSET"), 2)
        self.assertEqual(cmds.count("DATA"), 3)
        self.assertNotIn("conn_use=", self.log_of(qids[0])[0])
        self.assertIn("relay=127.0.0.1[127.0.0.1]:%d, conn_use=3, delay=" %
                      p.port, self.log_of(qids[2])[0])

    def test_no_reuse_for_another_nexthop_or_after_rset_failure(self):
        p = self.peer()
        q = self.peer(rset="421 4.3.2 closing")
        agent = Agent(self.inst)
        try:
            for nexthop in ("[127.0.0.1]:%d" % p.port,
                            "mx.test:%d" % p.port,
                            "[127.0.0.1]:%d" % q.port,
                            "[127.0.0.1]:%d" % q.port):
                qid, ans = self.request(nexthop, ["a@example.test"],
                                        agent=agent)
                self.assertEqual(ans["status_0"], "0")
        finally:
            agent.close()
        # Another next hop string: a new connection, the old one QUIT.
        self.assertEqual(len(p.sessions), 2)
        self.assertEqual(p.commands(0)[-1], "QUIT")
        # RSET refused: a new connection carries the mail.
        self.assertEqual(len(q.sessions), 2)
        self.assertEqual(q.commands(0)[-1], "RSET")

    def test_bad_request_closes_connection(self):
        agent = Agent(self.inst)
        try:
            agent.send([("queue_id", "X"), ("rcpt_0", "a@b")])
            with self.assertRaises(EOFError):
                agent.read_msg()
        finally:
            agent.close()


class Dns(SmtpClientCase):
    """The next hop's addresses."""

    def test_second_mx_when_first_refuses(self):
        p = self.peer()
        qid, ans = self.request("two.test:%d" % p.port, ["a@two.test"])
        self.assertEqual(ans["status_0"], "0")
        self.assertIn("relay=mx1.mx.test[127.0.0.1]:%d," % p.port,
                      self.log_of(qid)[0])

    def test_null_mx(self):
        qid, ans = self.request("nullmx.test:25", ["a@nullmx.test"])
        self.assertEqual((ans["status_0"], ans["dsn_0"]), ("5", "5.1.10"))
        self.assertEqual(ans["site"], "ok")
        self.assertIn("relay=none,", self.log_of(qid)[0])

    def test_nxdomain(self):
        qid, ans = self.request("nosuch.test:25", ["a@nosuch.test"])
        self.assertEqual((ans["status_0"], ans["dsn_0"]), ("5", "5.4.4"))
        self.assertIn("Host or domain name not found", ans["reason_0"])

    def test_nobody_listens(self):
        port = free_port()
        qid, ans = self.request("mx.test:%d" % port, ["a@example.test"])
        self.assertEqual((ans["status_0"], ans["dsn_0"]), ("4", "4.4.1"))
        self.assertEqual(ans["reason_0"], "connect to mx1.mx.test[127.0.0.1]:"
                         "%d: Connection refused" % port)
        self.assertEqual(ans["site"], "dead")


class Tls(SmtpClientCase):
    """STARTTLS at may (the instance's level) and, per smtp_tls_policy_maps,
    encrypt (enc.test) and dane (dane.test, not supported: defer)."""

    def tls_context(self):
        cert, key = test_certificate()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        return ctx

    def test_starttls_works(self):
        p = self.peer(starttls="ok", tls_context=self.tls_context())
        qid, ans = self.request("mx.test:%d" % p.port, ["a@example.test"])
        self.assertEqual(ans["status_0"], "0")
        self.assertTrue(p.sessions[0]["tls"])
        self.assertEqual(p.sessions[0]["data"], b"Subject: t\r\n\r\nhello\r\n")
        self.assertTrue(wait_until(lambda: any(
            re.search(r"surel/smtp\[\d+\]: Untrusted TLS connection established "
                      r"to mx1\.mx\.test\[127\.0\.0\.1\]:%d: TLSv1\.[23] with "
                      r"cipher \S+ \(\d+/\d+ bits\)" % p.port, l)
            for l in self.inst.log_lines()), 10), "no TLS log line")

    def test_may_handshake_failure_retries_plain(self):
        p = self.peer(starttls="fail")
        qid, ans = self.request("mx.test:%d" % p.port, ["a@example.test"])
        self.assertEqual(ans["status_0"], "0")
        self.assertEqual(len(p.sessions), 2)
        self.assertNotIn("STARTTLS", p.commands(1))
        self.assertIsNotNone(p.sessions[1]["data"])

    def test_encrypt_handshake_failure_defers(self):
        p = self.peer(starttls="fail")
        qid, ans = self.request("enc.test:%d" % p.port, ["a@enc.test"])
        self.assertEqual((ans["status_0"], ans["dsn_0"]), ("4", "4.7.5"))
        self.assertEqual(len(p.sessions), 1)

    def test_encrypt_not_offered_defers(self):
        p = self.peer()
        qid, ans = self.request("enc.test:%d" % p.port, ["a@enc.test"])
        self.assertEqual((ans["status_0"], ans["dsn_0"]), ("4", "4.7.4"))
        self.assertFalse(any(c.startswith("MAIL") for c in p.commands()))

    def test_unsupported_level_defers(self):
        p = self.peer()
        qid, ans = self.request("dane.test:%d" % p.port, ["a@dane.test"])
        self.assertEqual((ans["status_0"], ans["dsn_0"]), ("4", "4.7.5"))
        self.assertEqual(p.sessions, [])


class DnsDown(SmtpClientCase):
    """A resolver that does not answer: temporary, and the site is dead."""

    @classmethod
    def setUpClass(cls):
        cls.dns = Dnsmasq()
        dead = free_port()
        try:
            cls.inst = cls.make_instance(dead)
        except Exception:
            cls.dns.stop()
            raise

    def test_dns_down(self):
        t0 = time.monotonic()
        qid, ans = self.request("mx.test:25", ["a@mx.test"], read_timeout=30)
        self.assertLess(time.monotonic() - t0, 25)
        self.assertEqual(ans["status_0"], "4")
        self.assertEqual(ans["dsn_0"], "4.4.3")
        self.assertEqual(ans["site"], "dead")
        self.assertIn("relay=none,", self.log_of(qid)[0])


def aiosmtpd_controller():
    """aiosmtpd's Controller. Debian's python3-aiosmtpd lives in
    /usr/lib/python3/dist-packages, which a python3 of its own (pyenv,
    a venv) does not search: look there too. Missing is a failure."""
    import sys
    try:
        from aiosmtpd.controller import Controller
    except ImportError:
        sys.path.append("/usr/lib/python3/dist-packages")
        from aiosmtpd.controller import Controller
    return Controller


class RealPeers(SmtpClientCase):
    """aiosmtpd, and a second surel instance (its smtpd and local)."""

    def test_aiosmtpd(self):
        Controller = aiosmtpd_controller()

        class Handler:
            envelopes = []

            async def handle_DATA(self, server, session, envelope):
                self.envelopes.append(envelope)
                return "250 2.0.0 Ok: queued as AIO"

        handler = Handler()
        port = free_port()
        ctl = Controller(handler, hostname="127.0.0.1", port=port)
        ctl.start()
        try:
            qid, ans = self.request("mx.test:%d" % port,
                                    ["a@example.test", "b@example.test"],
                                    data=b"Subject: aio\n\n.dot\nbody\n")
        finally:
            ctl.stop()
        self.assertEqual((ans["status_0"], ans["status_1"]), ("0", "0"))
        self.assertEqual(ans["reason_0"], "250 2.0.0 Ok: queued as AIO")
        env = handler.envelopes[0]
        self.assertEqual(env.mail_from, "s@x.test")
        self.assertEqual(env.rcpt_tos, ["a@example.test", "b@example.test"])
        self.assertEqual(env.original_content,
                         b"Subject: aio\r\n\r\n.dot\r\nbody\r\n")

    def test_second_surel(self):
        other = Instance()
        try:
            other.start()
            marker = "marker-%s" % new_qid()
            qid, ans = self.request(
                "[127.0.0.1]:%d" % other.port, ["alice@example.test"],
                data=("From: s@x.test\nTo: alice@example.test\n"
                      "Subject: %s\n\nvia surel\n" % marker).encode())
            self.assertEqual(ans["status_0"], "0", ans["reason_0"])
            self.assertRegex(ans["reason_0"], r"^250 2\.0\.0 ")
            msg = other.find_message("alice@example.test", marker)
            self.assertIsNotNone(msg)
        finally:
            reports = other.cleanup()
            self.assertEqual(reports, [])


if __name__ == "__main__":
    unittest.main()
