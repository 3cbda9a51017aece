"""dovecot: a private Dovecot 2.3 (Debian's package) for the integration
tests that check surel against the real thing.

A Dovecot is a dovecot.conf, a passwd-file, a base_dir and a state_dir
under one directory of its own; nothing of the system's configuration is
read or changed. It serves IMAP and POP3 on free loopback ports, and its
users' Maildirs are wherever the test says (the paths a surel Instance
uses), owned by the Instance's mail owner: as root, Dovecot's mail, login
and internal processes run as the test user surel-test; as an ordinary
user, everything runs as that user (Dovecot's "rootless" mode: no chroot,
no privileged ports).

Dovecot runs in the foreground (`dovecot -F`) as a child of the test;
stop() ends it by its pid with bounded waits. doveadm(...) runs doveadm
against this instance. Python 3 standard library only.
"""

import grp
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from instance import free_port  # noqa: F401 (one source of ports)

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
DOVEADM = shutil.which("doveadm") or "/usr/bin/doveadm"
IS_ROOT = os.geteuid() == 0

# pop3_uidl_format of the tests, Dovecot's recommended one and surel's
# default: UID and UIDVALIDITY in hex.
UIDL_FORMAT = "%08Xu%08Xv"


def available():
    """True when Debian's Dovecot (core, imapd and pop3d) is installed."""
    return (os.access(DOVECOT, os.X_OK) and os.access(DOVEADM, os.X_OK)
            and os.path.exists("/usr/lib/dovecot/imap")
            and os.path.exists("/usr/lib/dovecot/pop3"))


def skip_reason():
    return None if available() else (
        "Dovecot is not installed (dev/deps installs dovecot-core, "
        "dovecot-imapd and dovecot-pop3d)")


