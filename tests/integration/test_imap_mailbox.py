"""Mailbox names and the commands about mailboxes (imapd) over a real
instance: the special-use folders a new user gets; CREATE, DELETE and
RENAME (RENAME INBOX included) with their effect on the Maildir++
folders on disk; the issue's bad names ("..", "/", leading ".", NUL,
invalid modified UTF-7), CREATE of an existing mailbox and of INBOX,
RENAME into itself, DELETE of the selected mailbox; modified UTF-7 names
("Entwurfe" with u-umlaut is Entw&APw-rfe on the wire and .Entw&APw-rfe
on disk) and UTF-8 names after ENABLE UTF8=ACCEPT; the "/" separator;
SUBSCRIBE/UNSUBSCRIBE in Dovecot's subscriptions format; LIST with
LIST-EXTENDED, SPECIAL-USE and LIST-STATUS, LSUB; STATUS after
deliveries; QUOTA after deliveries with a quota; METADATA round trips
and limits. Expected behaviour where the RFCs are silent was taken from
Dovecot 2.3 (noted at each test). One mailbox per test; a raw client
that sees every response line."""

import os
import re
import unittest

import dovecot
from imap_util import ImapCase, crlf_len, put_message, uidvalidity_of
from instance import password_of, read_file

SPECIAL = [("Archive", r"\Archive"), ("Drafts", r"\Drafts"),
           ("Junk", r"\Junk"), ("Sent", r"\Sent"), ("Trash", r"\Trash")]
CANNOT = "NO [CANNOT] Invalid mailbox name: "


def folders_on_disk(maildir):
    """The Maildir++ folders (directory names with their leading '.')."""
    return sorted(n for n in os.listdir(maildir)
                  if n.startswith(".") and n not in (".", "..")
                  and os.path.isdir(os.path.join(maildir, n)))


def put_sized(inst, folder, flags=""):
    """A message file in folder's cur/ (put_message); its RFC822.SIZE."""
    return crlf_len(read_file(put_message(inst, folder, flags=flags)))


class MailboxCase(ImapCase):
    """self.maildir: the test's Maildir (imapd makes it at login)."""

    @property
    def maildir(self):
        return self.inst.maildir(self.addr)

    def deliver(self, n=1):
        self.inst.deliver(self.addr, n, prefix="mbox")


