#!/usr/bin/env bash
# Environment faults, run by hand as root (`make faults`): a full disk, a read-only
# file system, a locked archive, corrupted and foreign archives, an archive of a
# newer schema, a capture that shrinks or disappears while it is read, and standard
# input that ends early. In each case flowdb must exit 1 with one line on stderr
# naming the file (and the packet and byte offset where they apply), never die of a
# signal, and leave an archive that passes PRAGMA integrity_check, holds no capture
# marked 'running' and still answers `flowdb query`. Prints one PASS/FAIL line per
# case and a total; exits 1 if any failed.
#   scripts/fault-test.sh [FLOWDB_BINARY]
# Mounts tmpfs file systems under a temporary directory and unmounts them on exit.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=$(realpath "${1:-$here/.build/release/flowdb}")
sample=$here/Samples/sample-loss.pcap
[ "$(id -u)" = 0 ] || { echo "fault-test.sh mounts tmpfs file systems: run it as root"; exit 2; }
[ -x "$bin" ] || { echo "no flowdb binary at $bin"; exit 2; }

work=$(mktemp -d /tmp/flowdb-faults.XXXXXX)
mounts=()
cleanup() {
  for m in "${mounts[@]}"; do umount "$m" 2>/dev/null || umount -l "$m"; done
  rm -rf "$work"
}
trap cleanup EXIT
mount_tmpfs() {   # mount_tmpfs DIR SIZE
  mkdir -p "$1" && mount -t tmpfs -o "size=$2,mode=0755" tmpfs "$1" && mounts+=("$1")
}

passed=0 failed=0
verdict() {   # verdict CASE PROBLEM DETAIL: PASS when PROBLEM is empty
  if [ -z "$2" ]; then passed=$((passed + 1)); echo "PASS $1: $3"
  else failed=$((failed + 1)); echo "FAIL $1: $2 ($(printf '%s' "$3" | head -1))"; fi
}

# flowdb ARGS...: runs flowdb; sets rc, out and err.
flowdb() {
  out=$(timeout 300 "$bin" "$@" 2>"$work/stderr"); rc=$?
  err=$(cat "$work/stderr")
}

# error_problem NAME REGEX: what is wrong with the last run as a rejection naming NAME
# (exit 1, one stderr line "flowdb: NAME: ..." matching REGEX).
error_problem() {
  if [ $rc -gt 128 ] && [ $rc -ne 124 ]; then echo "killed by signal $((rc - 128))"
  elif [ $rc = 124 ]; then echo "hung"
  elif [ $rc != 1 ]; then echo "exit $rc, expected 1"
  elif [ "$(printf '%s\n' "$err" | wc -l)" != 1 ]; then echo "stderr is not one line: $(printf '%s' "$err" | head -c 300)"
  elif [[ $err != "flowdb: $1: "* ]]; then echo "stderr does not name $1: $err"
  elif ! [[ $err =~ $2 ]]; then echo "unexpected message: $err"
  fi
}

# archive_problem DB: what is wrong with an archive after the fault, if anything.
archive_problem() {
  [ -f "$1" ] || return 0
  local check running
  check=$(sqlite3 "$1" 'PRAGMA integrity_check' 2>&1)
  [ "$check" = ok ] || { echo "integrity_check: $check"; return; }
  running=$(sqlite3 "$1" "SELECT count(*) FROM capture WHERE status = 'running'" 2>&1)
  [ "$running" = 0 ] || { echo "$running capture(s) left 'running'"; return; }
  local o e r
  o=$("$bin" query --db "$1" 2>"$work/qerr"); r=$?; e=$(cat "$work/qerr")
  [ $r = 0 ] || echo "flowdb query failed ($r): $e"
}

# wait_for_capture DB: until an ingest into DB has opened its capture (its row exists).
wait_for_capture() {
  for _ in $(seq 200); do
    [ "$(sqlite3 "$1" 'SELECT count(*) FROM capture' 2>/dev/null)" = 1 ] && return
    sleep 0.02
  done
}

