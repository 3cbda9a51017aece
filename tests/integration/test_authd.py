"""authd over a real instance, spoken to directly on queue/private/auth in
its attribute protocol (doc/auth.md): verify and lookup, case-insensitive
names, the failure throttle (delays 1, 2, 4, 4 s per address and per user,
reset by a success, other clients served meanwhile), the fail2ban filter
of surel-authd(8) over the real maillog, passwd-file reloads (and a broken
new version that leaves the old table in force), a hash: table built with
surelmap, {PLAIN} refused unless allowed, surelpasswd, home/mail/quota
fields, garbage on the socket, many clients at once, and (as root) the
switch to auth_owner."""

import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from instance import (BIN_DIR, IS_ROOT, SRC, USERS, Instance, OwnInstanceCase,
                      SharedInstanceCase, alive, hash_password,
                      password_of, proc_cmdline, wait_until)

# The ASCII users: the log lines below count four users. The UTF-8 user
# (valid in a passwd-file too) has a test of its own.
AUTH_USERS = {k: v for k, v in USERS.items() if k.isascii()}
AUTH_USER = "surel-test-auth"

# Only what authd needs: no pop3d, no TLS.
MASTER_CF = (
    "127.0.0.1:%d inet n - n - 4 smtpd\n"
    "qmgr unix n - n 300 1 qmgr\n"
    "local unix - - n - - local\n"
    "auth unix - - n - 1 authd\n")

LOG_PREFIX = r"^\w{3} [ \d]\d \d\d:\d\d:\d\d \S+ surel/authd\[\d+\]: "


def instance_args(**main_cf):
    args = dict(access=True, users=AUTH_USERS, smtpd_tls_cert_file=None,
                smtpd_tls_key_file=None, auth_failure_delay="0s",
                auth_failure_delay_max="0s")
    args.update(main_cf)
    return args


def setup_instance(inst):
    """Rewrites master.cf with only the services authd's tests need."""
    inst.master_cf_text = MASTER_CF % inst.port
    inst.write_config()
    return inst


class AuthConn:
    """One connection to private/auth: requests out, replies in (dicts).
    Every read is bounded by timeout."""

    def __init__(self, inst, timeout=20):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(os.path.join(inst.queue, "private", "auth"))
        self.buf = b""

    @staticmethod
    def encode(attrs):
        return b"".join(("%s=%s\n" % kv).encode() for kv in attrs) + b"\n"

    def send(self, data):
        self.sock.sendall(data)

    def request(self, attrs):
        self.send(self.encode(attrs))
        return self.reply()

    def reply(self):
        while b"\n\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("authd closed the connection")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\n\n", 1)
        out = {}
        for line in msg.decode().split("\n"):
            k, v = line.split("=", 1)
            assert k not in out, "repeated attribute in %r" % msg
            out[k] = v
        return out

    def closed(self):
        """True when authd closes without a reply."""
        try:
            return self.sock.recv(65536) == b""
        except ConnectionResetError:
            return True

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


def verify_attrs(user, password, rip="127.0.0.1", service="pop3",
                 secured="yes"):
    return [("request", "verify"), ("service", service), ("user", user),
            ("password", password), ("rip", rip), ("secured", secured)]


def verify(inst, user, password, rip="127.0.0.1", **kw):
    """(reply, seconds taken) of one verify on a fresh connection."""
    with AuthConn(inst) as c:
        t0 = time.monotonic()
        r = c.request(verify_attrs(user, password, rip, **kw))
        return r, time.monotonic() - t0


def lookup(inst, user):
    with AuthConn(inst) as c:
        return c.request([("request", "lookup"), ("service", "pop3"),
                          ("user", user)])


def authd_pid(inst):
    """The running authd. master starts it on the first connection, so
    call this after a request."""
    return inst.wait_service("authd", 20)


def wait_verify(inst, user, password, status, timeout=15):
    """Retries until verify gives status (a table change is seen within a
    second or two); returns the last reply."""
    last = {}

    def check():
        last.clear()
        last.update(verify(inst, user, password)[0])
        return last.get("status") == status
    wait_until(check, timeout, 0.2)
    return last


