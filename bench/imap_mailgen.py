#!/usr/bin/python3
"""imap_mailgen: writes a Maildir of generated, realistic messages for
bench/imap, the same for every server (a fixed seed: the same arguments
give the same octets).

    imap_mailgen.py DIR COUNT RECIPIENT [SEED]

The mix, by message: 60 % plain text of 1-8 KiB; 20 % multipart/
alternative (text and HTML) of 4-20 KiB; 14.5 % multipart/mixed with a
base64 attachment of 20-300 KiB; 5 % a forwarded message/rfc822 inside
multipart/mixed; 0.5 % an attachment of 1-2 MiB. Some subjects and
names are RFC 2047 encoded words, some bodies quoted-printable, a third
of the messages answer an earlier one (In-Reply-To, References).

Needles for the SEARCH measurements: every 100th message has "needle"
in its Subject; every 50th has "zebracorn" in its text (as it is, in
quoted-printable, or in base64: a server must decode to find them all).

Files are written into DIR/new/ as an MTA leaves them (LF line ends),
named "<time>.M<n>P<pid>.bench,S=<size>,W=<size with CRLF>", with the
Date: as their mtime."""

import base64
import os
import quopri
import random
import sys

WORDS = ("the quick brown fox jumps over lazy dog mail server message "
         "report quarter budget meeting schedule project review draft "
         "invoice attached please find below regards thanks team update "
         "release notes customer support ticket issue resolved pending "
         "tomorrow morning afternoon agenda minutes office travel plan "
         "Grüße Straße café naïve résumé").split()
NAMES = ["Alice Martin", "Bob Dupont", "Carla Rossi", "Dmitri Ivanov",
         "Eva Müller", "François Lefèvre", "Greta Nilsson", "Hiro Tanaka"]
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
          "Oct", "Nov", "Dec"]


def encoded_word(text):
    raw = base64.b64encode(text.encode("utf-8")).decode()
    return "=?UTF-8?B?%s?=" % raw


def address(rng, i):
    name = rng.choice(NAMES)
    local = name.split()[0].lower().encode("ascii", "ignore").decode()
    shown = encoded_word(name) if not name.isascii() else '"%s"' % name
    return "%s <%s%d@example.org>" % (shown, local, i % 97)


def words(rng, octets):
    out, n = [], 0
    while n < octets:
        line = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 12)))
        out.append(line)
        n += len(line.encode("utf-8")) + 1
    return "\n".join(out) + "\n"


