"""master: restarts crashed daemons, reloads on SIGHUP, stops on SIGTERM,
refuses a second master, refuses a broken main.cf with file, line and
reason, and only warns about an unknown parameter."""

import os
import re
import signal
import socket
import subprocess

from instance import (SharedInstanceCase, OwnInstanceCase, DAEMON_DIR,
                      new_marker, wait_until, alive, descendants)


class Restart(SharedInstanceCase):

    def deliver_one(self, rcpt="bob@example.test", timeout=30):
        m = new_marker("restart")
        code, text, _ = self.inst.send(rcpt, marker=m)
        self.assertEqual(code, 250, text)
        self.inst.find_message(rcpt, m, timeout)

    def test_kill_smtpd_restarted(self):
        with self.inst.raw() as r:
            self.assertEqual(r.cmd("EHLO c.example")[0], 250)
            pid = self.inst.server_pid(r)
            self.assertIsNotNone(pid)
            os.kill(pid, signal.SIGKILL)
            self.assertTrue(r.closed(10))
        for victim in self.inst.kill_service("smtpd"):
            wait_until(lambda: not alive(victim), 5)
        self.deliver_one()
        self.assertNotIn(pid, self.inst.processes("smtpd"))

    def test_kill_qmgr_restarted(self):
        old = self.inst.wait_service("qmgr", 10)
        self.assertIsNotNone(old, "no qmgr running\n" + self.inst.diagnostics())
        self.inst.kill_service("qmgr")
        new = self.inst.wait_service("qmgr", 30, exclude=(old,))
        self.assertIsNotNone(new, "qmgr not restarted\n" + self.inst.diagnostics())
        self.deliver_one()

    def test_kill_local_restarted(self):
        self.deliver_one()  # makes sure local processes exist
        pids = self.inst.kill_service("local")
        self.assertTrue(pids, "no local process after a delivery")
        self.deliver_one("carol@example.test")

    def test_kill_everything_repeatedly(self):
        for _ in range(3):
            self.deliver_one("dave@example.org")
            for name in ("smtpd", "qmgr", "local"):
                self.inst.kill_service(name)
        self.deliver_one("dave@example.org")
        self.assertTrue(self.inst.running())

    def test_sighup_reload(self):
        def size():
            with self.inst.raw() as r:
                m = re.search(r"SIZE (\d+)", r.cmd("EHLO c.example")[1])
                return int(m.group(1)) if m else None
        before = size()
        self.inst.set_main_cf(message_size_limit=str(before + 1024))
        try:
            os.kill(self.inst.master_pid, signal.SIGHUP)
            got = wait_until(lambda: size() == before + 1024, 20, 0.2)
            self.assertTrue(got, "SIZE still %s after SIGHUP\n%s" % (size(), self.inst.diagnostics()))
            self.assertTrue(self.inst.running())
            self.deliver_one()
        finally:
            self.inst.set_main_cf(message_size_limit=str(before))
            os.kill(self.inst.master_pid, signal.SIGHUP)

    def test_unix_socket_modes(self):
        """Sockets get their mode at bind (umask) and mail_owner by
        lchown: nothing is changed through a path mail_owner could swap."""
        import stat
        for rel, mode in (("private/local", 0o600), ("public/qmgr", 0o666)):
            st = os.lstat(os.path.join(self.inst.queue, rel))
            self.assertTrue(stat.S_ISSOCK(st.st_mode), rel)
            self.assertEqual(stat.S_IMODE(st.st_mode), mode, rel)
            self.assertEqual(st.st_uid, self.inst.owner.pw_uid, rel)

    def test_daemons_run_as_mail_owner(self):
        """Every daemon under master runs with real, effective and saved
        uid and gid of mail_owner and no supplementary root group: when
        the suite runs as root, this is the privilege drop at work. A
        child caught between fork and its drop (master may be replacing
        one killed by an earlier test) gets a few seconds to finish it."""
        self.deliver_one()   # smtpd, qmgr and local have all run
        want_uid, want_gid = self.inst.owner.pw_uid, self.inst.owner.pw_gid

        def privileged():
            bad = []
            for pid in descendants(self.inst.master_pid):
                try:
                    with open("/proc/%d/status" % pid) as f:
                        st = dict(l.split(":", 1) for l in f if ":" in l)
                except FileNotFoundError:
                    continue     # exited meanwhile (max_idle)
                uids = [int(x) for x in st["Uid"].split()[:3]]
                gids = [int(x) for x in st["Gid"].split()[:3]]
                groups = [int(x) for x in st["Groups"].split()]
                if (uids != [want_uid] * 3 or gids != [want_gid] * 3 or
                        (os.geteuid() == 0 and 0 in groups)):
                    bad.append("pid %d uids %s gids %s groups %s"
                               % (pid, uids, gids, groups))
            return bad

        self.assertTrue(descendants(self.inst.master_pid), "master has no children")
        self.assertTrue(wait_until(lambda: not privileged(), 5),
                        "\n".join(privileged()))

    def test_second_master_refused(self):
        p = subprocess.run([os.path.join(DAEMON_DIR, "master"), "-c", self.inst.etc, "-f"],
                           capture_output=True, text=True, timeout=20,
                           env=self.inst.env())
        self.assertNotEqual(p.returncode, 0)
        self.assertTrue(self.inst.running())
        self.deliver_one()