def _listening(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.settimeout(5)
            return s.recv(100).startswith((b"* OK", b"+OK"))
    except OSError:
        return False


class Dovecot:
    """One private Dovecot. users: address -> (password hash or None for
    instance.hash_password of the password, password, Maildir path).
    owner: the pwd entry of the mail owner (Instance.owner). extra: more
    dovecot.conf text appended at the end (settings given twice: the last
    wins). Call start(); stop() in tearDown (or cleanup())."""

    def __init__(self, owner, users, directory=None, extra="", cert=None,
                 key=None):
        self.owner = owner
        self.users = dict(users)
        self.own_dir = directory is None
        self.dir = directory or tempfile.mkdtemp(prefix="surel-dovecot-")
        os.makedirs(self.dir, exist_ok=True)
        # Login processes (the mail owner) reach base_dir below it.
        os.chmod(self.dir, 0o755)
        self.conf = os.path.join(self.dir, "dovecot.conf")
        self.passwd_file = os.path.join(self.dir, "users")
        self.base_dir = os.path.join(self.dir, "run")
        self.state_dir = os.path.join(self.dir, "state")
        self.log_path = os.path.join(self.dir, "dovecot.log")
        self.imap_port = free_port()
        self.pop3_port = free_port()
        self.cert, self.key = cert, key
        self.pop3s_port = free_port() if cert else 0
        self.imaps_port = free_port() if cert else 0
        self.extra = extra
        self.proc = None
        self.write_config()

    # -- files

    def write_config(self):
        for d in (self.base_dir, self.state_dir):
            os.makedirs(d, exist_ok=True)
        self.write_passwd_file()
        with open(self.conf, "w", encoding="utf-8") as f:
            f.write(self.config_text())
        open(self.log_path, "a").close()

    def write_passwd_file(self):
        from instance import hash_password
        uid, gid = self.owner.pw_uid, self.owner.pw_gid
        with open(self.passwd_file, "w", encoding="utf-8") as f:
            for addr, (hashed, password, maildir) in self.users.items():
                # user:password:uid:gid:gecos:home:shell:extra; the home
                # is the Maildir itself (mail_location = maildir:~).
                f.write("%s:%s:%d:%d::%s::\n" % (
                    addr, hashed or hash_password(password), uid, gid,
                    maildir.rstrip("/")))
        os.chmod(self.passwd_file, 0o600)
        if IS_ROOT:
            os.chown(self.passwd_file, self.owner.pw_uid, self.owner.pw_gid)

    def config_text(self):
        user = self.owner.pw_name
        group = grp.getgrgid(self.owner.pw_gid).gr_name
        lines = [
            "# Private Dovecot for surel's tests: nothing from /etc/dovecot.",
            "base_dir = %s" % self.base_dir,
            "state_dir = %s" % self.state_dir,
            "instance_name = surel-dovecot-%d" % os.getpid(),
            "log_path = %s" % self.log_path,
            "info_log_path = %s" % self.log_path,
            "protocols = imap pop3",
            "listen = 127.0.0.1",
            "disable_plaintext_auth = no",
            "auth_mechanisms = plain",
            "default_login_user = %s" % user,
            "default_internal_user = %s" % user,
            "default_internal_group = %s" % group,
            "first_valid_uid = %d" % self.owner.pw_uid,
            "last_valid_uid = %d" % self.owner.pw_uid,
            "first_valid_gid = %d" % min(self.owner.pw_gid, 1),
            "mail_location = maildir:~",
            "mail_fsync = always",
            "pop3_uidl_format = %s" % UIDL_FORMAT,
            "passdb {",
            "  driver = passwd-file",
            "  args = scheme=SHA512-CRYPT %s" % self.passwd_file,
            "}",
            "userdb {",
            "  driver = passwd-file",
            "  args = %s" % self.passwd_file,
            "}",
        ]
        if self.cert:
            lines += ["ssl = yes", "ssl_cert = <%s" % self.cert,
                      "ssl_key = <%s" % self.key]
        else:
            lines.append("ssl = no")
        # Without root there is no chroot and no user switch: every
        # service runs as the one user.
        chroot = [] if IS_ROOT else ["  chroot ="]
        lines += ["service imap-login {",
                  "  inet_listener imap {", "    port = %d" % self.imap_port, "  }",
                  "  inet_listener imaps {", "    port = %d" % self.imaps_port, "  }",
                  ] + chroot + ["}",
                  "service pop3-login {",
                  "  inet_listener pop3 {", "    port = %d" % self.pop3_port, "  }",
                  "  inet_listener pop3s {", "    port = %d" % self.pop3s_port, "  }",
                  ] + chroot + ["}"]
        if not IS_ROOT:
            lines += ["service anvil {", "  chroot =", "}",
                      "service auth-worker {", "  user = %s" % user, "}"]
        return "\n".join(lines) + "\n" + self.extra + "\n"

    def set_extra(self, extra):
        """Replaces the extra configuration (takes effect at start())."""
        self.extra = extra
        with open(self.conf, "w", encoding="utf-8") as f:
            f.write(self.config_text())

    # -- process

    def start(self, timeout=30):
        """Starts `dovecot -F` and waits (bounded) until both ports greet."""
        assert self.proc is None or self.proc.poll() is not None
        self.stderr = open(os.path.join(self.dir, "dovecot.stderr"), "ab")
        self.proc = subprocess.Popen(
            [DOVECOT, "-c", self.conf, "-F"], stdin=subprocess.DEVNULL,
            stdout=self.stderr, stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.stderr.close()
                raise AssertionError("dovecot exited with %s at start\n%s" % (
                    self.proc.returncode, self.diagnostics()))
            if _listening(self.imap_port) and _listening(self.pop3_port):
                return self
            time.sleep(0.1)
        self.stop()
        raise AssertionError("dovecot not ready in %ss\n%s" % (
            timeout, self.diagnostics()))

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=15):
        """SIGTERM to Dovecot's master (it ends its children and waits for
        them), bounded wait, then SIGKILL of its process group."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.proc.wait(timeout=10)
        # Children that outlived the master (none expected) are in its
        # session: end them too, by that process group only.
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if not self.stderr.closed:
            self.stderr.close()

    def cleanup(self):
        try:
            self.stop()
        finally:
            if self.own_dir and os.environ.get("SUREL_TEST_KEEP") != "1":
                shutil.rmtree(self.dir, ignore_errors=True)

    # -- tools and clients

    def doveadm(self, *args, timeout=60, check=True):
        """Runs `doveadm -c CONF args...`; returns its stdout (text)."""
        p = subprocess.run([DOVEADM, "-c", self.conf] + list(args),
                           stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError("doveadm %s: exit %d: %s%s" % (
                " ".join(args), p.returncode,
                p.stderr.decode("utf-8", "replace"), self.diagnostics()))
        return p.stdout.decode("utf-8", "replace")

    def imap(self, timeout=15):
        import imaplib
        return imaplib.IMAP4("127.0.0.1", self.imap_port, timeout=timeout)

    def pop3(self, timeout=15):
        import poplib
        return poplib.POP3("127.0.0.1", self.pop3_port, timeout=timeout)

    def log(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def problems(self):
        """Log lines of Dovecot complaining (errors, warnings, panics),
        except the master's note that the test stopped it."""
        return [l for l in self.log().splitlines()
                if re.search(r" (Error|Warning|Panic|Fatal): ", l)
                and "Killed with signal 15" not in l]

    def diagnostics(self, lines=25):
        log = self.log().splitlines()[-lines:]
        try:
            with open(os.path.join(self.dir, "dovecot.stderr"),
                      encoding="utf-8", errors="replace") as f:
                err = f.read().splitlines()[-10:]
        except OSError:
            err = []
        return "--- dovecot log (%s):\n%s\n--- dovecot stderr:\n%s" % (
            self.log_path, "\n".join(log), "\n".join(err))
