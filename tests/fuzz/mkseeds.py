#!/usr/bin/env python3
"""mkseeds.py - write the seed corpora that come from elsewhere in the tree.

corpus/rules/: every shipped scenario (rules/scenarios/*.rules, as
scenario-NAME) and every parser case of tests/data/parser_cases.txt (its
rule text, as case-NNN).  corpus/calls/: datagrams of the shim's channel
as fuzz_calls reads them (a flag byte, then the event): a hello, calls of
several functions with endpoints, a forged pid, refused privileged
operations (a repeated one, a path with quotes and bytes outside UTF-8),
a short and a long one.
Deterministic; run again after the scenarios or cases change.  Files named
crash-* are kept as they are.
"""
import glob
import os
import socket
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def write(d, name, data):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def rules():
    out = os.path.join(HERE, "corpus", "rules")
    for p in sorted(glob.glob(os.path.join(ROOT, "rules", "scenarios", "*.rules"))):
        with open(p, "rb") as f:
            write(out, "scenario-" + os.path.basename(p), f.read())
    n = 0
    with open(os.path.join(ROOT, "tests", "data", "parser_cases.txt"), "rb") as f:
        for line in f:
            if line.startswith(b"#") or b" ; " not in line:
                continue
            n += 1
            write(out, "case-%03d" % n, line.split(b" ; ")[0] + b"\n")


MAGIC, VERSION, SIZE = 0x464C4556, 3, 256
HELLO, CALL = 1, 2


def sockaddr4(ip, port):
    b = struct.pack("<H", socket.AF_INET) + struct.pack("!H", port) + socket.inet_aton(ip)
    return b.ljust(28, b"\0")


def event(kind, fn, pid, fd, ret=0, err=0, flags=0, body=b""):
    head = struct.pack("<IHHHHIQQQiiiiq", MAGIC, VERSION, SIZE, kind, fn, flags,
                       1000, 1, 0, pid, pid, fd, err, ret)
    return head + body.ljust(192, b"\0")[:192]


def call_body(state=1, local=None, peer=None, level=0, opt=0, val=0):
    b = struct.pack("<iiBBHi", socket.AF_INET, socket.SOCK_STREAM, state, 0, 0, -1)
    b += local or b"\0" * 28
    b += peer or b"\0" * 28
    b += struct.pack("<iiiIq", 0, level, opt, 4, val)
    return b


def priv_body(ids=(), euid=0, path=b"", family=0, port=0, start=-1, flags=0, cap_eff=0):
    ids = list(ids)[:3]
    return struct.pack("<I3IIIQiiii144s", len(ids), *(ids + [0] * (3 - len(ids))),
                       euid, euid, cap_eff, family, port, start, flags, path[:143])


def calls():
    out = os.path.join(HERE, "corpus", "calls")
    lo, pe = sockaddr4("127.0.0.1", 7000), sockaddr4("127.0.0.1", 40000)
    hello = struct.pack("<iIIH", 1, 0, 0, 0).ljust(24, b"\0") + b"/bin/echo_server\0"
    write(out, "hello", b"\x03" + event(HELLO, 0, 5, -1, body=hello))
    # FL_EVF_SOCK is bit 0 of flags
    write(out, "accept-read-close",
          b"\x01" + event(CALL, 3, 5, 3, ret=4, flags=1, body=call_body(10, lo, pe)) +
          b"\x01" + event(CALL, 15, 5, 4, ret=0, flags=1, body=call_body(8, lo, pe)) +
          b"\x01" + event(CALL, 6, 5, 4, ret=0, flags=1, body=call_body(8, lo, pe)))
    write(out, "setsockopt-linger",
          b"\x01" + event(CALL, 10, 5, 4, body=call_body(1, lo, pe, 1, 13, 0)))
    write(out, "forged-pid", b"\x17" + event(CALL, 10, 4242, 99, body=call_body(0)))
    # refused privileged operations (u.priv): FL_FN_SETGID 28, FL_FN_CHOWN 35,
    # FL_FN_BIND 26, FL_FN_SETGROUPS 33; EPERM 1, EACCES 13, EINVAL 22
    write(out, "denied-setgid-twice",
          b"\x01" + event(CALL, 28, 5, -1, ret=-1, err=1, body=priv_body([65534])) +
          b"\x01" + event(CALL, 28, 5, -1, ret=-1, err=1, body=priv_body([65534])))
    write(out, "denied-chown-path",
          b"\x01" + event(CALL, 35, 5, -1, ret=-1, err=1,
                          body=priv_body([0, 0], path=b'/tmp/a"b\\\xff\x01c')))
    write(out, "denied-bind",
          b"\x01" + event(CALL, 26, 5, 3, ret=-1, err=13,
                          body=priv_body(family=socket.AF_INET, port=80, start=1024)))
    write(out, "denied-setgroups-userns",
          b"\x01" + event(CALL, 33, 5, -1, ret=-1, err=1, body=priv_body([2, 0, 4], 65534, cap_eff=0xc0)) +
          b"\x01" + event(CALL, 27, 5, -1, ret=-1, err=22, body=priv_body([0], 65534)))
    write(out, "short", b"\x00FLEV")
    write(out, "long", b"\x00" + b"\xff" * 300)


if __name__ == "__main__":
    rules()
    calls()
