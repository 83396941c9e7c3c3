#!/usr/bin/env python3
"""Writes small crafted captures into Tests/Fixtures/hostile/, each broken (or odd)
in one way, for HostileFileTests and `make sweep`.

The packets are the first 10 records of Samples/sample-loss.pcap (Ethernet, two
real TCP connections to port 9000 carrying 216 and 16 bytes), so the parts of a
file that can be read carry real TCP. Deterministic: the same bytes on every run.

    scripts/make-hostile.py [OUTPUT_DIR]
"""
import os
import random
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SOURCE = os.path.join(REPO, "Samples", "sample-loss.pcap")
PACKETS = 10

LINKTYPE_ETHERNET = 1
LINKTYPE_USER0 = 147


def read_records(path, count):
    """(ts_sec, ts_usec, orig_len, data) of the first `count` records of a little-endian microsecond pcap."""
    with open(path, "rb") as f:
        blob = f.read()
    magic, = struct.unpack_from("<I", blob, 0)
    assert magic == 0xA1B2C3D4, "expected a little-endian microsecond pcap"
    records, offset = [], 24
    while len(records) < count:
        sec, usec, incl, orig = struct.unpack_from("<IIII", blob, offset)
        offset += 16
        records.append((sec, usec, orig, blob[offset:offset + incl]))
        offset += incl
    return records


def pcap_header(endian="<", magic=0xA1B2C3D4, snaplen=262144, linktype=LINKTYPE_ETHERNET):
    return struct.pack(endian + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)


def pcap_record(sec, frac, data, orig=None, incl=None, endian="<"):
    incl = len(data) if incl is None else incl
    orig = len(data) if orig is None else orig
    return struct.pack(endian + "IIII", sec & 0xFFFFFFFF, frac, incl, orig) + data


def pcap(records, **header):
    endian = header.get("endian", "<")
    return pcap_header(**header) + b"".join(pcap_record(s, u, d, o, endian=endian) for s, u, o, d in records)


# pcapng

def pad4(b):
    return b + b"\0" * (-len(b) % 4)


def option(code, value):
    return struct.pack("<HH", code, len(value)) + pad4(value)


def block(kind, body, total=None):
    body = pad4(body)
    length = 12 + len(body)
    return struct.pack("<II", kind, length if total is None else total) + body + struct.pack("<I", length)


def shb():
    return block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))


def idb(linktype=LINKTYPE_ETHERNET, snaplen=262144, options=b""):
    if options:
        options += option(0, b"")
    return block(0x00000001, struct.pack("<HHI", linktype, 0, snaplen) + options)


def epb(timestamp_us, data, orig=None, options=b"", total=None):
    """Enhanced packet block on interface 0; the default resolution is microseconds."""
    orig = len(data) if orig is None else orig
    if options:
        options += option(0, b"")
    high, low = (timestamp_us >> 32) & 0xFFFFFFFF, timestamp_us & 0xFFFFFFFF
    body = struct.pack("<IIIII", 0, high, low, len(data), orig) + pad4(data) + options
    return block(0x00000006, body, total)


def micros(record):
    return record[0] * 1_000_000 + record[1]


