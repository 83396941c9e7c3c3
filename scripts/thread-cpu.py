#!/usr/bin/env python3
"""Runs a command and reports the CPU time (user + system) of each of its threads,
sampled from /proc every 20 ms: which thread is the ingest's critical path.
  scripts/thread-cpu.py -- flowdb ingest --db /dev/shm/a.sqlite bench-data/bulk.pcap"""
import os, subprocess, sys, time

def main():
    argv = sys.argv[1:]
    if argv and argv[0] == "--":
        argv = argv[1:]
    tick = os.sysconf("SC_CLK_TCK")
    start = time.monotonic()
    proc = subprocess.Popen(argv)
    seen = {}
    while proc.poll() is None:
        try:
            for tid in os.listdir(f"/proc/{proc.pid}/task"):
                try:
                    with open(f"/proc/{proc.pid}/task/{tid}/stat") as f:
                        text = f.read()
                except OSError:
                    continue
                name = text[text.index("(") + 1:text.rindex(")")]
                fields = text[text.rindex(")") + 2:].split()
                seen[tid] = (name, int(fields[11]), int(fields[12]))
        except OSError:
            pass
        time.sleep(0.02)
    wall = time.monotonic() - start
    total = 0
    for tid, (name, utime, stime) in sorted(seen.items(), key=lambda kv: -(kv[1][1] + kv[1][2])):
        cpu = (utime + stime) / tick
        total += cpu
        if cpu >= 0.01:
            print(f"thread {tid:>8} {name:<16} user {utime / tick:6.2f} s  sys {stime / tick:6.2f} s")
    print(f"wall {wall:.2f} s, CPU {total:.2f} s (last sample of each thread; up to 20 ms unseen)")
    sys.exit(proc.returncode)

main()
