"""The selected mailbox over a real instance: SELECT and EXAMINE responses
exactly (RFC 3501 6.3.1, RFC 9051 6.3.2), read-only EXAMINE, SELECT
(CONDSTORE) and (QRESYNC ...) with VANISHED (EARLIER) and the changed
messages (RFC 7162), [CLOSED] on re-SELECT; STORE and UID STORE (FLAGS,
+FLAGS, -FLAGS, .SILENT, UNCHANGEDSINCE with [MODIFIED]), keywords as
they land in dovecot-keywords and file names; COPY and MOVE with COPYUID
(UIDPLUS, RFC 6851), [TRYCREATE], [OVERQUOTA] and the maildirsize
bookkeeping; EXPUNGE, UID EXPUNGE, CLOSE, UNSELECT, CHECK; sequence-set
errors. Messages are put into the Maildir as files (as a delivery or
another program would), so that what is checked is this area alone; the
client is a raw socket that sees every response line. One mailbox per
test."""

import os
import re
import unittest

from imap_util import (ImapCase, chown_tree, fetch_lines, files_of,
                       put_message, uidvalidity_of)
from instance import password_of, read_file

SYSTEM_FLAGS = r"\Answered \Flagged \Deleted \Seen \Draft"


class Select(ImapCase):
    """SELECT and EXAMINE."""

    def test_select_exact(self):
        box = self.inbox()
        put_message(self.inst, box, flags="S")
        put_message(self.inst, box)
        put_message(self.inst, box, flags="FT")
        c = self.client()
        untagged, tagged = c.cmd("SELECT INBOX")
        uv = uidvalidity_of(box)
        self.assertEqual(untagged[:8], [
            "FLAGS (%s)" % SYSTEM_FLAGS,
            r"OK [PERMANENTFLAGS (%s \*)] Flags permitted." % SYSTEM_FLAGS,
            "3 EXISTS", "0 RECENT", "OK [UNSEEN 2] First unseen.",
            "OK [UIDVALIDITY %d] UIDs valid" % uv,
            "OK [UIDNEXT 4] Predicted next UID",
            untagged[7]])
        self.assertRegex(untagged[7], r"^OK \[HIGHESTMODSEQ [1-9]\d*\] "
                         r"Highest$")
        self.assertEqual(len(untagged), 8, untagged)
        self.assertEqual(tagged, "OK [READ-WRITE] Select completed.")
        # Case does not matter for INBOX.
        untagged, tagged = c.cmd("SELECT inbox")
        self.assertIn("3 EXISTS", untagged)
        self.assertNotIn("OK [CLOSED] Previous mailbox closed.", untagged)

    def test_select_all_seen_recent(self):
        """No UNSEEN when every message is seen (RFC 3501 erratum 3032);
        messages found in new/ are \\Recent for the first session only."""
        box = self.inbox()
        put_message(self.inst, box, flags="S")
        put_message(self.inst, box, new=True)
        put_message(self.inst, box, new=True)
        c = self.client()
        untagged = c.ok("SELECT INBOX")
        self.assertIn("3 EXISTS", untagged)
        self.assertIn("2 RECENT", untagged)
        self.assertIn("OK [UNSEEN 2] First unseen.", untagged)
        # They moved to cur/.
        self.assertNotIn(None, files_of(box).values())
        c2 = self.client()
        self.assertIn("0 RECENT", c2.ok("SELECT INBOX"))
        c2.ok("STORE 2:3 +FLAGS (\\Seen)")
        untagged = c2.ok("EXAMINE INBOX")
        self.assertFalse([u for u in untagged if "UNSEEN" in u], untagged)

    def test_select_keywords(self):
        box = self.inbox()
        with open(os.path.join(box, "dovecot-keywords"), "w") as f:
            f.write("0 $Forwarded\n1 Work\n")
        put_message(self.inst, box, flags="Sab")
        chown_tree(box, self.inst.owner)
        c = self.client()
        untagged = c.ok("SELECT INBOX")
        self.assertEqual(untagged[0], "FLAGS (%s $Forwarded Work)"
                         % SYSTEM_FLAGS)
        self.assertEqual(untagged[1], r"OK [PERMANENTFLAGS (%s $Forwarded "
                         r"Work \*)] Flags permitted." % SYSTEM_FLAGS)

    def test_examine_readonly(self):
        box = self.inbox()
        paths = self.fill(2)
        put_message(self.inst, box, flags="T")
        before = files_of(box)
        c = self.client()
        untagged, tagged = c.cmd("EXAMINE INBOX")
        self.assertEqual(tagged, "OK [READ-ONLY] Examine completed.")
        self.assertEqual(untagged[1],
                         "OK [PERMANENTFLAGS ()] Read-only mailbox.")
        self.assertEqual(c.cmd("STORE 1 +FLAGS (\\Seen)"),
                         ([], "OK Store ignored with read-only mailbox."))
        self.assertEqual(c.cmd("EXPUNGE"), ([], "OK Expunge completed."))
        self.assertEqual(c.cmd("MOVE 1 INBOX"),
                         ([], "NO [READ-ONLY] Mailbox is read-only."))
        self.assertEqual(c.cmd("CLOSE"), ([], "OK Close completed."))
        self.assertEqual(files_of(box), before)
        self.assertTrue(all(os.path.exists(p) for p in paths))

    def test_select_nonexistent(self):
        self.fill(1)
        c = self.client()
        c.ok("SELECT INBOX")
        self.assertEqual(c.cmd("SELECT Nope"), (
            [], "NO [NONEXISTENT] Mailbox doesn't exist: Nope"))
        # The failed SELECT left no mailbox selected (RFC 3501 6.3.1).
        untagged, tagged = c.cmd("CHECK")
        self.assertTrue(tagged.startswith("BAD"), tagged)
        self.assertEqual(c.cmd("EXAMINE Nope")[1],
                         "NO [NONEXISTENT] Mailbox doesn't exist: Nope")

    def test_select_folder(self):
        f = self.folder("Work")
        put_message(self.inst, f)
        c = self.client()
        untagged = c.ok("SELECT Work")
        self.assertIn("1 EXISTS", untagged)
        self.assertIn("OK [UIDVALIDITY %d] UIDs valid" % uidvalidity_of(f),
                      untagged)

    def test_reselect_closed(self):
        self.fill(1)
        c = self.client()
        c.ok("SELECT INBOX")
        self.assertNotIn("OK [CLOSED] Previous mailbox closed.",
                         c.ok("EXAMINE INBOX"))
        c.ok("ENABLE QRESYNC")
        untagged = c.ok("SELECT INBOX")
        self.assertEqual(untagged[0], "OK [CLOSED] Previous mailbox closed.")
        # QRESYNC on: every SELECT tells HIGHESTMODSEQ.
        self.assertTrue(any(u.startswith("OK [HIGHESTMODSEQ ")
                            for u in untagged))

    def test_select_bad_params(self):
        self.fill(1)
        c = self.client()
        self.assertTrue(c.cmd("SELECT INBOX (FOO)")[1].startswith("BAD"))
        # QRESYNC needs ENABLE QRESYNC first (RFC 7162 3.2.5).
        self.assertTrue(c.cmd("SELECT INBOX (QRESYNC (1 1))")[1]
                        .startswith("BAD"))
        c.ok("ENABLE QRESYNC")
        for bad in ("(QRESYNC)", "(QRESYNC (0 1))", "(QRESYNC (1))",
                    "(QRESYNC (1 1 0))", "(QRESYNC (1 1 1:2 (1)))",
                    "(QRESYNC (1 1 1:2 (1 1) 5))", "(QRESYNC (x 1))"):
            self.assertTrue(c.cmd("SELECT INBOX " + bad)[1]
                            .startswith("BAD"), bad)
        untagged, tagged = c.cmd("SELECT INBOX (CONDSTORE)")
        self.assertEqual(tagged, "OK [READ-WRITE] Select completed.")

    def test_select_imap4rev2(self):
        """IMAP4rev2: no RECENT, no UNSEEN, a LIST response."""
        self.fill(2)
        c = self.client()
        c.ok("ENABLE IMAP4rev2")
        untagged = c.ok("SELECT INBOX")
        self.assertIn("2 EXISTS", untagged)
        self.assertFalse([u for u in untagged if "RECENT" in u or
                          "UNSEEN" in u], untagged)
        self.assertTrue([u for u in untagged
                         if re.match(r'LIST \(.*\) "[./]" "?INBOX"?$', u)],
                        untagged)