def build(records):
    """Every file: name -> bytes."""
    files = {}
    good = pcap(records)
    last = pcap_record(*records[-1][:2], records[-1][3], records[-1][2])

    # Header fine, the last record's data cut in half.
    files["truncated-record.pcap"] = good[:len(good) - len(records[-1][3]) // 2]
    # Header fine, the last record's 16-byte header cut after 7 bytes.
    files["truncated-record-header.pcap"] = pcap(records[:-1]) + last[:7]
    # 4 KB of random bytes (seeded).
    files["garbage.pcap"] = random.Random(8).randbytes(4096)
    # Nothing at all.
    files["empty.pcap"] = b""
    # The 24-byte global header and no record.
    files["header-only.pcap"] = pcap_header()
    # Three good records, then one claiming 2 GB (0x80000000) of captured bytes.
    big = pcap_record(records[3][0], records[3][1], records[3][3], incl=0x80000000)
    files["incl-len-2g.pcap"] = pcap(records[:3]) + big
    huge = pcap_record(records[3][0], records[3][1], records[3][3], incl=0xFFFFFFFF)
    files["incl-len-ffffffff.pcap"] = pcap(records[:3]) + huge
    # Snaplen 0 and 2^31 in the global header, records as usual.
    files["snaplen-0.pcap"] = pcap(records, snaplen=0)
    files["snaplen-2g.pcap"] = pcap(records, snaplen=0x80000000)
    # ts_sec 0xFFFFFFFF: libpcap reads a signed 32-bit field, so one second before 1970.
    files["ts-before-1970.pcap"] = pcap([(0xFFFFFFFF, u, o, d) for _, u, o, d in records])
    # ts_sec 0x80000000: -2^31 as libpcap reads it (December 1901).
    files["ts-min-int32.pcap"] = pcap([(0x80000000, u, o, d) for _, u, o, d in records])
    # 2100-01-01T00:00:00Z does not fit pcap's signed 32-bit seconds; pcapng carries it.
    y2100 = 4_102_444_800 * 1_000_000
    files["ts-after-2100.pcapng"] = shb() + idb() + b"".join(epb(y2100 + i, r[3], r[2]) for i, r in enumerate(records))
    # The largest 64-bit pcapng timestamp (microseconds): beyond Int64 nanoseconds.
    files["ts-max-u64.pcapng"] = shb() + idb() + b"".join(epb(0xFFFFFFFFFFFFFFFF, r[3], r[2]) for r in records)
    # LINKTYPE_USER0 with the Ethernet frames unchanged: TCP-looking bytes flowdb must not decode.
    files["linktype-user0.pcap"] = pcap(records, linktype=LINKTYPE_USER0)
    # pcapng with a custom block 0x00000BAD and a "copyable" custom 0x40000BAD between packets.
    body = []
    for i, r in enumerate(records):
        body.append(epb(micros(r), r[3], r[2]))
        if i == 2:
            body.append(block(0x00000BAD, struct.pack("<I", 32473) + b"not a packet"))
        if i == 5:
            body.append(block(0x40000BAD, struct.pack("<I", 32473) + b"\xff" * 20))
    files["pcapng-unknown-blocks.pcapng"] = shb() + idb() + b"".join(body)
    # pcapng with an unknown option code (0x7777) on the interface and on every packet.
    odd = option(0x7777, b"hostile option value")
    files["pcapng-unknown-option.pcapng"] = shb() + idb(options=odd) + b"".join(
        epb(micros(r), r[3], r[2], options=odd) for r in records)
    # pcapng whose 6th packet block claims 1 MB, past the end of the file.
    blocks = [epb(micros(r), r[3], r[2]) for r in records]
    blocks[5] = epb(micros(records[5]), records[5][3], records[5][2], total=1 << 20)
    files["pcapng-block-overrun.pcapng"] = shb() + idb() + b"".join(blocks[:6])
    # pcapng whose 6th packet block claims 2 GB (libpcap refuses blocks over 16 MB).
    blocks = [epb(micros(r), r[3], r[2]) for r in records]
    blocks[5] = epb(micros(records[5]), records[5][3], records[5][2], total=0x80000000)
    files["pcapng-block-2g.pcapng"] = shb() + idb() + b"".join(blocks)
    # pcapng with snaplen 0xFFFFFFFF on the interface and a 6th packet whose captured
    # length field says 2^31-1 (its block length is right).
    blocks = [epb(micros(r), r[3], r[2]) for r in records]
    wrong = bytearray(blocks[5])
    struct.pack_into("<I", wrong, 20, 0x7FFFFFFF)
    blocks[5] = bytes(wrong)
    files["pcapng-caplen-2g.pcapng"] = shb() + idb(snaplen=0xFFFFFFFF) + b"".join(blocks)
    # Nanosecond magic (0xA1B23C4D); the fraction is nanoseconds (usec * 1000 + 123).
    files["nanosecond.pcap"] = pcap([(s, u * 1000 + 123, o, d) for s, u, o, d in records], magic=0xA1B23C4D)
    # The same packets written big-endian (magic reads 0xD4C3B2A1 on a little-endian host).
    files["swapped-endian.pcap"] = pcap(records, endian=">")
    # incl_len > orig_len: every record claims a wire length of 20 bytes.
    files["caplen-gt-len.pcap"] = pcap([(s, u, 20, d) for s, u, _, d in records])
    return files


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "Tests", "Fixtures", "hostile")
    os.makedirs(out, exist_ok=True)
    for name, data in sorted(build(read_records(SOURCE, PACKETS)).items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        print(f"{len(data):6d}  {name}")


if __name__ == "__main__":
    main()
