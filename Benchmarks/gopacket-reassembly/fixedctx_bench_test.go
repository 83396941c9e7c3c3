package reassembly

// Not part of gopacket (copy it into a GOPATH copy of gopacket/reassembly,
// see docs/benchmarks.md): its five benchmarks with AssembleWithContext and one
// preallocated context, i.e. without Assemble's per-packet time.Now() and
// heap-allocated context. Everything else is copied from tcpassembly_test.go.

import (
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

type fixedCtx struct{ ci gopacket.CaptureInfo }

func (c *fixedCtx) GetCaptureInfo() gopacket.CaptureInfo { return c.ci }

var benchCtx = &fixedCtx{gopacket.CaptureInfo{Timestamp: time.Unix(1432538521, 590387000)}}

func BenchmarkCtxSingleStreamNo(b *testing.B) {
	t := layers.TCP{SrcPort: 1, DstPort: 2, SYN: true, Seq: 1000,
		BaseLayer: layers.BaseLayer{Payload: []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 0}}}
	a := NewAssembler(NewStreamPool(&testFactoryBench{}))
	for i := 0; i < b.N; i++ {
		a.AssembleWithContext(netFlow, &t, benchCtx)
		if t.SYN {
			t.SYN = false
			t.Seq++
		}
		t.Seq += 10
	}
}

func BenchmarkCtxSingleStreamSkips(b *testing.B) {
	t := layers.TCP{SrcPort: 1, DstPort: 2, SYN: true, Seq: 1000,
		BaseLayer: layers.BaseLayer{Payload: []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 0}}}
	a := NewAssembler(NewStreamPool(&testFactoryBench{}))
	skipped := false
	for i := 0; i < b.N; i++ {
		if i%10 == 9 {
			t.Seq += 10
			skipped = true
		} else if skipped {
			t.Seq -= 20
		}
		a.AssembleWithContext(netFlow, &t, benchCtx)
		if t.SYN {
			t.SYN = false
			t.Seq++
		}
		t.Seq += 10
		if skipped {
			t.Seq += 10
			skipped = false
		}
	}
}

func BenchmarkCtxSingleStreamLoss(b *testing.B) {
	t := layers.TCP{SrcPort: 1, DstPort: 2, SYN: true, Seq: 1000,
		BaseLayer: layers.BaseLayer{Payload: []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 0}}}
	a := NewAssembler(NewStreamPool(&testFactoryBench{}))
	for i := 0; i < b.N; i++ {
		a.AssembleWithContext(netFlow, &t, benchCtx)
		t.SYN = false
		t.Seq += 11
	}
}

func BenchmarkCtxMultiStreamGrow(b *testing.B) {
	t := layers.TCP{SrcPort: 1, DstPort: 2, Seq: 0,
		BaseLayer: layers.BaseLayer{Payload: []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 0}}}
	a := NewAssembler(NewStreamPool(&testFactoryBench{}))
	for i := 0; i < b.N; i++ {
		t.SrcPort = layers.TCPPort(i)
		a.AssembleWithContext(netFlow, &t, benchCtx)
		t.Seq += 10
	}
}

func BenchmarkCtxMultiStreamConn(b *testing.B) {
	t := layers.TCP{SrcPort: 1, DstPort: 2, Seq: 0, SYN: true,
		BaseLayer: layers.BaseLayer{Payload: []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 0}}}
	a := NewAssembler(NewStreamPool(&testFactoryBench{}))
	for i := 0; i < b.N; i++ {
		t.SrcPort = layers.TCPPort(i)
		a.AssembleWithContext(netFlow, &t, benchCtx)
		if i%65536 == 65535 {
			if t.SYN {
				t.SYN = false
				t.Seq++
			}
			t.Seq += 10
		}
	}
}
