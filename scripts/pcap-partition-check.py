#!/usr/bin/env python3
"""Checks packet provenance on a capture: ingests it, exports every flow one by
one with `flowdb query --flow N --pcap`, and checks that the exported pcaps
partition the capture's TCP packets: each TCP record exactly once, byte-identical,
none altered, none missing, nothing else.

Which records carry TCP is decided by tshark, not by flowdb:
  tshark -r CAP -Y 'tcp && !icmp && !icmpv6' (plus IP fragments of TCP datagrams).
It also reports how flows map to tshark's tcp.stream numbers (a flow equal to one
whole stream is what `tshark -Y 'tcp.stream eq N' -w` writes). Without tshark, a
small decoder here (Ethernet with VLAN tags, Linux cooked v1/v2, raw IP; IPv4 and
IPv6 with a fragment header) decides, and the stream report is left out.

usage: pcap-partition-check.py [--flowdb BIN] [--keep DIR] CAPTURE...
Exit status 0 when every capture partitions exactly.
"""
import argparse
import collections
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile


def records(path):
    """(header, [record bytes]) of a pcap file in either byte order."""
    data = open(path, 'rb').read()
    magic = data[:4]
    if magic in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1'):
        order = '<'
    elif magic in (b'\xa1\xb2\xc3\xd4', b'\xa1\xb2\x3c\x4d'):
        order = '>'
    else:
        raise SystemExit(f'{path}: not a pcap file (this check reads pcap captures)')
    out, i = [], 24
    while i + 16 <= len(data):
        caplen = struct.unpack(order + 'I', data[i + 8:i + 12])[0]
        out.append(data[i:i + 16 + caplen])
        i += 16 + caplen
    if i != len(data):
        raise SystemExit(f'{path}: {len(data) - i} trailing bytes after the last record')
    return data[:24], out


def python_tcp_records(capture):
    """Frame numbers of records carrying TCP or an IP fragment, for plain captures."""
    data = open(capture, 'rb').read()
    order = '<' if data[:4] in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1') else '>'
    link = struct.unpack(order + 'I', data[20:24])[0] & 0xffff
    found, i, n = set(), 24, 0
    while i + 16 <= len(data):
        n += 1
        caplen = struct.unpack(order + 'I', data[i + 8:i + 12])[0]
        p = data[i + 16:i + 16 + caplen]
        i += 16 + caplen
        if link == 1:
            off, ethertype = 14, struct.unpack('>H', p[12:14])[0] if len(p) >= 14 else 0
            while ethertype in (0x8100, 0x88a8) and len(p) >= off + 4:
                ethertype = struct.unpack('>H', p[off + 2:off + 4])[0]
                off += 4
        elif link == 113:
            off, ethertype = 16, struct.unpack('>H', p[14:16])[0] if len(p) >= 16 else 0
        elif link == 276:
            off, ethertype = 20, struct.unpack('>H', p[0:2])[0] if len(p) >= 20 else 0
        elif link in (101, 12, 14):
            off, ethertype = 0, (0x0800 if p[:1] and p[0] >> 4 == 4 else 0x86dd)
        else:
            raise SystemExit(f'{capture}: link type {link}: install tshark to check it')
        ip = p[off:]
        if ethertype == 0x0800 and len(ip) >= 20:
            frag = struct.unpack('>H', ip[6:8])[0]
            if ip[9] == 6 or (frag & 0x3fff):
                found.add(n)
        elif ethertype == 0x86dd and len(ip) >= 40:
            if ip[6] in (6, 44):
                found.add(n)
    return found


def have_tshark():
    return shutil.which('tshark') is not None


def tshark_fields(capture, display_filter, *fields):
    args = ['tshark', '-r', capture, '-Y', display_filter, '-T', 'fields']
    for f in fields:
        args += ['-e', f]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    return [line.split('\t') for line in out.splitlines() if line]


