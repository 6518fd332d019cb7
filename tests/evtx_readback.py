#!/usr/bin/python3
"""evtx_readback.py FILE - reads an EVTX file with python-evtx (an EVTX
parser independent of libevtx) and prints it as plain lines that a C test
can compare with what it wrote:

  F verify=1 dirty=0 next=104 chunks=1        the file header
  C 0 magic=1 verify=1                        each chunk slot in use
  R 100 written=<filetime> eid=4690 eri=100 pid=4 tid=6208 computer=<..> channel=<..> provider=<..>
  U LogFileCleared                            (UserData records only)
  D Name=value                                each EventData/UserData field
  E chunk=0 offset=12224 <error>              a record it cannot parse

Values are UTF-8 with backslash, newline and carriage return escaped as
\\\\, \\n and \\r. Run it with the system python3 (Debian's python3-evtx);
exit status 3 means the Evtx module is missing, so callers can skip."""

import sys
import xml.etree.ElementTree as ET

try:
    from Evtx.Evtx import Evtx
except ImportError:
    sys.exit(3)


def esc(s):
    s = s or ""
    return s.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")


def local(tag):
    return tag.rsplit("}", 1)[-1]


def record_lines(rec):
    root = ET.fromstring(rec.xml())
    sysv = {}
    for el in root.iter():
        name = local(el.tag)
        if name in ("EventID", "EventRecordID", "Computer", "Channel"):
            sysv[name] = el.text
        elif name == "Provider":
            sysv["Provider"] = el.get("Name")
        elif name == "Execution":
            sysv["pid"] = el.get("ProcessID")
            sysv["tid"] = el.get("ThreadID")
    lines = ["R %d written=%d eid=%s eri=%s pid=%s tid=%s computer=%s channel=%s provider=%s" % (
        rec.record_num(), rec.unpack_qword(0x10), sysv.get("EventID"),
        sysv.get("EventRecordID"), sysv.get("pid"), sysv.get("tid"),
        esc(sysv.get("Computer")), esc(sysv.get("Channel")), esc(sysv.get("Provider")))]
    for el in root:
        if local(el.tag) == "EventData":
            lines += ["D %s=%s" % (esc(d.get("Name")), esc(d.text)) for d in el]
        elif local(el.tag) == "UserData":
            for top in el:
                lines.append("U " + local(top.tag))
                lines += ["D %s=%s" % (local(d.tag), esc(d.text)) for d in top]
    return lines


def main():
    sys.stdout.reconfigure(encoding="utf-8", errors="surrogateescape")
    with Evtx(sys.argv[1]) as log:
        fh = log.get_file_header()
        print("F verify=%d dirty=%d next=%d chunks=%d" % (
            fh.verify(), fh.is_dirty(), fh.next_record_number(), fh.chunk_count()))
        for i, chunk in enumerate(fh.chunks()):
            if not chunk.check_magic():
                if any(chunk.unpack_binary(0, 8)):  # not an unused slot
                    print("C %d magic=0 verify=0" % i)
                continue
            print("C %d magic=1 verify=%d" % (i, chunk.verify()))
            for rec in chunk.records():
                try:
                    print("\n".join(record_lines(rec)))
                except Exception as e:  # one bad record must not hide the rest
                    print("E chunk=%d offset=%d %s: %s" % (
                        i, rec.offset(), type(e).__name__, esc(str(e))))


if __name__ == "__main__":
    main()
