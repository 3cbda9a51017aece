"""instance: a real surel instance for the integration tests.

An Instance is a private config directory (main.cf, master.cf, maps), a
queue, a mail store and a log under one temporary directory, served by
`master -c DIR -f` on free loopback ports. Run as an ordinary user,
everything runs as that user; run as root, the daemons drop to the
unprivileged user `surel-test` (created if missing), which exercises the
privilege drop. Programs come from $SUREL_PREFIX (libexec/surel/ and bin/),
default ./build/normal's layout copied by dev/test.

Every wait is bounded; stop() always ends the master and its children.
Python 3 standard library only.
"""

import email
import email.policy
import glob
import os
import pwd
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
PREFIX = os.environ.get("SUREL_PREFIX", os.path.join(SRC, "run", "install"))
DAEMON_DIR = os.path.join(PREFIX, "libexec", "surel")
BIN_DIR = os.path.join(PREFIX, "bin")
SANITIZED = os.environ.get("SUREL_TEST_SANITIZED") == "1"
TEST_USER = "surel-test"
IS_ROOT = os.geteuid() == 0

# Mailboxes of every test instance: address -> Maildir under the base.
USERS = {
    "alice@example.test": "example.test/alice/",
    "bob@example.test": "example.test/bob/",
    "carol@example.test": "example.test/carol/",
    "dave@example.org": "example.org/dave/",
    "\u03b4\u03bf\u03ba\u03b9\u03bc\u03ae@example.test": "example.test/utf8/",
}
ALIASES = {
    "team@example.test": "alice@example.test, bob@example.test, carol@example.test",
    "postmaster@example.test": "alice@example.test",
    "chain@example.test": "team@example.test, dave@example.org",
}

BASE_MAIN_CF = {
    "myhostname": "mx.example.test",
    "virtual_mailbox_domains": "example.test, example.org",
    "message_size_limit": "1048576",
    "minimal_backoff_time": "1s",
    "maximal_backoff_time": "4s",
    "queue_run_delay": "1s",
    # Tests make errors on purpose: no tar-pit sleeps.
    "smtpd_error_sleep_time": "0s",
    # Clients connect from 127.0.0.1: keep them out of mynetworks, so
    # that a domain not ours is refused as for any outside client, and
    # mail never leaves by accident. test_relay opts in.
    "mynetworks": "192.0.2.0/24",
    # Hermetic: no SPF look-ups in the outside DNS for the test domains
    # (test_spf turns the check on with its dnsmasq).
    "smtpd_spf_policy": "off",
    # The same for the _dmarc look-ups (test_dmarc turns DMARC on).
    "smtpd_dmarc_policy": "off",
}

# Passwords of the test users when an instance has access=True: every
# user's password is "pw-" + the local part (alice: "pw-alice").
def password_of(address):
    return "pw-" + address.split("@")[0]


# The domain of the mailboxes users_of() makes.
TEST_DOMAIN = "example.test"


def users_of(*classes):
    """A mailbox per test of the classes: test_foo -> foo@example.test
    (Maildir example.test/foo/), for Instance(users=...)."""
    out = {}
    for cls in classes:
        for n in dir(cls):
            if n.startswith("test_"):
                name = n[len("test_"):]
                out["%s@%s" % (name, TEST_DOMAIN)] = "%s/%s/" % (TEST_DOMAIN,
                                                                name)
    return out


def b64_plain(authcid, password, authzid=""):
    """The SASL PLAIN message (RFC 4616) in base64."""
    import base64
    raw = ("%s\0%s\0%s" % (authzid, authcid, password)).encode("utf-8")
    return base64.b64encode(raw).decode()


_CERT_CACHE = {}


def test_certificate():
    """(cert_path, key_path) of a self-signed certificate for
    mx.example.test and localhost, made once per test run with the openssl
    command into a private temporary directory."""
    if "pair" not in _CERT_CACHE:
        d = tempfile.mkdtemp(prefix="surel-cert-")
        import atexit
        atexit.register(shutil.rmtree, d, True)
        os.chmod(d, 0o755)
        cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:P-256", "-nodes", "-days", "30",
             "-subj", "/CN=mx.example.test",
             "-addext", "subjectAltName=DNS:mx.example.test,DNS:localhost,IP:127.0.0.1",
             "-keyout", key, "-out", cert],
            check=True, timeout=60, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        os.chmod(key, 0o644)
        _CERT_CACHE["pair"] = (cert, key)
    return _CERT_CACHE["pair"]


