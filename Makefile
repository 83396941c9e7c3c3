# flowdb: the two commands of the README, and the hand-run targets.
#   make demo   installs what is missing, builds flowdb (release), ingests the bundled sample, reads it back
#   make test   installs what is missing, runs the whole test suite
SHELL := /bin/bash
.DEFAULT_GOAL := demo
SAMPLE := Samples/sample-loss.pcap
# dig's queries to dnsmasq, over UDP and TCP, and pings (real traffic between namespaces)
SAMPLE_DNS := Samples/sample-dns.pcap
DEBS := libpcap-dev libsqlite3-dev libssl-dev zlib1g-dev sqlite3 pkg-config python3
FLOWDB := .build/release/flowdb

.PHONY: deps build demo test sample fixtures clean oracle oracle-diff fuzz-filters

# Installs the Debian packages flowdb builds against, when missing: through apt
# as root (updating empty package lists first), otherwise it prints the command.
deps:
	@missing=""; for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    if [ -z "$$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v -e lock -e partial)" ]; then apt-get update -qq; fi; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; }; \
	  else \
	    echo "flowdb needs:$$missing"; echo "run: sudo apt-get update && sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi

build: deps
	swift build -c release --product flowdb

demo: build
	@rm -f demo.sqlite demo.sqlite.ingest-lock demo-flow8.pcap demo-flow8.pcap.custody.json
	@echo "== flowdb ingest --db demo.sqlite $(SAMPLE) $(SAMPLE_DNS)"
	@$(FLOWDB) ingest --db demo.sqlite $(SAMPLE) $(SAMPLE_DNS)
	@echo; echo "== flowdb query --db demo.sqlite --proto tcp   (one flow per connection, Zeek's state and history)"
	@$(FLOWDB) query --db demo.sqlite --proto tcp
	@echo; echo "== flowdb query --db demo.sqlite --dns   (the DNS transactions, like Zeek's dns.log)"
	@$(FLOWDB) query --db demo.sqlite --dns
	@echo; echo "== flowdb query --db demo.sqlite --proto icmp   (each ping one flow)"
	@$(FLOWDB) query --db demo.sqlite --proto icmp
	@echo; echo "== flowdb query --db demo.sqlite --flow 1 --show hex | head -4"
	@$(FLOWDB) query --db demo.sqlite --flow 1 --show hex | head -4
	@echo; echo "== flowdb query --db demo.sqlite --state reset --format zeek   (a Zeek conn.log)"
	@$(FLOWDB) query --db demo.sqlite --state reset --format zeek
	@echo; echo "== flowdb query --db demo.sqlite --flow 8 --pcap demo-flow8.pcap   (its original packets, for Wireshark)"
	@$(FLOWDB) query --db demo.sqlite --flow 8 --pcap demo-flow8.pcap
	@echo; echo "== sqlite3 demo.sqlite: the biggest conversations"
	@sqlite3 -header -column demo.sqlite "SELECT id, start, client, server, c2s_bytes, s2c_bytes, packets, state, conn_state, history FROM flows ORDER BY c2s_bytes + s2c_bytes DESC LIMIT 5;"
	@echo; echo "== sqlite3 demo.sqlite: the captures"
	@sqlite3 -header -column demo.sqlite "SELECT id, path, status, packets, tcp_packets, skipped, first_time FROM captures;"
	@echo; echo "== sqlite3 demo.sqlite: which names were resolved"
	@sqlite3 -header -column demo.sqlite "SELECT query, qtype_name, rcode_name, answers FROM dns_log ORDER BY ts;"
	@echo; echo "== in a browser: $(FLOWDB) serve --db demo.sqlite   (then open http://127.0.0.1:8080/)"

# The tests include the comparison with gopacket itself, so they build the oracle
# (Go and Debian's gopacket source are installed for it when missing).
test: deps oracle
	swift test

oracle:
	scripts/build-oracle.sh

