"""smtp_peer: what tests/integration/test_smtp_client.py plays against
and with: dnsmasq with the test zone (Dnsmasq), a scripted SMTP server
(ScriptedPeer), a connection to the agent's private/smtp as qmgr has one
(Agent), the base class that starts an instance with the smtp service
(SmtpClientCase), and aiosmtpd's Controller (aiosmtpd_controller).
Loopback only; every wait is bounded; what is started is stopped by
pid."""

import os
import re
import socket
import ssl
import subprocess
import threading
import time
import unittest

from instance import DAEMON_DIR, IS_ROOT, Instance, free_port, wait_until

DNSMASQ = "/usr/sbin/dnsmasq"
TIMEOUT = 15
_qid_counter = [0]


def new_qid():
    _qid_counter[0] += 1
    return "%016X%03X" % (time.time_ns() // 1000, _qid_counter[0] & 0xFFF)


# ---------------------------------------------------------------- DNS

# SPF records (test_spf). A chain of 20 includes passes RFC 7208's limit
# of 10 DNS terms; spf-temp.test includes a name whose server never
# answers (port 9 on loopback: nothing listens), so its look-up fails.
SPF_CHAIN = 20
SPF_RECORDS = [
    "--txt-record=spf-pass.test,v=spf1 ip4:127.0.0.1 -all",
    "--txt-record=spf-fail.test,v=spf1 -all",
    "--txt-record=spf-soft.test,v=spf1 ~all",
    "--txt-record=spf-neutral.test,v=spf1 ?all",
    "--txt-record=spf-exp.test,v=spf1 -all exp=why.spf-exp.test",
    "--txt-record=why.spf-exp.test,%{i} may not send for %{d}",
    "--txt-record=spf-helo.test,v=spf1 a -all",
    "--host-record=spf-helo.test,127.0.0.1",
    "--txt-record=spf-perm.test,v=spf1 include:i1.spf-perm.test -all",
    "--txt-record=spf-temp.test,v=spf1 include:spf.down.test -all",
    "--server=/down.test/127.0.0.1#9",
] + ["--txt-record=i%d.spf-perm.test,v=spf1 %s -all" % (
    i, "include:i%d.spf-perm.test" % (i + 1) if i < SPF_CHAIN
    else "ip4:127.0.0.1") for i in range(1, SPF_CHAIN + 1)]


class Dnsmasq:
    """dnsmasq on a free loopback UDP/TCP port with the test zone."""

    def __init__(self, extra=()):
        """extra: more dnsmasq options (e.g. --txt-record=NAME,TEXT for
        test_authres's DKIM keys)."""
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
                "--dns-rr=nullmx.test,15,000000",
                # An MX whose name is an alias (RFC 5321 5.1 forbids it;
                # it is followed, as resolvers and Postfix do).
                "--cname=alias.mx.test,mx1.mx.test",
                "--mx-host=cname.test,alias.mx.test,10",
                # An MX host with only an IPv6 address.
                "--host-record=v6.mx.test,::1",
                "--mx-host=v6.test,v6.mx.test,10",
                # A DNSBL listing 127.0.0.2 (test_policy).
                "--host-record=2.0.0.127.zen.test,127.0.0.2"] + list(extra)
        args += SPF_RECORDS
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
    connection, or "HANG" to go silent until the client leaves.

    concurrent=True serves each connection on its own thread and keeps
    the most connections open at once (self.max_active); dot_delay
    seconds pass before the reply to the end of the data. host ("::1"
    for IPv6) and port (0: any free one) say where it listens."""

    def __init__(self, greeting="220 peer.test ESMTP", ext=None,
                 ehlo=None, helo="250 peer.test", mail="250 2.1.0 Ok",
                 rcpt=None, data="354 End data with <CR><LF>.<CR><LF>",
                 dot="250 2.0.0 Ok: queued as ABC", starttls=None,
                 tls_context=None, rset="250 2.0.0 Ok", concurrent=False,
                 dot_delay=0, host="127.0.0.1", port=0):
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
        self.concurrent = concurrent
        self.dot_delay = dot_delay
        self.lock = threading.Lock()
        self.active = self.max_active = 0
        self.sessions = []
        self.sock = socket.socket(
            socket.AF_INET6 if ":" in host else socket.AF_INET,
            socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
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
            if self.concurrent:
                threading.Thread(target=self.serve_counted,
                                 args=(conn, sess), daemon=True).start()
            else:
                self.serve_counted(conn, sess)

    def serve_counted(self, conn, sess):
        with self.lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            self.serve(conn, sess)
        except (OSError, ValueError, ssl.SSLError):
            pass
        finally:
            conn.close()
            with self.lock:
                self.active -= 1

    @staticmethod
    def take(conn, sess, buf, enough, what):
        """Reads from conn into buf[0] (and the session's record) until
        enough(buf[0]); a connection closed before is an error."""
        for _ in range(100000):
            if enough(buf[0]):
                return
            chunk = conn.recv(65536)
            if not chunk:
                raise ValueError("eof in " + what)
            sess["raw"] += chunk
            sess["chunks"].append(chunk)
            buf[0] += chunk
        raise ValueError("endless " + what)

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
                self.take(conn, sess, buf,
                          lambda b: b"\r\n.\r\n" in b"\r\n" + b, "data")
                whole = b"\r\n" + buf[0]
                end = whole.index(b"\r\n.\r\n")
                sess["data"] = whole[2:end + 2]
                sess.setdefault("messages", []).append(sess["data"])
                buf[0] = whole[end + 5:]
                time.sleep(self.dot_delay)
                if not self.say(conn, self.dot):
                    return
                continue
            elif verb == "BDAT":
                m = re.match(r"BDAT (\d+)( LAST)?$", ln)
                if not m:
                    reply = "501 5.5.4 bad BDAT"
                else:
                    size = int(m.group(1))
                    self.take(conn, sess, buf,
                              lambda b, n=size: len(b) >= n, "BDAT")
                    sess["data"] = (sess["data"] or b"") + buf[0][:size]
                    sess["bdat"] = sess.get("bdat", 0) + 1
                    buf[0] = buf[0][size:]
                    reply = self.dot if m.group(2) else \
                        "250 2.0.0 %d octets received" % size
                    if not self.say(conn, reply):
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
        if data is not None and self.sessions[i].get("bdat"):
            raw = raw.replace(data, b"", 1)
        elif data is not None:
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
        # Without the program master would start nothing and every test
        # would wait for a hello that never comes.
        agent = os.path.join(DAEMON_DIR, "smtp")
        if not os.access(agent, os.X_OK):
            raise AssertionError("%s is not installed" % agent)
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
        return inst.start_or_cleanup()

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.inst is not None:
                cls.inst.cleanup_or_fail()
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
                body="7bit", sign="0", inst=None, agent=None,
                read_timeout=TIMEOUT):
        """Sends one request (rcpts: addresses or (addr, orcpt, notify))
        and returns (qid, answer)."""
        inst = inst or self.inst
        qid, size = self.content(data, inst)
        attrs = [("queue_id", qid), ("queue_file", "active/" + qid),
                 ("offset", "7"), ("size", str(size)), ("sender", sender),
                 ("arrival", str(int(time.time() * 1e6) - 500000)),
                 ("active", str(int(time.time() * 1e6) - 100000)),
                 ("ret", ret), ("envid", envid), ("smtputf8", smtputf8),
                 ("body", body), ("nexthop", nexthop), ("sign", sign)]
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
        # The DSN attributes are optional: present when there is a reply.
        optional = ["%s_%d" % (f, i) for f in ("mta", "diag", "cmd", "pass")
                    for i in range(len(rcpts))]
        self.assertEqual(sorted(n for n in ans if n not in optional),
                         sorted(names))
        return qid, ans

    def log_of(self, qid, count=1):
        """The delivery log lines of qid, once count of them are there."""
        pat = re.compile(r": %s: to=<" % qid)
        wait_until(lambda: len([l for l in self.inst.log_lines()
                                if pat.search(l)]) >= count, 10)
        return [l for l in self.inst.log_lines() if pat.search(l)]


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