class TestNames(MailboxCase):
    """CREATE, DELETE, RENAME and names, with '.' as separator."""

    def test_special_use_first_login(self):
        # A new user gets Drafts, Sent, Trash, Junk and Archive, made and
        # subscribed at the first login, and INBOX subscribed too (as a
        # Dovecot with "auto = subscribe" for them).
        c = self.client()
        self.assertEqual(c.ok('LIST "" "*"'), [
            'LIST (\\HasNoChildren) "." "INBOX"'] + [
            'LIST (\\HasNoChildren %s) "." "%s"' % (a, n)
            for n, a in SPECIAL])
        self.assertEqual(folders_on_disk(self.maildir),
                         ["." + n for n, _ in SPECIAL])
        for n, _ in SPECIAL:
            self.assertTrue(os.path.isfile(
                os.path.join(self.maildir, "." + n, "maildirfolder")))
        self.assertEqual(sorted(c.ok('LSUB "" "*"')), sorted(
            ['LSUB () "." "INBOX"'] + ['LSUB (%s) "." "%s"' % (a, n)
                                       for n, a in SPECIAL]))
        subs = read_file(os.path.join(self.maildir, "subscriptions"))
        self.assertTrue(subs.startswith(b"V\t2\n\n"), subs)
        self.assertEqual(sorted(subs[5:].decode().splitlines()),
                         sorted(["INBOX"] + [n for n, _ in SPECIAL]))
        # Once the user has one of them, nothing is made again.
        c.ok("DELETE Junk")
        c.ok("LOGOUT")
        c2 = self.client()
        names = [l.rsplit(" ", 1)[1] for l in c2.ok('LIST "" "*"')]
        self.assertNotIn('"Junk"', names)
        self.assertIn('"Sent"', names)

    def test_create_bad_names(self):
        c = self.client()
        before = folders_on_disk(self.maildir)
        cases = [
            ("a..b", CANNOT + "empty level in mailbox name"),
            (".a", CANNOT + "empty level in mailbox name"),
            ("..", CANNOT + "empty level in mailbox name"),
            ("a/b", CANNOT + "'/' not allowed in mailbox names"),
            ("../x", CANNOT + "empty level in mailbox name"),
            ("x/../y", CANNOT + "'/' not allowed in mailbox names"),
            ('""', CANNOT + "empty mailbox name"),
            ("&Jjo", CANNOT + "unterminated modified BASE64"),
            ("&AGE-", CANNOT + "printable ASCII in modified BASE64"),
            ("&2D0-", CANNOT + "unpaired UTF-16 surrogate"),
            ("&AOQ-&APY-", CANNOT + "adjacent modified BASE64 shifts"),
        ]
        for name, reply in cases:
            self.assertEqual(c.cmd("CREATE " + name), ([], reply), name)
        # NUL only fits in a literal; 8-bit octets are not modified UTF-7.
        self.assertEqual(c.cmd(b"CREATE {3+}\r\na\0b"),
                         ([], "NO [CANNOT] Invalid mailbox name: contains "
                          "NUL"))
        self.assertEqual(c.cmd('CREATE "Entw\u00fcrfe"'),
                         ([], CANNOT + "octet not allowed in modified "
                          "UTF-7"))
        for cmd in ("DELETE a..b", "RENAME Sent a/b", "SUBSCRIBE .x",
                    "STATUS &Jjo (MESSAGES)", "SELECT a..b",
                    "GETQUOTAROOT a/b"):
            self.assertTrue(c.cmd(cmd)[1].startswith(CANNOT), cmd)
        self.assertEqual(folders_on_disk(self.maildir), before)

    def test_create_existing_and_inbox(self):
        c = self.client()
        exists = ([], "NO [ALREADYEXISTS] Mailbox already exists.")
        self.assertEqual(c.cmd("CREATE INBOX"), exists)
        self.assertEqual(c.cmd("CREATE inbox"), exists)
        self.assertEqual(c.cmd("CREATE Drafts"), exists)
        self.assertEqual(c.cmd("CREATE Box"), ([], "OK Create completed."))
        self.assertEqual(c.cmd("CREATE Box"), exists)
        # Names are case-sensitive but for INBOX (as in Dovecot).
        self.assertEqual(c.cmd("CREATE box")[1], "OK Create completed.")
        # A trailing separator: a parent to be; the folder is made.
        self.assertEqual(c.cmd("CREATE x.")[1], "OK Create completed.")
        self.assertIn(".x", folders_on_disk(self.maildir))
        # INBOX children live below ".INBOX" as in Dovecot.
        c.ok("CREATE inbox.sub")
        self.assertIn(".INBOX.sub", folders_on_disk(self.maildir))
        self.assertEqual(c.ok('LIST "" "INBOX*"'), [
            'LIST (\\HasChildren) "." "INBOX"',
            'LIST (\\HasNoChildren) "." "INBOX.sub"'])

    def test_create_hierarchy(self):
        # Dovecot makes only the named folder; the parents are listed as
        # \Noselect \HasChildren (\NonExistent with LIST-EXTENDED).
        c = self.client()
        c.ok("CREATE a.b.c")
        self.assertNotIn(".a", folders_on_disk(self.maildir))
        self.assertIn(".a.b.c", folders_on_disk(self.maildir))
        self.assertEqual(c.ok('LIST "" "a*"'), [
            'LIST (\\Noselect \\HasChildren) "." "a"',
            'LIST (\\Noselect \\HasChildren) "." "a.b"',
            'LIST (\\HasNoChildren) "." "a.b.c"'])
        self.assertEqual(c.ok('LIST () "" "a*"'), [
            'LIST (\\NonExistent \\HasChildren) "." "a"',
            'LIST (\\NonExistent \\HasChildren) "." "a.b"',
            'LIST (\\HasNoChildren) "." "a.b.c"'])
        self.assertEqual(c.ok('LIST "" "a.%"'), [
            'LIST (\\Noselect \\HasChildren) "." "a.b"'])
        c.ok("CREATE a")
        self.assertEqual(c.ok('LIST "" "a"'), [
            'LIST (\\HasChildren) "." "a"'])
        self.assertTrue(c.cmd("SELECT a.b")[1].startswith(
            "NO [NONEXISTENT] "))

    def test_mutf7_names(self):
        c = self.client()
        c.ok("CREATE Entw&APw-rfe")
        self.assertIn(".Entw&APw-rfe", folders_on_disk(self.maildir))
        self.assertEqual(c.ok('LIST "" "Entw*"'), [
            'LIST (\\HasNoChildren) "." "Entw&APw-rfe"'])
        c.ok("CREATE a&-b.&ZeVnLIqe-")
        self.assertIn(".a&-b.&ZeVnLIqe-", folders_on_disk(self.maildir))
        self.assertEqual(c.ok('LIST "" "a&-b.*"'), [
            'LIST (\\HasNoChildren) "." "a&-b.&ZeVnLIqe-"'])
        # A pattern is decoded too: "%" stops at the separator.
        self.assertEqual(c.ok('LIST "" "a&-%"'), [
            'LIST (\\Noselect \\HasChildren) "." "a&-b"'])
        # A folder another program made whose name is not strict modified
        # UTF-7 is not shown (it could not be named back).
        os.makedirs(os.path.join(self.maildir, ".bad&AGE-", "cur"))
        self.assertEqual(c.ok('LIST "" "bad*"'), [])
        # The same names in UTF-8 once the client enables it (RFC 6855).
        self.assertEqual(c.ok("ENABLE UTF8=ACCEPT"), ["ENABLED UTF8=ACCEPT"])
        self.assertEqual(c.ok('LIST "" "Entw*"'), [
            'LIST (\\HasNoChildren) "." "Entw\u00fcrfe"'])
        c.ok('CREATE "Brief\u20ac"')
        self.assertIn(".Brief&IKw-", folders_on_disk(self.maildir))
        # "&" is an ordinary character in UTF-8 names.
        c.ok('CREATE "x&y"')
        self.assertIn(".x&-y", folders_on_disk(self.maildir))
        self.assertEqual(c.cmd('CREATE "a\udcff"'.encode(
            "utf-8", "surrogateescape")), ([], CANNOT + "not valid UTF-8"))
        self.assertEqual(c.ok('STATUS "Brief\u20ac" (MESSAGES)'),
                         ['STATUS "Brief\u20ac" (MESSAGES 0)'])

    def test_delete(self):
        c = self.client()
        c.ok("CREATE p")
        c.ok("CREATE p.q")
        # As Dovecot: a folder with children is deleted, the children
        # stay and it is shown as a \Noselect parent.
        self.assertEqual(c.cmd("DELETE p"), ([], "OK Delete completed."))
        self.assertNotIn(".p", folders_on_disk(self.maildir))
        self.assertIn(".p.q", folders_on_disk(self.maildir))
        self.assertEqual(c.ok('LIST "" "p*"'), [
            'LIST (\\Noselect \\HasChildren) "." "p"',
            'LIST (\\HasNoChildren) "." "p.q"'])
        nonexistent = ([], "NO [NONEXISTENT] Mailbox doesn't exist.")
        self.assertEqual(c.cmd("DELETE p"), nonexistent)
        self.assertEqual(c.cmd("DELETE nothing"), nonexistent)
        self.assertEqual(c.cmd("DELETE INBOX"),
                         ([], "NO [CANNOT] INBOX can't be deleted."))
        self.assertEqual(c.cmd("DELETE inbox"),
                         ([], "NO [CANNOT] INBOX can't be deleted."))
        # Messages go with the folder; a new folder of that name is empty.
        put_message(self.inst, os.path.join(self.maildir, ".p.q"))
        self.assertEqual(c.ok("STATUS p.q (MESSAGES)"),
                         ['STATUS "p.q" (MESSAGES 1)'])
        c.ok("DELETE p.q")
        self.assertEqual(c.ok('LIST "" "p*"'), [])
        c.ok("CREATE p.q")
        self.assertEqual(c.ok("STATUS p.q (MESSAGES)"),
                         ['STATUS "p.q" (MESSAGES 0)'])

    def test_delete_selected(self):
        # Dovecot: OK, then "* BYE Selected mailbox was deleted, have to
        # disconnect." and the connection ends.
        c = self.client()
        c.ok("CREATE Doomed")
        c.ok("SELECT Doomed")
        self.assertEqual(c.cmd("DELETE Doomed"),
                         ([], "OK Delete completed."))
        self.assertEqual(c.response(), "* BYE Selected mailbox was deleted, "
                         "have to disconnect.")
        self.assertTrue(c.closed())
        self.assertNotIn(".Doomed", folders_on_disk(self.maildir))

    def test_rename(self):
        c = self.client()
        c.ok("CREATE r")
        c.ok("CREATE r.s.t")
        put_message(self.inst, os.path.join(self.maildir, ".r.s.t"))
        c.ok("SETMETADATA r (/private/comment \"follows\")")
        self.assertEqual(c.cmd("RENAME r q"), ([], "OK Rename completed."))
        disk = folders_on_disk(self.maildir)
        self.assertIn(".q", disk)
        self.assertIn(".q.s.t", disk)
        self.assertFalse([d for d in disk if d.startswith(".r")], disk)
        self.assertEqual(c.ok("STATUS q.s.t (MESSAGES)"),
                         ['STATUS "q.s.t" (MESSAGES 1)'])
        # RFC 5464 4.1: annotations follow the mailbox.
        self.assertEqual(c.ok("GETMETADATA q /private/comment"),
                         ['METADATA "q" ("/private/comment" "follows")'])
        self.assertEqual(c.cmd("RENAME q q"), (
            [], "NO [ALREADYEXISTS] Can't rename mailbox to itself."))
        self.assertEqual(c.cmd("RENAME q q.x"), (
            [], "NO [CANNOT] Can't rename mailbox under its own child."))
        self.assertEqual(c.cmd("RENAME q Sent"), (
            [], "NO [ALREADYEXISTS] Target mailbox already exists."))
        self.assertEqual(c.cmd("RENAME q inbox"), (
            [], "NO [ALREADYEXISTS] Target mailbox already exists."))
        self.assertEqual(c.cmd("RENAME nothing z"), (
            [], "NO [NONEXISTENT] Mailbox doesn't exist."))
        # As Dovecot: a \Noselect parent can be renamed; its children move.
        self.assertEqual(c.cmd("RENAME q.s q.u"), ([], "OK Rename "
                                                  "completed."))
        self.assertIn(".q.u.t", folders_on_disk(self.maildir))
        self.assertNotIn(".q.s.t", folders_on_disk(self.maildir))
        # A child that would land on an existing folder: nothing moves.
        c.ok("CREATE w.t")
        self.assertEqual(c.cmd("RENAME q.u w"), (
            [], "NO [ALREADYEXISTS] Target mailbox already exists."))
        self.assertIn(".q.u.t", folders_on_disk(self.maildir))
        # Renaming the selected mailbox ends the session, as in Dovecot.
        c.ok("SELECT q.u.t")
        self.assertEqual(c.cmd("RENAME q.u.t v"), ([], "OK Rename "
                                                  "completed."))
        self.assertEqual(c.response(), "* BYE Selected mailbox was renamed, "
                         "have to disconnect.")
        self.assertTrue(c.closed())
        self.assertIn(".v", folders_on_disk(self.maildir))

    def test_rename_inbox(self):
        # RFC 3501 6.3.5: INBOX's messages move to the new folder, INBOX
        # stays and is empty (Dovecot refuses this for a Maildir root).
        c = self.client()
        sizes = [put_sized(self.inst, self.maildir, flags=f)
                 for f in ("S", "FS", "")]
        c.ok("SETMETADATA INBOX (/shared/comment \"inbox note\")")
        before = c.ok("STATUS INBOX (UIDVALIDITY UIDNEXT)")[0]
        self.assertEqual(c.cmd("RENAME INBOX Old"), ([], "OK Rename "
                                                    "completed."))
        self.assertEqual(c.ok("STATUS Old (MESSAGES UNSEEN SIZE)"), [
            'STATUS "Old" (MESSAGES 3 UNSEEN 1 SIZE %d)' % sum(sizes)])
        self.assertEqual(c.ok("STATUS INBOX (MESSAGES)"),
                         ['STATUS "INBOX" (MESSAGES 0)'])
        # INBOX keeps its UIDVALIDITY; its UIDs are not reused.
        after = c.ok("STATUS INBOX (UIDVALIDITY UIDNEXT)")[0]
        self.assertEqual(before, after)
        # New to Old: \Recent for its first SELECT (as a COPY's).
        c.ok("SELECT Old")
        self.assertEqual(sorted(c.ok("FETCH 1:* FLAGS")), [
            "1 FETCH (FLAGS (\\Seen \\Recent))",
            "2 FETCH (FLAGS (\\Flagged \\Seen \\Recent))",
            "3 FETCH (FLAGS (\\Recent))"])
        # Annotations are copied (RFC 5464 4.1) and INBOX keeps its own.
        for box in ("INBOX", "Old"):
            self.assertEqual(c.ok("GETMETADATA %s /shared/comment" % box), [
                'METADATA "%s" ("/shared/comment" "inbox note")' % box])
        self.assertEqual(c.cmd("RENAME INBOX Old")[1],
                         "NO [ALREADYEXISTS] Target mailbox already exists.")

    def test_subscribe(self):
        c = self.client()
        c.ok("CREATE Lists.ietf")
        self.assertEqual(c.cmd("SUBSCRIBE Nothing"), (
            [], "NO [NONEXISTENT] Mailbox doesn't exist."))
        self.assertEqual(c.cmd("SUBSCRIBE Lists.ietf"),
                         ([], "OK Subscribe completed."))
        c.ok("SUBSCRIBE Lists.ietf")
        path = os.path.join(self.maildir, "subscriptions")
        lines = read_file(path).decode().split("\n")
        self.assertEqual(lines.count("Lists\tietf"), 1)
        # LSUB: a parent that is not subscribed but hides a subscribed
        # child from "%" is \Noselect (RFC 3501 6.3.9).
        self.assertEqual(c.ok('LSUB "" "Lists*"'),
                         ['LSUB () "." "Lists.ietf"'])
        self.assertEqual(c.ok('LSUB "" "L%"'),
                         ['LSUB (\\Noselect) "." "Lists"'])
        # A subscription outlives its mailbox (RFC 3501 6.3.6).
        c.ok("DELETE Lists.ietf")
        self.assertEqual(c.ok('LSUB "" "Lists*"'),
                         ['LSUB () "." "Lists.ietf"'])
        self.assertEqual(c.ok('LIST (SUBSCRIBED) "" "Lists*"'), [
            'LIST (\\NonExistent \\Subscribed) "." "Lists.ietf"'])
        self.assertEqual(c.cmd("UNSUBSCRIBE Lists.ietf"),
                         ([], "OK Unsubscribe completed."))
        # As Dovecot: unsubscribing a name not subscribed is fine.
        self.assertEqual(c.cmd("UNSUBSCRIBE Lists.ietf"),
                         ([], "OK Unsubscribe completed."))
        self.assertEqual(c.ok('LSUB "" "Lists*"'), [])
        self.assertNotIn("Lists", read_file(path).decode())
        # Lines of a Dovecot file this server cannot name stay.
        with open(path, "ab") as f:
            f.write(b"shared\tsomeone\tINBOX\n")
        c.ok("SUBSCRIBE Sent")
        c.ok("UNSUBSCRIBE Sent")
        self.assertIn(b"shared\tsomeone\tINBOX\n", read_file(path))
        self.assertFalse(os.path.exists(path + ".lock"))

    def test_list_extended(self):
        c = self.client()
        for name in ("Foo", "Foo.Bar", "Foo.Baz", "Moo", "Tofu.Veg"):
            c.ok("CREATE " + name)
        c.ok("SUBSCRIBE Foo.Baz")
        c.ok("SUBSCRIBE Moo")
        # RFC 5258 example 7: several patterns.
        self.assertEqual(c.ok('LIST "" ("Moo" "Foo.%")'), [
            'LIST (\\HasNoChildren) "." "Foo.Bar"',
            'LIST (\\HasNoChildren) "." "Foo.Baz"',
            'LIST (\\HasNoChildren) "." "Moo"'])
        self.assertEqual(c.ok('LIST (SUBSCRIBED) "" "*oo*"'), [
            'LIST (\\HasNoChildren \\Subscribed) "." "Foo.Baz"',
            'LIST (\\HasNoChildren \\Subscribed) "." "Moo"'])
        # RFC 5258 example 8: RECURSIVEMATCH reports hidden children.
        self.assertEqual(c.ok('LIST (SUBSCRIBED RECURSIVEMATCH) "" "%oo%"'), [
            'LIST (\\HasChildren) "." "Foo" ("CHILDINFO" ("SUBSCRIBED"))',
            'LIST (\\HasNoChildren \\Subscribed) "." "Moo"'])
        # (The first level "INBOX" matches case-insensitively: "o" is in.)
        self.assertEqual(c.ok('LIST () "" "*o*" RETURN (SUBSCRIBED)'), [
            'LIST (\\HasNoChildren \\Subscribed) "." "INBOX"',
            'LIST (\\HasChildren) "." "Foo"',
            'LIST (\\HasNoChildren) "." "Foo.Bar"',
            'LIST (\\HasNoChildren \\Subscribed) "." "Foo.Baz"',
            'LIST (\\HasNoChildren \\Subscribed) "." "Moo"',
            'LIST (\\HasChildren) "." "Tofu"'.replace(
                "\\HasChildren", "\\NonExistent \\HasChildren"),
            'LIST (\\HasNoChildren) "." "Tofu.Veg"'])
        # RFC 6154: the SPECIAL-USE selection option.
        self.assertEqual(c.ok('LIST (SPECIAL-USE) "" "*" '
                              'RETURN (SPECIAL-USE)'), [
            'LIST (\\HasNoChildren %s) "." "%s"' % (a, n)
            for n, a in SPECIAL])
        # The root and delimiter; a reference.
        self.assertEqual(c.ok('LIST "" ""'), ['LIST (\\Noselect) "." ""'])
        self.assertEqual(c.ok('LIST "Foo.Bar" ""'),
                         ['LIST (\\Noselect) "." "Foo."'])
        self.assertEqual(c.ok('LIST "Foo." "%"'), [
            'LIST (\\HasNoChildren) "." "Foo.Bar"',
            'LIST (\\HasNoChildren) "." "Foo.Baz"'])
        self.assertEqual(c.ok('LIST "" "inbox"'),
                         ['LIST (\\HasNoChildren) "." "INBOX"'])
        bad = [
            'LIST (RECURSIVEMATCH) "" "*"',
            'LIST (REMOTE RECURSIVEMATCH) "" "*"',
            'LIST (FOO) "" "*"',
            'LIST "" "*" RETURN (FOO)',
            'LIST "" "*" RETURN (STATUS)',
            'LIST "" "*" RETURN (STATUS ())',
            'LIST "" "*" RETURN',
            'LIST "" "*" EXTRA (CHILDREN)',
            'LIST ""',
            'LIST "" ()',
            'LSUB "" ("a")',
        ]
        for cmd in bad:
            self.assertTrue(c.cmd(cmd)[1].startswith("BAD"), cmd)

    def test_list_status(self):
        # RFC 5819: a STATUS response after each selectable mailbox.
        c = self.client()
        c.ok("CREATE Box.Sub")
        box = os.path.join(self.maildir, ".Box.Sub")
        size = put_sized(self.inst, box, flags="S")
        size += put_sized(self.inst, box)
        self.assertEqual(c.ok('LIST "" "Box*" RETURN (STATUS (MESSAGES '
                              'UNSEEN SIZE))'), [
            'LIST (\\NonExistent \\HasChildren) "." "Box"',
            'LIST (\\HasNoChildren) "." "Box.Sub"',
            'STATUS "Box.Sub" (MESSAGES 2 UNSEEN 1 SIZE %d)' % size])
        self.assertEqual(c.ok('LIST (SUBSCRIBED) "" "*" RETURN (STATUS '
                              '(MESSAGES))')[:2], [
            'LIST (\\HasNoChildren \\Subscribed) "." "INBOX"',
            'STATUS "INBOX" (MESSAGES 0)'])