class Condstore(ImapCase):
    """CONDSTORE and QRESYNC (RFC 7162)."""

    def modseqs(self, c, spec="1:*"):
        out = {}
        for msn, text in fetch_lines(c.ok("FETCH %s (MODSEQ)" % spec)
                                     ).items():
            out[msn] = int(re.search(r"MODSEQ \((\d+)\)", text).group(1))
        return out

    def test_store_unchangedsince(self):
        self.fill(3)
        c = self.client()
        untagged = c.ok("SELECT INBOX (CONDSTORE)")
        hms = int(re.search(r"HIGHESTMODSEQ (\d+)", " ".join(untagged))
                  .group(1))
        untagged, tagged = c.cmd("STORE 1 (UNCHANGEDSINCE %d) +FLAGS "
                                 "(\\Seen)" % hms)
        self.assertEqual(tagged, "OK Store completed.")
        m1 = int(re.match(r"1 FETCH \(MODSEQ \((\d+)\) FLAGS \(\\Seen\)\)$",
                          untagged[0]).group(1))
        self.assertGreater(m1, hms)
        # Message 1 changed since hms: not stored again, reported.
        untagged, tagged = c.cmd("STORE 1:2 (UNCHANGEDSINCE %d) +FLAGS "
                                 "(\\Flagged)" % hms)
        self.assertEqual(tagged, "OK [MODIFIED 1] Conditional store "
                         "failed.")
        self.assertEqual(len(untagged), 1, untagged)
        self.assertRegex(untagged[0], r"^2 FETCH \(MODSEQ \((\d+)\) FLAGS "
                         r"\(\\Flagged\)\)$")
        # UID STORE reports UIDs, in its FETCH and in MODIFIED.
        untagged, tagged = c.cmd("UID STORE 1:3 (UNCHANGEDSINCE 1) "
                                 "-FLAGS.SILENT (\\Seen)")
        self.assertEqual(tagged, "OK [MODIFIED 1:3] Conditional store "
                         "failed.")
        untagged, tagged = c.cmd("UID STORE 3 (UNCHANGEDSINCE 0) FLAGS ()")
        self.assertEqual(tagged, "OK [MODIFIED 3] Conditional store "
                         "failed.")
        untagged = c.ok("UID STORE 3 FLAGS.SILENT (\\Draft)")
        self.assertRegex(untagged[0], r"^3 FETCH \(UID 3 MODSEQ \(\d+\)\)$")
        self.assertTrue(c.cmd("STORE 1 (UNCHANGEDSINCE x) FLAGS ()")[1]
                        .startswith("BAD"))
        self.assertTrue(c.cmd("STORE 1 (FOO 1) FLAGS ()")[1]
                        .startswith("BAD"))

    def test_modseq_grows(self):
        self.fill(3)
        c = self.client()
        c.ok("SELECT INBOX (CONDSTORE)")
        seen = []
        for i in range(6):
            untagged = c.ok("STORE %d FLAGS (%s)" % (
                i % 3 + 1, "\\Seen" if i % 2 else "\\Answered"))
            seen.append(int(re.search(r"MODSEQ \((\d+)\)", untagged[0])
                            .group(1)))
        self.assertEqual(seen, sorted(set(seen)))
        # STORE of all at once: each changed message its own MODSEQ,
        # all above what came before (mailstore_set_flags_many).
        untagged = c.ok("STORE 1:3 +FLAGS (\\Flagged)")
        ms = [int(re.search(r"MODSEQ \((\d+)\)", u).group(1))
              for u in untagged if "FETCH" in u]
        self.assertEqual(len(ms), 3)
        self.assertGreater(min(ms), max(seen))
        self.assertEqual(len(set(ms)), 3)

    def test_qresync_select(self):
        box = self.inbox()
        self.fill(5)
        c = self.client()
        c.ok("ENABLE QRESYNC")
        untagged = c.ok("SELECT INBOX")
        hms = int(re.search(r"HIGHESTMODSEQ (\d+)", " ".join(untagged))
                  .group(1))
        uv = uidvalidity_of(box)
        other = self.client()
        other.ok("SELECT INBOX")
        other.ok("STORE 2 +FLAGS (\\Flagged)")
        other.ok("STORE 3,5 +FLAGS (\\Deleted)")
        other.ok("EXPUNGE")
        c.ok("UNSELECT")
        untagged, tagged = c.cmd("SELECT INBOX (QRESYNC (%d %d))" % (uv, hms))
        self.assertEqual(tagged, "OK [READ-WRITE] Select completed.")
        i = untagged.index("VANISHED (EARLIER) 3,5")
        rest = untagged[i + 1:]
        self.assertEqual(len(rest), 1, rest)
        self.assertRegex(rest[0], r"^2 FETCH \(UID 2 MODSEQ \(\d+\) FLAGS "
                         r"\(\\Flagged\)\)$")
        # Only what the client says it knows (known-uids).
        untagged = c.ok("SELECT INBOX (QRESYNC (%d %d 1,4:5))" % (uv, hms))
        self.assertIn("VANISHED (EARLIER) 5", untagged)
        self.assertFalse(fetch_lines(untagged), untagged)
        untagged = c.ok("SELECT INBOX (QRESYNC (%d %d 1:5 (1:3 1,2,4)))"
                        % (uv, hms))
        self.assertIn("VANISHED (EARLIER) 3,5", untagged)
        # Another UIDVALIDITY: the client must start over; nothing told.
        untagged = c.ok("SELECT INBOX (QRESYNC (%d %d))" % (uv + 1, hms))
        self.assertFalse([u for u in untagged if "VANISHED" in u or
                          "FETCH" in u], untagged)
        # MODSEQ 1: every message reported.
        untagged = c.ok("SELECT INBOX (QRESYNC (%d 1))" % uv)
        self.assertEqual(sorted(fetch_lines(untagged)), [1, 2, 3])

    def test_vanished_on_expunge(self):
        self.fill(4)
        c = self.client()
        c.ok("ENABLE QRESYNC")
        c.ok("SELECT INBOX")
        c.ok("STORE 2:3 +FLAGS.SILENT (\\Deleted)")
        untagged, tagged = c.cmd("EXPUNGE")
        self.assertEqual(untagged[0], "VANISHED 2:3")
        self.assertRegex(tagged, r"^OK \[HIGHESTMODSEQ \d+\] Expunge "
                         r"completed\.$")
        self.assertFalse([u for u in untagged if "EXPUNGE" in u], untagged)


