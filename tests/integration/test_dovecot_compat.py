"""Store compatibility with Dovecot (Debian's package, a private instance):
a Maildir populated and used through Dovecot is served by surel with the
same UIDVALIDITY, UIDs, POP3 UIDLs, flags and keywords, and a store that
surel used is served by Dovecot the same way afterwards. This is what an
operator moving from Dovecot to surel (or back) relies on: no client
downloads its mail again, no flag is lost.

Dovecot's view is read over IMAP and POP3; surel's over POP3 and from the
files on disk (dovecot-uidlist, dovecot-keywords, the ":2," part of the
file names). The two never run on the store at the same time.
"""

import contextlib
import os
import re
import threading
import time
import unittest

import dovecot
from instance import USERS, OwnInstanceCase, password_of, new_marker

ALICE = "alice@example.test"
BOB = "bob@example.test"


# ------------------------------------------------------------ the files

def parse_uidlist(maildir):
    """dovecot-uidlist (version 3) as (header, records): header maps the
    header letters (V, N, G) to their values; records maps each file's
    base name to (uid, {extension letter: value})."""
    with open(os.path.join(maildir, "dovecot-uidlist"), encoding="utf-8") as f:
        lines = f.read().splitlines()
    fields = lines[0].split()
    if fields[0] != "3":
        raise AssertionError("dovecot-uidlist is not version 3: %r" % lines[0])
    header = {w[0]: w[1:] for w in fields[1:]}
    records = {}
    for line in lines[1:]:
        if not line:
            continue
        head, sep, name = line.partition(" :")
        if not sep:
            raise AssertionError("dovecot-uidlist: bad record %r" % line)
        words = head.split()
        exts = {w[0]: w[1:] for w in words[1:]}
        if name in records:
            raise AssertionError("dovecot-uidlist: %s listed twice" % name)
        records[name] = (int(words[0]), exts)
    return header, records


def uid_map(maildir):
    """{base name: uid} of dovecot-uidlist."""
    return {name: rec[0] for name, rec in parse_uidlist(maildir)[1].items()}