def text_part(rng, octets, needle, how):
    body = words(rng, octets)
    if needle:
        body = body[:len(body) // 2] + " zebracorn " + body[len(body) // 2:]
    if how == "qp":
        enc = quopri.encodestring(body.encode("utf-8")).decode()
        return ("Content-Type: text/plain; charset=utf-8\n"
                "Content-Transfer-Encoding: quoted-printable\n\n" + enc)
    if how == "b64":
        enc = base64.encodebytes(body.encode("utf-8")).decode()
        return ("Content-Type: text/plain; charset=utf-8\n"
                "Content-Transfer-Encoding: base64\n\n" + enc)
    return ("Content-Type: text/plain; charset=utf-8\n"
            "Content-Transfer-Encoding: 8bit\n\n" + body)


def attachment(rng, octets, name):
    data = rng.getrandbits(octets * 8).to_bytes(octets, "little")
    enc = base64.encodebytes(data).decode()
    return ("Content-Type: application/octet-stream; name=\"%s\"\n"
            "Content-Disposition: attachment; filename=\"%s\"\n"
            "Content-Transfer-Encoding: base64\n\n%s" % (name, name, enc))


def multipart(subtype, boundary, parts):
    out = ["Content-Type: multipart/%s; boundary=\"%s\"\n\n"
           "This is a multi-part message in MIME format.\n" % (subtype, boundary)]
    for p in parts:
        out.append("--%s\n%s\n" % (boundary, p))
    out.append("--%s--\n" % boundary)
    return "".join(out)


def body_of(rng, i, needle):
    how = ("plain", "qp", "b64")[(i // 50) % 3] if needle else \
        rng.choice(("plain", "plain", "qp"))
    kind = rng.random()
    b = "b%08x%d" % (rng.getrandbits(32), i)
    if kind < 0.60:
        return text_part(rng, rng.randint(1024, 8192), needle, how)
    if kind < 0.80:
        octets = rng.randint(2048, 10240)
        html = "Content-Type: text/html; charset=utf-8\n\n<html><body><p>%s</p></body></html>\n" % (
            words(rng, octets).replace("\n", "</p>\n<p>"))
        return multipart("alternative", b, [text_part(rng, octets, needle, how), html])
    if kind < 0.945:
        size = int(20480 * (15 ** rng.random()))
        return multipart("mixed", b, [text_part(rng, rng.randint(512, 4096), needle, how),
                                      attachment(rng, size, "file%d.bin" % i)])
    if kind < 0.995:
        inner = ("From: %s\nTo: someone@example.net\nSubject: original %d\n"
                 "Date: Mon, 02 Mar 2026 10:00:00 +0100\nMessage-ID: <orig%d@example.org>\n"
                 "MIME-Version: 1.0\n%s" % (address(rng, i), i, i,
                                            text_part(rng, rng.randint(2048, 8192), False, "plain")))
        return multipart("mixed", b, [text_part(rng, 600, needle, how),
                                      "Content-Type: message/rfc822\n\n" + inner])
    return multipart("mixed", b, [text_part(rng, 800, needle, how),
                                  attachment(rng, rng.randint(1 << 20, 2 << 20), "big%d.bin" % i)])


def message(rng, i, rcpt, when):
    t = when
    tm = __import__("time").gmtime(t)
    date = "%s, %02d %s %d %02d:%02d:%02d +0000" % (
        DAYS[tm.tm_wday], tm.tm_mday, MONTHS[tm.tm_mon - 1], tm.tm_year,
        tm.tm_hour, tm.tm_min, tm.tm_sec)
    subject = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 8)))
    if i % 100 == 0:
        subject += " needle"
    if i % 7 == 0:
        subject = encoded_word(subject)
    hdr = ["Return-Path: <sender%d@example.org>" % (i % 97),
           "Received: from mx.example.org (mx.example.org [192.0.2.%d])\n"
           "\tby bench.localdomain with ESMTPS id %08X\n\tfor <%s>; %s" % (i % 250 + 1, i, rcpt, date),
           "From: %s" % address(rng, i),
           "To: %s" % rcpt]
    if rng.random() < 0.3:
        hdr.append("Cc: %s, %s" % (address(rng, i + 1), address(rng, i + 2)))
    hdr += ["Subject: %s" % subject, "Date: %s" % date,
            "Message-ID: <msg%d.%d@example.org>" % (i, t)]
    if i > 10 and rng.random() < 0.33:
        j = rng.randint(max(1, i - 50), i - 1)
        hdr += ["In-Reply-To: <msg%d.x@example.org>" % j,
                "References: <msg%d.x@example.org>" % j]
    hdr += ["MIME-Version: 1.0", "X-Mailer: bench-mailgen 1.0"]
    return ("\n".join(hdr) + "\n" + body_of(rng, i, i % 50 == 0)).encode("utf-8")


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    top, count, rcpt = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    rng = random.Random(int(sys.argv[4]) if len(sys.argv) == 5 else 4242)
    for d in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(top, d), exist_ok=True)
    start = 1767225600  # 2026-01-01
    for i in range(1, count + 1):
        when = start + i * 600 + rng.randint(0, 599)
        data = message(rng, i, rcpt, when)
        vsize = len(data) + data.count(b"\n")
        name = "%d.M%dP4242.bench,S=%d,W=%d" % (when, i, len(data), vsize)
        path = os.path.join(top, "new", name)
        with open(path, "wb") as f:
            f.write(data)
        os.utime(path, (when, when))


if __name__ == "__main__":
    main()
