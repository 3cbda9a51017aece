"""Real POP3 clients from Debian against surel's pop3d: fetchmail (plain
POP3 on loopback, POP3S, STLS; keep, delete, and UIDL keep mode) and
getmail6 (POP3 and POP3S retrievers into a Maildir; only new mail, and
delete). Each test has a user of its own on one shared instance, and a
private HOME with the clients' rc and id files; every client run is
bounded by a timeout.
"""

import email
import os
import shutil
import unittest

from instance import IS_ROOT, ClientProgramCase, password_of

FETCHMAIL = shutil.which("fetchmail")
GETMAIL = shutil.which("getmail")
CLIENT_TIMEOUT = 60

# One mailbox per test, so that the tests do not see each other's mail
# (and none of the other test users: a user table with a non-ASCII name
# is not what these tests are about).
CLIENT_USERS = {"fm%d@example.test" % i: "example.test/fm%d/" % i
                for i in range(1, 10)}


def markers_in(directory):
    """X-Marker values of the messages in directory (a flat directory of
    message files, or a Maildir's new/ and cur/), sorted."""
    paths = []
    for root, _, names in os.walk(directory):
        if os.path.basename(root) == "tmp":
            continue
        paths += [os.path.join(root, n) for n in names]
    out = []
    for p in paths:
        with open(p, "rb") as f:
            msg = email.message_from_binary_file(f)
        if msg["X-Marker"]:
            out.append(msg["X-Marker"])
    return sorted(out)


class ClientCase(ClientProgramCase):
    CONFIG = {"disable_plaintext_auth": "no"}
    INSTANCE_ARGS = {"access": True, "users": CLIENT_USERS, "aliases": {}}
    CLIENT_TIMEOUT = CLIENT_TIMEOUT
    # getmail, as root, delivers as the owner of the Maildir.
    HOME_MODE = 0o755

    def deliver(self, user, n):
        """n messages to user through SMTP, each waited for in the
        Maildir; returns their markers, sorted."""
        return sorted(self.inst.deliver(user, n, prefix="fm"))

    def server_count(self, user):
        """Messages in user's drop, as POP3S STAT says."""
        p = self.inst.pop3s()
        try:
            p.user(user)
            p.pass_(password_of(user))
            return p.stat()[0]
        finally:
            p.quit()


@unittest.skipUnless(FETCHMAIL, "fetchmail is not installed (dev/deps)")
class Fetchmail(ClientCase):

    def fetchmail(self, user, options, password=None, port=None,
                  outdir="out", server_options=""):
        """One fetchmail run over POP3 (run_fetchmail)."""
        return self.run_fetchmail("POP3", port or self.inst.pop3_port, user,
                                  password or password_of(user), options,
                                  outdir, server_options)

    def test_plain_keep(self):
        user = "fm1@example.test"
        sent = self.deliver(user, 2)
        status, out = self.fetchmail(user, ["keep", 'sslproto ""'])
        self.assertEqual(status, 0, out)
        self.assertEqual(markers_in(os.path.join(self.home, "out")), sent, out)
        self.assertEqual(self.server_count(user), 2)
        self.assertNotIn("POP3> STLS", out)

    def test_plain_delete(self):
        user = "fm2@example.test"
        sent = self.deliver(user, 3)
        status, out = self.fetchmail(user, ["nokeep", 'sslproto ""'])
        self.assertEqual(status, 0, out)
        self.assertEqual(markers_in(os.path.join(self.home, "out")), sent, out)
        self.assertEqual(self.server_count(user), 0)
        self.assertEqual(self.inst.messages(user), [])
        # Nothing left: fetchmail says so with exit status 1.
        status, out = self.fetchmail(user, ["nokeep", 'sslproto ""'])
        self.assertEqual(status, 1, out)

    def test_pop3s(self):
        user = "fm3@example.test"
        sent = self.deliver(user, 2)
        status, out = self.fetchmail(user, ["nokeep", "ssl"] + self.fetchmail_tls_options(),
                                     port=self.inst.pop3s_port)
        self.assertEqual(status, 0, out)
        self.assertEqual(markers_in(os.path.join(self.home, "out")), sent, out)
        self.assertEqual(self.server_count(user), 0)

    def test_stls(self):
        user = "fm4@example.test"
        sent = self.deliver(user, 2)
        status, out = self.fetchmail(
            user, ["keep", 'sslproto "tls1.2+"'] + self.fetchmail_tls_options())
        self.assertEqual(status, 0, out)
        self.assertIn("POP3> STLS", out)
        self.assertEqual(markers_in(os.path.join(self.home, "out")), sent, out)
        self.assertTrue(self.inst.wait_log(
            r"login: user=<%s>, .*tls=TLSv1\.[23]" % user, timeout=10),
            self.inst.diagnostics())

    def test_uidl_keep_mode(self):
        """keep + uidl: the second run fetches nothing, a third one only
        the message that arrived since."""
        user = "fm5@example.test"
        opts = ["keep", 'sslproto ""']
        first = self.deliver(user, 2)
        status, out = self.fetchmail(user, opts, outdir="run1",
                                     server_options="uidl")
        self.assertEqual(status, 0, out)
        self.assertEqual(markers_in(os.path.join(self.home, "run1")), first)
        status, out = self.fetchmail(user, opts, outdir="run2",
                                     server_options="uidl")
        self.assertEqual(status, 1, out)
        self.assertEqual(markers_in(os.path.join(self.home, "run2")), [])
        later = self.deliver(user, 1)
        status, out = self.fetchmail(user, opts, outdir="run3",
                                     server_options="uidl")
        self.assertEqual(status, 0, out)
        self.assertEqual(markers_in(os.path.join(self.home, "run3")), later)
        self.assertEqual(self.server_count(user), 3)

    def test_wrong_password(self):
        user = "fm6@example.test"
        self.deliver(user, 1)
        status, out = self.fetchmail(user, ["keep", 'sslproto ""'],
                                     password="not-the-password")
        # 3: authentication failed (fetchmail(1), EXIT STATUS CODES).
        self.assertEqual(status, 3, out)
        self.assertEqual(markers_in(os.path.join(self.home, "out")), [])
        self.assertEqual(self.server_count(user), 1)