class Store(ImapCase):
    """STORE, UID STORE and keywords."""

    def test_store_variants(self):
        box = self.inbox()
        self.fill(3)
        c = self.client()
        c.ok("SELECT INBOX")
        self.assertEqual(c.cmd("STORE 1 +FLAGS (\\Seen \\Flagged)"), (
            ["1 FETCH (FLAGS (\\Flagged \\Seen))"], "OK Store completed."))
        # Nothing changes: nothing reported (as Dovecot).
        self.assertEqual(c.cmd("STORE 1 +FLAGS (\\Seen)"),
                         ([], "OK Store completed."))
        self.assertEqual(c.cmd("STORE 1 -FLAGS \\Flagged"), (
            ["1 FETCH (FLAGS (\\Seen))"], "OK Store completed."))
        self.assertEqual(c.cmd("STORE 2:3 FLAGS (\\Draft \\Answered)"), (
            ["2 FETCH (FLAGS (\\Answered \\Draft))",
             "3 FETCH (FLAGS (\\Answered \\Draft))"], "OK Store completed."))
        self.assertEqual(c.cmd("STORE 2 FLAGS.SILENT (\\Deleted)"),
                         ([], "OK Store completed."))
        self.assertEqual(c.cmd("UID STORE 3 +FLAGS (\\seen)"), (
            ["3 FETCH (UID 3 FLAGS (\\Answered \\Seen \\Draft))"],
            "OK Store completed."))
        self.assertEqual(c.cmd("STORE 3 FLAGS ()"), (
            ["3 FETCH (FLAGS ())"], "OK Store completed."))
        # The client was told: a NOOP reports nothing.
        self.assertEqual(c.cmd("NOOP"), ([], "OK NOOP completed."))
        # On disk: the Maildir info letters (renamed after STORE's reply,
        # before the next command is read).
        flags = sorted(files_of(box).items())
        self.assertEqual([f for _, f in flags], ["S", "T", ""])

    def test_store_bad(self):
        self.fill(2)
        c = self.client()
        c.ok("SELECT INBOX")
        for bad in ("STORE 1 +FLAGS (\\Recent)", "STORE 1 +FLAGS (\\Foo)",
                    "STORE 1 +FLAGS ((\\Seen))", "STORE 1 FOO (\\Seen)",
                    "STORE 1 +FLAGS.SILENT.X (\\Seen)", "STORE 1 +FLAGS",
                    "STORE 1 +FLAGS \\Seen (\\Deleted)", "STORE 0 FLAGS ()",
                    "STORE 3 FLAGS ()", "STORE 1:* FLAGS \"x\"",
                    "STORE *:4 FLAGS ()", "STORE 1,,2 FLAGS ()"):
            self.assertTrue(c.cmd(bad)[1].startswith("BAD"), bad)
        self.assertEqual(c.cmd("STORE 1 +FLAGS ($a%b)"),
                         ([], "NO [CANNOT] Invalid characters in keyword."))
        # UIDs that do not exist are no error.
        self.assertEqual(c.cmd("UID STORE 100:200 +FLAGS (\\Seen)"),
                         ([], "OK Store completed."))

    def test_keywords(self):
        box = self.inbox()
        self.fill(2)
        c = self.client()
        c.ok("SELECT INBOX")
        untagged, tagged = c.cmd("STORE 1 +FLAGS ($Label1 Work)")
        self.assertEqual(tagged, "OK Store completed.")
        self.assertEqual(untagged, [
            "FLAGS (%s $Label1 Work)" % SYSTEM_FLAGS,
            r"OK [PERMANENTFLAGS (%s $Label1 Work \*)] Flags permitted."
            % SYSTEM_FLAGS,
            "1 FETCH (FLAGS ($Label1 Work))"])
        kw = read_file(os.path.join(box, "dovecot-keywords")).decode()
        self.assertEqual(kw.split("\n")[:2], ["0 $Label1", "1 Work"])
        # The files are renamed after the reply, before the next command.
        c.ok("NOOP")
        self.assertEqual(sorted(files_of(box).values()), ["", "ab"])
        # Case-insensitive match of an existing keyword; -FLAGS of an
        # unknown keyword creates nothing.
        self.assertEqual(c.cmd("STORE 2 +FLAGS (work)"), (
            ["2 FETCH (FLAGS (Work))"], "OK Store completed."))
        self.assertEqual(c.cmd("STORE 1 -FLAGS (Nothing $label1)"), (
            ["1 FETCH (FLAGS (Work))"], "OK Store completed."))
        self.assertNotIn("Nothing", read_file(
            os.path.join(box, "dovecot-keywords")).decode())
        # 26 keywords at most (a..z in file names).
        names = " ".join("k%d" % i for i in range(24))
        untagged = c.ok("STORE 2 +FLAGS (%s)" % names)
        self.assertTrue(untagged[1].endswith(r"k23)] Flags permitted."),
                        untagged[1])
        untagged, tagged = c.cmd("STORE 1 +FLAGS (TooMany)")
        self.assertTrue(tagged.startswith("NO"), tagged)
        self.assertEqual(len(files_of(box)), 2)

    def test_flags_from_other_program(self):
        """A flag change by another program (renamed file) reaches the
        client at its next command."""
        box = self.inbox()
        p = self.fill(2)[1]
        c = self.client()
        c.ok("SELECT INBOX")
        os.rename(p, p[:-len(":2,")] + ":2,FS")
        self.assertEqual(c.ok("NOOP"),
                         ["2 FETCH (FLAGS (\\Flagged \\Seen))"])
        self.assertEqual(c.ok("NOOP"), [])


