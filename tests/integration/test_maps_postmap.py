"""surelmap against Postfix's postmap on the same source files: hash:
tables built by each (-s dumps compared, and each program reading the
other's FILE.db), -i/-d edits, -f and -n, and -q (one key and -q - from
standard input) on hash:, pcre: and cidr: tables over a set of keys: the
same answers and exit codes. Needs /usr/sbin/postmap (pcre: also the
postfix-pcre package); no root, no daemons."""

import os
import shutil
import subprocess
import tempfile
import unittest

from instance import BIN_DIR

POSTMAP = "/usr/sbin/postmap"
SURELMAP = os.path.join(BIN_DIR, "surelmap")

HASH_SOURCE = """\
# a comment, then entries as an operator writes them
Alice@Example.TEST   alice@example.test
bob@example.test\tbob,  carol
@example.org         catchall@example.org
dup                  first
dup                  second
continued            one
   two
 three
UPPER                Value With Case
"""

PCRE_SOURCE = r"""# pcre_table(5) features
/[%!@].*[%!@]/        550 Sender-specified routing rejected
/^postmaster@/        OK
if !/^owner-/
/^(.*)-outgoing@(.*)$/  550 Use ${1}@${2} instead
endif
/^(a+)b(.*)$/         got $1 and ${2}x $$ $(1)
/^Subject: make money fast/  REJECT
/^CaseSensitive$/i    exact case
!/\./                 no dot
/^x y z$/x            never
/^xyz$/x              extended
/a.b/                 dotall
/a.c/s                no dotall
/^m$/m                multiline
if /@example\.com$/
if /^admin/
/./                   admin at example
endif
/^(.+)@/              user $1 at example
endif
|^p\|q$|              pipe delimiter
/(a)|(b)x/            [$1][$2]
"""

PCRE_KEYS = [
    "a@b@c", "postmaster@example.org", "POSTMASTER@x", "list-outgoing@h.org",
    "owner-list-outgoing@h.org", "aaabzz", "Subject: Make Money Fast!",
    "CaseSensitive", "casesensitive", "nodot", "has.dot", "xyz", "a\nb",
    "a\nc", "q\nm", "admin@example.com", "joe@example.com", "p|q", "bx",
    "", "x.y",
]

CIDR_SOURCE = """\
# cidr_table(5) features
10.0.0.0/8            ten
[192.168.1.0]/24      bracketed
[192.168.2.0/24]      bracketed too
192.168.3.7           host
172.16.0.0/12         private
  continued
2001:DB8::/32         doc v6
[::1]                 loopback v6
::ffff:0.0.0.0/96     mapped
if 100.64.0.0/10
100.64.1.0/24         cgn one
if !100.64.2.0/24
100.64.0.0/10         cgn other
endif
endif
! 192.168.0.0/16      not private
fe80::/10             link local
"""

CIDR_KEYS = [
    "10.1.2.3", "192.168.1.200", "192.168.2.1", "192.168.3.7",
    "192.168.3.8", "172.31.255.255", "2001:db8::1", "2001:0db8:0:0::1",
    "::1", "::2", "::ffff:10.1.2.3", "100.64.1.9", "100.64.2.9",
    "100.100.0.1", "8.8.8.8", "fe80::1", "[10.1.2.3]", "010.1.2.3", "foo",
    "1.2.3", "2001:db9::1",
]