class TestStatusQuota(MailboxCase):
    """STATUS, QUOTA: deliveries through SMTP under a quota."""

    CONFIG = {"disable_plaintext_auth": "no",
              "virtual_mailbox_quota": "102400"}

    def test_status(self):
        self.deliver(2)
        c = self.client()
        st = c.ok("STATUS INBOX (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN "
                  "DELETED SIZE APPENDLIMIT)")
        uidvalidity = uidvalidity_of(self.maildir)
        sizes = [os.path.getsize(p) for p in self.inst.messages(self.addr)]
        lines = [read_file(p).count(b"\n") for p in
                 self.inst.messages(self.addr)]
        vsize = sum(sizes) + sum(lines)
        self.assertEqual(st, [
            'STATUS "INBOX" (MESSAGES 2 RECENT 2 UIDNEXT 3 UIDVALIDITY %d '
            'UNSEEN 2 DELETED 0 SIZE %d APPENDLIMIT 1048576)' % (
                uidvalidity, vsize)])
        # MAILBOXID is the folder's GUID (RFC 8474) and stays the same.
        m = re.match(r'STATUS "INBOX" \(MAILBOXID \(([0-9a-f]{32})\)\)$',
                     c.ok("STATUS INBOX (MAILBOXID)")[0])
        self.assertIsNotNone(m)
        self.assertEqual(c.ok("STATUS INBOX (MAILBOXID)")[0],
                         'STATUS "INBOX" (MAILBOXID (%s))' % m.group(1))
        # The selected mailbox: the numbers the client has been told.
        sel = c.ok("SELECT INBOX")
        self.assertIn("2 EXISTS", sel)
        c.ok("STORE 1 +FLAGS (\\Seen \\Deleted)")
        self.assertEqual(c.ok("STATUS INBOX (MESSAGES UNSEEN DELETED)"),
                         ['STATUS "INBOX" (MESSAGES 2 UNSEEN 1 DELETED 1)'])
        self.deliver(1)
        untagged = c.ok("STATUS INBOX (MESSAGES UIDNEXT)")
        self.assertEqual(untagged[-1], 'STATUS "INBOX" (MESSAGES 3 UIDNEXT 4)')
        self.assertIn("3 EXISTS", untagged)
        self.assertEqual(c.cmd("STATUS Nothing (MESSAGES)"), (
            [], "NO [NONEXISTENT] Mailbox doesn't exist."))
        for bad in ("STATUS INBOX ()", "STATUS INBOX (FOO)",
                    "STATUS INBOX", "STATUS INBOX MESSAGES"):
            self.assertTrue(c.cmd(bad)[1].startswith("BAD"), bad)

    def test_quota(self):
        self.deliver(3)
        c = self.client()
        used = sum(os.path.getsize(p) for p in self.inst.messages(self.addr))
        quota = '"User quota" (STORAGE %d 100)' % ((used + 1023) // 1024)
        self.assertEqual(c.cmd("GETQUOTAROOT INBOX"), (
            ['QUOTAROOT "INBOX" "User quota"', "QUOTA " + quota],
            "OK Getquotaroot completed."))
        self.assertEqual(c.cmd('GETQUOTA "User quota"'), (
            ["QUOTA " + quota], "OK Getquota completed."))
        # Every mailbox shares the one root, as in Dovecot.
        self.assertEqual(c.ok("GETQUOTAROOT Sent")[0],
                         'QUOTAROOT "Sent" "User quota"')
        self.assertEqual(c.cmd('GETQUOTA ""'), (
            [], "NO [NONEXISTENT] Quota root doesn't exist."))
        self.assertEqual(c.cmd('SETQUOTA "User quota" (STORAGE 1)'), (
            [], "NO [NOPERM] Quota can be changed only by the "
            "administrator."))
        self.assertTrue(c.cmd("GETQUOTAROOT")[1].startswith("BAD"))
        # The maildirsize file holds the same figures.
        lines = read_file(os.path.join(self.maildir, "maildirsize")).decode(
            ).splitlines()
        self.assertEqual(lines[0], "102400S")
        self.assertEqual(sum(int(l.split()[0]) for l in lines[1:]), used)


class TestNoQuota(MailboxCase):
    def test_no_quota(self):
        # No limit, no quota root: QUOTAROOT lists none (RFC 9208 requires
        # the response; Dovecot sends only "OK No quota").
        c = self.client()
        self.assertEqual(c.cmd("GETQUOTAROOT INBOX"), (
            ['QUOTAROOT "INBOX"'], "OK Getquotaroot completed."))
        self.assertEqual(c.cmd('GETQUOTA "User quota"'), (
            [], "NO [NONEXISTENT] Quota root doesn't exist."))


class TestMetadata(MailboxCase):
    CONFIG = {"disable_plaintext_auth": "no",
              "imapd_metadata_size_limit": "2048"}

    def test_metadata(self):
        c = self.client()
        c.ok("CREATE Box")
        self.assertEqual(c.cmd(
            'SETMETADATA Box (/private/comment "mine" /shared/Comment '
            '"ours" /shared/vendor/x/a "1" /shared/vendor/x/a/b "2")'),
            ([], "OK Setmetadata completed."))
        # Names are case-insensitive; absent entries are NIL (Dovecot).
        self.assertEqual(c.ok("GETMETADATA Box (/PRIVATE/comment "
                              "/shared/comment /shared/none)"), [
            'METADATA "Box" ("/private/comment" "mine" "/shared/comment" '
            '"ours" "/shared/none" NIL)'])
        self.assertEqual(c.ok("GETMETADATA (DEPTH 1) Box /shared/vendor/x"), [
            'METADATA "Box" ("/shared/vendor/x/a" "1")'])
        self.assertEqual(c.ok("GETMETADATA (DEPTH infinity) Box /shared"), [
            'METADATA "Box" ("/shared/comment" "ours" "/shared/vendor/x/a" '
            '"1" "/shared/vendor/x/a/b" "2")'])
        # MAXSIZE leaves out larger values and says how large they are.
        self.assertEqual(c.cmd("GETMETADATA (MAXSIZE 3) Box (/private/comment"
                               " /shared/vendor/x/a)"), (
            ['METADATA "Box" ("/shared/vendor/x/a" "1")'],
            "OK [METADATA LONGENTRIES 4] Getmetadata completed."))
        # Values are binary safe: a literal8 in, a literal8 out.
        self.assertEqual(c.cmd(b"SETMETADATA Box (/shared/bin ~{5+}\r\n"
                               b"a\0b\r\n)")[1], "OK Setmetadata completed.")
        self.assertEqual(c.ok("GETMETADATA Box /shared/bin"), [
            'METADATA "Box" ("/shared/bin" ~{5}\r\na\0b\r\n)'])
        self.assertEqual(c.cmd("SETMETADATA Box (/shared/bin NIL)")[1],
                         "OK Setmetadata completed.")
        self.assertEqual(c.ok("GETMETADATA Box /shared/bin"), [
            'METADATA "Box" ("/shared/bin" NIL)'])
        # Server entries, in their own file.
        c.ok('SETMETADATA "" (/shared/comment "server")')
        self.assertEqual(c.ok('GETMETADATA "" /shared/comment'), [
            'METADATA "" ("/shared/comment" "server")'])
        self.assertEqual(c.ok('GETMETADATA "" /private/comment'), [
            'METADATA "" ("/private/comment" NIL)'])
        self.assertTrue(os.path.exists(os.path.join(
            self.maildir, "surel-metadata-server")))
        self.assertEqual(read_file(os.path.join(
            self.maildir, ".Box", "surel-metadata")),
            b"surel-metadata 1\n16 4\n/private/comment" b"mine\n"
            b"15 4\n/shared/commentours\n18 1\n/shared/vendor/x/a1\n"
            b"20 1\n/shared/vendor/x/a/b2\n")
        self.assertEqual(c.cmd('SETMETADATA "" (/shared/admin "x")')[1],
                         "NO [CANNOT] /shared/admin is read-only.")
        for bad in ("SETMETADATA Box (/foo \"x\")",
                    "SETMETADATA Box (/shared \"x\")",
                    "SETMETADATA Box (/shared/a/ \"x\")",
                    "SETMETADATA Box (/shared/a//b \"x\")",
                    "SETMETADATA Box (/shared/a*b \"x\")",
                    "SETMETADATA Box (/shared/a)",
                    "SETMETADATA Box ()",
                    "GETMETADATA (DEPTH 2) Box /shared",
                    "GETMETADATA (FOO 1) Box /shared",
                    "GETMETADATA Box /shared/a%"):
            self.assertTrue(c.cmd(bad)[1].startswith("BAD"), bad)
        self.assertEqual(c.cmd('SETMETADATA Nothing (/shared/x "1")'), (
            [], "NO [NONEXISTENT] Mailbox doesn't exist."))
        self.assertEqual(c.cmd("GETMETADATA Nothing /shared/x"), (
            [], "NO [NONEXISTENT] Mailbox doesn't exist."))
        # DELETE takes a mailbox's annotations along (RFC 5464 4.1).
        c.ok("DELETE Box")
        c.ok("CREATE Box")
        self.assertEqual(c.ok("GETMETADATA Box /private/comment"), [
            'METADATA "Box" ("/private/comment" NIL)'])

    def test_metadata_limits(self):
        c = self.client()
        # One value larger than the whole budget: MAXSIZE, nothing set.
        self.assertEqual(c.cmd('SETMETADATA INBOX (/shared/a "1" /shared/b '
                               '{3000+}\r\n' + "x" * 3000 + ")"), (
            [], "NO [METADATA MAXSIZE 2039] Value too large."))
        self.assertEqual(c.ok("GETMETADATA INBOX /shared/a"), [
            'METADATA "INBOX" ("/shared/a" NIL)'])
        # The budget fills up: TOOMANY, and again nothing changes.
        for i in range(3):
            c.ok('SETMETADATA INBOX (/shared/n%d {500+}\r\n%s)' % (
                i, "y" * 500))
        self.assertEqual(c.cmd('SETMETADATA INBOX (/shared/n3 {1100+}\r\n%s '
                               '/shared/n0 NIL)' % ("z" * 1100)), (
            [], "NO [METADATA TOOMANY] Too many annotations."))
        self.assertEqual(c.ok("GETMETADATA INBOX /shared/n0"), [
            'METADATA "INBOX" ("/shared/n0" "%s")' % ("y" * 500)])
        # What is removed in the same command makes room.
        c.ok('SETMETADATA INBOX (/shared/n3 {600+}\r\n%s /shared/n0 NIL)'
             % ("z" * 600))
        # Replacing a value counts only the difference.
        c.ok('SETMETADATA INBOX (/shared/n1 "small")')
        c.ok('SETMETADATA INBOX (/shared/n4 {900+}\r\n%s)' % ("w" * 900))


class TestSlashSeparator(MailboxCase):
    CONFIG = {"disable_plaintext_auth": "no",
              "imapd_hierarchy_separator": "/"}

    def test_slash(self):
        c = self.client()
        self.assertEqual(c.ok('LIST "" ""'), ['LIST (\\Noselect) "/" ""'])
        c.ok("CREATE Lists/ietf/imap")
        # On disk the layout is Maildir++ whatever the client sees.
        self.assertIn(".Lists.ietf.imap", folders_on_disk(self.maildir))
        self.assertEqual(c.ok('LIST "" "Lists/%"'), [
            'LIST (\\Noselect \\HasChildren) "/" "Lists/ietf"'])
        self.assertEqual(c.ok('LIST "" "Lists/*"'), [
            'LIST (\\Noselect \\HasChildren) "/" "Lists/ietf"',
            'LIST (\\HasNoChildren) "/" "Lists/ietf/imap"'])
        self.assertEqual(c.cmd("CREATE a.b"), (
            [], CANNOT + "'.' not allowed in mailbox names"))
        self.assertEqual(c.cmd("CREATE /a"), (
            [], CANNOT + "empty level in mailbox name"))
        c.ok("RENAME Lists/ietf Lists/w3c")
        self.assertIn(".Lists.w3c.imap", folders_on_disk(self.maildir))
        c.ok("SUBSCRIBE Lists/w3c/imap")
        self.assertIn(b"Lists\tw3c\timap\n", read_file(
            os.path.join(self.maildir, "subscriptions")))
        self.assertEqual(c.ok('LSUB "" "Lists/%"'),
                         ['LSUB (\\Noselect) "/" "Lists/w3c"'])


@unittest.skipIf(dovecot.skip_reason(), dovecot.skip_reason())
class TestDovecotNames(MailboxCase):
    """The same Maildir served by surel and by Debian's Dovecot 2.3: both
    see the same folders under the same names and the same
    subscriptions, whichever of them made them."""

    def dovecot(self):
        return self.start_dovecot(self.maildir, "dovecot-" + self.addr)

    @staticmethod
    def names(untagged, kind):
        out = set()
        for u in untagged:
            u = u.decode() if isinstance(u, bytes) else u
            m = re.match(r'%s \([^)]*\) "\." (.*)$' % kind, u)
            if m:
                out.add(m.group(1).strip('"'))
        return out

    def dovecot_names(self, dv, kind):
        c = dv.imap()
        try:
            c.login(self.addr, password_of(self.addr))
            typ, data = (c.lsub if kind == "LSUB" else c.list)('""', "*")
            self.assertEqual(typ, "OK")
            return self.names([kind + " " + d.decode() for d in data], kind)
        finally:
            c.logout()

    def test_dovecot_names(self):
        c = self.client()
        for name in ("Lists.ietf", "Entw&APw-rfe", "a&-b", "x.y.z"):
            c.ok("CREATE " + name)
            c.ok("SUBSCRIBE " + name)
        c.ok("UNSUBSCRIBE Trash")
        ours_list = self.names(c.ok('LIST "" "*"'), "LIST")
        ours_lsub = self.names(c.ok('LSUB "" "*"'), "LSUB")
        c.ok("LOGOUT")
        dv = self.dovecot()
        self.assertEqual(self.dovecot_names(dv, "LIST"), ours_list)
        self.assertEqual(self.dovecot_names(dv, "LSUB"), ours_lsub)
        # And back: what Dovecot subscribes and makes, surel shows.
        d = dv.imap()
        d.login(self.addr, password_of(self.addr))
        self.assertEqual(d.unsubscribe("Lists.ietf")[0], "OK")
        self.assertEqual(d.create("Neu&AMQ-")[0], "OK")
        self.assertEqual(d.subscribe("Neu&AMQ-")[0], "OK")
        d.logout()
        c = self.client()
        self.assertEqual(self.names(c.ok('LSUB "" "*"'), "LSUB"),
                         self.dovecot_names(dv, "LSUB"))
        self.assertEqual(self.names(c.ok('LIST "" "*"'), "LIST"),
                         self.dovecot_names(dv, "LIST"))
        self.assertIn("Neu&AMQ-", self.names(c.ok('LSUB "" "*"'), "LSUB"))
        self.assertEqual(dv.problems(), [])
