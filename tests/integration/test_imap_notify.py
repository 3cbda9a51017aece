"""NOTIFY (RFC 5465) in imapd over a real instance. A watching session
sets NOTIFY and then sends nothing; deliveries over SMTP and a second
session (APPEND, STORE, EXPUNGE, CREATE, RENAME, DELETE, SUBSCRIBE,
UNSUBSCRIBE) change the mailboxes, and each change must reach the idle
watcher within a couple of seconds as the RFC says: STATUS for other
mailboxes, EXISTS/EXPUNGE/FETCH (with the MessageNew fetch-atts) for
the selected one, LIST for names and subscriptions. Also: the STATUS
indicator, SELECTED-DELAYED, NOTIFY in IDLE, NOTIFY NONE, BADEVENT and
the BAD rules of sections 5 and 6.1, and NOTIFICATIONOVERFLOW at the
watch limit (1,000 mailboxes), both when NOTIFY is given and later.

That nothing is sent is shown without sleeping on it: a change that must
not be told is followed by one that must, and the first line the
watcher gets has to be the second one. Raw sockets (imaplib has no
NOTIFY); every wait is bounded. One mailbox per test."""

import os
import re
import time
import unittest

from imap_util import PROMPT, ImapCase, ImapClient
from instance import (IS_ROOT, TEST_DOMAIN, OwnInstanceCase, new_marker,
                      password_of)

SUPPORTED = ("BADEVENT (MessageNew MessageExpunge FlagChange MailboxName "
             "SubscriptionChange)")
# The mailboxes one session may watch (IMAPD_NOTIFY_MAILBOXES_MAX).
WATCH_MAX = 1000
RECENT = re.compile(r"\d+ RECENT$")
MESSAGE = ("From: <a@example.test>\r\nTo: <b@example.test>\r\n"
           "Subject: %s\r\nMessage-ID: <%s@example.test>\r\n\r\nHello.\r\n")


class NotifyCase(ImapCase):

    def deliver(self, subject=None):
        code, text, _ = self.inst.send(self.addr,
                                       marker=subject or new_marker("n"))
        self.assertEqual(code, 250, text)

    @staticmethod
    def append(c, box, subject="hello", flags=""):
        msg = MESSAGE % (subject, new_marker("a"))
        untagged, tagged = c.cmd("APPEND %s %s{%d+}\r\n%s" % (
            box, "(%s) " % flags if flags else "", len(msg), msg))
        assert tagged.startswith("OK"), (tagged, untagged)

    def status(self, c, box, items="MESSAGES UIDNEXT UIDVALIDITY UNSEEN"):
        """STATUS as the command gives it: the response without "* "."""
        untagged = c.ok("STATUS %s (%s)" % (box, items))
        return [u for u in untagged if u.startswith("STATUS ")][0]

    def expect(self, c, wanted, count=1, timeout=PROMPT):
        got = c.wait(count, timeout)
        self.assertEqual(got, wanted if isinstance(wanted, list)
                         else [wanted])

    def quiet_then(self, c, sentinel_action, wanted):
        """Nothing may have been sent yet: what comes first must be the
        update of sentinel_action."""
        sentinel_action()
        self.expect(c, wanted)