@unittest.skipUnless(os.path.exists(POSTMAP), "Postfix's postmap is missing")
class PostmapCompat(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="test_maps_postmap.")
        # postmap wants a main.cf; an empty one gives Postfix's defaults.
        self.conf = os.path.join(self.dir, "conf")
        os.mkdir(self.conf)
        open(os.path.join(self.conf, "main.cf"), "w").close()

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        return path

    def run_tool(self, tool, args, stdin=None):
        cmd = [POSTMAP, "-c", self.conf] if tool == "postmap" else [SURELMAP]
        p = subprocess.run(cmd + args, input=stdin, capture_output=True,
                           text=True, timeout=60)
        return p.returncode, p.stdout

    def both(self, args, stdin=None):
        return self.run_tool("postmap", args, stdin), \
            self.run_tool("surelmap", args, stdin)

    def dump(self, tool, spec):
        rc, out = self.run_tool(tool, ["-s", spec])
        self.assertEqual(rc, 0, (tool, spec))
        return sorted(out.splitlines())

    def build_pair(self, text, options=()):
        """The same source built by each program in its own directory."""
        specs = {}
        for tool in ("postmap", "surelmap"):
            src = self.write(tool + "/table", text)
            rc, _ = self.run_tool(tool, list(options) + ["hash:" + src])
            self.assertEqual(rc, 0, tool)
            specs[tool] = "hash:" + src
        return specs

    def test_hash_dump_same(self):
        specs = self.build_pair(HASH_SOURCE)
        mine = self.dump("surelmap", specs["surelmap"])
        self.assertEqual(self.dump("postmap", specs["postmap"]), mine)
        self.assertIn("alice@example.test\talice@example.test", mine)
        self.assertIn("dup\tfirst", mine)
        # Each reads the other's FILE.db the same.
        self.assertEqual(self.dump("postmap", specs["surelmap"]), mine)
        self.assertEqual(self.dump("surelmap", specs["postmap"]), mine)

    def test_hash_flags_f_and_n(self):
        for options in (["-f"], ["-n"], ["-f", "-n"]):
            specs = self.build_pair(HASH_SOURCE, options)
            want = self.dump("postmap", specs["postmap"])
            self.assertEqual(self.dump("surelmap", specs["surelmap"]), want,
                             options)
            self.assertEqual(self.dump("surelmap", specs["postmap"]), want,
                             options)
            for key in ("UPPER", "upper", "Alice@Example.TEST", "dup"):
                q = ["-q", key, specs["surelmap"]]
                self.assertEqual(self.run_tool("postmap", q),
                                 self.run_tool("surelmap", q),
                                 (options, key))

    def test_hash_incremental_and_delete(self):
        specs = self.build_pair(HASH_SOURCE)
        edits = "new@example.test  new\ndup third\nbob@example.test changed\n"
        for tool in ("postmap", "surelmap"):
            rc, _ = self.run_tool(tool, ["-i", specs[tool]], stdin=edits)
            self.assertEqual(rc, 0, tool)
            rc, _ = self.run_tool(tool, ["-r", "-i", specs[tool]],
                                  stdin="upper replaced\n")
            self.assertEqual(rc, 0, tool)
            rc, _ = self.run_tool(tool, ["-d", "continued", specs[tool]])
            self.assertEqual(rc, 0, tool)
            rc, _ = self.run_tool(tool, ["-d", "absent", specs[tool]])
            self.assertEqual(rc, 1, tool)
        mine = self.dump("surelmap", specs["surelmap"])
        self.assertEqual(self.dump("postmap", specs["postmap"]), mine)
        self.assertIn("upper\treplaced", mine)
        self.assertNotIn("continued\tone  two three", mine)

    def test_hash_query(self):
        specs = self.build_pair(HASH_SOURCE)
        keys = ["alice@example.test", "ALICE@EXAMPLE.TEST", "@example.org",
                "dup", "continued", "nothere"]
        for key in keys:
            self.assertEqual(*self.both(["-q", key, specs["surelmap"]]),
                             msg=key)
        stdin = "".join(k + "\n" for k in keys)
        self.assertEqual(*self.both(["-q", "-", specs["surelmap"]], stdin))

    def compare_queries(self, spec, keys):
        answered = 0
        for key in keys:
            # postmap -q takes a key with a newline as it is.
            theirs, mine = self.both(["-q", key, spec])
            self.assertEqual(theirs, mine, msg=repr(key))
            answered += theirs[0] == 0
        self.assertGreater(answered, len(keys) // 2)
        # A whole line is a key, white space included, as postmap.
        stdin = "".join(k + "\n" for k in keys + [" lead", "trail "]
                        if "\n" not in k)
        theirs, mine = self.both(["-q", "-", spec], stdin)
        self.assertEqual(theirs, mine)

    def test_pcre_query(self):
        rc, _ = self.run_tool("postmap", ["-q", "x", "pcre:/dev/null"])
        if rc == 2 or not os.path.exists("/usr/lib/postfix/postfix-pcre.so"):
            self.skipTest("postmap has no pcre: (postfix-pcre)")
        spec = "pcre:" + self.write("t.pcre", PCRE_SOURCE)
        self.compare_queries(spec, PCRE_KEYS)

    def test_cidr_query(self):
        spec = "cidr:" + self.write("t.cidr", CIDR_SOURCE)
        self.compare_queries(spec, CIDR_KEYS)

    def test_refused_where_postfix_warns(self):
        # Postfix skips such a rule with a warning; surelmap refuses the
        # table, naming the line, and answers nothing (exit status 2).
        for name, text, line in (("bad.pcre", "/a/ ok\n/(a/ x\n", 2),
                                 ("bad.cidr", "10.0.0.0/8 a\n10.0.0.1/8 x\n",
                                  2)):
            path = self.write(name, text)
            p = subprocess.run([SURELMAP, "-q", "a", name.split(".")[1] +
                                ":" + path], capture_output=True, text=True,
                               timeout=60)
            self.assertEqual(p.returncode, 2)
            self.assertEqual(p.stdout, "")
            self.assertIn("%s, line %d: " % (path, line), p.stderr)


if __name__ == "__main__":
    unittest.main()
