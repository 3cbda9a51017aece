"""Real IMAP clients against surel's imapd, each checked on both sides:
- mbsync (isync, Debian) syncing a user's account with a local Maildir
  both ways over IMAPS: new mail, flag changes, deletions and moves made
  on the server (imaplib) and in the local Maildir (as a MUA makes them),
  then a sync that finds nothing left to do;
- fetchmail (Debian) over IMAPS with the test certificate trusted:
  fetching only unseen mail and flagging it \\Seen (keep), then fetching
  and deleting (nokeep, fetchall), delivering through an MDA to files;
- imapflow (npm; installed by the test into build/imapflow with npm):
  LIST with special-use, FETCH of envelopes and BODYSTRUCTURE, download
  of a MIME part, SEARCH, APPEND, MOVE and IDLE woken by a delivery.
A test is skipped only when its client program is missing; every client
run has a timeout. One user per test on one shared instance."""

import base64
import email
import json
import os
import queue
import re
import shutil
import subprocess
import threading
import time
import unittest

from imap_util import imaplib_client
from instance import (SRC, ClientProgramCase, new_marker, password_of,
                      read_file)

MBSYNC = shutil.which("mbsync")
FETCHMAIL = shutil.which("fetchmail")
NODE = shutil.which("node")
NPM = shutil.which("npm")
DOMAIN = "example.test"
CLIENT_TIMEOUT = 90
NPM_TIMEOUT = 300
HERE = os.path.dirname(os.path.abspath(__file__))
# Where npm installs imapflow (outside the source tree's tracked files).
IMAPFLOW_DIR = os.environ.get("SUREL_IMAPFLOW_DIR",
                              os.path.join(SRC, "build", "imapflow"))

USERS = {"%s@%s" % (u, DOMAIN): "%s/%s/" % (DOMAIN, u)
         for u in ("mb1", "fm1", "fl1")}


def marker_of(data):
    msg = email.message_from_bytes(data)
    return msg["X-Marker"]


def multipart_message(marker, attachment, text):
    """A multipart/mixed message: a text part and a base64 attachment."""
    b64 = base64.encodebytes(attachment).decode().replace("\n", "\r\n")
    return ("From: <sender@remote.example>\r\nTo: <x@example.test>\r\n"
            "Subject: with attachment %s\r\nX-Marker: %s\r\n"
            "Message-ID: <%s@client.example>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=\"b-%s\"\r\n\r\n"
            "--b-%s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            "%s\r\n--b-%s\r\nContent-Type: application/octet-stream\r\n"
            "Content-Transfer-Encoding: base64\r\n"
            "Content-Disposition: attachment; filename=\"data.bin\"\r\n\r\n"
            "%s--b-%s--\r\n" % (marker, marker, marker, marker, marker, text,
                                marker, b64, marker))


class LocalMaildir:
    """The client side's Maildir folders (mbsync's): markers and flags
    by file, and the changes a MUA makes."""

    def __init__(self, root):
        self.root = root

    def folder(self, name):
        return os.path.join(self.root, name)

    def files(self, name):
        out = []
        for sub in ("new", "cur"):
            d = os.path.join(self.folder(name), sub)
            if os.path.isdir(d):
                out += [os.path.join(d, n) for n in os.listdir(d)]
        return out

    def state(self, name):
        """{marker: flags letters} of a folder."""
        out = {}
        for p in self.files(name):
            info = os.path.basename(p).partition(":2,")[2]
            out[marker_of(read_file(p))] = "".join(
                sorted(c for c in info if c.isupper()))
        return out

    def path_of(self, name, marker):
        for p in self.files(name):
            if marker_of(read_file(p)) == marker:
                return p
        raise AssertionError("%s: no local message %s" % (name, marker))

    def add(self, name, data, seq):
        """A new message written into new/ as a MUA or MDA does."""
        base = "%d.surel%d_%d.localhost" % (time.time(), os.getpid(), seq)
        tmp = os.path.join(self.folder(name), "tmp", base)
        with open(tmp, "wb") as f:
            f.write(data)
        os.rename(tmp, os.path.join(self.folder(name), "new", base))


