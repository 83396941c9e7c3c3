package reassembly

// The crafted-TCP cases of Tests/ReassemblyTests/HostileTCPTests.swift whose values
// are not obvious, run through gopacket 1.1.19 itself: copied into gopacket's
// reassembly package by scripts/gopacket-hostile-check.sh.

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

type hostileDelivery struct {
	data  []byte
	start bool
	end   bool
	skip  int
	stats TCPAssemblyStats
}

type hostileFactory struct{ got []hostileDelivery }

func (f *hostileFactory) New(a, b gopacket.Flow, tcp *layers.TCP, ac AssemblerContext) Stream { return f }
func (f *hostileFactory) Accept(tcp *layers.TCP, ci gopacket.CaptureInfo, dir TCPFlowDirection, seq Sequence, start *bool, ac AssemblerContext) bool {
	return true
}
func (f *hostileFactory) ReassembledSG(sg ScatterGather, ac AssemblerContext) {
	_, start, end, skip := sg.Info()
	l, _ := sg.Lengths()
	f.got = append(f.got, hostileDelivery{sg.Fetch(l), start, end, skip, sg.Stats()})
}
func (f *hostileFactory) ReassemblyComplete(ac AssemblerContext) bool { return true }

type hostileContext struct{}

func (hostileContext) GetCaptureInfo() gopacket.CaptureInfo {
	return gopacket.CaptureInfo{Timestamp: time.Unix(0, 0)}
}

func seg(seq uint32, syn bool, payload []byte) *layers.TCP {
	return &layers.TCP{SrcPort: 1, DstPort: 2, Seq: seq, SYN: syn, ACK: !syn, BaseLayer: layers.BaseLayer{Payload: payload}}
}

func repeated(c byte, n int) []byte { return bytes.Repeat([]byte{c}, n) }

func feed(packets []*layers.TCP) (*Assembler, *hostileFactory) {
	f := &hostileFactory{}
	a := NewAssembler(NewStreamPool(f))
	for _, p := range packets {
		a.AssembleWithContext(netFlow, p, hostileContext{})
	}
	return a, f
}

func expectLast(t *testing.T, name string, f *hostileFactory, data []byte, skip int, stats TCPAssemblyStats) {
	t.Helper()
	last := f.got[len(f.got)-1]
	if !bytes.Equal(last.data, data) || last.skip != skip || last.stats != stats {
		t.Errorf("%s: got %q skip %d %+v, want %q skip %d %+v", name, last.data, last.skip, last.stats, data, skip, stats)
	}
}

func TestHostileOverlaps(t *testing.T) {
	_, f := feed([]*layers.TCP{seg(1000, true, nil), seg(1001, false, repeated('A', 10)), seg(1001, false, repeated('C', 5)),
		seg(1005, false, repeated('B', 10))})
	expectLast(t, "delivered", f, []byte("BBBB"), 0, TCPAssemblyStats{Chunks: 1, Packets: 1, OverlapBytes: 16, OverlapPackets: 2})

	_, f = feed([]*layers.TCP{seg(1000, true, nil), seg(1011, false, repeated('A', 10)), seg(1011, false, repeated('B', 10)),
		seg(1013, false, repeated('C', 4)), seg(1001, false, repeated('F', 10))})
	expectLast(t, "queue", f, []byte("FFFFFFFFFFBBCCCCBBBB"), 0,
		TCPAssemblyStats{Chunks: 2, Packets: 2, QueuedBytes: 20, QueuedPackets: 2, OverlapBytes: 10, OverlapPackets: 1})

	_, f = feed([]*layers.TCP{seg(1000, true, nil), seg(1011, false, repeated('A', 10)), seg(1021, false, repeated('B', 10)),
		seg(1015, false, repeated('X', 10)), seg(1001, false, repeated('F', 12))})
	expectLast(t, "straddle", f, []byte("FFFFFFFFFFFFAAXXXXXXXXXXBBBBBB"), 0,
		TCPAssemblyStats{Chunks: 4, Packets: 4, QueuedBytes: 30, QueuedPackets: 3})
}

func TestHostileWrap(t *testing.T) {
	orig := make([]byte, 2000)
	for i := range orig {
		orig[i] = byte(i % 251)
	}
	isn := uint32(0xFFFFFEFF)
	_, f := feed([]*layers.TCP{seg(isn, true, nil), seg(isn+1, false, orig[0:512]), seg(isn+1+200, false, orig[200:600])})
	expectLast(t, "wrap retransmission", f, orig[511:600], 0, TCPAssemblyStats{Chunks: 1, Packets: 1, OverlapBytes: 311, OverlapPackets: 1})

	a, f := feed([]*layers.TCP{seg(isn, true, nil), seg(isn+1, false, orig[0:100]), seg(isn+1+400, false, orig[400:500])})
	a.FlushAll()
	expectLast(t, "wrap gap", f, orig[400:500], 299, TCPAssemblyStats{Chunks: 1, Packets: 1, QueuedBytes: 100, QueuedPackets: 1})
}

func TestHostileCloseWithQueuedPages(t *testing.T) {
	q := repeated('Q', 100)
	a, f := feed([]*layers.TCP{seg(0, true, nil), seg(1001, false, q), seg(2001, false, q), seg(3001, false, q),
		{SrcPort: 1, DstPort: 2, Seq: 1, RST: true}})
	if last := f.got[len(f.got)-1]; !last.end || len(last.data) != 0 || a.pc.used != 2 {
		t.Errorf("rst: end %v, %d bytes, used %d; want end, 0 bytes, used 2", last.end, len(last.data), a.pc.used)
	}
	a.FlushAll()
	if a.pc.used != 2 || len(a.pc.free) != 1022 || a.pc.size != 1024 {
		t.Errorf("after FlushAll: used %d free %d size %d; want 2 1022 1024", a.pc.used, len(a.pc.free), a.pc.size)
	}
}