class Notify(NotifyCase):

    def test_capability(self):
        c = self.client()
        untagged = c.ok("CAPABILITY")
        self.assertIn("NOTIFY", untagged[0].split())

    def test_inboxes_delivery(self):
        """A delivery to INBOX while another mailbox is selected: STATUS
        INBOX at once, the client sending nothing."""
        c = self.client()
        c.ok("CREATE Work")
        c.ok("SELECT Work")
        v = re.search(r"UIDVALIDITY (\d+)", self.status(c, "INBOX")).group(1)
        self.assertEqual(c.ok("NOTIFY SET (INBOXES (MessageNew "
                              "MessageExpunge))"), [])
        t0 = time.monotonic()
        self.deliver()
        self.expect(c, 'STATUS "INBOX" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY %s '
                    'UNSEEN 1)' % v, timeout=10)
        self.assertLess(time.monotonic() - t0, 10)
        self.deliver()
        self.expect(c, 'STATUS "INBOX" (MESSAGES 2 UIDNEXT 3 UIDVALIDITY %s '
                    'UNSEEN 2)' % v)
        # Work is not INBOXES: a message there is not told; the next
        # delivery is, and comes first.
        other = self.client()
        self.append(other, "Work")
        self.quiet_then(c, self.deliver,
                        'STATUS "INBOX" (MESSAGES 3 UIDNEXT 4 UIDVALIDITY '
                        '%s UNSEEN 3)' % v)
        # Work is selected: the end of a command tells the view.
        self.assertIn("1 EXISTS", c.ok("NOOP"))

    def test_status_indicator(self):
        c = self.client()
        c.ok("CREATE a")
        other = self.client()
        self.append(other, "a")
        self.append(other, "a", flags="\\Seen")
        c.ok("ENABLE CONDSTORE")
        want = sorted("STATUS %s" % self.status(
            c, box, "MESSAGES UIDNEXT UIDVALIDITY UNSEEN HIGHESTMODSEQ")[
                len("STATUS "):] for box in ("INBOX", "a"))
        untagged = c.ok("NOTIFY SET STATUS (MAILBOXES (INBOX a) "
                        "(MessageNew MessageExpunge))")
        self.assertEqual(sorted(untagged), want)
        self.assertIn('STATUS "a" (MESSAGES 2 UIDNEXT 3 UIDVALIDITY ', want[1])
        self.assertIn(" UNSEEN 1 HIGHESTMODSEQ ", want[1])
        # The selected mailbox gets no STATUS (the view tells it).
        c.ok("SELECT a")
        untagged = c.ok("NOTIFY SET STATUS (PERSONAL (MessageNew "
                        "MessageExpunge))")
        boxes = [u.split()[1] for u in untagged if u.startswith("STATUS ")]
        self.assertIn('"INBOX"', boxes)
        self.assertIn('"Drafts"', boxes)
        self.assertNotIn('"a"', boxes)
        # Without STATUS: none at all.
        self.assertEqual(c.ok("NOTIFY SET (PERSONAL (MessageNew "
                              "MessageExpunge))"), [])

    def test_selected_updates(self):
        """SELECTED: another session's APPEND, STORE and EXPUNGE are told
        while the client is quiet; MessageNew's fetch-atts come with the
        new message and do not set \\Seen."""
        c = self.client()
        c.ok("SELECT INBOX")
        c.ok("NOTIFY SET (SELECTED (MessageNew (UID FLAGS "
             "BODY[HEADER.FIELDS (SUBJECT)]) MessageExpunge FlagChange))")
        other = self.client()
        self.append(other, "INBOX", subject="pushed")
        got = c.wait(3)
        self.assertEqual(got[0], "1 EXISTS")
        self.assertRegex(got[1], RECENT)
        # (\Recent is the view's to give; \Seen must not be set.)
        self.assertRegex(got[2], r'^1 FETCH \(UID 1 FLAGS \((\\Recent)?\) '
                         r'BODY\[HEADER\.FIELDS \(SUBJECT\)\] \{19\}\r\n'
                         r'Subject: pushed\r\n\r\n\)$')
        other.ok("SELECT INBOX")
        other.ok("STORE 1 +FLAGS (\\Flagged)")
        got = c.wait()
        self.assertRegex(got[0] if got else "",
                         r"^1 FETCH \(FLAGS \(\\Flagged( \\Recent)?\)\)$")
        self.append(other, "INBOX", subject="second")
        got = c.wait(3)
        self.assertEqual(got[0], "2 EXISTS")
        self.assertRegex(got[1], RECENT)
        self.assertRegex(got[2], r"^2 FETCH \(UID 2 FLAGS \((\\Recent)?\) ")
        other.ok("STORE 1 +FLAGS (\\Deleted)")
        got = c.wait()
        self.assertRegex(got[0] if got else "", r"^1 FETCH \(FLAGS "
                         r"\(\\Flagged \\Deleted( \\Recent)?\)\)$")
        other.ok("EXPUNGE")
        self.assertEqual(c.wait(), ["1 EXPUNGE"])
        untagged = c.ok("FETCH 1 (UID FLAGS)")
        self.assertRegex([u for u in untagged if "FETCH" in u][0],
                         r"^1 FETCH \(UID 2 FLAGS \((\\Recent)?\)\)$")

    def test_selected_delayed(self):
        """SELECTED-DELAYED: EXISTS at once, EXPUNGE only when a command
        may have it."""
        c = self.client()
        other = self.client()
        self.append(other, "INBOX")
        self.append(other, "INBOX")
        c.ok("SELECT INBOX")
        c.ok("NOTIFY SET (SELECTED-DELAYED (MessageNew MessageExpunge))")
        other.ok("SELECT INBOX")
        other.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
        other.ok("EXPUNGE")
        # The expunge is held; the delivery after it comes first.
        self.quiet_then(c, lambda: self.append(other, "INBOX"),
                        "3 EXISTS")
        untagged = c.ok("NOOP")
        self.assertIn("1 EXPUNGE", untagged)

    def test_personal_mailbox_events(self):
        """PERSONAL with every event we offer: CREATE, APPEND, STORE,
        EXPUNGE, RENAME, SUBSCRIBE, UNSUBSCRIBE and DELETE of another
        session, each told to the quiet watcher."""
        c = self.client()
        c.ok("NOTIFY SET (PERSONAL (MessageNew MessageExpunge FlagChange "
             "MailboxName SubscriptionChange))")
        other = self.client()
        other.ok("CREATE foo")
        self.expect(c, 'LIST (\\HasNoChildren) "." "foo"')
        v = re.search(r"UIDVALIDITY (\d+)",
                      self.status(other, "foo")).group(1)
        self.append(other, "foo")
        self.expect(c, 'STATUS "foo" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY %s '
                    'UNSEEN 1)' % v)
        other.ok("SELECT foo")
        other.ok("STORE 1 +FLAGS (\\Seen)")
        self.expect(c, 'STATUS "foo" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY %s '
                    'UNSEEN 0)' % v)
        other.ok("STORE 1 +FLAGS (\\Deleted)")
        other.ok("EXPUNGE")
        self.expect(c, 'STATUS "foo" (MESSAGES 0 UIDNEXT 2 UIDVALIDITY %s '
                    'UNSEEN 0)' % v)
        other.ok("UNSELECT")
        other.ok("CREATE foo.sub")
        self.expect(c, 'LIST (\\HasNoChildren) "." "foo.sub"')
        other.ok("RENAME foo bar")
        got = c.wait(2)
        # The children move one by one after their parent: bar may be
        # told before bar.sub exists.
        self.assertRegex(got[0], r'^LIST \(\\Has(No)?Children\) "\." "bar" '
                         r'\("OLDNAME" \("foo"\)\)$')
        self.assertEqual(got[1:], ['LIST (\\HasNoChildren) "." "bar.sub" '
                                   '("OLDNAME" ("foo.sub"))'])
        # The renamed mailbox is watched under its new name.
        self.append(other, "bar")
        self.expect(c, 'STATUS "bar" (MESSAGES 1 UIDNEXT 3 UIDVALIDITY %s '
                    'UNSEEN 1)' % v)
        other.ok("SUBSCRIBE bar")
        self.expect(c, 'LIST (\\HasChildren \\Subscribed) "." "bar"')
        other.ok("UNSUBSCRIBE bar")
        self.expect(c, 'LIST (\\HasChildren) "." "bar"')
        other.ok("DELETE bar.sub")
        self.expect(c, 'LIST (\\NonExistent) "." "bar.sub"')
        # Mail delivered to INBOX is told too.
        self.deliver()
        got = c.wait()
        self.assertTrue(got and got[0].startswith(
            'STATUS "INBOX" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY '), got)

    def test_filters_and_none_groups(self):
        """MAILBOXES and SUBTREE name exactly what they name; a NONE
        group before a wider one leaves its mailboxes out; SUBSCRIBED
        follows the subscriptions."""
        c = self.client()
        for box in ("a", "a.b", "x", "x.y", "q", "s"):
            c.ok("CREATE " + box)
        c.ok("NOTIFY SET (MAILBOXES a (MessageNew MessageExpunge)) "
             "(SUBTREE x NONE) (SUBTREE (x q) (MessageNew MessageExpunge)) "
             "(SUBSCRIBED (MessageNew MessageExpunge))")
        other = self.client()
        for box, told in (("a.b", False), ("a", True), ("x.y", False),
                          ("q", True), ("s", False)):
            self.append(other, box)
            if told:
                got = c.wait()
                self.assertTrue(got and got[0].startswith(
                    "STATUS \"%s\" (MESSAGES 1 " % box), (box, got))
        # s was not told; once subscribed it is watched.
        other.ok("SUBSCRIBE s")
        self.assertEqual(c.wait(1, 1.0), [])
        self.append(other, "s")
        got = c.wait()
        self.assertTrue(got and got[0].startswith(
            'STATUS "s" (MESSAGES 2 '), got)

    def test_idle_with_notify(self):
        """In IDLE, NOTIFY's STATUS responses come as well."""
        c = self.client()
        c.ok("CREATE Work")
        c.ok("SELECT Work")
        c.ok("NOTIFY SET (INBOXES (MessageNew MessageExpunge))")
        c.send("i IDLE\r\n")
        self.assertEqual(c.line(), "+ idling")
        self.deliver()
        got = c.wait()
        self.assertTrue(got and got[0].startswith(
            'STATUS "INBOX" (MESSAGES 1 UIDNEXT 2 '), got)
        c.send("DONE\r\n")
        self.assertEqual(c.line(), "i OK Idle completed.")

    def test_notify_none(self):
        c = self.client()
        c.ok("SELECT INBOX")
        c.ok("NOTIFY SET (SELECTED (MessageNew MessageExpunge)) "
             "(PERSONAL (MessageNew MessageExpunge MailboxName))")
        self.deliver()
        got = c.wait(2)
        self.assertEqual(got[0], "1 EXISTS")
        self.assertRegex(got[1], RECENT)
        self.assertEqual(c.ok("NOTIFY NONE"), [])
        other = self.client()
        other.ok("CREATE gone")
        self.deliver()
        # Nothing while the client is quiet...
        self.assertEqual(c.wait(1, 1.5), [])
        # ... and the selected mailbox is told at the end of a command,
        # as RFC 3501 has it.
        got = c.ok("NOOP")
        self.assertEqual(got[0], "2 EXISTS")
        self.assertEqual(len(got), 2)
        self.assertRegex(got[1], RECENT)
        self.assertEqual(c.wait(1, 0.5), [])

    def test_badevent_and_syntax(self):
        c = self.client()
        c.ok("NOTIFY SET (INBOXES (MessageNew MessageExpunge))")
        for events in ("MessageNew MessageExpunge AnnotationChange",
                       "MailboxMetadataChange", "ServerMetadataChange",
                       "XFutureEvent"):
            _, tagged = c.cmd("NOTIFY SET (PERSONAL (%s))" % events)
            self.assertEqual(tagged, "NO [%s] Unsupported NOTIFY events."
                             % SUPPORTED, events)
        bad = None
        for args, text in (
                ("", "NOTIFY needs SET or NONE."),
                ("FOO", "NOTIFY needs SET or NONE."),
                ("NONE x", "NOTIFY needs SET or NONE."),
                ("SET", "NOTIFY SET needs event groups."),
                ("SET STATUS", "NOTIFY SET needs event groups."),
                ("SET (PERSONAL (MessageNew))",
                 "MessageNew and MessageExpunge must be given together."),
                ("SET (PERSONAL (MessageExpunge))",
                 "MessageNew and MessageExpunge must be given together."),
                ("SET (PERSONAL (FlagChange))",
                 "FlagChange and AnnotationChange need MessageNew and "
                 "MessageExpunge."),
                ("SET (SELECTED (MessageNew MessageExpunge MailboxName))",
                 "SELECTED takes only message events."),
                ("SET (SELECTED NONE) (SELECTED-DELAYED NONE)",
                 "Only one SELECTED or SELECTED-DELAYED group."),
                ("SET (PERSONAL (MessageNew (UID) MessageExpunge))",
                 "MessageNew fetch-atts are only for SELECTED."),
                ("SET (SELECTED (MessageNew (FOO) MessageExpunge))",
                 "Invalid MessageNew fetch-att list."),
                ("SET (ELSEWHERE (MessageNew MessageExpunge))",
                 "Unknown NOTIFY mailbox filter."),
                ("SET (PERSONAL ())", "Invalid NOTIFY event list."),
                ("SET (PERSONAL)", "Invalid NOTIFY event group."),
                ("SET (SUBTREE (MessageNew MessageExpunge))",
                 "Invalid NOTIFY event list."),
                ("SET (MAILBOXES () (MessageNew MessageExpunge))",
                 "Empty mailbox list."),
                ("SET (MAILBOXES a&Jjo (MessageNew MessageExpunge))",
                 "Invalid mailbox name."),
                ("SET (PERSONAL (MessageNew MessageExpunge) x)",
                 "Invalid NOTIFY event group."),
                ("SET PERSONAL", "Invalid NOTIFY event group.")):
            # Each BAD counts against the session's error budget.
            if bad is None or bad.seq >= 10:
                bad = self.client()
            _, tagged = bad.cmd("NOTIFY " + args if args else "NOTIFY")
            self.assertEqual(tagged, "BAD " + text, args)
        # Too many names: NO [NOTIFICATIONOVERFLOW].
        names = " ".join("m%d" % i for i in range(WATCH_MAX + 1))
        _, tagged = c.cmd("NOTIFY SET (MAILBOXES (%s) (MessageNew "
                          "MessageExpunge))" % names)
        self.assertEqual(tagged, "NO [NOTIFICATIONOVERFLOW] Too many "
                         "mailboxes or event groups.")
        # Not before login.
        raw = self.client(login=False)
        _, tagged = raw.cmd("NOTIFY NONE")
        self.assertTrue(tagged.startswith("BAD "), tagged)
        # None of the failures changed the NOTIFY in force.
        self.deliver()
        got = c.wait()
        self.assertTrue(got and got[0].startswith(
            'STATUS "INBOX" (MESSAGES 1 '), got)

    def make_folders(self, names):
        """Maildir++ folders straight on disk, as another program makes
        them."""
        md = self.inst.maildir(self.addr)
        for name in names:
            for sub in ("cur", "new", "tmp"):
                os.makedirs(os.path.join(md, "." + name, sub))
            if IS_ROOT:
                for d in ("", "cur", "new", "tmp"):
                    os.chown(os.path.join(md, "." + name, d),
                             self.inst.owner.pw_uid, self.inst.owner.pw_gid)

    def test_watch_overflow(self):
        # NOTIFY SET over 1,000 folders: a slow (sanitized, loaded)
        # machine needs more than the default 15 s.
        c = self.client(timeout=60)
        # INBOX and the special-use folders made at login, then up to
        # the limit.
        boxes = [u for u in c.ok('LIST "" "*"')]
        self.make_folders("f%04d" % i
                          for i in range(WATCH_MAX - len(boxes) + 1))
        _, tagged = c.cmd("NOTIFY SET (PERSONAL (MessageNew "
                          "MessageExpunge))")
        self.assertEqual(tagged, "NO [NOTIFICATIONOVERFLOW] Too many "
                         "mailboxes to watch.")
        # Without message events no folder needs a watch.
        c.ok("NOTIFY SET (PERSONAL (MailboxName))")
        # At the limit: accepted, and it works.
        c.ok("DELETE f0000")
        self.expect(c, 'LIST (\\NonExistent) "." "f0000"')
        c.ok("NOTIFY SET (PERSONAL (MessageNew MessageExpunge))")
        self.deliver()
        got = c.wait()
        self.assertTrue(got and got[0].startswith(
            'STATUS "INBOX" (MESSAGES 1 '), got)
        # One more folder: the watch overflows, NOTIFY is off.
        other = self.client()
        other.ok("CREATE more")
        self.assertEqual(c.wait(1, 5), [
            "OK [NOTIFICATIONOVERFLOW] Too many mailboxes to watch; NOTIFY "
            "is off."])
        self.deliver()
        self.assertEqual(c.wait(1, 1.5), [])
        # A NOTIFY that fits again is accepted.
        c.ok("NOTIFY SET (INBOXES (MessageNew MessageExpunge))")
        self.deliver()
        got = c.wait()
        self.assertTrue(got and got[0].startswith(
            'STATUS "INBOX" (MESSAGES 3 '), got)