def check(capture, flowdb, keep):
    work = tempfile.mkdtemp(prefix='partition-')
    try:
        db = os.path.join(work, 'a.sqlite')
        subprocess.run([flowdb, 'ingest', '--quiet', '--db', db, capture], check=True)
        listing = subprocess.run([flowdb, 'query', '--db', db, '--limit', '0', '--json'],
                                 capture_output=True, text=True, check=True).stdout
        flows = [json.loads(line)['id'] for line in listing.splitlines() if line]
        header, original = records(capture)
        by_bytes = collections.defaultdict(list)
        for n, r in enumerate(original, 1):
            by_bytes[r].append(n)

        exported = {}          # frame number -> flow id
        problems = []
        for k, flow in enumerate(flows):
            out = os.path.join(work, f'flow{flow}.pcap')
            # The first export checks the capture's sha256; the others its size.
            args = [flowdb, 'query', '--db', db, '--flow', str(flow), '--pcap', out] + ([] if k == 0 else ['--no-verify'])
            subprocess.run(args, check=True, stderr=subprocess.DEVNULL)
            h, recs = records(out)
            if h != header:
                problems.append(f'flow {flow}: file header differs from the capture\'s')
            for r in recs:
                frames = by_bytes.get(r)
                if not frames:
                    problems.append(f'flow {flow}: a record that is not in the capture (altered)')
                    continue
                frame = frames.pop(0) if len(frames) > 1 else frames[0]
                if frame in exported:
                    problems.append(f'frame {frame}: exported twice (flows {exported[frame]} and {flow})')
                exported[frame] = flow
            if not keep:
                os.unlink(out)
                os.unlink(out + '.custody.json')

        if have_tshark():
            tcp = {int(f[0]) for f in tshark_fields(capture, 'tcp && !icmp && !icmpv6', 'frame.number')}
            fragments = {int(f[0]) for f in tshark_fields(
                capture, '(ip.flags.mf == 1 || ip.frag_offset > 0 || ipv6.fragment) && !icmp && !icmpv6', 'frame.number')}
            expected, judge = tcp | fragments, 'tshark'
        else:
            expected, judge = python_tcp_records(capture), 'no tshark: own decoder'
        missing = sorted(expected - exported.keys())
        extra = sorted(exported.keys() - expected)
        if missing:
            problems.append(f'{len(missing)} TCP records in no export, e.g. frames {missing[:10]}')
        if extra:
            problems.append(f'{len(extra)} exported records tshark does not see as TCP, e.g. frames {extra[:10]}')

        # How flows map to tshark's streams.
        stream_of = ({int(f[0]): f[1] for f in tshark_fields(capture, 'tcp', 'frame.number', 'tcp.stream')}
                     if have_tshark() else {})
        frames_of_flow = collections.defaultdict(set)
        for frame, flow in exported.items():
            frames_of_flow[flow].add(frame)
        frames_of_stream = collections.defaultdict(set)
        for frame, stream in stream_of.items():
            if frame in expected:
                frames_of_stream[stream].add(frame)
        equal = sum(1 for frames in frames_of_flow.values()
                    if len({stream_of.get(f) for f in frames}) == 1
                    and frames == frames_of_stream.get(stream_of.get(next(iter(frames)))))
        verdict = 'OK' if not problems else 'FAIL'
        streams = (f'; {equal} of {len(flows)} flows equal one whole tshark tcp.stream ({len(frames_of_stream)} streams)'
                   if stream_of else '')
        print(f'{verdict} {os.path.basename(capture)}: {len(original)} records, {len(expected)} TCP records ({judge}), '
              f'{len(flows)} flows exported one by one, {len(exported)} records exported, '
              f'{len(missing)} missing, {len(extra)} extra{streams}')
        for p in problems[:20]:
            print('   ', p)
        if keep:
            shutil.copytree(work, os.path.join(keep, os.path.basename(capture)), dirs_exist_ok=True)
        return not problems
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--flowdb', default=os.path.join(os.path.dirname(__file__), '..', '.build', 'release', 'flowdb'))
    parser.add_argument('--keep', help='keep the archive and the exported pcaps in this directory')
    parser.add_argument('captures', nargs='+')
    args = parser.parse_args()
    results = [check(c, args.flowdb, args.keep) for c in args.captures]
    print(f'{results.count(True)} passed, {results.count(False)} failed')
    sys.exit(0 if all(results) else 1)


if __name__ == '__main__':
    main()