class Expunge(ImapCase):
    """EXPUNGE, UID EXPUNGE, CLOSE, UNSELECT, CHECK."""

    def test_expunge(self):
        box = self.inbox()
        paths = self.fill(5)
        c = self.client()
        c.ok("SELECT INBOX")
        c.ok("STORE 2,4 +FLAGS.SILENT (\\Deleted)")
        # Highest first: each number right when it is sent.
        self.assertEqual(c.cmd("EXPUNGE"), (
            ["4 EXPUNGE", "2 EXPUNGE"], "OK Expunge completed."))
        self.assertEqual([os.path.exists(p) for p in paths],
                         [True, False, True, False, True])
        uidlist = read_file(os.path.join(box, "dovecot-uidlist")).decode()
        self.assertEqual([l.split()[0] for l in uidlist.splitlines()[1:]],
                         ["1", "3", "5"])
        self.assertEqual(c.cmd("EXPUNGE"), ([], "OK Expunge completed."))
        self.assertTrue(c.cmd("EXPUNGE 1")[1].startswith("BAD"))
        self.assertEqual(c.cmd("STORE 3 +FLAGS (\\Seen)")[0],
                         ["3 FETCH (FLAGS (\\Seen))"])

    def test_uid_expunge(self):
        box = self.inbox()
        bases = [os.path.basename(p).split(":")[0] for p in self.fill(4)]
        c = self.client()
        c.ok("SELECT INBOX")
        c.ok("STORE 1:4 +FLAGS.SILENT (\\Deleted)")
        self.assertEqual(c.cmd("UID EXPUNGE 2:3,10"), (
            ["3 EXPUNGE", "2 EXPUNGE"], "OK Expunge completed."))
        self.assertEqual(sorted(files_of(box)), [bases[0], bases[3]])
        self.assertEqual(c.cmd("UID EXPUNGE 100"),
                         ([], "OK Expunge completed."))
        self.assertTrue(c.cmd("UID EXPUNGE")[1].startswith("BAD"))
        self.assertTrue(c.cmd("UID EXPUNGE 0")[1].startswith("BAD"))

    def test_close(self):
        paths = self.fill(3)
        c = self.client()
        c.ok("SELECT INBOX")
        c.ok("STORE 1,3 +FLAGS.SILENT (\\Deleted)")
        # Silent: no EXPUNGE responses.
        self.assertEqual(c.cmd("CLOSE"), ([], "OK Close completed."))
        self.assertEqual([os.path.exists(p) for p in paths],
                         [False, True, False])
        self.assertTrue(c.cmd("CLOSE")[1].startswith("BAD"))
        self.assertTrue(c.cmd("STORE 1 +FLAGS (\\Seen)")[1]
                        .startswith("BAD"))
        untagged = c.ok("SELECT INBOX")
        self.assertIn("1 EXISTS", untagged)

    def test_unselect_check(self):
        paths = self.fill(2, flags="T")
        c = self.client()
        c.ok("SELECT INBOX")
        self.assertEqual(c.cmd("CHECK"), ([], "OK Check completed."))
        self.assertEqual(c.cmd("UNSELECT"), ([], "OK Unselect completed."))
        self.assertTrue(all(os.path.exists(p) for p in paths))
        self.assertTrue(c.cmd("UNSELECT")[1].startswith("BAD"))
        self.assertTrue(c.cmd("CHECK")[1].startswith("BAD"))