def parse_keywords(maildir):
    """dovecot-keywords as {index: name} ({} when the file is absent)."""
    try:
        with open(os.path.join(maildir, "dovecot-keywords"), encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return {}
    out = {}
    for line in text.splitlines():
        if line.strip():
            idx, name = line.split(" ", 1)
            out[int(idx)] = name
    return out


def file_flags(maildir):
    """{base name: the sorted letters after ':2,'} of every message file
    in new/ and cur/ ('' for none)."""
    out = {}
    for sub in ("new", "cur"):
        for name in os.listdir(os.path.join(maildir, sub)):
            base, _, info = name.partition(":2,")
            if base in out:
                raise AssertionError("two files for %s" % base)
            out[base] = "".join(sorted(info))
    return out


def dovecot_uidl(uid, uidvalidity):
    """The UIDL pop3_uidl_format = %08Xu%08Xv gives: Dovecot's %X is
    lower-case hex."""
    return "%08x%08x" % (uid, uidvalidity)


# ------------------------------------------------------------ the clients

@contextlib.contextmanager
def imap_session(dv, user):
    """A logged-in IMAP session with Dovecot, logged out at the end (the
    socket closed whatever happens)."""
    im = dv.imap()
    try:
        typ, data = im.login(user, password_of(user))
        assert typ == "OK", data
        yield im
        im.logout()
    finally:
        try:
            im.shutdown()
        except OSError:
            pass


FETCH_RX = re.compile(rb"UID (\d+) FLAGS \(([^)]*)\)")


def imap_view(dv, user):
    """Dovecot's IMAP view of INBOX: (uidvalidity, uidnext,
    [(uid, frozenset of flags and keywords, subject)] in UID order)."""
    with imap_session(dv, user) as im:
        typ, data = im.status("INBOX", "(UIDVALIDITY UIDNEXT)")
        assert typ == "OK", data
        st = data[0].decode()
        uidvalidity = int(re.search(r"UIDVALIDITY (\d+)", st).group(1))
        uidnext = int(re.search(r"UIDNEXT (\d+)", st).group(1))
        typ, data = im.select("INBOX", readonly=True)
        assert typ == "OK", data
        msgs = []
        if int(data[0]) > 0:
            typ, data = im.uid("FETCH", "1:*",
                               "(UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
            assert typ == "OK", data
            for item in data:
                if not isinstance(item, tuple):
                    continue
                m = FETCH_RX.search(item[0])
                subject = item[1].decode().strip()
                subject = subject.split(":", 1)[1].strip() if subject else ""
                flags = frozenset(f for f in m.group(2).decode().split()
                                  if f != "\\Recent")
                msgs.append((int(m.group(1)), flags, subject))
    msgs.sort()
    return uidvalidity, uidnext, msgs


def pop3_login(client, user):
    client.user(user)
    client.pass_(password_of(user))
    return client


def pop3_view(client, subjects=False):
    """[(uidl, size)] in message-number order, and the subjects (TOP n 0)
    when asked. The session stays open."""
    _, lines, _ = client.uidl()
    uidls = [l.decode().split()[1] for l in lines]
    _, lines, _ = client.list()
    sizes = [int(l.split()[1]) for l in lines]
    out = list(zip(uidls, sizes))
    if not subjects:
        return out, None
    subs = []
    for n in range(1, len(out) + 1):
        _, head, _ = client.top(n, 0)
        subs.append(next((h.decode().split(":", 1)[1].strip() for h in head
                          if h.lower().startswith(b"subject:")), ""))
    return out, subs


def pop3_once(client, subjects=False):
    """pop3_view, then QUIT (nothing deleted)."""
    try:
        return pop3_view(client, subjects)
    finally:
        client.quit()


def message(subject, body="hello"):
    return ("From: <sender@remote.example>\r\nTo: <%s>\r\nSubject: %s\r\n"
            "Message-ID: <%s@client.example>\r\n\r\n%s\r\n" % (
                ALICE, subject, subject, body)).encode()


@unittest.skipIf(dovecot.skip_reason(), dovecot.skip_reason())
class DovecotCompat(OwnInstanceCase):

    def setUp(self):
        self.inst = self.new_instance(start=False, access=True, users={
            u: USERS[u] for u in (ALICE, BOB)}, aliases={})
        self.dv = self.new_dovecot()

    def new_dovecot(self, extra=""):
        users = {u: (None, password_of(u), self.inst.maildir(u))
                 for u in (ALICE, BOB)}
        dv = dovecot.Dovecot(self.inst.owner, users, extra=extra,
                             directory=os.path.join(self.inst.dir, "dovecot"))
        # Registered after the instance: runs before its directory goes.
        self.addCleanup(dv.cleanup)
        return dv

    def assert_dovecot_content(self):
        """Dovecot found nothing to complain about in what surel wrote
        (it would repair a broken uidlist, and say so in its log)."""
        self.assertEqual(self.dv.problems(), [], self.dv.diagnostics())

    def assert_uidls(self, surel, dovecot_):
        """surel's UIDLs (or (uidl, size) pairs) are Dovecot's; says so
        when they differ only in letter case (Dovecot's %X is lower-case
        hex: var-expand's "%llx")."""
        if surel != dovecot_ and str(surel).lower() == str(dovecot_).lower():
            self.fail("UIDLs differ only in letter case: surel %r, "
                      "Dovecot %r" % (surel[:2], dovecot_[:2]))
        self.assertEqual(surel, dovecot_)

    def surel_pop3(self, user=ALICE):
        return pop3_login(self.inst.pop3s(), user)

    def dovecot_pop3(self, user=ALICE):
        return pop3_login(self.dv.pop3(), user)

    def populate_with_dovecot(self):
        """Five messages appended over IMAP with flags and keywords, one
        delivered straight into new/ as an MTA would (behind Dovecot's
        back), flags changed over IMAP, and a seventh message appended and
        expunged, so that the uidlist's next UID is above every UID left.
        Returns Dovecot's IMAP view."""
        with imap_session(self.dv, ALICE) as im:
            for subject, flags in (("d1", r"(\Seen)"),
                                   ("d2", r"(\Flagged $Label1)"),
                                   ("d3", "()"),
                                   ("d4", r"(\Answered \Seen urgent)"),
                                   ("d5", r"(\Draft projectX)")):
                typ, data = im.append("INBOX", flags, None, message(subject))
                self.assertEqual(typ, "OK", data)
            self.deliver_behind_back(ALICE, "d6")
            typ, data = im.select("INBOX")
            self.assertEqual((typ, data), ("OK", [b"6"]))
            typ, data = im.append("INBOX", r"(\Seen)", None, message("d7"))
            self.assertEqual(typ, "OK", data)
            # By sequence number: d3 gets a keyword and \Seen, d2 loses
            # \Flagged, d7 (the highest UID) goes.
            for seq, change in (("3", r"+FLAGS (\Seen $Label1)"),
                                ("2", r"-FLAGS (\Flagged)"),
                                ("7", r"+FLAGS (\Deleted)")):
                typ, data = im.store(seq, *change.split(" ", 1))
                self.assertEqual(typ, "OK", data)
            typ, data = im.expunge()
            self.assertEqual(typ, "OK", data)
        view = imap_view(self.dv, ALICE)
        self.assertEqual([m[2] for m in view[2]],
                         ["d1", "d2", "d3", "d4", "d5", "d6"])
        return view

    def deliver_behind_back(self, user, subject):
        """A message written as an MTA writes it: tmp/, then new/."""
        md = self.inst.maildir(user)
        name = "1700000000.M1P1.mx.example.test"
        tmp, new = os.path.join(md, "tmp", name), os.path.join(md, "new", name)
        with open(tmp, "wb") as f:
            f.write(message(subject))
        if dovecot.IS_ROOT:
            os.chown(tmp, self.inst.owner.pw_uid, self.inst.owner.pw_gid)
        os.rename(tmp, new)

    def snapshot(self, user=ALICE):
        """The store as files: UIDVALIDITY and next UID of the uidlist,
        the UIDs of the files there ("uids"; a record of a file that is
        gone may stay until the next rewrite, Dovecot keeps them too),
        files the uidlist does not list ("unlisted"), keywords, and the
        flag letters of each file."""
        md = self.inst.maildir(user)
        header, records = parse_uidlist(md)
        flags = file_flags(md)
        return {"V": header["V"], "N": int(header["N"]),
                "uids": {n: r[0] for n, r in records.items() if n in flags},
                "unlisted": sorted(set(flags) - set(records)),
                "keywords": parse_keywords(md), "flags": flags}

    def test_dovecot_store_to_surel_and_back(self):
        self.dv.start()
        uidvalidity, _, dv_msgs = self.populate_with_dovecot()
        flags_of = {subject: flags for _, flags, subject in dv_msgs}
        self.assertEqual(flags_of["d3"], {r"\Seen", "$Label1"})
        self.assertEqual(flags_of["d4"], {r"\Answered", r"\Seen", "urgent"})
        dv_pop, _ = pop3_once(self.dovecot_pop3())
        self.assertEqual([u for u, _ in dv_pop],
                         [dovecot_uidl(uid, uidvalidity) for uid, _, _ in dv_msgs])
        self.dv.stop()
        before = self.snapshot()
        self.assertEqual(before["unlisted"], [])
        self.assertEqual(int(before["V"]), uidvalidity)
        self.assertEqual(sorted(before["uids"].values()),
                         [uid for uid, _, _ in dv_msgs])
        self.assertGreater(before["N"], max(before["uids"].values()) + 1,
                           "the expunged last UID is not in N")

        # surel on Dovecot's store: the same UIDLs and sizes, in the same
        # order, and nothing on disk changes that Dovecot relies on.
        self.inst.start()
        p = self.surel_pop3()
        sr_pop, subjects = pop3_view(p, subjects=True)
        p.quit()
        self.assert_uidls(sr_pop, dv_pop)
        self.assertEqual(subjects, [m[2] for m in dv_msgs])
        after = self.snapshot()
        self.assertEqual(after["V"], before["V"])
        self.assertEqual(after["unlisted"], [])
        self.assertEqual(after["uids"], before["uids"])
        self.assertGreaterEqual(after["N"], before["N"])
        self.assertEqual(after["keywords"], before["keywords"])
        self.assertEqual(after["flags"], before["flags"])

        # New mail through surel, fetched and partly deleted through surel.
        markers = [new_marker("s%d" % i) for i in range(3)]
        for m in markers:
            code, text, _ = self.inst.send(ALICE, marker=m, subject="s")
            self.assertEqual(code, 250, text)
        self.inst.wait_for_maildir(ALICE, len(dv_msgs) + 3)
        p = self.surel_pop3()
        sr_pop2, _ = pop3_view(p)
        self.assertEqual(sr_pop2[:len(sr_pop)], sr_pop)
        self.assertEqual(len(sr_pop2), len(sr_pop) + 3)
        # (Delivery order is the queue's: not necessarily the sending order.)
        got = []
        for n in range(len(sr_pop) + 1, len(sr_pop2) + 1):
            _, lines, _ = p.retr(n)
            got += [l.split(b" ", 1)[1].decode() for l in lines
                    if l.startswith(b"X-Marker: ")]
        self.assertEqual(sorted(got), sorted(markers))
        # DELE d2 (old, with a keyword) and the second new message.
        p.dele(2)
        p.dele(len(sr_pop) + 2)
        p.quit()
        self.inst.stop()
        mid = self.snapshot()
        self.assertEqual(mid["V"], before["V"])
        self.assertEqual(mid["unlisted"], [])
        old_uids = before["uids"]
        d2_base = next(n for n, u in old_uids.items() if u == dv_msgs[1][0])
        self.assertNotIn(d2_base, mid["flags"], "DELE'd message still there")
        for name, uid in old_uids.items():
            if name != d2_base:
                self.assertEqual(mid["uids"].get(name), uid, name)
        new_uids = sorted(u for n, u in mid["uids"].items() if n not in old_uids)
        self.assertEqual(len(new_uids), 2)
        self.assertGreaterEqual(new_uids[0], before["N"],
                                "surel reused an expunged UID")
        # surel's UIDLs of the new messages are made from the uidlist's
        # UIDs, as Dovecot makes them.
        new_uidls = [u for u, _ in sr_pop2[len(sr_pop):]]
        self.assert_uidls([new_uidls[0], new_uidls[2]],
                          [dovecot_uidl(u, uidvalidity) for u in new_uids])
        self.assertEqual(mid["keywords"], before["keywords"])
        for name, letters in before["flags"].items():
            if name != d2_base:
                self.assertEqual(mid["flags"][name], letters, name)

        # Back to Dovecot: same UIDVALIDITY, the same UIDs, flags and
        # keywords, surel's deletions gone, and the POP3 UIDLs surel gave.
        self.dv.start()
        uidvalidity2, uidnext2, dv_msgs2 = imap_view(self.dv, ALICE)
        self.assertEqual(uidvalidity2, uidvalidity)
        kept = [m for m in dv_msgs if m[2] != "d2"]
        self.assertEqual(dv_msgs2[:len(kept)], kept)
        self.assertEqual([m[0] for m in dv_msgs2[len(kept):]], new_uids)
        self.assertGreater(uidnext2, new_uids[-1])
        dv_pop2, _ = pop3_once(self.dovecot_pop3())
        expect = [x for i, x in enumerate(sr_pop2)
                  if i not in (1, len(sr_pop) + 1)]
        self.assertEqual([u for u, _ in dv_pop2], [u for u, _ in expect])
        self.assertEqual(dv_pop2, expect)
        self.assert_dovecot_content()

    def test_saved_pop3_uidls_are_kept(self):
        """UIDLs Dovecot saved in the uidlist (P extension: an old
        pop3_uidl_format kept with pop3_save_uidl) are the ones surel
        gives; messages without one get the %08Xu%08Xv form."""
        self.dv.set_extra("pop3_uidl_format = %v.%u\npop3_save_uidl = yes\n")
        self.dv.start()
        with imap_session(self.dv, ALICE) as im:
            for i in range(3):
                self.assertEqual(im.append("INBOX", "()", None,
                                           message("p%d" % i))[0], "OK")
        old, _ = pop3_once(self.dovecot_pop3())
        self.dv.stop()
        header, records = parse_uidlist(self.inst.maildir(ALICE))
        v = int(header["V"])
        saved = sorted((r[0], r[1].get("P")) for r in records.values())
        self.assertEqual(saved, [(u, "%d.%d" % (v, u)) for u in (1, 2, 3)])
        self.assertEqual([u for u, _ in old], [p for _, p in saved])

        self.inst.start()
        m = new_marker("p")
        code, text, _ = self.inst.send(ALICE, marker=m)
        self.assertEqual(code, 250, text)
        self.inst.wait_for_maildir(ALICE, 4)
        p = self.surel_pop3()
        got, _ = pop3_view(p)
        p.quit()
        self.inst.stop()
        self.assert_uidls(got[:3], old)
        new_uid = max(uid_map(self.inst.maildir(ALICE)).values())
        self.assertEqual(new_uid, 4)
        self.assert_uidls([got[3][0]], [dovecot_uidl(4, v)])
        # The P extensions are still there for Dovecot.
        _, records = parse_uidlist(self.inst.maildir(ALICE))
        self.assertEqual(sorted(r[1].get("P") for r in records.values()
                                if r[0] <= 3), [p for _, p in saved])

        # Dovecot now with the default format: the saved UIDLs and its own
        # for the new message, all as surel said.
        self.dv.set_extra("pop3_save_uidl = yes\n")
        self.dv.start()
        again, _ = pop3_once(self.dovecot_pop3())
        self.assertEqual(again, got)
        self.assert_dovecot_content()

    def test_both_at_once(self):
        """Dovecot and surel on the same store at the same time, as during
        a migration: messages appended through Dovecot's IMAP while surel
        delivers and its POP3 sessions sync the uidlist. Both take the
        uidlist's dotlock: no UID is given twice, every message has the
        same UID (and UIDL) in both."""
        self.dv.start()
        self.inst.start()
        errors, appended, done = [], [], threading.Event()

        def dovecot_appends():
            # Until surel's side is done, so that the two overlap all along.
            try:
                with imap_session(self.dv, ALICE) as im:
                    while not done.is_set() and len(appended) < 200:
                        typ, data = im.append("INBOX", "()", None, message(
                            "dv%d" % len(appended)))
                        if typ != "OK":
                            errors.append(("APPEND", typ, data))
                            return
                        appended.append(1)
                        time.sleep(0.01)
            except Exception as e:  # reported below, in the test's thread
                errors.append(e)

        t = threading.Thread(target=dovecot_appends, daemon=True)
        t.start()
        try:
            for i in range(15):
                m = new_marker("both")
                code, text, _ = self.inst.send(ALICE, marker=m)
                self.assertEqual(code, 250, text)
                self.inst.find_message(ALICE, m)
                pop3_once(self.surel_pop3())
        finally:
            done.set()
            t.join(60)
        self.assertFalse(t.is_alive(), "Dovecot's APPENDs did not finish")
        self.assertEqual(errors, [])
        total = len(appended) + 15

        p = self.surel_pop3()
        surel_view, subjects = pop3_view(p, subjects=True)
        p.quit()
        uidvalidity, _, msgs = imap_view(self.dv, ALICE)
        self.assertEqual(len(msgs), total)
        self.assertEqual(len({m[0] for m in msgs}), total)
        self.assertEqual(subjects, [m[2] for m in msgs])
        self.assert_uidls([u for u, _ in surel_view],
                          [dovecot_uidl(m[0], uidvalidity) for m in msgs])
        dv_view, _ = pop3_once(self.dovecot_pop3())
        self.assertEqual(dv_view, surel_view)
        self.inst.stop()
        snap = self.snapshot()
        self.assertEqual(snap["unlisted"], [])
        self.assertEqual(sorted(snap["uids"].values()), [m[0] for m in msgs])
        self.assert_dovecot_content()

    def test_surel_store_to_dovecot(self):
        """A Maildir that only surel ever touched (delivery, POP3 with
        DELE) is served by Dovecot with surel's UIDVALIDITY and UIDLs."""
        self.inst.start()
        markers = [new_marker("b%d" % i) for i in range(4)]
        for m in markers:
            code, text, _ = self.inst.send(BOB, marker=m)
            self.assertEqual(code, 250, text)
        self.inst.wait_for_maildir(BOB, 4)
        p = self.surel_pop3(BOB)
        first, subjects = pop3_view(p, subjects=True)
        self.assertEqual(sorted(subjects), sorted("test " + m for m in markers))
        p.dele(1)
        p.quit()
        p = self.surel_pop3(BOB)
        second, _ = pop3_view(p)
        p.quit()
        self.assertEqual(second, first[1:])
        self.inst.stop()
        header, records = parse_uidlist(self.inst.maildir(BOB))
        v = int(header["V"])
        on_disk = file_flags(self.inst.maildir(BOB))
        uids = sorted(r[0] for n, r in records.items() if n in on_disk)
        self.assertEqual(len(uids), 3)
        self.assert_uidls([u for u, _ in second],
                          [dovecot_uidl(u, v) for u in uids])

        self.dv.start()
        uidvalidity, uidnext, msgs = imap_view(self.dv, BOB)
        self.assertEqual(uidvalidity, v)
        self.assertEqual([m[0] for m in msgs], uids)
        self.assertGreater(uidnext, uids[-1])
        self.assertEqual([m[2] for m in msgs], subjects[1:])
        got, _ = pop3_once(self.dovecot_pop3(BOB))
        self.assertEqual(got, second)
        self.assert_dovecot_content()


if __name__ == "__main__":
    unittest.main()