# A capture of a few hundred MB, the sample's 18 connections again and again
# (each copy on other client ports, one second later), so reading it takes a while.
big=$work/big.pcap
python3 - "$sample" "$big" 500 <<'EOF'
import struct, sys
source, target, copies = sys.argv[1], sys.argv[2], int(sys.argv[3])
blob = open(source, "rb").read()
header, records, offset = blob[:24], [], 24
while offset < len(blob):
    sec, usec, incl, orig = struct.unpack_from("<IIII", blob, offset)
    records.append((sec, usec, orig, bytearray(blob[offset + 16:offset + 16 + incl])))
    offset += 16 + incl
with open(target, "wb") as out:
    out.write(header)
    for k in range(copies):
        for sec, usec, orig, data in records:
            tcp = 14 + (data[14] & 0x0F) * 4           # Ethernet + IPv4 header
            sport, dport = struct.unpack_from(">HH", data, tcp)
            if sport != 9000: struct.pack_into(">H", data, tcp, sport - k)
            if dport != 9000: struct.pack_into(">H", data, tcp + 2, dport - k)
            out.write(struct.pack("<IIII", sec + k, usec, len(data), orig))
            out.write(data)
            if sport != 9000: struct.pack_into(">H", data, tcp, sport)
            if dport != 9000: struct.pack_into(">H", data, tcp + 2, dport)
EOF
big_size=$(stat -c %s "$big")
echo "big capture: $big_size bytes ($((big_size / 1000000)) MB); flowdb: $bin"

# 1. Disk full: a 2 MB file system for an archive of hundreds of MB.
mount_tmpfs "$work/full" 2m
flowdb ingest --quiet --db "$work/full/a.sqlite" "$big"
p=$(error_problem "$work/full/a.sqlite" "cannot store $big: .*(disk is full|SQLITE_FULL)")
[ -n "$p" ] || p=$(archive_problem "$work/full/a.sqlite")
[ -n "$p" ] || [ "$(sqlite3 "$work/full/a.sqlite" "SELECT status FROM capture")" = failed ] || p="capture not marked failed"
verdict disk-full "$p" "$err"

# 2. Read-only file system: a new archive cannot be created; an existing one cannot
#    be written but is still queried.
mount_tmpfs "$work/ro" 8m
"$bin" ingest --quiet --db "$work/ro/a.sqlite" "$sample"
mount -o remount,ro "$work/ro"
flowdb ingest --quiet --db "$work/ro/new.sqlite" "$sample"
p=$(error_problem "$work/ro/new.sqlite" "Read-only file system")
verdict read-only-new "$p" "$err"
flowdb ingest --quiet --db "$work/ro/a.sqlite" "$here/Tests/Fixtures/ipv6-loss.pcap"
p=$(error_problem "$work/ro/a.sqlite" "Read-only file system|readonly")
[ -n "$p" ] || p=$(archive_problem "$work/ro/a.sqlite")
verdict read-only-existing "$p" "$err"

# 3. Locked by another writer: a second ingest while a long one runs.
db=$work/lock.sqlite
"$bin" ingest --quiet --db "$db" "$big" 2>"$work/first.err" &
first=$!
wait_for_capture "$db"
flowdb ingest --quiet --db "$db" "$sample"
p=$(error_problem "$db" "another flowdb ingest or capture is writing to this archive")
wait $first; first_rc=$?
[ -n "$p" ] || [ $first_rc = 0 ] || p="the first ingest failed ($first_rc): $(cat "$work/first.err")"
[ -n "$p" ] || p=$(archive_problem "$db")
verdict locked-by-ingest "$p" "$err"

