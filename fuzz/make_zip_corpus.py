#!/usr/bin/env python3
"""make_zip_corpus.py - write the seed corpus of fuzz_zip (fuzz/corpus/zip/): ordinary
archives and one small hostile archive of each kind the reader refuses."""
import io, os, struct, sys, warnings, zipfile

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus", "zip")
os.makedirs(out, exist_ok=True)
warnings.simplefilter("ignore")


def mk(name, entries, post=None, method=zipfile.ZIP_DEFLATED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for e in entries:
            if isinstance(e, tuple):
                z.writestr(*e)
            else:
                z.writestr(e, b"x")
    b = bytearray(buf.getvalue())
    if post:
        post(b)
    with open(os.path.join(out, name + ".zip"), "wb") as f:
        f.write(bytes(b))


def cd(b):
    return b.find(b"PK\x01\x02")


def loc(b):
    return b.find(b"PK\x03\x04")


mk("ok-workspace", [("README.md", "---\ntitle: W\ncontents:\n- notes/a.md\n---\n"),
                    ("notes/a.md", "---\ntitle: A\npart_of: ../README.md\n---\nhello\n" * 3),
                    ("notes/", ""), ("img/logo.png", b"\x89PNG" + bytes(range(256)))])
mk("ok-stored", [("a.md", "stored text"), ("caf\u00e9.md", "utf-8 name")], method=zipfile.ZIP_STORED)
mk("ok-empty", [])
mk("dotdot", ["ok.md", "../escaped.md"])
mk("absolute", ["/etc/escaped"])
mk("drive", ["C:/escaped.md"])
mk("backslash", ["a\\..\\escaped.md"])
link = zipfile.ZipInfo("link.md")
link.create_system = 3
link.external_attr = 0o120777 << 16
mk("symlink", [(link, "/etc/passwd")])
mk("duplicate", ["a.md", "a.md"])
mk("case", ["Notes/a.md", "notes/b.md"])
mk("file-and-dir", ["a", "a/b.md"])


def encrypt(b):
    b[cd(b) + 8] |= 1
    b[loc(b) + 6] |= 1


mk("encrypted", ["a.md"], encrypt)


def lie(b):
    i = cd(b)
    b[i + 24:i + 28] = struct.pack("<I", 1)
    j = loc(b)
    b[j + 22:j + 26] = struct.pack("<I", 1)


mk("lying-size", [("a.md", "hello world " * 100)], lie)


def bad_crc(b):
    i = cd(b)
    b[i + 16:i + 20] = struct.pack("<I", 1234)


mk("bad-crc", [("a.md", "hello")], bad_crc)
mk("bomb", [("zeros.md", b"\0" * (2 << 20))])


def method(b):
    b[cd(b) + 10] = 99
    b[loc(b) + 8] = 99


mk("unknown-method", ["a.md"], method)
mk("git-hooks", [(".git/hooks/pre-commit", "#!/bin/sh\n"), (".git/config", "[core]\n"),
                 (".git/objects/info/alternates", "/elsewhere\n"), ("a.md", "x")])