class Lifecycle(OwnInstanceCase):

    def test_sigterm_stops_everything(self):
        inst = self.new_instance()
        inst.send("alice@example.test", marker=new_marker())
        inst.wait_for_maildir("alice@example.test", 1)
        master = inst.master_pid
        kids = descendants(master)
        self.assertTrue(kids)
        os.kill(master, signal.SIGTERM)
        status = inst.proc.wait(timeout=15)
        self.assertEqual(status, 0)
        self.assertTrue(wait_until(lambda: not any(alive(p) for p in kids), 10),
                        "children left after master stopped")
        with self.assertRaises(OSError):
            import socket
            socket.create_connection(("127.0.0.1", inst.port), timeout=2).close()
        # The lock is free again: the same instance starts.
        inst.start()
        m = new_marker()
        self.assertEqual(inst.send("bob@example.test", marker=m)[0], 250)
        inst.find_message("bob@example.test", m)

    def line_of(self, inst, name):
        with open(os.path.join(inst.etc, "main.cf")) as f:
            for i, line in enumerate(f, 1):
                if line.startswith(name + " "):
                    return i
        return None

    def test_invalid_value_refused(self):
        inst = self.new_instance(start=False, message_size_limit="lots")
        line = self.line_of(inst, "message_size_limit")
        p = inst.surel("check")
        out = p.stdout + p.stderr
        self.assertNotEqual(p.returncode, 0, out)
        self.assertIn("main.cf", out)
        self.assertRegex(out, r"line %d\b" % line)
        self.assertIn("message_size_limit", out)
        inst.start(wait=False)
        try:
            status = inst.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.fail("master started with an invalid main.cf")
        self.assertNotEqual(status, 0)
        said = inst.stderr_text() + inst.log()
        self.assertIn("main.cf", said)
        self.assertRegex(said, r"line %d\b" % line)
        self.assertIn("message_size_limit", said)

    def test_invalid_time_value_refused(self):
        inst = self.new_instance(start=False, smtpd_timeout="soon")
        p = inst.surel("check")
        self.assertNotEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("smtpd_timeout", p.stdout + p.stderr)

    def test_unknown_parameter_only_warns(self):
        inst = self.new_instance(start=False, no_such_parameter_xyz="1")
        p = inst.surel("check")
        out = p.stdout + p.stderr
        # check's exit status says whether all is well (it is not);
        # start only warns.
        self.assertEqual(p.returncode, 1, out)
        self.assertIn("no_such_parameter_xyz", out)
        inst.start()
        m = new_marker()
        self.assertEqual(inst.send("alice@example.test", marker=m)[0], 250)
        inst.find_message("alice@example.test", m)
        self.assertIn("no_such_parameter_xyz", inst.stderr_text() + inst.log())


class Port25(OwnInstanceCase):

    def test_root_binds_port_25_children_unprivileged(self):
        """Started by root, master binds the privileged port 25 itself and
        the smtpd that answers on it runs as mail_owner."""
        if os.geteuid() != 0:
            self.skipTest("binding port 25 needs root")
        probe = socket.socket()
        try:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(("127.0.0.1", 25))
        except OSError:
            self.skipTest("127.0.0.1:25 is in use")
        finally:
            probe.close()
        inst = self.new_instance(start=False, master_cf=(
            "127.0.0.1:smtp inet n - n - 4 smtpd\n"
            "qmgr unix n - n 300 1 qmgr\n"
            "local unix - - n - - local\n"))
        inst.port = 25
        inst.start()
        m = new_marker("port25")
        with inst.raw() as r:
            self.assertEqual(r.cmd("EHLO c.example")[0], 250)
            pid = inst.server_pid(r)
            self.assertIsNotNone(pid)
            with open("/proc/%d/status" % pid) as f:
                uid_line = [l for l in f if l.startswith("Uid:")][0]
            self.assertEqual([int(x) for x in uid_line.split()[1:4]],
                             [inst.owner.pw_uid] * 3)
        code, text, _ = inst.send("bob@example.test", marker=m)
        self.assertEqual(code, 250, text)
        inst.find_message("bob@example.test", m, 30)