@unittest.skipUnless(GETMAIL, "getmail6 is not installed (dev/deps)")
class Getmail(ClientCase):

    def getmail(self, user, retriever, port, options, outdir="Maildir"):
        """One getmail run for user into the Maildir HOME/outdir.
        Returns (exit status, output)."""
        md = os.path.join(self.home, outdir)
        for sub in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(md, sub), exist_ok=True)
        dest_user = ""
        if IS_ROOT:
            # getmail never delivers as root: it takes the Maildir's owner.
            owner = self.inst.owner
            for d in (md,) + tuple(os.path.join(md, s) for s in ("tmp", "new", "cur")):
                os.chown(d, owner.pw_uid, owner.pw_gid)
            dest_user = "user = %s\n" % owner.pw_name
        gdir = os.path.join(self.home, "getmail")
        os.makedirs(gdir, exist_ok=True)
        rc = os.path.join(gdir, "getmailrc")
        tls = ""
        if retriever == "SimplePOP3SSLRetriever":
            tls = "ca_certs = %s\nssl_cert_hostname = mx.example.test\n" % self.inst.cert
        with open(rc, "w") as f:
            f.write("[retriever]\ntype = %s\nserver = 127.0.0.1\nport = %d\n"
                    "username = %s\npassword = %s\ntimeout = 30\n%s\n"
                    "[destination]\ntype = Maildir\npath = %s/\n%s\n"
                    "[options]\nverbose = 2\n%s\n" % (
                        retriever, port, user, password_of(user), tls, md,
                        dest_user, "\n".join(options)))
        os.chmod(rc, 0o600)
        return self.run_client([GETMAIL, "--getmaildir", gdir, "--rcfile", rc],
                               "getmail")

    def test_only_new_then_delete(self):
        """read_all = false, delete = false: the second run gets nothing,
        a third only the new message; then delete = true empties the
        drop."""
        user = "fm7@example.test"
        keep = ["read_all = false", "delete = false"]
        port = self.inst.pop3_port
        first = self.deliver(user, 2)
        status, out = self.getmail(user, "SimplePOP3Retriever", port, keep,
                                   outdir="run1")
        self.assertEqual(status, 0, out)
        self.assertEqual(markers_in(os.path.join(self.home, "run1")), first, out)
        status, out = self.getmail(user, "SimplePOP3Retriever", port, keep,
                                   outdir="run2")
        self.assertEqual(status, 0, out)
        self.assertEqual(markers_in(os.path.join(self.home, "run2")), [], out)
        later = self.deliver(user, 1)
        status, out = self.getmail(user, "SimplePOP3Retriever", port, keep,
                                   outdir="run3")
        self.assertEqual(status, 0, out)
        self.assertEqual(markers_in(os.path.join(self.home, "run3")), later, out)
        self.assertEqual(self.server_count(user), 3)
        status, out = self.getmail(user, "SimplePOP3Retriever", port,
                                   ["read_all = true", "delete = true"],
                                   outdir="run4")
        self.assertEqual(status, 0, out)
        self.assertEqual(markers_in(os.path.join(self.home, "run4")),
                         sorted(first + later), out)
        self.assertEqual(self.server_count(user), 0)

    def test_pop3s_delete(self):
        user = "fm8@example.test"
        sent = self.deliver(user, 3)
        status, out = self.getmail(user, "SimplePOP3SSLRetriever",
                                   self.inst.pop3s_port,
                                   ["read_all = true", "delete = true"])
        self.assertEqual(status, 0, out)
        self.assertEqual(markers_in(os.path.join(self.home, "Maildir")), sent, out)
        self.assertEqual(self.server_count(user), 0)
        self.assertEqual(self.inst.messages(user), [])


if __name__ == "__main__":
    unittest.main()