class CopyMove(ImapCase):
    """COPY, UID COPY, MOVE, UID MOVE."""

    def test_copy(self):
        box = self.inbox()
        target = self.folder("Target")
        put_message(self.inst, target)
        self.fill(2, flags="S")
        put_message(self.inst, box, flags="F")
        c = self.client()
        c.ok("SELECT INBOX")
        c.ok("STORE 3 +FLAGS (Work)")
        untagged, tagged = c.cmd("COPY 2:3 Target")
        uv = uidvalidity_of(target)
        self.assertEqual(untagged, [])
        self.assertEqual(tagged, "OK [COPYUID %d 2:3 2:3] Copy completed."
                         % uv)
        flags = [f for _, f in sorted(files_of(target).items())]
        self.assertEqual(flags, ["", "S", "Fa"])
        kw = read_file(os.path.join(target, "dovecot-keywords")).decode()
        self.assertIn("Work", kw)
        # The source is unchanged.
        self.assertEqual(len(files_of(box)), 3)
        untagged, tagged = c.cmd("UID COPY 1,3 Target")
        self.assertEqual(tagged, "OK [COPYUID %d 1,3 4:5] Copy completed."
                         % uv)
        self.assertEqual(c.cmd("UID COPY 50:60 Target"),
                         ([], "OK No messages found."))
        self.assertEqual(c.cmd("COPY 1 Nope"),
                         ([], "NO [TRYCREATE] Mailbox doesn't exist."))
        self.assertTrue(c.cmd("COPY 4 Target")[1].startswith("BAD"))
        self.assertTrue(c.cmd("COPY 1")[1].startswith("BAD"))
        # Into the selected mailbox itself: the client hears EXISTS.
        untagged, tagged = c.cmd("COPY 1 INBOX")
        self.assertIn("4 EXISTS", untagged)
        self.assertRegex(tagged, r"^OK \[COPYUID %d 1 4\] Copy completed\.$"
                         % uidvalidity_of(box))

    def test_move(self):
        box = self.inbox()
        target = self.folder("Archive")
        paths = self.fill(4)
        c = self.client()
        c.ok("SELECT INBOX")
        untagged, tagged = c.cmd("MOVE 2:3 Archive")
        uv = uidvalidity_of(target)
        self.assertEqual(untagged, ["OK [COPYUID %d 2:3 1:2] Moved UIDs." % uv,
                                    "3 EXPUNGE", "2 EXPUNGE"])
        self.assertEqual(tagged, "OK Move completed.")
        self.assertEqual([os.path.exists(p) for p in paths],
                         [True, False, False, True])
        self.assertEqual(len(files_of(target)), 2)
        c.ok("ENABLE QRESYNC")
        untagged, tagged = c.cmd("UID MOVE 4 Archive")
        self.assertEqual(untagged[:2], [
            "OK [COPYUID %d 4 3] Moved UIDs." % uv, "VANISHED 4"])
        self.assertEqual(tagged, "OK Move completed.")
        self.assertEqual(c.cmd("MOVE 1 Nope"),
                         ([], "NO [TRYCREATE] Mailbox doesn't exist."))
        self.assertEqual(len(files_of(box)), 1)