class ClientCase(ClientProgramCase):
    CONFIG = {"disable_plaintext_auth": "no"}
    INSTANCE_ARGS = {"access": True, "users": USERS, "aliases": {}}
    CLIENT_TIMEOUT = CLIENT_TIMEOUT

    def deliver(self, user, body=None, subject="client test"):
        """One message to user through SMTP (body(marker) makes it),
        waited for in the Maildir; returns its marker."""
        return self.inst.deliver(user, prefix="cl", body=body,
                                 subject=subject)[0]

    def imap(self, user):
        return imaplib_client(self, self.inst, user, tls=True, timeout=30)

    def server_state(self, m, mailbox):
        """{marker: set of flags} of a mailbox, as the server says."""
        typ, data = m.select(mailbox, readonly=True)
        self.assertEqual(typ, "OK", mailbox)
        if int(data[0]) == 0:
            return {}
        typ, data = m.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS "
                                   "(X-MARKER)])")
        out = {}
        if typ != "OK" or data == [None]:
            return out
        for item in data:
            if not isinstance(item, tuple):
                continue
            flags = re.search(rb"FLAGS \(([^)]*)\)", item[0])
            marker = email.message_from_bytes(item[1])["X-Marker"]
            out[marker] = set(flags.group(1).decode().split()) - {"\\Recent"}
        return out

    def uid_of(self, m, mailbox, marker):
        """The UID of the message with marker (selects mailbox)."""
        self.assertEqual(m.select(mailbox)[0], "OK")
        typ, data = m.fetch("1:*", "(UID BODY.PEEK[HEADER.FIELDS "
                                   "(X-MARKER)])")
        self.assertEqual(typ, "OK")
        uids = [int(re.search(rb"UID (\d+)", item[0]).group(1))
                for item in data if isinstance(item, tuple) and
                email.message_from_bytes(item[1])["X-Marker"] == marker]
        self.assertEqual(len(uids), 1, (mailbox, marker, data))
        return uids[0]


def server_files(inst, user, folder=None):
    """{marker: flags letters} of a folder's files in the server's
    Maildir."""
    base = inst.maildir(user)
    d = base if folder is None else os.path.join(base, "." + folder)
    out = {}
    for sub in ("new", "cur"):
        try:
            names = os.listdir(os.path.join(d, sub))
        except FileNotFoundError:
            continue
        for n in names:
            info = n.partition(":2,")[2]
            out[marker_of(read_file(os.path.join(d, sub, n)))] = "".join(
                sorted(c for c in info if c.isupper()))
    return out


@unittest.skipUnless(MBSYNC, "mbsync is not installed (Debian package "
                     "isync, dev/deps)")