# 4. Locked by a SQLite writer that holds an exclusive lock for 8 s (longer than
#    flowdb's 5 s busy timeout).
db=$work/busy.sqlite
"$bin" ingest --quiet --db "$db" "$sample"
python3 -c 'import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None); c.execute("BEGIN EXCLUSIVE"); print("locked", flush=True); time.sleep(8); c.execute("ROLLBACK")' "$db" > "$work/holder.out" &
holder=$!
for _ in $(seq 100); do grep -q locked "$work/holder.out" && break; sleep 0.05; done
flowdb ingest --quiet --db "$db" "$here/Tests/Fixtures/ipv6-loss.pcap"
p=$(error_problem "$db" "database is locked")
wait $holder
[ -n "$p" ] || p=$(archive_problem "$db")
verdict locked-by-sqlite "$p" "$err"

# 5. A corrupted archive: 64 KB of (seeded) random bytes written over the middle of
#    a valid one, which hits payload pages. Every command works or fails with one
#    line naming the archive; reading all content (--show ascii) must notice.
db=$work/corrupt.sqlite
"$bin" ingest --quiet --db "$db" "$sample"
python3 -c 'import os, random, sys
with open(sys.argv[1], "r+b") as f:
    f.seek(os.path.getsize(sys.argv[1]) // 2); f.write(random.Random(5).randbytes(65536))' "$db"
p="" noticed=""
[ "$(sqlite3 "$db" 'PRAGMA integrity_check' 2>&1)" != ok ] || p="the overwrite did not corrupt the archive"
for args in "query --db $db" "query --db $db --flow 1 --show hex" "query --db $db --contains HTTP" \
            "query --db $db --show ascii" "ingest --quiet --db $db $here/Tests/Fixtures/ipv6-loss.pcap"; do
  [ -z "$p" ] || break
  # shellcheck disable=SC2086
  "$bin" $args >/dev/null 2>"$work/stderr"; rc=$?; err=$(cat "$work/stderr")
  [ $rc = 0 ] && continue
  p=$(error_problem "$db" "SQLite error 11: database disk image is malformed")
  [ -n "$p" ] && p="flowdb $args: $p"
  [[ $args == *"--show ascii"* ]] && noticed=$err
done
[ -n "$p" ] || [ -n "$noticed" ] || p="--show ascii read every flow of a corrupted archive without an error"
verdict corrupted-archive "$p" "${noticed:-}"

# 6. A file of garbage named .sqlite: refused, and left as it was.
db=$work/garbage.sqlite
head -c 65536 /dev/urandom > "$db"
before=$(sha256sum < "$db")
flowdb ingest --quiet --db "$db" "$sample"
p=$(error_problem "$db" "not a flowdb archive: file is not a database")
flowdb query --db "$db"
[ -n "$p" ] || p=$(error_problem "$db" "not a flowdb archive: file is not a database")
[ -n "$p" ] || [ "$(sha256sum < "$db")" = "$before" ] || p="the file was modified"
verdict garbage-archive "$p" "$err"

# 7. An archive written by a newer flowdb (the schema version of a future migration).
db=$work/newer.sqlite
"$bin" ingest --quiet --db "$db" "$sample"
version=$(sqlite3 "$db" 'PRAGMA user_version')
newer=$((version + 1))
sqlite3 "$db" "INSERT INTO schema_migration VALUES ($newer, 'future', 0); PRAGMA user_version = $newer"
before=$(sha256sum < "$db")
flowdb ingest --quiet --db "$db" "$here/Tests/Fixtures/ipv6-loss.pcap"
p=$(error_problem "$db" "archive schema version $newer is newer than this flowdb supports \\($version\\)")
flowdb query --db "$db"
[ -n "$p" ] || p=$(error_problem "$db" "archive schema version $newer is newer than this flowdb supports \\($version\\)")
[ -n "$p" ] || [ "$(sha256sum < "$db")" = "$before" ] || p="the archive was modified"
verdict newer-schema "$p" "$err"

# 8. A capture cut mid-record at 60% as soon as flowdb has opened it, while it is
#    hashed too (through a memory map, this killed flowdb with SIGBUS).
cp "$big" "$work/shrink.pcap"
db=$work/shrink.sqlite
"$bin" ingest --quiet --db "$db" "$work/shrink.pcap" 2>"$work/stderr" &
pid=$!
wait_for_capture "$db"
truncate -s $((big_size * 6 / 10 + 7)) "$work/shrink.pcap"
wait $pid; rc=$?; err=$(cat "$work/stderr")
p=$(error_problem "$work/shrink.pcap" "^flowdb: [^ ]+: (packet [0-9]+ at byte offset [0-9]+: truncated dump file|the file changed while it was read)")
[ -n "$p" ] || p=$(archive_problem "$db")
[ -n "$p" ] || [ "$(sqlite3 "$db" "SELECT status FROM capture")" = failed ] || p="capture not marked failed"
verdict capture-shrinks "$p" "$err"

# 9. A capture cut at a record boundary while it is read: libpcap sees a clean end,
#    flowdb must notice that the file changed.
cp "$big" "$work/cut.pcap"
boundary=$(python3 -c 'import struct, sys
f = open(sys.argv[1], "rb"); target = int(sys.argv[2]); offset = 24
while offset < target:
    f.seek(offset + 8); offset += 16 + struct.unpack("<I", f.read(4))[0]
print(offset)' "$work/cut.pcap" $((big_size * 6 / 10)))
db=$work/cut.sqlite
"$bin" ingest --quiet --db "$db" "$work/cut.pcap" 2>"$work/stderr" &
pid=$!
wait_for_capture "$db"
truncate -s "$boundary" "$work/cut.pcap"
wait $pid; rc=$?; err=$(cat "$work/stderr")
p=$(error_problem "$work/cut.pcap" "the file changed while it was read \($big_size bytes when opened, $boundary at the end\)")
[ -n "$p" ] || p=$(archive_problem "$db")
[ -n "$p" ] || [ "$(sqlite3 "$db" "SELECT status FROM capture")" = failed ] || p="capture not marked failed"
verdict capture-cut-at-record "$p" "$err"

# 10. A capture unlinked while it is read: flowdb holds it open, so it reads the
#     whole file (exit 0) and the archive has every packet and its sha256.
cp "$big" "$work/gone.pcap"
db=$work/gone.sqlite
"$bin" ingest --quiet --db "$db" "$work/gone.pcap" 2>"$work/stderr" &
pid=$!
wait_for_capture "$db"
rm "$work/gone.pcap"
wait $pid; rc=$?; err=$(cat "$work/stderr")
p=""
[ $rc = 0 ] || p="exit $rc: $err"
[ -n "$p" ] || p=$(archive_problem "$db")
row=$(sqlite3 "$db" "SELECT status, packets, size, sha256 FROM capture")
[ -n "$p" ] || [ "$row" = "complete|$((830 * 500))|$big_size|$(sha256sum < "$big" | cut -d' ' -f1)" ] || p="capture row: $row"
verdict capture-unlinked "$p" "exit 0, capture complete: $row"

# 11. Standard input that ends mid-record, then inside the file header.
db=$work/stdin.sqlite
out=$(head -c 500000 "$sample" | "$bin" ingest --quiet --db "$db" - 2>"$work/stderr"); rc=$?; err=$(cat "$work/stderr")
p=$(error_problem "-" "^flowdb: -: packet [0-9]+: truncated dump file")
[ -n "$p" ] || p=$(archive_problem "$db")
[ -n "$p" ] || [ "$(sqlite3 "$db" "SELECT status FROM capture")" = failed ] || p="capture not marked failed"
verdict stdin-ends-mid-record "$p" "$err"
out=$(head -c 10 "$sample" | "$bin" ingest --quiet --db "$db" - 2>"$work/stderr"); rc=$?; err=$(cat "$work/stderr")
p=$(error_problem "-" "cannot open capture: truncated dump file; tried to read 24 file header bytes, only got [0-9]+$")
[ -n "$p" ] || p=$(archive_problem "$db")
verdict stdin-ends-in-header "$p" "$err"

echo "fault cases $((passed + failed)): passed $passed, failed $failed"
[ $failed = 0 ]