class Quota(ImapCase):
    """COPY against virtual_mailbox_quota; maildirsize kept current."""

    CONFIG = {"disable_plaintext_auth": "no",
              "virtual_mailbox_quota": "2000"}

    def quota_lines(self):
        path = os.path.join(self.inst.maildir(self.addr), "maildirsize")
        return read_file(path).decode().splitlines()

    def test_copy_overquota(self):
        paths = self.fill(3, body="x" * 300)
        self.folder("Target")
        sizes = [os.path.getsize(p) for p in paths]
        c = self.client()
        c.ok("SELECT INBOX")
        c.ok("COPY 1 Target")
        lines = self.quota_lines()
        self.assertEqual(lines[0], "2000S")
        total = sum(int(l.split()[0]) for l in lines[1:])
        self.assertEqual(total, sum(sizes) + sizes[0])
        untagged, tagged = c.cmd("COPY 1:3 Target")
        self.assertEqual(tagged, "NO [OVERQUOTA] Quota exceeded (mailbox "
                         "for user is full)")
        # A move needs no room.
        c.ok("MOVE 2:3 Target")
        c.ok("SELECT Target")
        c.ok("STORE 1:* +FLAGS.SILENT (\\Deleted)")
        c.ok("EXPUNGE")
        lines = self.quota_lines()
        self.assertEqual(sum(int(l.split()[0]) for l in lines[1:]),
                         sizes[0])
        self.assertEqual(sum(int(l.split()[1]) for l in lines[1:]), 1)