class Mbsync(ClientCase):

    def mbsync(self, user, local):
        # "localhost": mbsync checks the certificate's DNS names only.
        rc = os.path.join(self.home, "mbsyncrc")
        with open(rc, "w") as f:
            f.write(
                "IMAPAccount surel\nHost localhost\nPort %d\nUser %s\n"
                "Pass %s\nSSLType IMAPS\nCertificateFile %s\n"
                "AuthMechs LOGIN\nTimeout 30\n\n"
                "IMAPStore remote\nAccount surel\n\n"
                "MaildirStore local\nPath %s/\nInbox %s/INBOX\n"
                "SubFolders Verbatim\n\n"
                "Channel sync\nFar :remote:\nNear :local:\nPatterns *\n"
                "Create Both\nExpunge Both\nSyncState *\n"
                "CopyArrivalDate yes\n" % (
                    self.inst.imaps_port, user, password_of(user),
                    self.inst.cert, local, local))
        os.chmod(rc, 0o600)
        status, out = self.run_client([MBSYNC, "-V", "-c", rc, "-a"],
                                      "mbsync")
        self.assertEqual(status, 0, out + self.inst.diagnostics())
        return out

    def test_two_way_sync(self):
        user = "mb1@example.test"
        local = LocalMaildir(os.path.join(self.home, "Mail"))
        os.makedirs(local.root)
        m = [self.deliver(user) for _ in range(5)]
        srv = self.imap(user)
        self.assertEqual(srv.create("Work")[0], "OK")
        w1 = new_marker("work")
        typ, _ = srv.append("Work", r"(\Seen)", None, (
            "From: <a@example.test>\r\nSubject: work\r\nX-Marker: %s\r\n"
            "\r\nWork.\r\n" % w1).encode())
        self.assertEqual(typ, "OK")

        # 1. The first sync copies everything down, flags included.
        self.mbsync(user, local.root)
        self.assertEqual(local.state("INBOX"), {x: "" for x in m})
        self.assertEqual(local.state("Work"), {w1: "S"})

        # 2. Changes on the server: a flag, a deletion, a move.
        uid = {x: self.uid_of(srv, "INBOX", x) for x in m[:3]}
        srv.select("INBOX")
        self.assertEqual(srv.uid("STORE", str(uid[m[0]]), "+FLAGS",
                                 r"(\Flagged)")[0], "OK")
        self.assertEqual(srv.uid("STORE", str(uid[m[1]]), "+FLAGS",
                                 r"(\Deleted)")[0], "OK")
        self.assertEqual(srv.expunge()[0], "OK")
        self.assertEqual(srv.uid("MOVE", str(uid[m[2]]), "Work")[0], "OK")
        srv.close()
        # ... and in the local Maildir, as a MUA makes them: \Seen on
        # m3, m4 deleted, a new message, w1 moved from Work to INBOX.
        p = local.path_of("INBOX", m[3])
        os.rename(p, os.path.join(local.folder("INBOX"), "cur",
                                  os.path.basename(p).split(":2,")[0]
                                  + ":2,S"))
        os.unlink(local.path_of("INBOX", m[4]))
        n1 = new_marker("local")
        local.add("INBOX", ("From: <me@example.test>\nSubject: local\n"
                            "X-Marker: %s\n\nWritten locally.\n" % n1)
                  .encode(), 1)
        p = local.path_of("Work", w1)
        local.add("INBOX", read_file(p), 2)
        os.unlink(p)

        # 2b. The sync makes both sides agree.
        self.mbsync(user, local.root)
        want_inbox = {m[0]: "F", m[3]: "S", n1: "", w1: ""}
        want_work = {m[2]: ""}
        self.assertEqual(local.state("INBOX"), want_inbox)
        self.assertEqual(local.state("Work"), want_work)
        flag_names = {"F": "\\Flagged", "S": "\\Seen"}
        self.assertEqual(self.server_state(srv, "INBOX"),
                         {k: {flag_names[c] for c in v}
                          for k, v in want_inbox.items()})
        self.assertEqual(self.server_state(srv, "Work"),
                         {k: set() for k in want_work})
        self.assertEqual(server_files(self.inst, user), want_inbox)
        self.assertEqual(server_files(self.inst, user, "Work"), want_work)
        # The message written locally reached the server unchanged
        # (line ends aside).
        data = [read_file(os.path.join(self.inst.maildir(user), s, n))
                for s in ("cur", "new")
                for n in os.listdir(os.path.join(self.inst.maildir(user), s))]
        self.assertIn(b"Written locally.", b"".join(
            d for d in data if n1.encode() in d))

        # 3. Nothing left to do: a third sync changes neither side.
        out = self.mbsync(user, local.root)
        self.assertEqual(local.state("INBOX"), want_inbox)
        self.assertEqual(local.state("Work"), want_work)
        self.assertEqual(server_files(self.inst, user), want_inbox)
        self.assertEqual(server_files(self.inst, user, "Work"), want_work)
        self.assertNotIn("Error", out)


