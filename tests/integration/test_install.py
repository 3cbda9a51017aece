"""make install DESTDIR=...: programs, daemons, configuration, man pages
and the systemd unit in their FHS places under the prefix; an existing
main.cf and master.cf are not overwritten by a second install; mailq.surel
and newaliases.surel link to sendmail.surel (uninstall removes them); the unit
passes systemd-analyze verify (when the machine has it) and holds its
hardening; `surel check` over the installed tree and a configuration made
with `surelconf -e` from the installed main.cf reports a clean state.

Needs a configured build directory: $SUREL_BUILD_DIR, default
build/normal (dev/test's)."""

import os
import pwd
import shutil
import subprocess
import tempfile
import unittest

from instance import IS_ROOT, SRC, ensure_test_user

BUILD = os.environ.get("SUREL_BUILD_DIR", os.path.join(SRC, "build", "normal"))

PROGRAMS = ("surel", "surelconf", "surelmap", "surelpasswd", "sureldkim", "surelsuper")
DAEMONS = ("master", "smtpd", "qmgr", "local", "smtp", "authd", "pop3d", "imapd", "anvil")
HARDENING = ("NoNewPrivileges=yes", "ProtectSystem=full", "ProtectHome=yes",
             "PrivateTmp=yes")
CAPS = ("CAP_NET_BIND_SERVICE", "CAP_SETUID", "CAP_SETGID", "CAP_CHOWN")


def make_var(name):
    p = subprocess.run(["make", "-s", "-C", BUILD, "-f", "Makefile", "-f", "-", "print-var"],
                       input="print-var:\n\t@echo $(%s)\n" % name,
                       capture_output=True, text=True, timeout=120, check=True)
    return p.stdout.strip()


@unittest.skipUnless(os.path.exists(os.path.join(BUILD, "Makefile")),
                     "no configured build directory in $SUREL_BUILD_DIR")
class InstallTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.prefix = make_var("prefix")

    def setUp(self):
        self.dest = tempfile.mkdtemp(prefix="surel-install-")
        os.chmod(self.dest, 0o755)
        self.root = self.dest + self.prefix

    def tearDown(self):
        shutil.rmtree(self.dest, ignore_errors=True)

    def install(self):
        p = subprocess.run(["make", "-C", BUILD, "install", "DESTDIR=" + self.dest],
                           capture_output=True, text=True, timeout=600)
        self.assertEqual(p.returncode, 0, p.stdout[-2000:] + p.stderr[-2000:])
        return p.stdout

    def path(self, rel):
        return os.path.join(self.root, rel)

    def test_fhs_places(self):
        self.install()
        for p in PROGRAMS:
            self.assertTrue(os.access(self.path("bin/" + p), os.X_OK), p)
        for d in DAEMONS:
            self.assertTrue(os.access(self.path("libexec/surel/" + d), os.X_OK), d)
        for f in ("main.cf", "master.cf"):
            with open(self.path("etc/surel/" + f)) as a, \
                    open(os.path.join(SRC, "conf", f)) as b:
                self.assertEqual(a.read(), b.read(), f)
            self.assertTrue(os.path.exists(self.path("share/doc/surel/examples/" + f)))
        for page in ("man1/surel.1", "man1/surelconf.1", "man5/surel.conf.5",
                     "man8/surel-master.8"):
            self.assertTrue(os.path.exists(self.path("share/man/" + page)), page)
        self.assertTrue(os.path.exists(self.path("lib/systemd/system/surel.service")))
        # Nothing outside the prefix.
        for top in os.listdir(self.dest):
            self.assertEqual("/" + top, "/" + self.prefix.split("/")[1])

    def test_mailq_newaliases_links(self):
        """mailq.surel and newaliases.surel: relative symbolic links to
        sendmail.surel beside it (so the DESTDIR tree is right wherever it
        lands), made again by a second install, removed by uninstall."""
        for _ in range(2):
            self.install()
            for n in ("mailq.surel", "newaliases.surel"):
                link = self.path("bin/" + n)
                self.assertTrue(os.path.islink(link), n)
                self.assertEqual(os.readlink(link), "sendmail.surel", n)
                self.assertTrue(os.path.samefile(
                    link, self.path("bin/sendmail.surel")), n)
        p = subprocess.run(["make", "-C", BUILD, "uninstall",
                            "DESTDIR=" + self.dest],
                           capture_output=True, text=True, timeout=600)
        self.assertEqual(p.returncode, 0, p.stdout[-2000:] + p.stderr[-2000:])
        for n in ("mailq.surel", "newaliases.surel", "sendmail.surel"):
            self.assertFalse(os.path.lexists(self.path("bin/" + n)), n)

    def test_config_not_overwritten(self):
        self.install()
        main = self.path("etc/surel/main.cf")
        master = self.path("etc/surel/master.cf")
        with open(main, "a") as f:
            f.write("myhostname = mine.example\n")
        with open(master, "w") as f:
            f.write("qmgr unix n - n 300 1 qmgr\n")
        out = self.install()
        self.assertIn("keeping the existing " + main, out)
        with open(main) as f:
            self.assertTrue(f.read().endswith("myhostname = mine.example\n"))
        with open(master) as f:
            self.assertEqual(f.read(), "qmgr unix n - n 300 1 qmgr\n")
        # The samples are still the shipped ones.
        with open(self.path("share/doc/surel/examples/main.cf")) as a, \
                open(os.path.join(SRC, "conf", "main.cf")) as b:
            self.assertEqual(a.read(), b.read())

    def test_systemd_unit(self):
        self.install()
        with open(self.path("lib/systemd/system/surel.service")) as f:
            unit = f.read()
        lines = unit.splitlines()
        bindir = make_var("bindir")
        self.assertIn("ExecStart=%s/surel -c %s/surel start-fg"
                      % (bindir, make_var("sysconfdir")), lines)
        self.assertIn("Type=simple", lines)
        self.assertNotIn("@", unit.replace("@.service", ""))
        for h in HARDENING:
            self.assertIn(h, lines)
        caps = [l for l in lines if l.startswith("CapabilityBoundingSet=")]
        self.assertEqual(len(caps), 1)
        for c in CAPS:
            self.assertIn(c, caps[0].split("=", 1)[1].split())
        analyze = shutil.which("systemd-analyze")
        if analyze is None:
            return
        # verify wants the programs where the unit says: point it at the
        # DESTDIR copy.
        local = os.path.join(self.dest, "surel.service")
        with open(local, "w") as f:
            f.write(unit.replace(self.prefix, self.root))
        p = subprocess.run([analyze, "verify", local], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn("surel.service", p.stderr)

    def test_check_clean_after_install(self):
        self.install()
        etc = self.path("etc/surel")
        var = os.path.join(self.dest, "var")
        os.makedirs(var)
        owner = ensure_test_user() if IS_ROOT else pwd.getpwuid(os.getuid())
        p = subprocess.run(
            [self.path("bin/surelconf"), "-c", etc, "-e",
             "queue_directory=" + os.path.join(var, "spool"),
             "data_directory=" + os.path.join(var, "lib"),
             "daemon_directory=" + self.path("libexec/surel"),
             "mail_owner=" + owner.pw_name,
             "virtual_mailbox_base=" + os.path.join(var, "mail")],
            capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        for _ in range(2):
            p = subprocess.run([self.path("bin/surel"), "-c", etc, "check"],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertNotIn("warning", p.stderr)
            self.assertNotIn("fatal", p.stderr)
        self.assertEqual(os.stat(os.path.join(var, "spool", "incoming")).st_mode & 0o7777, 0o700)


if __name__ == "__main__":
    unittest.main()