class Recent(ImapCase):
    """\\Recent as Dovecot has it: STATUS, LIST-STATUS, EXAMINE and a POP3
    session only look; the first read-write SELECT takes the new
    messages, and later sessions do not see them as recent."""

    def deliver(self):
        self.inst.deliver(self.addr, prefix="recent")

    def noop_until_exists(self, c, n):
        return self.noop_until(c, lambda seen: "%d EXISTS" % n in seen)

    def test_recent_claimed_by_select(self):
        self.inbox()
        self.deliver()
        c = self.client()
        for _ in range(2):
            self.assertEqual(c.ok("STATUS INBOX (MESSAGES RECENT)"),
                             ['STATUS "INBOX" (MESSAGES 1 RECENT 1)'])
        self.assertEqual(c.ok('LIST "" INBOX RETURN (STATUS (RECENT))'),
                         ['LIST (\\HasNoChildren) "." "INBOX"',
                          'STATUS "INBOX" (RECENT 1)'])
        pop = self.inst.pop3()
        try:
            pop.user(self.addr)
            pop.pass_(password_of(self.addr))
            self.assertEqual(pop.stat()[0], 1)
        finally:
            pop.quit()
        untagged = c.ok("EXAMINE INBOX")
        self.assertIn("1 RECENT", untagged)
        self.assertEqual(fetch_lines(c.ok("FETCH 1 (FLAGS)")),
                         {1: "FLAGS (\\Recent)"})
        c.ok("UNSELECT")
        self.assertEqual(c.ok("STATUS INBOX (RECENT)"),
                         ['STATUS "INBOX" (RECENT 1)'])
        # The first SELECT takes it.
        untagged = c.ok("SELECT INBOX")
        self.assertIn("1 EXISTS", untagged)
        self.assertIn("1 RECENT", untagged)
        self.assertEqual(fetch_lines(c.ok("FETCH 1 (FLAGS)")),
                         {1: "FLAGS (\\Recent)"})
        self.assertEqual(c.ok("STATUS INBOX (RECENT)"),
                         ['STATUS "INBOX" (RECENT 1)'])
        # Nobody else sees it as recent.
        c2 = self.client()
        self.assertEqual(c2.ok("STATUS INBOX (MESSAGES RECENT)"),
                         ['STATUS "INBOX" (MESSAGES 1 RECENT 0)'])
        untagged = c2.ok("SELECT INBOX")
        self.assertIn("1 EXISTS", untagged)
        self.assertIn("0 RECENT", untagged)
        self.assertEqual(fetch_lines(c2.ok("FETCH 1 (FLAGS)")),
                         {1: "FLAGS ()"})
        # A new delivery: recent for the selected session that looks
        # first, not for the other.
        self.deliver()
        self.assertIn("2 RECENT", self.noop_until_exists(c, 2))
        self.assertIn("0 RECENT", self.noop_until_exists(c2, 2))
        self.assertEqual(fetch_lines(c.ok("FETCH 2 (FLAGS)")),
                         {2: "FLAGS (\\Recent)"})
        self.assertEqual(fetch_lines(c2.ok("FETCH 2 (FLAGS)")),
                         {2: "FLAGS ()"})


if __name__ == "__main__":
    unittest.main()