# Oracle comparison on every TCP capture of ../shared/captures, the fixtures and the
# generated real traffic (bench-data/realtraffic), with defaults and 4 pages per connection.
oracle-diff: oracle build
	scripts/make-realtraffic.sh
	scripts/oracle-diff.py --flowdb $(FLOWDB) --oracle .build-oracle/gopacket-oracle $$(scripts/tcp-captures.sh) bench-data/realtraffic/*.pcap
	scripts/oracle-diff.py --flowdb $(FLOWDB) --oracle .build-oracle/gopacket-oracle $$(scripts/tcp-captures.sh) bench-data/realtraffic/*.pcap -- --max-pages-per-conn 4

# What was said: real HTTP and TLS made in network namespaces (root), ingested and
# compared field by field with tshark.
# The viewer in headless Chromium (Debian's chromium and chromium-driver, Selenium
# from PyPI): lists, filters, follow stream and pcap against the command line, and
# a hostile capture that must run no script. Saves the screenshots docs/ shows.
.PHONY: browser-check
browser-check: deps
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	  else echo "needs: sudo apt-get install -y chromium chromium-driver"; exit 1; fi; }
	@python3 -c 'import selenium' 2>/dev/null || pip install -q selenium
	swift build --product flowdb
	python3 scripts/browser-check.py --flowdb .build/debug/flowdb --screenshots docs/images

# Many archives and the engines fleets run: query --db DIR against each archive's
# answers, export, the Spark job (pyspark with Debian's OpenJDK 17, local[2]) and
# chdb (ClickHouse in-process) against flowdb query; SCALE=1,2,4,8 also times
# export and Spark as copies of the archives are added (docs/scale.md).
.PHONY: fleet-check
fleet-check: build
	@[ -s bench-data/realtraffic/clean-v4.pcap ] || scripts/make-realtraffic.sh
	@command -v java >/dev/null || { echo "needs: sudo apt-get install -y openjdk-17-jre-headless"; exit 1; }
	@python3 -c 'import pyspark, chdb' 2>/dev/null || pip install -q pyspark chdb
	python3 scripts/fleet-check.py --flowdb $(FLOWDB) $(if $(SCALE),--scale $(SCALE))

.PHONY: app-check
app-check: build
	mkdir -p bench-data/apps
	[ -s bench-data/apps/app.pcap ] || scripts/make-app-traffic.sh bench-data/apps/app.pcap
	scripts/app-check.py --flowdb $(FLOWDB) bench-data/apps/app.pcap

# Live capture (root): real traffic between network namespaces with loss on both sides of the
# capture point, archived by `flowdb capture -i`, queried while it runs, stopped by SIGTERM and
# SIGINT, checked against the bytes sent, tcpdump's packets and query --pcap; then a burst of
# 10,000 connections (memory and drops), and a capture killed with -9. A few minutes.
.PHONY: live-check
live-check: build
	scripts/live-check.py --flowdb $(FLOWDB) --plan mixed --connections 3000 --concurrency 100 --rounds 3 --loss 2 --rotate-size 20MB --signal TERM
	scripts/live-check.py --flowdb $(FLOWDB) --plan burst --connections 10000 --concurrency 500 --loss 1 --rotate-size 10MB --signal INT
	scripts/live-check.py --flowdb $(FLOWDB) --plan mixed --connections 1000 --concurrency 100 --loss 2 --kill9

# Connections as analysts count them, on the generated real traffic (loss, resets, port
# reuse, IPv6, Linux cooked v2): one flow per real connection, SF / RSTO / RSTR, nothing else.
.PHONY: conn-check
conn-check: build
	scripts/make-realtraffic.sh
	scripts/conn-check.py --flowdb $(FLOWDB) Samples/sample-loss.pcap Tests/Fixtures/*.pcap bench-data/realtraffic/*.pcap

# Real traffic through every tunnel this kernel builds (bench-data/tunnels), checked
# against its ground truth and tshark's conversation counts.
.PHONY: tunnel-check
tunnel-check: build
	scripts/make-tunnel-traffic.sh bench-data/tunnels
	scripts/tunnel-check.py --flowdb $(FLOWDB) Tests/Fixtures/tunnels/*.pcap bench-data/tunnels/*.pcap

# UDP, ICMP and DNS (root, needs dnsmasq-base, dnsutils, iputils-ping, tshark): fresh real
# traffic between namespaces, checked against what was sent; DNS fields against tshark's, also
# on tcpdump's DNS captures.
.PHONY: datagram-check
datagram-check: build
	mkdir -p bench-data/datagrams
	scripts/make-datagram-traffic.sh bench-data/datagrams/fresh.pcap
	scripts/datagram-check.py --flowdb $(FLOWDB) Tests/Fixtures/datagrams/dns-udp-icmp.pcap bench-data/datagrams/fresh.pcap
	scripts/dns-check.py --flowdb $(FLOWDB) Tests/Fixtures/datagrams/dns-udp-icmp.pcap bench-data/datagrams/fresh.pcap \
		$(addprefix ../shared/captures/tcpdump-tests/,dns-badcookie.pcap dns-badlabel.pcap dns-badvers.pcap dns-uri.pcap \
		dns_fwdptr.pcap dns_tcp.pcap dns_udp.pcap dns_udp_2.pcap dnssec.pcap edns-opts.pcap)

# schema/current.sql: the schema a fresh archive has, rendered from the migrations.
.PHONY: schema
schema:
	FLOWDB_WRITE_SCHEMA=1 swift test --filter CurrentSchemaTests

# Regenerate the bundled sample and the small test fixtures from real traffic (root, netns).
sample:
	scripts/make-sample.sh
fixtures:
	scripts/make-fixtures.sh

clean:
	rm -rf .build .build-oracle .build-asan .build-asan-tests .build-tsan

# libFuzzer targets (not in CI). FUZZ_SECONDS per run; findings land in Fuzz/findings/.
FUZZ_SECONDS ?= 600
FUZZ_BUILD := swift build --package-path Fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld
# SWIFT_BACKTRACE=enable=no: a failing input ends the run at once with its report.
FUZZ_RUN := SWIFT_BACKTRACE=enable=no
.PHONY: fuzz-decoder fuzz-engine fuzz-ingest fuzz-connections fuzz-export fuzz-applications fuzz-dns fuzz-quic
fuzz-decoder: deps
	$(FUZZ_BUILD) --product FuzzDecoder
	mkdir -p Fuzz/findings
	$(FUZZ_RUN) Fuzz/.build/debug/FuzzDecoder -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=Fuzz/findings/ -print_final_stats=1 Fuzz/Corpus/decoder
fuzz-connections: deps
	$(FUZZ_BUILD) --product FuzzConnections
	mkdir -p Fuzz/findings Fuzz/Corpus/connections
	$(FUZZ_RUN) Fuzz/.build/debug/FuzzConnections -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=Fuzz/findings/ -print_final_stats=1 Fuzz/Corpus/connections
# TLS (and later HTTP, SSH) parsers on arbitrary stream bytes; seeded with the client and
# server streams' first bytes of the TLS captures (scripts/fuzz-seed-applications.sh).
# DNS messages (UDP payloads, and TCP's length-prefixed stream), seeded with real queries and answers.
fuzz-dns: deps
	$(FUZZ_BUILD) --product FuzzDNS
	mkdir -p Fuzz/findings Fuzz/Corpus/dns
	$(FUZZ_RUN) Fuzz/.build/debug/FuzzDNS -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -artifact_prefix=Fuzz/findings/ -print_final_stats=1 Fuzz/Corpus/dns
# The flow filters as `flowdb serve` receives them (query strings) and the command line
# reads them, seeded with the filters the API tests use.
fuzz-filters: deps
	$(FUZZ_BUILD) --product FuzzFilters
	mkdir -p Fuzz/findings Fuzz/Corpus/filters
	[ -n "$$(ls Fuzz/Corpus/filters)" ] || { i=0; for q in 'port=443' 'host=10.0.0.0/8&state=SF&state=reset' 'since=2026-11-29T21:44:23Z&until=30m' 'contains-hex=de:ad%20be' 'dns-query=*.example.com&sni=a.b' 'flow=1&flow=2&community-id=1:wCb3OG7yAFWelaUydu0D+125CLM=' 'client=fd00::/8&proto=udp&with-gaps=true'; do i=$$((i+1)); printf '%s' "$$q" > Fuzz/Corpus/filters/seed$$i; done; }
	$(FUZZ_RUN) Fuzz/.build/debug/FuzzFilters -max_total_time=$(FUZZ_SECONDS) -max_len=1024 -artifact_prefix=Fuzz/findings/ -print_final_stats=1 Fuzz/Corpus/filters
# QUIC Initial packets (header, protection removal, frames), seeded with real Initials of Chrome.
fuzz-quic: deps
	$(FUZZ_BUILD) --product FuzzQUIC
	mkdir -p Fuzz/findings Fuzz/Corpus/quic
	$(FUZZ_RUN) Fuzz/.build/debug/FuzzQUIC -max_total_time=$(FUZZ_SECONDS) -max_len=2048 -artifact_prefix=Fuzz/findings/ -print_final_stats=1 Fuzz/Corpus/quic
fuzz-applications: deps
	$(FUZZ_BUILD) --product FuzzApplications
	mkdir -p Fuzz/findings Fuzz/Corpus/applications
	[ -n "$$(ls Fuzz/Corpus/applications)" ] || scripts/fuzz-seed-applications.sh
	$(FUZZ_RUN) Fuzz/.build/debug/FuzzApplications -max_total_time=$(FUZZ_SECONDS) -max_len=16384 -artifact_prefix=Fuzz/findings/ -print_final_stats=1 Fuzz/Corpus/applications
# Ingest, then export every flow's packets (query --pcap's path) from the same hostile file.
fuzz-export: deps
	$(FUZZ_BUILD) --product FuzzExport
	mkdir -p Fuzz/findings Fuzz/Corpus/export
	[ -n "$$(ls Fuzz/Corpus/export)" ] || find Tests/Fixtures ../shared/captures -name '*.pcap*' -size -64k -exec cp {} Fuzz/Corpus/export/ \;
	$(FUZZ_RUN) Fuzz/.build/debug/FuzzExport -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -artifact_prefix=Fuzz/findings/ -print_final_stats=1 Fuzz/Corpus/export
fuzz-engine: deps
	$(FUZZ_BUILD) --product FuzzEngine
	mkdir -p Fuzz/findings
	$(FUZZ_RUN) Fuzz/.build/debug/FuzzEngine -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=Fuzz/findings/ -print_final_stats=1 Fuzz/Corpus/engine

# The whole test suite under AddressSanitizer (leaks inside the toolchain's XCTest and
# Foundation are suppressed by scripts/lsan.supp) and under ThreadSanitizer.
.PHONY: test-asan test-tsan
test-asan: deps oracle
	LSAN_OPTIONS=suppressions=$(CURDIR)/scripts/lsan.supp swift test --sanitize=address --scratch-path .build-asan-tests
test-tsan: deps oracle
	swift test --sanitize=thread --scratch-path .build-tsan

# Read every capture of ../shared/captures and the crafted ones of Tests/Fixtures/hostile
# and count the outcomes (release, or ASan build).
SWEEP_DIRS := ../shared/captures Tests/Fixtures/hostile
.PHONY: sweep sweep-asan bench-decode faults
sweep: build
	scripts/sweep.sh $(FLOWDB) $(SWEEP_DIRS)
sweep-asan: deps
	swift build --scratch-path .build-asan -Xswiftc -sanitize=address --product flowdb
	scripts/sweep.sh .build-asan/debug/flowdb $(SWEEP_DIRS)

# Environment faults (root: mounts tmpfs): full disk, read-only, locks, damaged archives,
# captures cut or removed while read, stdin ending early. One PASS/FAIL line per case.
faults: build
	scripts/fault-test.sh $(FLOWDB)

# Ingest throughput vs gopacket-oracle -quiet and tcpflow (generates bench-data/ if missing).
.PHONY: bench bench-query
bench: deps
	scripts/bench-ingest.sh

# Datagrams (release): ingest MB/s of about 1 GB of DNS and bulk UDP beside the TCP bulk capture,
# three runs each, interleaved; then peak RSS on 1,000,000 one-datagram flows of spoofed sources.
.PHONY: bench-udp
bench-udp: build
	[ -s bench-data/udp-mix.pcap ] || scripts/make-udp-bench.py bench-data
	[ -s bench-data/bulk.pcap ] || scripts/bench-ingest.sh
	for i in 1 2 3; do for cap in bench-data/udp-mix.pcap bench-data/bulk.pcap; do \
		rm -f /dev/shm/flowdb-udp.sqlite*; /usr/bin/time -f "$$cap: %e s, peak RSS %M KB" $(FLOWDB) ingest --quiet $$cap --db /dev/shm/flowdb-udp.sqlite; \
		echo "  $$(stat -c %s $$cap) bytes"; done; done
	rm -f /dev/shm/flowdb-udp.sqlite*
	/usr/bin/time -f "udp-flood.pcap (default --max-datagram-flows): %e s, peak RSS %M KB" $(FLOWDB) ingest --quiet bench-data/udp-flood.pcap --db /dev/shm/flowdb-udp.sqlite
	sqlite3 /dev/shm/flowdb-udp.sqlite "SELECT 'flows ' || count(*) FROM flow; SELECT 'evicted ' || datagram_flows_evicted FROM capture"
	rm -f /dev/shm/flowdb-udp.sqlite*

# Query speed on 1M synthetic flows, --show raw of 100 MB, --contains over 1 GB.
bench-query: build
	scripts/bench-query.sh

# Capture+decode throughput vs cat and gopacket (generates bench-data/ if missing).
bench-decode: deps
	scripts/bench-decode.sh

# 100,000 concurrent connections holding out-of-order data (bench-data/flood.pcap, generated
# if missing): peak RSS and time with default options and with --max-pages-total.
.PHONY: flood
flood: deps
	scripts/flood-test.sh

# Engine benchmarks (ordo-one/benchmark, release) and gopacket's own, same sitting (docs/benchmarks.md).
.PHONY: bench-engine
bench-engine: deps
	swift package --package-path Benchmarks benchmark --target EngineBenchmarks --no-progress
	rm -rf /tmp/gpbench && mkdir -p /tmp/gpbench/src/github.com/google && cp -r /usr/share/gocode/src/github.com/google/gopacket /tmp/gpbench/src/github.com/google/
	cp Benchmarks/gopacket-reassembly/fixedctx_bench_test.go /tmp/gpbench/src/github.com/google/gopacket/reassembly/
	cd /tmp/gpbench/src/github.com/google/gopacket/reassembly && GO111MODULE=off GOPATH=/tmp/gpbench:/usr/share/gocode go test -run XXX -bench '^Benchmark(Ctx)?(SingleStream|MultiStream)' -benchmem -benchtime 1000000x -count 2

# The committed corpus (minimized after a 30-minute run) is the seed; when it is
# empty, the fixtures and the small captures of ../shared (under 64 KB) seed it.
fuzz-ingest: deps
	$(FUZZ_BUILD) --product FuzzIngest
	mkdir -p Fuzz/findings Fuzz/Corpus/ingest
	[ -n "$$(ls Fuzz/Corpus/ingest)" ] || find Tests/Fixtures ../shared/captures -name '*.pcap*' -size -64k -exec cp {} Fuzz/Corpus/ingest/ \;
	$(FUZZ_RUN) Fuzz/.build/debug/FuzzIngest -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -artifact_prefix=Fuzz/findings/ -print_final_stats=1 Fuzz/Corpus/ingest