class NotifyOwnInstance(OwnInstanceCase):

    def test_autologout_while_notified(self):
        """NOTIFY waits for the client with the autologout still on: a
        client that is told of changes but says nothing is logged out
        after imapd_timeout, as any other."""
        addr = "bob@%s" % TEST_DOMAIN
        inst = self.new_instance(access=True, aliases={},
                                 users={addr: "%s/bob/" % TEST_DOMAIN},
                                 imapd_timeout="3s",
                                 disable_plaintext_auth="no")
        c = ImapClient(inst.imap_port)
        self.addCleanup(c.close)
        _, tagged = c.cmd("LOGIN %s %s" % (addr, password_of(addr)))
        self.assertTrue(tagged.startswith("OK"), tagged)
        c.ok("NOTIFY SET (INBOXES (MessageNew MessageExpunge))")
        t0 = time.monotonic()
        code, text, _ = inst.send(addr, marker=new_marker("n"))
        self.assertEqual(code, 250, text)
        got = c.wait(1, 2.5)
        self.assertTrue(got and got[0].startswith(
            'STATUS "INBOX" (MESSAGES 1 '), got)
        self.assertEqual(c.wait(1, 10),
                         ["BYE Disconnected for inactivity."])
        self.assertGreater(time.monotonic() - t0, 2.5)
        self.assertTrue(c.closed(5))
        self.assertTrue(inst.wait_log(
            r"disconnected: inactivity: user=<bob@example\.test>", 10))


if __name__ == "__main__":
    unittest.main()
