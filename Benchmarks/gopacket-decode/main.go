// gopacket-decode FILE: gopacket's read-and-decode alone, for comparison with
// flowdb's capture+decode benchmark. It reads through libpcap (gopacket/pcap) and
// decodes each packet the way gopacket-oracle does (PacketSource, Lazy, NoCopy),
// touching the TCP layer, with no reassembly. Prints MB/s of file size.
package main

import (
	"fmt"
	"os"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcap"
)

func main() {
	path := os.Args[1]
	fi, err := os.Stat(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	handle, err := pcap.OpenOffline(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	began := time.Now()
	source := gopacket.NewPacketSource(handle, handle.LinkType())
	source.Lazy = true
	source.NoCopy = true
	packets, tcpPackets, sum := 0, 0, uint64(0)
	for {
		p, err := source.NextPacket()
		if err != nil {
			break
		}
		packets++
		if t, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP); ok && p.NetworkLayer() != nil {
			tcpPackets++
			sum += uint64(t.Seq) + uint64(len(t.Payload))
		}
	}
	elapsed := time.Since(began).Seconds()
	fmt.Printf("gopacket read+decode: packets=%d tcp=%d checksum=%d elapsed_s=%.3f MBps=%.0f\n",
		packets, tcpPackets, sum, elapsed, float64(fi.Size())/1e6/elapsed)
}