def hash_password(password):
    """A {SHA512-CRYPT} hash, made the way surelpasswd makes them."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
        return "{SHA512-CRYPT}" + crypt.crypt(password, crypt.mksalt(crypt.METHOD_SHA512))


SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "runtime error:", "ERROR: UndefinedBehaviorSanitizer")


_ports_given = set()


def free_port():
    """A loopback port nobody listens on now (bind to port 0), never one
    this process was given before: an instance takes several at once,
    before any of them is listened on, and the kernel may hand the same
    free port out twice."""
    for _ in range(1000):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        if port not in _ports_given:
            _ports_given.add(port)
            return port
    raise RuntimeError("no free port not given out before")


def ensure_test_user():
    """As root: the unprivileged mail_owner of test instances."""
    try:
        pw = pwd.getpwnam(TEST_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home",
                        "--shell", "/usr/sbin/nologin", TEST_USER],
                       check=True, timeout=30)
        pw = pwd.getpwnam(TEST_USER)
    return pw


def wait_until(pred, timeout, interval=0.05, what="condition"):
    """Polls pred() until it returns a true value (returned) or timeout
    seconds pass (returns the last, false, value)."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


# ---------------------------------------------------------------- /proc

def proc_ppid(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except OSError:
        return None
    # comm may hold spaces and parentheses: split after the last ')'.
    rest = data[data.rindex(")") + 2:].split()
    if rest[0] == "Z":
        return None
    return int(rest[1])


def proc_cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return [a.decode("utf-8", "replace")
                    for a in f.read().split(b"\0") if a]
    except OSError:
        return []


def proc_rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def all_pids():
    return [int(d) for d in os.listdir("/proc") if d.isdigit()]


def descendants(root):
    """Every live (not zombie) descendant of root."""
    children = {}
    for pid in all_pids():
        pp = proc_ppid(pid)
        if pp is not None:
            children.setdefault(pp, []).append(pid)
    out, todo = [], [root]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def alive(pid):
    return proc_ppid(pid) is not None


def socket_server_pid(client_sock, candidates):
    """The pid among candidates holding the server end of client_sock (a
    loopback TCP connection), found through /proc/net/tcp inodes."""
    lport = client_sock.getsockname()[1]
    rport = client_sock.getpeername()[1]
    inode = None
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            local, remote = fields[1], fields[2]
            if (int(local.split(":")[1], 16) == rport
                    and int(remote.split(":")[1], 16) == lport):
                inode = fields[9]
                break
    if inode is None or inode == "0":
        return None
    want = "socket:[%s]" % inode
    for pid in candidates:
        for fd in glob.glob("/proc/%d/fd/*" % pid):
            try:
                if os.readlink(fd) == want:
                    return pid
            except OSError:
                pass
    return None


class RssSampler(threading.Thread):
    """Samples the resident size of the processes pids_fn() returns,
    every interval seconds, until stop(). growth_kb(): the largest rise of
    one process above its first sample; peak_kb(): the largest sample."""

    def __init__(self, pids_fn, interval=0.02):
        super().__init__(daemon=True)
        self.pids_fn = pids_fn
        self.interval = interval
        self.first = {}
        self.peak = {}
        self._stop_ev = threading.Event()

    def run(self):
        while not self._stop_ev.is_set():
            for pid in self.pids_fn():
                kb = proc_rss_kb(pid)
                if kb is None:
                    continue
                self.first.setdefault(pid, kb)
                self.peak[pid] = max(self.peak.get(pid, 0), kb)
            self._stop_ev.wait(self.interval)

    def stop(self):
        self._stop_ev.set()
        self.join(10)

    def growth_kb(self):
        return max([self.peak[p] - self.first[p] for p in self.peak] or [0])

    def peak_kb(self):
        return max(self.peak.values() or [0])

    def __enter__(self):
        self.start()
        time.sleep(self.interval * 2)
        return self

    def __exit__(self, *a):
        self.stop()


# ---------------------------------------------------------- raw client

class LineConn:
    """A raw line-oriented connection (SMTP, POP3) for what the standard
    clients cannot send: pipelining in one write, bad input, commands at
    the wrong time. context: TLS from the first byte. Every read is
    bounded by timeout."""

    def __init__(self, port, timeout=15, context=None, host="127.0.0.1"):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        if context is not None:
            self.sock = context.wrap_socket(self.sock)
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed by server")
        self.buf += chunk

    def line(self):
        while b"\n" not in self.buf:
            if len(self.buf) > 1 << 20:
                raise ValueError("reply line too long")
            self._fill()
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode("utf-8", "replace")

    def raw_line(self):
        """One line as bytes with its line end."""
        while b"\n" not in self.buf:
            if len(self.buf) > 1 << 20:
                raise ValueError("reply line too long")
            self._fill()
        i = self.buf.index(b"\n") + 1
        line, self.buf = self.buf[:i], self.buf[i:]
        return line

    def starttls(self, context):
        """TLS on the connection now (after STARTTLS / STLS)."""
        assert self.buf == b"", "plaintext left before TLS: %r" % self.buf
        self.sock = context.wrap_socket(self.sock)

    def closed(self, timeout=10):
        """True when the server closes the connection within timeout
        (anything it still sends is discarded)."""
        import ssl
        self.sock.settimeout(timeout)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if not self.sock.recv(65536):
                    return True
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
            return True
        except socket.timeout:
            return False
        return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


class Raw(LineConn):
    """A raw SMTP connection: bytes in, parsed replies out, for what
    smtplib cannot send (pipelining in one write, BDAT, bad input)."""

    def __init__(self, port, timeout=15, greeting=True, **kw):
        super().__init__(port, timeout, **kw)
        self.greeting = self.reply() if greeting else None

    def reply(self):
        """(code, text) of one complete, possibly multi-line, reply."""
        lines = []
        for _ in range(1000):
            line = self.line()
            lines.append(line)
            if len(line) < 4 or line[3] != "-":
                break
        code = int(lines[-1][:3]) if lines[-1][:3].isdigit() else 0
        return code, "\n".join(lines)

    def replies(self, n):
        return [self.reply() for _ in range(n)]

    def cmd(self, line):
        self.send(line.encode("utf-8") + b"\r\n" if isinstance(line, str)
                  else line + b"\r\n")
        return self.reply()

    def reply_or_eof(self):
        """A reply, or (0, 'closed') if the server closed first."""
        try:
            return self.reply()
        except (EOFError, ConnectionResetError, BrokenPipeError):
            return 0, "closed"


# ------------------------------------------------------------ instance

class Instance:
    """One surel instance under tmpdir (a new temporary directory when
    None). main_cf overrides BASE_MAIN_CF; a value of None removes a
    parameter. Call start(); stop() in tearDown."""

    all_instances = []

    def __init__(self, tmpdir=None, users=None, aliases=None,
                 master_cf=None, smtpd_maxproc=10, access=False, **main_cf):
        """access=True adds mail access: a self-signed certificate
        (self.cert), a passwd-file with every user (password_of), authd,
        SMTPS (self.smtps_port), POP3 (self.pop3_port), POP3S
        (self.pop3s_port), IMAP (self.imap_port) and IMAPS
        (self.imaps_port)."""
        self.own_tmp = tmpdir is None
        self.dir = tmpdir or tempfile.mkdtemp(prefix="surel-it-")
        os.chmod(self.dir, 0o755)
        self.etc = os.path.join(self.dir, "etc")
        self.queue = os.path.join(self.dir, "queue")
        self.mail = os.path.join(self.dir, "mail")
        self.logdir = os.path.join(self.dir, "log")
        self.data = os.path.join(self.dir, "data")
        self.maillog = os.path.join(self.logdir, "maillog")
        self.stderr_path = os.path.join(self.logdir, "master.stderr")
        self.users = dict(USERS if users is None else users)
        self.aliases = dict(ALIASES if aliases is None else aliases)
        self.port = free_port()
        self.access = access
        self.smtps_port = self.pop3_port = self.pop3s_port = None
        self.imap_port = self.imaps_port = None
        self.cert = self.key = None
        self.passwd_file = None
        self.proc = None
        self.owner = ensure_test_user() if IS_ROOT else pwd.getpwuid(os.getuid())
        self.main_cf = {
            "queue_directory": self.queue,
            "data_directory": self.data,
            "daemon_directory": DAEMON_DIR,
            "mail_owner": self.owner.pw_name,
            "maillog_file": self.maillog,
            "virtual_mailbox_base": self.mail,
            "virtual_mailbox_maps": "texthash:" + os.path.join(self.etc, "vmailbox"),
            "virtual_alias_maps": "texthash:" + os.path.join(self.etc, "virtual"),
        }
        self.main_cf.update(BASE_MAIN_CF)
        access_cf = ""
        if access:
            self.smtps_port = free_port()
            self.pop3_port = free_port()
            self.pop3s_port = free_port()
            self.imap_port = free_port()
            self.imaps_port = free_port()
            self.cert, self.key = test_certificate()
            self.passwd_file = os.path.join(self.etc, "users")
            self.main_cf.update({
                "smtpd_tls_cert_file": self.cert,
                "smtpd_tls_key_file": self.key,
                "auth_user_maps": "passwd-file:" + self.passwd_file,
                # Tests log in wrongly on purpose: short delays.
                "auth_failure_delay": "0s",
                "auth_failure_delay_max": "0s",
            })
            access_cf = (
                "127.0.0.1:%d inet n - n - %d smtpd -o smtpd_tls_wrappermode=yes\n"
                "127.0.0.1:%d inet n - n - 20 pop3d\n"
                "127.0.0.1:%d inet n - n - 20 pop3d -o pop3d_tls_wrappermode=yes\n"
                "127.0.0.1:%d inet n - n - 60 imapd\n"
                "127.0.0.1:%d inet n - n - 20 imapd -o imapd_tls_wrappermode=yes\n"
                "auth unix - - n - 1 authd\n" % (
                    self.smtps_port, smtpd_maxproc, self.pop3_port,
                    self.pop3s_port, self.imap_port, self.imaps_port))
        self.main_cf.update(main_cf)
        self.master_cf_text = master_cf or (
            "# service type private unpriv chroot wakeup maxproc command\n"
            "127.0.0.1:%d inet n - n - %d smtpd\n"
            "qmgr unix n - n 300 1 qmgr\n"
            "local unix - - n - - local\n" % (self.port, smtpd_maxproc)
            + access_cf)
        self.write_config()
        Instance.all_instances.append(self)

    # -- files

    def write_config(self):
        for d in (self.etc, self.queue, self.mail, self.logdir, self.data):
            os.makedirs(d, exist_ok=True)
        self.write_main_cf()
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write(self.master_cf_text)
        with open(os.path.join(self.etc, "vmailbox"), "w", encoding="utf-8") as f:
            for k, v in self.users.items():
                f.write("%s %s\n" % (k, v))
        with open(os.path.join(self.etc, "virtual"), "w", encoding="utf-8") as f:
            for k, v in self.aliases.items():
                f.write("%s %s\n" % (k, v))
        if self.passwd_file:
            self.write_passwd_file()
        open(self.maillog, "a").close()
        if IS_ROOT:
            for d in (self.queue, self.mail, self.logdir, self.maillog, self.data):
                os.chown(d, self.owner.pw_uid, self.owner.pw_gid)

    def write_passwd_file(self, passwords=None):
        """Writes the passwd-file: every user with password_of() unless
        passwords (address -> password) says otherwise."""
        with open(self.passwd_file, "w", encoding="utf-8") as f:
            for addr in self.users:
                pw = (passwords or {}).get(addr, password_of(addr))
                f.write("%s:%s::::::\n" % (addr, hash_password(pw)))
        if IS_ROOT:
            os.chown(self.passwd_file, self.owner.pw_uid, self.owner.pw_gid)
        os.chmod(self.passwd_file, 0o600)

    def ssl_context(self):
        """A client TLS context that trusts the instance's certificate."""
        import ssl
        ctx = ssl.create_default_context(cafile=self.cert)
        ctx.check_hostname = False
        return ctx

    def pop3(self, timeout=15):
        import poplib
        return poplib.POP3("127.0.0.1", self.pop3_port, timeout=timeout)

    def pop3s(self, timeout=15):
        import poplib
        return poplib.POP3_SSL("127.0.0.1", self.pop3s_port,
                               context=self.ssl_context(), timeout=timeout)

    def imap(self, timeout=15):
        import imaplib
        return imaplib.IMAP4("127.0.0.1", self.imap_port, timeout=timeout)

    def imaps(self, timeout=15):
        import imaplib
        return imaplib.IMAP4_SSL("127.0.0.1", self.imaps_port,
                                 ssl_context=self.ssl_context(),
                                 timeout=timeout)

    def write_main_cf(self, extra_lines=""):
        with open(os.path.join(self.etc, "main.cf"), "w", encoding="utf-8") as f:
            f.write("# integration test instance\n")
            for k, v in self.main_cf.items():
                if v is not None:
                    f.write("%s = %s\n" % (k, v))
            f.write(extra_lines)

    def set_main_cf(self, **kv):
        self.main_cf.update(kv)
        self.write_main_cf()

    # -- processes

    def env(self):
        env = dict(os.environ)
        san = os.path.join(self.logdir, "sanitizer")
        env["ASAN_OPTIONS"] = ("detect_leaks=1:halt_on_error=1:abort_on_error=0:"
                               "quarantine_size_mb=16:log_path=" + san)
        env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1:log_path=" + san
        env["LSAN_OPTIONS"] = "log_path=" + san
        return env

    def start(self, wait=True, timeout=30):
        """Starts master in the foreground as a child of this process and
        waits (bounded) until the SMTP port answers with a 220."""
        assert self.proc is None or self.proc.poll() is not None
        self.stderr_file = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen(
            [os.path.join(DAEMON_DIR, "master"), "-c", self.etc, "-f"],
            stdin=subprocess.DEVNULL, stdout=self.stderr_file,
            stderr=subprocess.STDOUT, env=self.env(), start_new_session=True)
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=30):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("master exited with %s at start\n%s" % (
                    self.proc.returncode, self.diagnostics()))
            try:
                with Raw(self.port, timeout=5) as r:
                    if r.greeting[0] == 220:
                        r.send(b"QUIT\r\n")
                        return
                    last = r.greeting
            except (OSError, EOFError, ValueError) as e:
                last = e
            time.sleep(0.1)
        raise AssertionError("instance not ready in %ss (%r)\n%s" % (
            timeout, last, self.diagnostics()))

    @property
    def master_pid(self):
        return self.proc.pid if self.proc else None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def processes(self, name=None):
        """Live children of the master (pids), only those whose program
        is name ("smtpd", "qmgr", "local") when given."""
        if not self.running():
            return []
        out = []
        for pid in all_pids():
            if proc_ppid(pid) != self.proc.pid:
                continue
            argv = proc_cmdline(pid)
            if name is None or (argv and os.path.basename(argv[0]) == name):
                out.append(pid)
        return out

    def kill_service(self, name, sig=signal.SIGKILL):
        """Signals every child of master running program name; returns
        the pids signalled."""
        pids = self.processes(name)
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        return pids

    def wait_service(self, name, timeout=20, exclude=()):
        """Waits until master runs a process of name (not one of
        exclude); returns its pid or None."""
        def found():
            for pid in self.processes(name):
                if pid not in exclude:
                    return pid
            return None
        return wait_until(found, timeout)

    def crash(self):
        """kill -9 of the master and every descendant at once, as a power
        cut would: nothing gets to clean up."""
        if not self.running():
            return
        pids = [self.proc.pid] + descendants(self.proc.pid)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(timeout=10)
        wait_until(lambda: not any(alive(p) for p in pids), 10)
        self.stderr_file.close()

    def stop(self, timeout=15):
        """SIGTERM to the master, bounded wait, then SIGKILL of whatever
        is left. Returns master's exit status (None if it had to be
        killed)."""
        if self.proc is None:
            return None
        status = self.proc.poll()
        kids = descendants(self.proc.pid) if status is None else []
        if status is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                status = self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                status = None
        left = [p for p in kids + descendants(self.proc.pid) if alive(p)]
        if status is None or left:
            wait_until(lambda: not any(alive(p) for p in left), 5)
            for pid in [self.proc.pid] + left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.proc.wait(timeout=10)
        self.stderr_file.close()
        return status

    def cleanup(self):
        """Stops and removes the directory (kept when SUREL_TEST_KEEP=1).
        Returns sanitizer reports found, for the caller to fail on."""
        try:
            self.stop()
        finally:
            reports = self.sanitizer_reports()
            if self in Instance.all_instances:
                Instance.all_instances.remove(self)
            if self.own_tmp and not reports and os.environ.get("SUREL_TEST_KEEP") != "1":
                shutil.rmtree(self.dir, ignore_errors=True)
        return reports

    def cleanup_or_fail(self, what="sanitizer reports"):
        """cleanup(), then an AssertionError when the sanitizers reported
        anything (what names them in the message)."""
        reports = self.cleanup()
        if reports:
            raise AssertionError("%s:\n%s" % (what, "\n".join(reports)))

    def start_or_cleanup(self):
        """start(); an instance that does not start is cleaned up before
        the error goes on. Returns the instance."""
        try:
            self.start()
        except Exception:
            self.cleanup()
            raise
        return self

    # -- logs and diagnostics

    def log(self):
        try:
            with open(self.maillog, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def log_lines(self):
        return self.log().splitlines()

    def wait_log(self, regex, timeout=20, since=0):
        """Waits for a maillog line matching regex (after byte offset
        since); returns the match."""
        rx = re.compile(regex, re.M)

        def look():
            return rx.search(self.log()[since:])
        return wait_until(look, timeout, 0.1)

    def log_size(self):
        return len(self.log())

    def stderr_text(self):
        try:
            with open(self.stderr_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def sanitizer_reports(self):
        out = []
        for p in sorted(glob.glob(os.path.join(self.logdir, "sanitizer*"))) + [self.stderr_path]:
            try:
                with open(p, encoding="utf-8", errors="replace") as f:
                    text = f.read()
            except OSError:
                continue
            if any(m in text for m in SANITIZER_MARKS):
                out.append("%s:\n%s" % (p, text[:4000]))
        return out

    def diagnostics(self, lines=25):
        """The end of the log and of master's stderr, for failure
        messages."""
        log = self.log_lines()[-lines:]
        err = self.stderr_text().splitlines()[-10:]
        return ("--- maillog (%s), last %d lines:\n%s\n--- master stderr:\n%s" % (
            self.maillog, len(log), "\n".join(log), "\n".join(err)))

    # -- mail store and queue

    def maildir(self, address):
        return os.path.join(self.mail, self.users[address])

    def messages(self, address):
        """Paths of delivered messages (new/ and cur/), oldest first."""
        d = self.maildir(address)
        files = []
        for sub in ("new", "cur"):
            try:
                files += [os.path.join(d, sub, n) for n in os.listdir(os.path.join(d, sub))]
            except OSError:
                pass
        return sorted(files, key=lambda p: (os.path.getmtime(p), p))

    def tmp_files(self, address):
        try:
            return os.listdir(os.path.join(self.maildir(address), "tmp"))
        except OSError:
            return []

    def wait_for_maildir(self, address, count, timeout=20):
        """Waits until address has at least count messages; returns them
        as bytes. Fails with the log's end on timeout."""
        got = wait_until(lambda: len(self.messages(address)) >= count, timeout, 0.05)
        if not got:
            raise AssertionError("%s: %d message(s) after %ss, wanted %d\n%s" % (
                address, len(self.messages(address)), timeout, count,
                self.diagnostics()))
        return [read_file(p) for p in self.messages(address)]

    def find_message(self, address, marker, timeout=20):
        """The delivered message of address containing marker (bytes)."""
        if isinstance(marker, str):
            marker = marker.encode()
        def look():
            for p in self.messages(address):
                data = read_file(p)
                if marker in data:
                    return data
            return None
        data = wait_until(look, timeout, 0.05)
        if data is None:
            raise AssertionError("%s: no message with %r after %ss\n%s" % (
                address, marker, timeout, self.diagnostics()))
        return data

    def count_marker(self, marker):
        """How many delivered messages, over every mailbox, contain
        marker."""
        if isinstance(marker, str):
            marker = marker.encode()
        n = 0
        for addr in self.users:
            for p in self.messages(addr):
                if marker in read_file(p):
                    n += 1
        return n

    def queue_files(self, subdir):
        """Files under queue/subdir (deferred/ recursively)."""
        out = []
        for dirpath, _, names in os.walk(os.path.join(self.queue, subdir)):
            out += [os.path.join(dirpath, n) for n in names]
        return out

    def queue_empty(self):
        """No message waits in incoming/ (complete files, mode 0700),
        active/ or deferred/."""
        for p in self.queue_files("incoming"):
            try:
                if os.stat(p).st_mode & 0o100:
                    return False
            except OSError:
                pass
        return not self.queue_files("active") and not self.queue_files("deferred")

    def deliver(self, address, n=1, prefix="m", body=None, subject="test"):
        """n messages to address through SMTP, one at a time, each waited
        for in the Maildir (so delivery order is UID order). body(marker),
        when given, makes each message (str, CRLF). Returns the markers
        in delivery order."""
        markers = []
        for _ in range(n):
            m = new_marker(prefix)
            code, text, _ = self.send(address, marker=m, subject=subject,
                                      body=None if body is None else body(m))
            if code != 250:
                raise AssertionError("DATA to %s: %d %s" % (address, code,
                                                             text))
            self.find_message(address, m)
            markers.append(m)
        return markers

    def settle(self, timeout=30):
        """Sends a sentinel message to alice and waits until it is
        delivered and the queue is empty, so that a message that was
        wrongly accepted earlier would have been delivered by now."""
        m = new_marker("sentinel")
        code, text, _ = self.send("alice@example.test", marker=m)
        if code != 250:
            raise AssertionError("sentinel refused: %d %s" % (code, text))
        self.find_message("alice@example.test", m, timeout)
        if not wait_until(self.queue_empty, timeout, 0.1):
            raise AssertionError("queue not empty after %ss\n%s" % (
                timeout, self.diagnostics()))

    def server_pid(self, raw):
        """The smtpd process serving the Raw connection raw."""
        return wait_until(lambda: socket_server_pid(raw.sock, self.processes("smtpd")), 5)

    # -- clients

    def smtp(self, timeout=15):
        s = smtplib.SMTP("127.0.0.1", self.port, timeout=timeout)
        return s

    def raw(self, timeout=15, greeting=True):
        return Raw(self.port, timeout=timeout, greeting=greeting)

    def send(self, rcpts, body=None, sender="sender@remote.example",
             marker=None, subject="test", mail_options=(), rcpt_options=()):
        """One transaction with smtplib. Returns (code, text, queue_id)
        of the final reply. Raises on a refused MAIL/RCPT."""
        if isinstance(rcpts, str):
            rcpts = [rcpts]
        if body is None:
            body = make_message(sender, rcpts, marker or "none", subject)
        with self.smtp() as s:
            s.ehlo("client.example")
            code, text = s.mail(sender, list(mail_options))
            if code != 250:
                raise AssertionError("MAIL: %d %s" % (code, text))
            for r in rcpts:
                code, text = s.rcpt(r, list(rcpt_options))
                if code != 250:
                    raise AssertionError("RCPT %s: %d %s" % (r, code, text))
            code, text = s.data(body)
            text = text.decode("utf-8", "replace")
            return code, text, queue_id_of(text)

    def surel(self, *args, timeout=30):
        """Runs the surel command on this instance's config."""
        return subprocess.run([os.path.join(BIN_DIR, "surel"), "-c", self.etc] + list(args),
                              capture_output=True, text=True, timeout=timeout,
                              env=self.env())


def read_file(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return b""


def queue_id_of(text):
    m = re.search(r"queued as ([0-9A-Za-z]+)", text)
    return m.group(1) if m else None


def make_message(sender, rcpts, marker, subject="test", body=None,
                 extra_headers=""):
    """A small RFC 5322 message (str, CRLF) carrying marker in a header
    and in the body."""
    return ("From: <%s>\r\nTo: %s\r\nSubject: %s %s\r\n"
            "Message-ID: <%s@client.example>\r\nX-Marker: %s\r\n%s\r\n"
            "%s\r\nmarker %s\r\n" % (
                sender, ", ".join("<%s>" % r for r in rcpts), subject, marker,
                marker, marker, extra_headers,
                body if body is not None else "Hello from the test suite.",
                marker))


def parse(data):
    """A delivered message as an email.message.Message."""
    return email.message_from_bytes(data, policy=email.policy.compat32)


_marker_seq = [0]


def new_marker(prefix="m"):
    _marker_seq[0] += 1
    return "%s-%d-%d-%d" % (prefix, os.getpid(), int(time.time() * 1000) % 10**8,
                            _marker_seq[0])


class SharedInstanceCase(unittest.TestCase):
    """A test class whose tests share one instance (started on first use,
    stopped in tearDownClass). Set CONFIG (dict of main.cf overrides) in
    the subclass. A failed start fails every test of the class, each on
    its own."""

    CONFIG = {}
    INSTANCE_ARGS = {}
    _instance = None
    _start_error = None

    @classmethod
    def make_shared_instance(cls):
        """The instance the class shares, not yet started (override to
        set it up further)."""
        return Instance(**dict(cls.INSTANCE_ARGS, **cls.CONFIG))

    @classmethod
    def instance(cls):
        if cls.__dict__.get("_start_error"):
            raise AssertionError("instance did not start: %s" % cls._start_error)
        if cls.__dict__.get("_instance") is None:
            inst = cls.make_shared_instance()
            try:
                inst.start()
            except Exception as e:
                cls._start_error = str(e)
                inst.cleanup()
                raise
            cls._instance = inst
        return cls._instance

    def setUp(self):
        self.inst = self.instance()

    @classmethod
    def tearDownClass(cls):
        inst = cls.__dict__.get("_instance")
        cls._instance = None
        if inst is not None:
            inst.cleanup_or_fail()


class MailboxPerTestCase(SharedInstanceCase):
    """A class whose tests share one instance with mail access and a
    mailbox each (users_of the class, no aliases): test_foo is
    foo@example.test (self.addr). INSTANCE_ARGS and CONFIG add to or
    override that."""

    INSTANCE_ARGS = {"access": True, "aliases": {}}

    @classmethod
    def make_shared_instance(cls):
        args = dict(cls.INSTANCE_ARGS, **cls.CONFIG)
        args.setdefault("users", users_of(cls))
        return Instance(**args)

    @property
    def addr(self):
        return "%s@%s" % (self._testMethodName[len("test_"):], TEST_DOMAIN)


class ClientProgramCase(SharedInstanceCase):
    """Tests that run real mail clients (fetchmail, mbsync...): each test
    has a private HOME (self.home, mode HOME_MODE) for their rc and state
    files, and run_client() bounds every run by CLIENT_TIMEOUT."""

    HOME_MODE = 0o700
    CLIENT_TIMEOUT = 60

    def setUp(self):
        super().setUp()
        self.home = tempfile.mkdtemp(prefix="surel-client-")
        self.addCleanup(shutil.rmtree, self.home, True)
        os.chmod(self.home, self.HOME_MODE)

    def run_client(self, argv, what, env=None):
        """(exit status, stdout and stderr as text) of argv run with HOME
        and env; fails with the instance's log when it does not end in
        time."""
        env = dict(os.environ, HOME=self.home, LC_ALL="C", **(env or {}))
        try:
            p = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL,
                               capture_output=True,
                               timeout=self.CLIENT_TIMEOUT)
        except subprocess.TimeoutExpired as e:
            raise AssertionError("%s did not finish in %ss: %r\n%s" % (
                what, self.CLIENT_TIMEOUT, e.output, self.inst.diagnostics()))
        return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")

    def fetchmail_tls_options(self):
        """fetchmail's user options that trust the instance's certificate
        (checked against its name, not the "via" address)."""
        return ['sslcertfile "%s"' % self.inst.cert, "sslcertck",
                'sslcommonname "mx.example.test"']

    def run_fetchmail(self, protocol, port, user, password, options,
                      outdir, server_options=""):
        """One fetchmail run (poll once) of user's mail over protocol
        ("POP3", "IMAP") from port, with the user options given
        (keep/nokeep, ssl...) and server options (uidl), delivering each
        message into HOME/outdir through an MDA. (exit status, output)."""
        out = os.path.join(self.home, outdir)
        os.makedirs(out, exist_ok=True)
        rc = os.path.join(self.home, "fetchmailrc")
        with open(rc, "w") as f:
            f.write('set no bouncemail\n'
                    'poll localhost via 127.0.0.1 protocol %s port %d '
                    'timeout 30 %s\n'
                    '  user "%s" there with password "%s" is "nobody" here\n'
                    '  %s\n'
                    '  mda "cat > $(mktemp %s/msg.XXXXXX)"\n' % (
                        protocol, port, server_options, user, password,
                        " ".join(options), out))
        # fetchmail refuses an rc file others can read.
        os.chmod(rc, 0o600)
        return self.run_client(
            [shutil.which("fetchmail"), "-v", "--nosyslog", "-f", rc,
             "--pidfile", os.path.join(self.home, "fetchmail.pid"),
             "--idfile", os.path.join(self.home, "fetchids")],
            "fetchmail", env={"FETCHMAILHOME": self.home})


class OwnInstanceCase(unittest.TestCase):
    """A test that makes its own instances with self.new_instance(); they
    are stopped (and checked for sanitizer reports) even when it fails."""

    def new_instance(self, start=True, **kw):
        inst = Instance(**kw)
        self.addCleanup(self._cleanup_instance, inst)
        if start:
            inst.start()
        return inst

    def _cleanup_instance(self, inst):
        inst.cleanup_or_fail()