@unittest.skipUnless(FETCHMAIL, "fetchmail is not installed (dev/deps)")
class FetchmailImap(ClientCase):

    def fetchmail(self, user, options, outdir):
        """One fetchmail run over IMAPS (run_fetchmail)."""
        return self.run_fetchmail(
            "IMAP", self.inst.imaps_port, user, password_of(user),
            ["ssl"] + self.fetchmail_tls_options() + options, outdir)

    def fetched(self, outdir):
        d = os.path.join(self.home, outdir)
        return sorted(marker_of(read_file(os.path.join(d, n)))
                      for n in os.listdir(d))

    def test_fetch_flag_delete(self):
        user = "fm1@example.test"
        m = sorted(self.deliver(user) for _ in range(3))
        srv = self.imap(user)
        seen_uid = self.uid_of(srv, "INBOX", m[0])
        self.assertEqual(srv.uid("STORE", str(seen_uid), "+FLAGS",
                                 r"(\Seen)")[0], "OK")
        srv.close()

        # keep: only the unseen ones come, and become \Seen.
        status, out = self.fetchmail(user, ["keep"], "run1")
        self.assertEqual(status, 0, out)
        self.assertEqual(self.fetched("run1"), m[1:], out)
        self.assertIn("IMAP> ", out)
        state = self.server_state(srv, "INBOX")
        self.assertEqual(state, {x: {"\\Seen"} for x in m})
        # A second run finds nothing new (exit status 1).
        status, out = self.fetchmail(user, ["keep"], "run2")
        self.assertEqual(status, 1, out)
        self.assertEqual(self.fetched("run2"), [])

        # A new message, then fetchall + nokeep: everything comes and
        # the mailbox is emptied (flagged \Deleted, expunged).
        later = self.deliver(user)
        status, out = self.fetchmail(user, ["nokeep", "fetchall"], "run3")
        self.assertEqual(status, 0, out)
        self.assertEqual(self.fetched("run3"), sorted(m + [later]), out)
        self.assertEqual(self.server_state(srv, "INBOX"), {})
        self.assertEqual(self.inst.messages(user), [])
        # The fetched copies are the messages as stored (CRLF aside).
        for name in os.listdir(os.path.join(self.home, "run3")):
            data = read_file(os.path.join(self.home, "run3", name))
            self.assertIn(b"X-Marker: ", data)
            self.assertIn(b"Hello from the test suite.", data)


class NodeClient:
    """The imapflow script as a child: stdout lines through a queue so
    that every wait is bounded."""

    def __init__(self, argv, env):
        self.proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE,
                                     start_new_session=True)
        self.lines = queue.Queue()
        self.err = []
        threading.Thread(target=self._read, args=(self.proc.stdout,
                                                  self.lines.put),
                         daemon=True).start()
        threading.Thread(target=self._read, args=(self.proc.stderr,
                                                  self.err.append),
                         daemon=True).start()

    @staticmethod
    def _read(stream, put):
        for line in iter(stream.readline, b""):
            put(line.decode("utf-8", "replace").rstrip("\n"))
        put(None)

    def line(self, timeout):
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            return None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)

    def stderr(self):
        return "\n".join(x for x in self.err if x is not None)