class Basics(SharedInstanceCase):
    INSTANCE_ARGS = instance_args()

    @classmethod
    def make_shared_instance(cls):
        """SharedInstanceCase's, with authd's own master.cf."""
        return setup_instance(Instance(**cls.INSTANCE_ARGS))

    def test_socket_reachable_only_by_mail_owner(self):
        """private/auth is a socket of mail_owner, mode 0600, in the
        0700 private/ directory: only the daemons (mail_owner) reach it;
        as root, another user's process is refused."""
        import stat
        private = os.path.join(self.inst.queue, "private")
        path = os.path.join(private, "auth")
        st = os.stat(path)
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(st.st_mode & 0o777, 0o600)
        self.assertEqual(os.stat(private).st_mode & 0o777, 0o700)
        self.assertEqual(st.st_uid, self.inst.owner.pw_uid)
        if IS_ROOT:
            code = ("import socket,sys\n"
                    "s=socket.socket(socket.AF_UNIX)\n"
                    "try:\n s.connect(sys.argv[1]); print('connected')\n"
                    "except OSError as e: print(type(e).__name__)\n")
            r = subprocess.run(
                ["setpriv", "--reuid=65534", "--regid=65534",
                 "--clear-groups", sys.executable, "-c", code, path],
                capture_output=True, text=True, timeout=30)
            self.assertEqual(r.stdout.strip(), "PermissionError", r.stderr)

    def test_ok(self):
        r, _ = verify(self.inst, "alice@example.test", "pw-alice")
        self.assertEqual(r, {"status": "ok", "user": "alice@example.test"})

    def test_wrong_password(self):
        r, _ = verify(self.inst, "bob@example.test", "pw-alice",
                      rip="192.0.2.10")
        self.assertEqual(r, {"status": "fail",
                             "reason": "password mismatch"})
        self.assertTrue(self.inst.wait_log(
            LOG_PREFIX + r"warning: auth failure: service=pop3, "
            r"user=<bob@example\.test>, rip=192\.0\.2\.10, "
            r"reason=password mismatch, delay=0s$", 10),
            self.inst.diagnostics())

    def test_unknown_user(self):
        r, _ = verify(self.inst, "nobody@example.test", "pw-nobody")
        self.assertEqual(r, {"status": "fail", "reason": "unknown user"})
        self.assertEqual(lookup(self.inst, "nobody@example.test"),
                         {"status": "fail", "reason": "unknown user"})

    def test_case_insensitive(self):
        r, _ = verify(self.inst, "CAROL@Example.TEST", "pw-carol")
        self.assertEqual(r, {"status": "ok", "user": "carol@example.test"})
        # the password itself is case-sensitive
        r, _ = verify(self.inst, "carol@example.test", "PW-CAROL")
        self.assertEqual(r["status"], "fail")

    def test_lookup(self):
        self.assertEqual(lookup(self.inst, "Dave@example.org"),
                         {"status": "ok", "user": "dave@example.org"})

    def test_bad_names_and_passwords(self):
        for user in ("../etc@example.test", "a/b@example.test", "", ".."):
            r, _ = verify(self.inst, user, "x")
            self.assertEqual(r, {"status": "fail",
                                 "reason": "unknown user"}, user)
        r, _ = verify(self.inst, "alice@example.test", "p" * 1025)
        self.assertEqual(r, {"status": "fail",
                             "reason": "password too long"})
        r, _ = verify(self.inst, "alice@example.test", "")
        self.assertEqual(r["status"], "fail")

    def test_persistent_connection_pipelined(self):
        """Several requests in one write are answered in order."""
        reqs = [verify_attrs("alice@example.test", "pw-alice"),
                verify_attrs("alice@example.test", "wrong"),
                [("request", "lookup"), ("service", "imap"),
                 ("user", "bob@example.test")],
                verify_attrs("dave@example.org", "pw-dave")]
        with AuthConn(self.inst) as c:
            c.send(b"".join(AuthConn.encode(a) for a in reqs))
            got = [c.reply() for _ in reqs]
            # and the connection stays usable
            again = c.request(verify_attrs("bob@example.test", "pw-bob"))
        self.assertEqual([g["status"] for g in got],
                         ["ok", "fail", "ok", "ok"])
        self.assertEqual(got[2]["user"], "bob@example.test")
        self.assertEqual(again["status"], "ok")

    def test_garbage_dropped(self):
        good = verify_attrs("alice@example.test", "pw-alice")
        self.assertEqual(verify(self.inst, "alice@example.test",
                                "pw-alice")[0]["status"], "ok")
        pid = authd_pid(self.inst)
        bad = [
            b"hello world\n\n",
            b"GET / HTTP/1.0\r\n\r\n",
            b"request=verify\0\n\n",
            b"request=launch\nservice=pop3\nuser=a\n\n",
            AuthConn.encode(good + [("extra", "1")]),
            AuthConn.encode(good[:-1]),
            AuthConn.encode(good[:2] + good[1:]),
            AuthConn.encode([("request", "verify"), ("service", "pop3"),
                             ("user", "a"), ("password", "b"),
                             ("rip", "not-an-address"), ("secured", "yes")]),
            AuthConn.encode([("request", "verify"), ("service", "po p3"),
                             ("user", "a"), ("password", "b"),
                             ("rip", ""), ("secured", "yes")]),
            AuthConn.encode([("request", "verify"), ("service", "pop3"),
                             ("user", "a"), ("password", "b"),
                             ("rip", ""), ("secured", "maybe")]),
            b"user=" + b"x" * 100000 + b"\n\n",
            b"=x\n\n",
        ]
        for data in bad:
            with AuthConn(self.inst, timeout=10) as c:
                try:
                    c.send(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                self.assertTrue(c.closed(), data[:60])
        # a client that vanishes mid-request
        with AuthConn(self.inst) as c:
            c.send(b"request=verify\nservice=po")
        r, _ = verify(self.inst, "alice@example.test", "pw-alice")
        self.assertEqual(r["status"], "ok")
        self.assertEqual(authd_pid(self.inst), pid, "authd restarted")
        self.assertTrue(self.inst.wait_log(
            r"warning: dropping a client of private/auth: ", 10))

    def test_many_concurrent_clients(self):
        users = sorted(AUTH_USERS)
        errors = []
        # held connections at the same time as the busy ones
        idle = [AuthConn(self.inst) for _ in range(100)]

        def worker(n):
            try:
                for i in range(10):
                    u = users[(n + i) % len(users)]
                    ok = (n + i) % 3 != 0
                    pw = password_of(u) if ok else "wrong"
                    r, _ = verify(self.inst, u, pw,
                                  rip="198.51.100.%d" % (n % 250 + 1))
                    want = "ok" if ok else "fail"
                    if r.get("status") != want:
                        errors.append((u, pw, r))
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))
        threads = [threading.Thread(target=worker, args=(n,))
                   for n in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        for c in idle:
            c.close()
        self.assertFalse(any(t.is_alive() for t in threads))
        self.assertEqual(errors, [])

    def test_unknown_user_takes_as_long(self):
        """No timing oracle: an unknown user costs a hash check like a
        known one with a wrong password."""
        known, unknown = [], []
        for i in range(25):
            known.append(verify(self.inst, "bob@example.test",
                                "wrong-%d" % i)[1])
            unknown.append(verify(self.inst, "ghost%d@example.test" % i,
                                  "wrong-%d" % i)[1])
        known.sort()
        unknown.sort()
        ratio = unknown[12] / known[12]
        self.assertGreater(ratio, 0.5, (known[12], unknown[12]))
        self.assertLess(ratio, 2.0, (known[12], unknown[12]))

    def test_fail2ban_filter(self):
        """The filter of surel-authd(8) finds the client address of each
        failure in the real log, also when the user name tries to forge
        another rip=."""
        forged = "x>, rip=203.0.113.9, reason=y"
        verify(self.inst, forged, "pw", rip="192.0.2.77")
        verify(self.inst, "alice@example.test", "bad", rip="2001:db8::7")
        self.assertTrue(self.inst.wait_log(r"rip=2001:db8::7", 10))
        failregex = man_failregex()
        rx = re.compile(failregex.replace(
            "^%(__prefix_line)s", LOG_PREFIX).replace(
            "<HOST>", r"(?P<host>[0-9A-Fa-f:.]+)"))
        hosts = [m.group("host") for m in map(rx.search,
                                              self.inst.log_lines()) if m]
        self.assertIn("192.0.2.77", hosts)
        self.assertIn("2001:db8::7", hosts)
        self.assertNotIn("203.0.113.9", hosts)
        n_fail = sum("auth failure:" in l for l in self.inst.log_lines())
        self.assertEqual(len(hosts), n_fail)
        if shutil.which("fail2ban-regex") and os.path.exists(
                "/etc/fail2ban/filter.d/common.conf"):
            self.check_with_fail2ban(hosts)

    def check_with_fail2ban(self, hosts):
        """fail2ban-regex itself, when installed, with the man page's
        filter: it extracts the same addresses."""
        d = tempfile.mkdtemp(prefix="surel-f2b-")
        self.addCleanup(shutil.rmtree, d, True)
        conf = os.path.join(d, "surel-authd.conf")
        shutil.copy("/etc/fail2ban/filter.d/common.conf", d)
        with open(conf, "w") as f:
            f.write(man_filter())
        p = subprocess.run(["fail2ban-regex", "-o", "ip", self.inst.maillog,
                            conf], capture_output=True, text=True,
                           timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(p.stdout.split(), hosts, p.stderr)


def man_filter():
    """The fail2ban filter as surel-authd(8) prints it."""
    with open(os.path.join(SRC, "man", "surel-authd.8")) as f:
        text = f.read()
    m = re.search(r"fail2ban-filter-begin.*?\n(.*?)\.\\\" fail2ban-filter-end",
                  text, re.S)
    assert m, "no fail2ban filter in surel-authd.8"
    lines = [l for l in m.group(1).splitlines() if not l.startswith(".")]
    return "\n".join(lines).replace("\\e", "\\").replace("\\-", "-") + "\n"


def man_failregex():
    m = re.search(r"^failregex = (.*)$", man_filter(), re.M)
    assert m, "no failregex in the filter"
    return m.group(1)


class Throttle(OwnInstanceCase):
    """auth_failure_delay = 1s, auth_failure_delay_max = 4s: the fail
    replies of the nth failure come after 1, 2, 4, 4 seconds."""

    def setUp(self):
        self.inst = setup_instance(self.new_instance(
            start=False, **instance_args(auth_failure_delay="1s",
                                         auth_failure_delay_max="4s")))
        self.inst.start()

    def assertDelay(self, took, want, what):
        self.assertGreaterEqual(took, want - 0.05, what)
        self.assertLess(took, want + 0.9, what)

    def test_per_address_per_user_and_reset(self):
        results = {}

        def per_address():
            # one address, a new (unknown) user each time
            results["addr"] = [verify(self.inst, "u%d@example.test" % i, "x",
                                      rip="192.0.2.1")
                               for i in range(4)]

        def per_user():
            # one user, a new address each time
            results["user"] = [verify(self.inst, "bob@example.test", "x",
                                      rip="198.51.100.%d" % (i + 1))
                               for i in range(4)]
        threads = [threading.Thread(target=per_address),
                   threading.Thread(target=per_user)]
        for t in threads:
            t.start()
        # meanwhile another client is served at once
        time.sleep(1.5)
        r, took = verify(self.inst, "alice@example.test", "pw-alice",
                         rip="203.0.113.50")
        self.assertEqual(r["status"], "ok")
        self.assertLess(took, 0.5)
        for t in threads:
            t.join(60)
        for key in ("addr", "user"):
            got = results[key]
            self.assertEqual([r["status"] for r, _ in got], ["fail"] * 4)
            for (r, took), want in zip(got, (1, 2, 4, 4)):
                self.assertDelay(took, want, "%s: %r" % (key, got))
        for want in ("1s", "2s", "4s"):
            self.assertTrue(self.inst.wait_log(
                r"user=<bob@example\.test>, rip=198\.51\.100\.\d, "
                r"reason=password mismatch, delay=%s$" % want, 5))

    def test_success_resets(self):
        rip = "192.0.2.200"
        for want in (1, 2):
            r, took = verify(self.inst, "carol@example.test", "x", rip=rip)
            self.assertDelay(took, want, "failure %d" % want)
        r, took = verify(self.inst, "carol@example.test", "pw-carol", rip=rip)
        self.assertEqual(r["status"], "ok")
        self.assertLess(took, 0.5)
        # the user is forgiven: from elsewhere her next failure is a
        # first one; her address is not (a valid account must not reset
        # the count of an address that guesses at others)
        r, took = verify(self.inst, "carol@example.test", "x",
                         rip="192.0.2.201")
        self.assertEqual(r["status"], "fail")
        self.assertDelay(took, 1, "user after the success")
        r, took = verify(self.inst, "dave@example.org", "x", rip=rip)
        self.assertEqual(r["status"], "fail")
        self.assertDelay(took, 4, "address after the success")

    def test_reload_during_delay(self):
        """A fail reply held back when master reloads is still sent by
        the old authd."""
        self.assertEqual(verify(self.inst, "dave@example.org",
                                "pw-dave")[0]["status"], "ok")
        old = authd_pid(self.inst)
        with AuthConn(self.inst) as c:
            c.send(AuthConn.encode(verify_attrs("dave@example.org", "x")))
            time.sleep(0.3)
            os.kill(self.inst.master_pid, signal.SIGHUP)
            t0 = time.monotonic()
            r = c.reply()
            took = time.monotonic() - t0
        self.assertEqual(r, {"status": "fail",
                             "reason": "password mismatch"})
        self.assertLess(took, 2)
        self.assertTrue(wait_until(lambda: not alive(old), 10))
        self.assertEqual(verify(self.inst, "dave@example.org",
                                "pw-dave")[0]["status"], "ok")

    def test_client_gone_during_delay(self):
        self.assertEqual(verify(self.inst, "dave@example.org",
                                "pw-dave")[0]["status"], "ok")
        pid = authd_pid(self.inst)
        c = AuthConn(self.inst)
        c.send(AuthConn.encode(verify_attrs("dave@example.org", "x")))
        c.close()
        time.sleep(1.5)
        r, _ = verify(self.inst, "dave@example.org", "pw-dave")
        self.assertEqual(r["status"], "ok")
        self.assertEqual(authd_pid(self.inst), pid)


def slow_hash(password):
    """A bcrypt hash of cost 12: a check takes a visible ~0.1-0.5 s."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
        return "{BLF-CRYPT}" + crypt.crypt(
            password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << 12))


def replace_passwd_file(inst, extra_lines):
    """A new passwd-file (every user, then extra_lines) renamed over the
    old one at once, as surelpasswd does."""
    text = "".join("%s:%s\n" % (a, hash_password(password_of(a)))
                   for a in inst.users)
    tmp = inst.passwd_file + ".new"
    with open(tmp, "w") as f:
        f.write(text + extra_lines)
    st = os.stat(inst.passwd_file)
    if IS_ROOT:
        os.chown(tmp, st.st_uid, st.st_gid)
    os.chmod(tmp, 0o600)
    os.replace(tmp, inst.passwd_file)


class Tables(OwnInstanceCase):

    def make(self, start=True, **main_cf):
        inst = setup_instance(self.new_instance(start=False,
                                                **instance_args(**main_cf)))
        if start:
            inst.start()
        return inst

    def test_passwd_file_reload(self):
        inst = self.make()
        self.assertEqual(verify(inst, "alice@example.test",
                                "pw-alice")[0]["status"], "ok")
        pid = authd_pid(inst)
        inst.write_passwd_file({"alice@example.test": "new-secret"})
        r = wait_verify(inst, "alice@example.test", "new-secret", "ok")
        self.assertEqual(r["status"], "ok", inst.diagnostics())
        self.assertEqual(verify(inst, "alice@example.test",
                                "pw-alice")[0]["status"], "fail")
        self.assertEqual(authd_pid(inst), pid, "not reloaded in place")
        self.assertTrue(inst.wait_log(
            r"surel/authd\[\d+\]: passwd-file:\S+: reloaded, 4 users$", 5))
        self.assertTrue(inst.wait_log(
            r"surel/authd\[\d+\]: starting: 1 user table: "
            r"passwd-file:\S+ \(4 users\)$", 5))

    def test_broken_file_keeps_old_table(self):
        inst = self.make()
        self.assertEqual(verify(inst, "bob@example.test",
                                "pw-bob")[0]["status"], "ok")
        with open(inst.passwd_file, "a") as f:
            f.write("bob@EXAMPLE.test:{PLAIN}dup::::::\n")
        self.assertTrue(inst.wait_log(
            r"passwd-file:\S+: duplicate user .*; keeping the previous "
            r"table \(4 users\)$", 10), inst.diagnostics())
        self.assertEqual(verify(inst, "bob@example.test",
                                "pw-bob")[0]["status"], "ok")
        # fixed again: picked up
        inst.write_passwd_file({"bob@example.test": "fixed"})
        self.assertEqual(wait_verify(inst, "bob@example.test", "fixed",
                                     "ok")["status"], "ok")

    def test_unreadable_table_is_tempfail(self):
        inst = self.make(start=False)
        missing = os.path.join(inst.etc, "missing")
        inst.set_main_cf(auth_user_maps="passwd-file:" + missing)
        inst.start()
        r, _ = verify(inst, "alice@example.test", "pw-alice")
        self.assertEqual(r, {"status": "tempfail",
                             "reason": "user table unavailable"})
        with open(missing, "w") as f:
            f.write("alice@example.test:%s\n" % hash_password("pw-alice"))
        if IS_ROOT:
            os.chown(missing, inst.owner.pw_uid, inst.owner.pw_gid)
        self.assertEqual(wait_verify(inst, "alice@example.test", "pw-alice",
                                     "ok")["status"], "ok")

    def test_hash_table_and_fields(self):
        inst = self.make(start=False)
        src = os.path.join(inst.etc, "authusers")
        extra = os.path.join(inst.etc, "extra")
        with open(src, "w") as f:
            f.write("# built with surelmap\n")
            f.write("Erin@Example.test %s::::/srv/erin::"
                    "userdb_quota_rule=*:storage=2M\n"
                    % hash_password("pw-erin"))
        subprocess.run([os.path.join(BIN_DIR, "surelmap"), "hash:" + src],
                       check=True, timeout=30)
        with open(extra, "w") as f:
            f.write("frank@example.test:%s:::x:/home/frank::"
                    "userdb_mail=maildir:~/Maildir:INDEX=/x "
                    "userdb_quota_rule=*:storage=10k "
                    "userdb_quota_rule2=Trash:storage=+1M\n"
                    % hash_password("pw-frank"))
            f.write("gina@example.test:%s::::::mail=/var/mail/%%d/%%n\n"
                    % hash_password("pw-gina"))
        for p in (src, src + ".db", extra):
            if IS_ROOT:
                os.chown(p, inst.owner.pw_uid, inst.owner.pw_gid)
        inst.set_main_cf(auth_user_maps="passwd-file:%s, hash:%s, "
                         "passwd-file:%s" % (inst.passwd_file, src, extra))
        inst.start()
        r, _ = verify(inst, "erin@example.test", "pw-erin")
        self.assertEqual(r, {"status": "ok", "user": "erin@example.test",
                             "home": "/srv/erin", "quota": "2097152"})
        self.assertEqual(verify(inst, "erin@example.test",
                                "pw-alice")[0]["status"], "fail")
        r, _ = verify(inst, "Frank@example.test", "pw-frank")
        self.assertEqual(r, {"status": "ok", "user": "frank@example.test",
                             "home": "/home/frank",
                             "mail": "/home/frank/Maildir",
                             "quota": "10240"})
        self.assertEqual(lookup(inst, "gina@example.test"),
                         {"status": "ok", "user": "gina@example.test",
                          "mail": "/var/mail/example.test/gina"})
        # the first table still answers for its users
        self.assertEqual(verify(inst, "alice@example.test",
                                "pw-alice")[0]["status"], "ok")
        self.assertTrue(inst.wait_log(r"starting: 3 user tables: ", 5))

    def test_plain_refused_unless_allowed(self):
        inst = self.make(start=False)
        with open(inst.passwd_file, "a") as f:
            f.write("plain@example.test:{PLAIN}clear-text\n")
        inst.start()
        r, _ = verify(inst, "plain@example.test", "clear-text")
        self.assertEqual(r, {"status": "fail",
                             "reason": "PLAIN passwords are not allowed"})
        self.assertTrue(inst.wait_log(
            r"user=<plain@example\.test>, rip=127\.0\.0\.1, "
            r"reason=PLAIN passwords are not allowed", 10))
        old = authd_pid(inst)
        inst.set_main_cf(auth_allow_plain_passwords="yes")
        os.kill(inst.master_pid, signal.SIGHUP)
        # the old authd leaves; master starts a new one for the next client
        self.assertTrue(wait_until(lambda: not alive(old), 20),
                        inst.diagnostics())
        r = wait_verify(inst, "plain@example.test", "clear-text", "ok")
        self.assertEqual(r, {"status": "ok", "user": "plain@example.test"})
        self.assertEqual(verify(inst, "plain@example.test",
                                "Clear-text")[0]["status"], "fail")

    def test_success_cache(self):
        """A second login skips the slow hash; a changed password in the
        table is not served from the cache."""
        inst = self.make(start=False)
        with open(inst.passwd_file, "a") as f:
            f.write("slow@example.test:%s\n" % slow_hash("pw-slow"))
        inst.start()
        r, first = verify(inst, "slow@example.test", "pw-slow")
        self.assertEqual(r["status"], "ok")
        self.assertGreater(first, 0.05, "bcrypt cost 12 is not that fast")
        again = min(verify(inst, "slow@example.test", "pw-slow")[1]
                    for _ in range(3))
        self.assertLess(again, first / 4, (first, again))
        # a wrong password is never answered from the cache
        r, took = verify(inst, "slow@example.test", "pw-slow!")
        self.assertEqual(r["status"], "fail")
        self.assertGreater(took, first / 4)
        # a new password in the table: the old one no longer works
        replace_passwd_file(inst, "slow@example.test:%s\n"
                            % slow_hash("new-slow"))
        r = wait_verify(inst, "slow@example.test", "pw-slow", "fail")
        self.assertEqual(r, {"status": "fail",
                             "reason": "password mismatch"})
        self.assertEqual(verify(inst, "slow@example.test",
                                "new-slow")[0]["status"], "ok")

    def test_hash_time_hidden_in_delay(self):
        """The fail reply's delay runs from the request's arrival: a wrong
        password for a user with a slow hash takes as long as one for an
        unknown user (checked against the fast dummy), not delay plus
        the hash."""
        inst = self.make(start=False, auth_failure_delay="1s",
                         auth_failure_delay_max="4s")
        with open(inst.passwd_file, "a") as f:
            f.write("slow@example.test:%s\n" % slow_hash("pw-slow"))
        inst.start()
        r, hash_time = verify(inst, "slow@example.test", "pw-slow",
                              rip="192.0.2.1")
        self.assertEqual(r["status"], "ok")
        self.assertGreater(hash_time, 0.05, "bcrypt cost 12 is not that fast")
        r, known = verify(inst, "slow@example.test", "wrong", rip="192.0.2.2")
        self.assertEqual(r["status"], "fail")
        r, unknown = verify(inst, "ghost@example.test", "wrong",
                            rip="192.0.2.3")
        self.assertEqual(r["status"], "fail")
        for took in (known, unknown):
            self.assertGreaterEqual(took, 0.95, (known, unknown))
        self.assertLess(abs(known - unknown), hash_time / 2,
                        (known, unknown, hash_time))

    def test_utf8_user(self):
        """An internationalised user name (RFC 6531) logs in; in the
        failure log line its non-ASCII bytes are octal escapes."""
        inst = self.make(users=USERS)
        name = next(u for u in USERS if not u.isascii())
        r, _ = verify(inst, name, password_of(name))
        self.assertEqual(r, {"status": "ok", "user": name})
        r, _ = verify(inst, name, "wrong", rip="192.0.2.44")
        self.assertEqual(r["status"], "fail")
        esc = "".join(c if c.isascii() else "".join(
            "\\%03o" % b for b in c.encode()) for c in name)
        self.assertTrue(inst.wait_log(
            r"auth failure: service=pop3, user=<%s>, rip=192\.0\.2\.44, "
            r"reason=password mismatch" % re.escape(esc), 10),
            inst.diagnostics())

    def hold_connections(self, inst, n):
        """n connections to private/auth, each either held by authd or
        closed by it at once; returns (open, closed-by-authd) sockets."""
        socks = []
        deadline = time.monotonic() + 20
        while len(socks) < n:
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            c.settimeout(5)
            try:
                c.connect(os.path.join(inst.queue, "private", "auth"))
            except BlockingIOError:
                # the listen backlog is full until authd takes some
                c.close()
                self.assertLess(time.monotonic(), deadline,
                                "backlog never drained")
                time.sleep(0.05)
                continue
            socks.append(c)
        time.sleep(1.5)
        held, refused = [], []
        for c in socks:
            c.setblocking(False)
            try:
                (refused if c.recv(1) == b"" else held).append(c)
            except BlockingIOError:
                held.append(c)
            except ConnectionResetError:
                refused.append(c)
        return held, refused

    def count_log(self, inst, text):
        return sum(text in line for line in inst.log_lines())

    def test_low_fd_limit_refuses_clients(self):
        """Under a hard open-file limit lower than its 1024 clients,
        authd takes what fits and refuses the rest at accept; it does
        not run out of descriptors and spin on the listening socket."""
        import resource
        inst = self.make()
        self.assertEqual(inst.processes("authd"), [])
        # 160 descriptors: 64 kept for other uses, 96 for clients;
        # authd inherits the limit when master starts it
        resource.prlimit(inst.master_pid, resource.RLIMIT_NOFILE,
                         (160, 160))
        self.assertEqual(verify(inst, "alice@example.test",
                                "pw-alice")[0]["status"], "ok")
        held, refused = self.hold_connections(inst, 200)
        try:
            self.assertEqual(len(held), 96, inst.diagnostics())
            self.assertEqual(len(refused), 104)
            self.assertTrue(inst.wait_log(
                r"warning: 96 clients connected: refusing more", 5))
            self.assertTrue(inst.wait_log(
                r"warning: open file limit 160: at most 96 clients", 5))
            self.assertEqual(self.count_log(inst, "Too many open files"), 0)
        finally:
            for c in held + refused:
                c.close()
        r, _ = verify(inst, "alice@example.test", "pw-alice")
        self.assertEqual(r["status"], "ok")

    def test_out_of_descriptors_pauses_accept(self):
        """authd running out of descriptors leaves new clients in the
        backlog for a second at a time (one warning), instead of spinning
        on accept; it serves them once descriptors are free again."""
        import resource
        inst = self.make()
        self.assertEqual(verify(inst, "alice@example.test",
                                "pw-alice")[0]["status"], "ok")
        pid = authd_pid(inst)
        try:
            resource.prlimit(pid, resource.RLIMIT_NOFILE, (40, 40))
        except PermissionError:
            # root without CAP_SYS_RESOURCE may not touch another
            # user's limits
            self.skipTest("cannot lower authd's open file limit")
        held, refused = self.hold_connections(inst, 60)
        try:
            self.assertEqual(refused, [])
            time.sleep(2)
            self.assertTrue(inst.wait_log(
                r"warning: accept: Too many open files: pausing", 5),
                inst.diagnostics())
            self.assertLessEqual(self.count_log(inst, "Too many open files"),
                                 2)
        finally:
            for c in held[:45]:
                c.close()
        try:
            # the clients left in the backlog are taken up
            with AuthConn(inst, timeout=10) as c:
                r = c.request(verify_attrs("bob@example.test", "pw-bob"))
            self.assertEqual(r["status"], "ok")
        finally:
            for c in held[45:]:
                c.close()
        self.assertEqual(authd_pid(inst), pid)

    def test_fifo_table_does_not_hang(self):
        """A FIFO where the passwd-file should be is refused (tempfail),
        not opened for ever."""
        inst = self.make(start=False)
        fifo = os.path.join(inst.etc, "fifo-users")
        os.mkfifo(fifo, 0o600)
        if IS_ROOT:
            os.chown(fifo, inst.owner.pw_uid, inst.owner.pw_gid)
        inst.set_main_cf(auth_user_maps="passwd-file:" + fifo)
        inst.start()
        with AuthConn(inst, timeout=10) as c:
            r = c.request(verify_attrs("alice@example.test", "pw-alice"))
        self.assertEqual(r, {"status": "tempfail",
                             "reason": "user table unavailable"})
        self.assertTrue(inst.wait_log(r"fifo-users: not a regular file", 5))

    def test_surelpasswd_new_file(self):
        """surelpasswd creating the table: authd can read it (as root, the
        new file belongs to auth_owner, mode 0600)."""
        inst = self.make(start=False)
        path = os.path.join(inst.etc, "new-users")
        inst.set_main_cf(auth_user_maps="passwd-file:" + path)
        inst.start()
        self.surelpasswd(inst, "kim@example.test", stdin="kim's pw\n")
        st = os.stat(path)
        self.assertEqual(st.st_mode & 0o7777, 0o600)
        self.assertEqual(st.st_uid, inst.owner.pw_uid)
        r = wait_verify(inst, "kim@example.test", "kim's pw", "ok")
        self.assertEqual(r, {"status": "ok", "user": "kim@example.test"},
                         inst.diagnostics())

    def surelpasswd(self, inst, *args, stdin="", check=True):
        p = subprocess.run([os.path.join(BIN_DIR, "surelpasswd"), "-c",
                            inst.etc] + list(args), input=stdin,
                           capture_output=True, text=True, timeout=60)
        if check:
            self.assertEqual(p.returncode, 0, p.stderr)
        return p

    def test_surelpasswd(self):
        inst = self.make()
        before = os.stat(inst.passwd_file)
        self.surelpasswd(inst, "henry@example.test", stdin="henry's pw\n")
        r = wait_verify(inst, "henry@example.test", "henry's pw", "ok")
        self.assertEqual(r["status"], "ok", inst.diagnostics())
        after = os.stat(inst.passwd_file)
        self.assertEqual((after.st_uid, after.st_gid, after.st_mode),
                         (before.st_uid, before.st_gid, before.st_mode))
        # a new password for an existing user keeps the other users
        self.surelpasswd(inst, "-s", "SHA256-CRYPT", "ALICE@example.test",
                         stdin="changed\n")
        self.assertEqual(wait_verify(inst, "alice@example.test", "changed",
                                     "ok")["status"], "ok")
        with open(inst.passwd_file) as f:
            text = f.read()
        self.assertIn("alice@example.test:{SHA256-CRYPT}$5$", text)
        self.assertEqual(verify(inst, "bob@example.test",
                                "pw-bob")[0]["status"], "ok")
        # -n prints, changes nothing
        p = self.surelpasswd(inst, "-n", "ivan@example.test", stdin="x\n")
        self.assertRegex(p.stdout,
                         r"^ivan@example\.test:\{SHA512-CRYPT\}\$6\$\S+\n$")
        with open(inst.passwd_file) as f:
            self.assertNotIn("ivan@", f.read())
        # -d
        self.surelpasswd(inst, "-d", "henry@example.test")
        self.assertEqual(wait_verify(inst, "henry@example.test",
                                     "henry's pw", "fail")["reason"],
                         "unknown user")
        p = self.surelpasswd(inst, "-d", "henry@example.test", check=False)
        self.assertEqual(p.returncode, 1)
        for bad in ("a:b@example.test", "../x", "#x@example.test"):
            p = self.surelpasswd(inst, bad, stdin="x\n", check=False)
            self.assertEqual(p.returncode, 2, bad)
            self.assertIn("invalid user name", p.stderr)
        p = self.surelpasswd(inst, "j@example.test", stdin="", check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("empty password", p.stderr)

    @unittest.skipUnless(IS_ROOT, "needs root to switch users")
    def test_auth_owner(self):
        try:
            pw = pwd.getpwnam(AUTH_USER)
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home",
                            "--shell", "/usr/sbin/nologin", AUTH_USER],
                           check=True, timeout=30)
            pw = pwd.getpwnam(AUTH_USER)
        inst = self.make(start=False, auth_owner=AUTH_USER)
        os.chown(inst.passwd_file, pw.pw_uid, pw.pw_gid)
        inst.start()
        self.assertEqual(verify(inst, "alice@example.test",
                                "pw-alice")[0]["status"], "ok")
        pid = authd_pid(inst)
        with open("/proc/%d/status" % pid) as f:
            status = f.read()
        uids = re.search(r"^Uid:\s+(.*)$", status, re.M).group(1).split()
        self.assertEqual(set(map(int, uids)), {pw.pw_uid})
        self.assertEqual(os.path.basename(proc_cmdline(pid)[0]), "authd")
        # the other daemons stay mail_owner
        for smtpd in inst.processes("smtpd"):
            self.assertEqual(os.stat("/proc/%d" % smtpd).st_uid,
                             inst.owner.pw_uid)
        # and the table is not readable by mail_owner
        self.assertNotEqual(os.stat(inst.passwd_file).st_uid,
                            inst.owner.pw_uid)


if __name__ == "__main__":
    unittest.main()
