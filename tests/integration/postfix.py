"""postfix: a private Postfix 3.7 (Debian's package) for the integration
tests that use the real thing as surel's SMTP peer.

A Postfix is a main.cf and a master.cf of its own (nothing of the
system's /etc/postfix is read but the package's programs), a queue
directory and a data directory under one directory; its smtpd listens on
a free loopback port, it resolves no names (no DNS, no peer name look-up)
and delivers the domains it is given to Maildirs with its virtual(8)
agent, as the test's mail owner. Its log goes to a file (maillog_file
through postlogd). What bench/lib.sh's write_postfix knows, for a test.

Postfix's master must run as root (it binds, creates its queue and its
daemons drop to the postfix user), so an ordinary user skips
(skip_reason). The master runs in the foreground (`master -s`) as a
child of the test; stop() ends it by its pid with bounded waits. Python
3 standard library only.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from instance import free_port

MASTER = "/usr/lib/postfix/sbin/master"
IS_ROOT = os.geteuid() == 0

# Every service this instance needs, no chroot (no chroot tree to fill).
MASTER_CF = """\
# service type  private unpriv chroot wakeup maxproc command
127.0.0.1:{port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


def available():
    return os.access(MASTER, os.X_OK)


def skip_reason():
    if not available():
        return ("Postfix is not installed (dev/deps installs Debian's "
                "postfix package, configured as \"No configuration\")")
    if not IS_ROOT:
        return "a private Postfix needs root (its master runs as root)"
    return None


def _greets(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.settimeout(5)
            return s.recv(100).startswith(b"220")
    except OSError:
        return False


class Postfix:
    """One private Postfix. mailboxes: address -> Maildir path relative
    to base (ending in "/"), in the domains `domains` (virtual mailbox
    domains; any other recipient there is refused at RCPT with 550 5.1.1).
    owner: the pwd entry that owns the Maildirs (Instance.owner). extra:
    more main.cf parameters (dict). Call start(); stop() in tearDown."""

    def __init__(self, owner, domains, mailboxes, extra=None):
        self.owner = owner
        self.dir = tempfile.mkdtemp(prefix="surel-postfix-")
        # Postfix's daemons (user postfix) and virtual (the owner) reach
        # below it.
        os.chmod(self.dir, 0o755)
        self.etc = os.path.join(self.dir, "etc")
        self.queue = os.path.join(self.dir, "queue")
        self.data = os.path.join(self.dir, "data")
        self.base = os.path.join(self.dir, "mail")
        self.maillog = os.path.join(self.dir, "maillog")
        self.stderr_path = os.path.join(self.dir, "master.stderr")
        self.port = free_port()
        self.proc = None
        for d in (self.etc, self.queue, self.data, self.base):
            os.makedirs(d, exist_ok=True)
        shutil.chown(self.data, "postfix")
        os.chown(self.base, owner.pw_uid, owner.pw_gid)
        open(self.maillog, "a").close()
        vmailbox = os.path.join(self.etc, "vmailbox")
        with open(vmailbox, "w") as f:
            for addr, path in mailboxes.items():
                f.write("%s %s\n" % (addr, path))
        self.mailboxes = dict(mailboxes)
        cf = {
            "compatibility_level": "3.6",
            "queue_directory": self.queue,
            "data_directory": self.data,
            "command_directory": "/usr/sbin",
            "daemon_directory": "/usr/lib/postfix/sbin",
            "meta_directory": "/etc/postfix",
            "shlib_directory": "/usr/lib/postfix",
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "myhostname": "peer.postfix.test",
            "mydomain": "postfix.test",
            "myorigin": "$myhostname",
            "mydestination": "",
            "relay_domains": "",
            "local_recipient_maps": "",
            "alias_maps": "",
            "alias_database": "",
            "mynetworks": "127.0.0.0/8",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "smtpd_peername_lookup": "no",
            "smtp_dns_support_level": "disabled",
            "biff": "no",
            # Headers stay as sent: no rewriting of addresses, no Date or
            # Message-ID added (the default rewrites for clients on our
            # own interface, which 127.0.0.1 is).
            "local_header_rewrite_clients": "",
            "maillog_file": self.maillog,
            "maillog_file_prefixes": self.dir,
            "virtual_mailbox_domains": " ".join(domains),
            "virtual_mailbox_base": self.base,
            "virtual_mailbox_maps": "texthash:" + vmailbox,
            "virtual_uid_maps": "static:%d" % owner.pw_uid,
            "virtual_gid_maps": "static:%d" % owner.pw_gid,
            "virtual_minimum_uid": str(min(owner.pw_uid, 100)),
        }
        cf.update(extra or {})
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            for k, v in cf.items():
                f.write("%s = %s\n" % (k, v))
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write(MASTER_CF.format(port=self.port))

    def start(self, timeout=20):
        # "postfix check" creates the queue's subdirectories (public,
        # private, pid, ...) with their owners; master needs them.
        chk = subprocess.run(["/usr/sbin/postfix", "-c", self.etc, "check"],
                             stdin=subprocess.DEVNULL, capture_output=True,
                             text=True, timeout=60)
        if chk.returncode != 0:
            raise AssertionError("postfix check failed (%d): %s%s" % (
                chk.returncode, chk.stdout, chk.stderr))
        err = open(self.stderr_path, "ab")
        try:
            self.proc = subprocess.Popen([MASTER, "-c", self.etc, "-s"],
                                         stdin=subprocess.DEVNULL,
                                         stdout=err, stderr=err)
        finally:
            err.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            if _greets(self.port):
                return self
            time.sleep(0.1)
        diag = self.diagnostics()
        self.stop()
        raise AssertionError("Postfix did not start\n" + diag)

    def stop(self):
        """SIGTERM to the master (it stops its daemons), bounded wait,
        SIGKILL if ignored; removes the directory."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None
        if os.environ.get("SUREL_TEST_KEEP") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)

    def log(self):
        try:
            with open(self.maillog, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def diagnostics(self, lines=25):
        log = self.log().splitlines()[-lines:]
        try:
            with open(self.stderr_path, errors="replace") as f:
                err = f.read().splitlines()[-10:]
        except OSError:
            err = []
        return "--- postfix maillog (%s):\n%s\n--- postfix master stderr:\n%s" % (
            self.maillog, "\n".join(log), "\n".join(err))

    def delivered(self, address):
        """The messages in address's Maildir new/ (bytes, by file name)."""
        new = os.path.join(self.base, self.mailboxes[address], "new")
        out = {}
        try:
            names = sorted(os.listdir(new))
        except OSError:
            return out
        for name in names:
            with open(os.path.join(new, name), "rb") as f:
                out[name] = f.read()
        return out