def npm_install():
    """imapflow into IMAPFLOW_DIR (npm install of the pinned version)
    unless it is there already. Returns None, or what went wrong."""
    pkg = os.path.join(HERE, "imapflow", "package.json")
    os.makedirs(IMAPFLOW_DIR, exist_ok=True)
    dst = os.path.join(IMAPFLOW_DIR, "package.json")
    installed = os.path.join(IMAPFLOW_DIR, "node_modules", "imapflow",
                             "package.json")
    if read_file(dst) == read_file(pkg) and os.path.exists(installed):
        return None
    shutil.copyfile(pkg, dst)
    try:
        p = subprocess.run([NPM, "install", "--no-audit", "--no-fund",
                            "--prefix", IMAPFLOW_DIR],
                           cwd=IMAPFLOW_DIR, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=NPM_TIMEOUT)
    except subprocess.TimeoutExpired:
        return "npm install did not finish in %ss" % NPM_TIMEOUT
    if p.returncode != 0 or not os.path.exists(installed):
        return "npm install failed (%d): %s" % (
            p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace"))
    return None


@unittest.skipUnless(NODE and NPM, "Node.js or npm is not installed "
                     "(Debian packages nodejs and npm, dev/deps)")
class Imapflow(ClientCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.npm_error = npm_install()

    def test_imapflow(self):
        self.assertIsNone(self.npm_error, self.npm_error)
        user = "fl1@example.test"
        attachment = bytes(range(256)) * 8 + b"end"
        text = "The text part, plain and short."
        m1 = self.deliver(user, subject="zebracorn plain")
        # The body word SEARCH BODY looks for is in m1's body only.
        srv = self.imap(user)
        m2 = self.deliver(user, body=lambda mk: multipart_message(
            mk, attachment, text))
        m3 = self.deliver(user)
        self.assertEqual(srv.uid("STORE", str(self.uid_of(srv, "INBOX", m1)),
                                 "+FLAGS", r"(\Seen)")[0], "OK")
        uid3 = self.uid_of(srv, "INBOX", m3)
        srv.close()
        appended = new_marker("flow")
        cfg = {"host": "127.0.0.1", "port": self.inst.imaps_port,
               "user": user, "pass": password_of(user), "ca": self.inst.cert,
               "multipart": m2, "part": "2", "search": m2,
               "bodyword": m1, "moveUid": uid3, "appended": appended}
        env = dict(os.environ, IMAPFLOW_TEST=json.dumps(cfg),
                   NODE_PATH=os.path.join(IMAPFLOW_DIR, "node_modules"),
                   HOME=self.home)
        node = NodeClient([NODE, os.path.join(HERE, "imapflow",
                                              "imapflow_client.js")], env)
        self.addCleanup(node.stop)
        ready = node.line(CLIENT_TIMEOUT)
        self.assertTrue(ready and ready.startswith("IDLE-READY "),
                        "%r\n%s" % (ready, node.stderr()))
        t0 = time.monotonic()
        m4 = self.deliver(user)
        delivered = time.monotonic() - t0
        result = node.line(CLIENT_TIMEOUT)
        self.assertTrue(result and result.startswith("RESULT "),
                        "%r\n%s" % (result, node.stderr()))
        self.assertEqual(node.proc.wait(timeout=30), 0, node.stderr())
        r = json.loads(result[len("RESULT "):])
        self.check_list(r)
        self.check_fetch(r, user, [m1, m2, m3], attachment, text)
        self.check_search(r, [m1, m2, m3])
        self.check_append_move(r, user, appended, m3, uid3)
        self.assertEqual(r["idle"]["prevCount"], 2)
        self.assertEqual(r["idle"]["count"], 3)
        self.assertEqual(r["idle"]["marker"], m4)
        # Woken by the delivery itself, not by a poll much later.
        self.assertLess(r["idle"]["ms"] / 1000.0, delivered + 2.0, r["idle"])

    def check_list(self, r):
        paths = {x["path"]: x for x in r["list"]}
        self.assertIn("INBOX", paths)
        self.assertIn("Work", paths)
        for name, use in (("Drafts", "\\Drafts"), ("Sent", "\\Sent"),
                          ("Trash", "\\Trash"), ("Junk", "\\Junk"),
                          ("Archive", "\\Archive")):
            self.assertIn(name, paths, sorted(paths))
            self.assertEqual(paths[name]["specialUse"], use)

    def check_fetch(self, r, user, markers, attachment, text):
        self.assertEqual(r["inbox"]["exists"], 3)
        msgs = r["messages"]
        self.assertEqual([x["marker"] for x in msgs], markers)
        self.assertEqual([x["seq"] for x in msgs], [1, 2, 3])
        self.assertIn("\\Seen", msgs[0]["flags"])
        self.assertNotIn("\\Seen", msgs[1]["flags"])
        self.assertEqual(msgs[0]["subject"], "zebracorn plain %s" % markers[0])
        self.assertEqual(msgs[1]["messageId"], "<%s@client.example>"
                         % markers[1])
        # RFC822.SIZE counts CRLF line ends: the stored file plus one per
        # line.
        # (The third message has moved to Work since.)
        work = os.path.join(self.inst.maildir(user), ".Work", "cur")
        paths = self.inst.messages(user) + [
            os.path.join(work, n) for n in os.listdir(work)]
        files = {marker_of(read_file(p)): read_file(p) for p in paths}
        for x in msgs:
            data = files[x["marker"]]
            self.assertEqual(x["size"], len(data) + data.count(b"\n"))
        bs = msgs[1]["bodyStructure"]
        self.assertEqual(bs["type"], "multipart/mixed")
        kids = bs["childNodes"]
        self.assertEqual([k["type"] for k in kids],
                         ["text/plain", "application/octet-stream"])
        self.assertEqual(kids[0]["parameters"]["charset"], "utf-8")
        self.assertEqual(kids[1]["encoding"], "base64")
        self.assertEqual(kids[1]["disposition"], "attachment")
        self.assertEqual(kids[1]["dispositionParameters"]["filename"],
                         "data.bin")
        self.assertEqual(base64.b64decode(r["part"]["base64"]), attachment)
        # The CRLF before a boundary is the boundary's (RFC 2046 5.1.1).
        self.assertEqual(r["part1"], text)

    def check_search(self, r, markers):
        uid = {x["marker"]: x["uid"] for x in r["messages"]}
        s = r["search"]
        self.assertEqual(s["marker"], [uid[markers[1]]])
        self.assertEqual(s["body"], [uid[markers[0]]])
        self.assertEqual(s["unseen"], [uid[markers[1]], uid[markers[2]]])
        self.assertEqual(s["all"], [uid[x] for x in markers])

    def check_append_move(self, r, user, appended, m3, uid3):
        work = os.path.join(self.inst.maildir(user), ".Work")
        uidlist = read_file(os.path.join(work, "dovecot-uidlist")).decode()
        v = int(re.search(r" V(\d+)", uidlist.splitlines()[0]).group(1))
        self.assertEqual(r["append"]["destination"], "Work")
        self.assertEqual(int(r["append"]["uidValidity"]), v)
        files = server_files(self.inst, user, "Work")
        self.assertIn(appended, files)
        self.assertEqual(files[appended][:1], "S")
        # The keyword $Flow is a lower-case letter of dovecot-keywords.
        path = [os.path.join(work, "cur", n) for n in
                os.listdir(os.path.join(work, "cur"))
                if appended.encode() in read_file(
                    os.path.join(work, "cur", n))][0]
        kw = read_file(os.path.join(work, "dovecot-keywords")).decode()
        idx = [int(l.split()[0]) for l in kw.splitlines()
               if l.split()[1:] == ["$Flow"]]
        self.assertEqual(len(idx), 1, kw)
        self.assertIn(chr(ord("a") + idx[0]), path.partition(":2,")[2])
        self.assertEqual(int(os.stat(path).st_mtime), 1704164645)
        uids = {}
        for line in uidlist.splitlines()[1:]:
            head, _, base = line.partition(" :")
            uids[base] = int(head.split()[0])
        self.assertEqual(uids[os.path.basename(path).partition(":2,")[0]],
                         r["append"]["uid"])
        # MOVE: the message is in Work under the UID the map gives, and
        # no longer in INBOX.
        self.assertEqual(r["move"]["destination"], "Work")
        new_uid = r["move"]["uidMap"][str(uid3)]
        self.assertIn(m3, files)
        self.assertNotIn(m3, server_files(self.inst, user))
        moved = [n for n in os.listdir(os.path.join(work, "cur"))
                 if m3.encode() in read_file(os.path.join(work, "cur", n))]
        self.assertEqual(len(moved), 1)
        self.assertEqual(uids[moved[0].partition(":2,")[0]], new_uid)
