/// The facts of one TCP packet that connection accounting needs.
public struct TCPPacket: Sendable, Equatable {
    /// Flag bits as on the wire: FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10, ...
    public var flags: UInt16
    public var sequence: UInt32
    public var acknowledgment: UInt32
    public var window: UInt16
    /// Payload bytes the packet carries (as the IP lengths announce them).
    public var payloadLength: Int

    public init(flags: UInt16, sequence: UInt32, acknowledgment: UInt32 = 0, window: UInt16 = 0, payloadLength: Int = 0) {
        self.flags = flags
        self.sequence = sequence
        self.acknowledgment = acknowledgment
        self.window = window
        self.payloadLength = payloadLength
    }

    public static let fin: UInt16 = 0x01, syn: UInt16 = 0x02, rst: UInt16 = 0x04, ack: UInt16 = 0x10

    @inline(__always) var isSYN: Bool { flags & Self.syn != 0 }
    @inline(__always) var isFIN: Bool { flags & Self.fin != 0 }
    @inline(__always) var isRST: Bool { flags & Self.rst != 0 }
    @inline(__always) var isACK: Bool { flags & Self.ack != 0 }

    /// Sequence space the segment occupies: its payload, one for a SYN and one for
    /// a FIN; a RST's payload is not part of the stream.
    var segmentLength: Int {
        var n = isRST ? 0 : payloadLength
        if isSYN { n += 1 }
        if isFIN { n += 1 }
        return n
    }
}

/// Zeek's connection states (`conn_state` in conn.log).
public enum ConnectionState: String, Sendable, CaseIterable {
    /// Connection attempt seen, no reply.
    case s0 = "S0"
    /// Established, not terminated.
    case s1 = "S1"
    /// Normal establishment and termination.
    case sf = "SF"
    /// Attempt rejected.
    case rej = "REJ"
    /// Established; the originator tried to close, no reply from the responder.
    case s2 = "S2"
    /// Established; the responder tried to close, no reply from the originator.
    case s3 = "S3"
    /// Established; the originator aborted with a RST.
    case rsto = "RSTO"
    /// Established; the responder sent a RST.
    case rstr = "RSTR"
    /// The originator sent a SYN then a RST; no SYN-ACK was seen.
    case rstos0 = "RSTOS0"
    /// The responder sent a SYN-ACK then a RST; no SYN from the originator was seen.
    case rstrh = "RSTRH"
    /// The originator sent a SYN then a FIN; no SYN-ACK was seen.
    case sh = "SH"
    /// The responder sent a SYN-ACK then a FIN; no SYN from the originator was seen.
    case shr = "SHR"
    /// No SYN seen: midstream traffic.
    case oth = "OTH"

    /// The word the archive's `flows` view shows for it.
    public var word: String {
        switch self {
        case .sf: "closed"
        case .rsto, .rstr, .rstos0, .rstrh: "reset"
        case .rej: "rejected"
        case .s0: "attempt"
        case .s2, .s3, .sh, .shr: "half-closed"
        case .s1: "open"
        case .oth: "midstream"
        }
    }
}

/// One TCP connection's state as Zeek's TCP analyzer keeps it: each endpoint's
/// state, the `history` letters and the originator's role, updated packet by
/// packet from the flags, sequence numbers and windows alone. It makes no
/// allocation per packet (the history string grows only when a letter is added).
///
/// Followed: Zeek's endpoint state machine, `conn_state`, the history letters
/// S H A D F R T W G I Q and ^ with their case, once-only, sequence-repeat and
/// logarithmic rules, its choice of originator for the first packet, and its
/// swap of the roles at a SYN that follows its SYN-ACK.
/// Not followed (docs/schema.md lists why): checksums are not verified (as with
/// `zeek -C`: no C letter, no packet dropped).
public struct TCPConnection: Sendable {
    /// An endpoint's state in Zeek's TCP analyzer.
    public enum EndpointState: Int, Sendable {
        case inactive, synSent, synAckSent, partial, established, closed, reset
    }

    /// One side of the connection.
    struct Endpoint: Sendable {
        var state = EndpointState.inactive
        var previousState = EndpointState.inactive
        /// Its sequence numbering: where it starts (its SYN, or as if a SYN came just
        /// before its first packet or the first byte its peer acknowledged), one past
        /// the highest sequence it sent, and the highest its peer acknowledged.
        var start: UInt32 = 0, last: UInt32 = 0, acknowledged: UInt32 = 0
        /// Sequence numbers of its last SYN (or SYN-ACK), RST and FIN (after the FIN's data).
        var lastSYN: UInt32 = 0, lastRST: UInt32 = 0, lastFIN: UInt32 = 0
        var sentSYN = false, sentRST = false, sentFIN = false
        /// Packets with the FIN flag, in whatever combination.
        var fins = 0
        /// Logarithmic letters: how many seen, and the count that adds the next letter.
        var retransmissions = 0, retransmissionMark = 1
        var zeroWindows = 0, zeroWindowMark = 1
        var gaps = 0, gapMark = 1

        mutating func setState(_ new: EndpointState) {
            if new != state {
                previousState = state
                state = new
            }
        }

        mutating func number(start: UInt32, last: UInt32) {
            self.start = start
            acknowledged = start
            self.last = last
        }

        /// Bytes of stream it sent, by its sequence numbers (Zeek's endpoint size):
        /// SYN and FIN excluded, holes included.
        var size: Int {
            let sent = Int(Int32(bitPattern: last &- start)), acked = Int(Int32(bitPattern: acknowledged &- start))
            var n = max(0, max(sent, acked))
            if n != 0 { n -= 1 }
            if fins > 0 && n != 0 { n -= 1 }
            return n
        }
    }

    var originator = Endpoint()
    var responder = Endpoint()
    /// Once-only letters seen, in Zeek's layout: bits 0-15 for the originator's
    /// slot, 16-31 for the responder's (not swapped by a flip).
    var onceSeen: UInt32 = 0
    /// The history letters so far.
    public private(set) var history = ""

    static let seenData: UInt32 = 0x10, seenACK: UInt32 = 0x20, seenFINRST: UInt32 = 0x08, seenMultiFlag: UInt32 = 0x40

    /// A connection whose first packet was sent by its responder (`flipped`: Zeek
    /// swapped the roles, and the history begins with '^').
    public init(flipped: Bool = false) {
        if flipped { history = "^" }
    }

    /// Whether Zeek takes the receiver of this first packet, rather than its sender,
    /// as the originator: the packet is not a pure SYN and comes from a likely
    /// service port to one that is not (when both are, from the lower port, and
    /// only when it carries no SYN).
    public static func responderSentFirst(flags: UInt16, sourcePort: UInt16, destinationPort: UInt16) -> Bool {
        let syn = flags & TCPPacket.syn != 0, ack = flags & TCPPacket.ack != 0
        if syn && !ack { return false }
        guard LikelyServerPorts.contains(sourcePort) else { return false }
        if LikelyServerPorts.contains(destinationPort) {
            return !syn && sourcePort < destinationPort
        }
        return true
    }

    /// Whether this packet, from the responder, is the SYN at which Zeek swaps the
    /// roles (see `observe`).
    public func reversesRoles(_ packet: TCPPacket) -> Bool {
        packet.flags & (TCPPacket.syn | TCPPacket.ack) == TCPPacket.syn
            && originator.state == .synAckSent && responder.state == .inactive && packet.sequence == responder.start
    }

    /// Accounts for one packet, sent by the originator or by the responder.
    ///
    /// Returns true when the packet made Zeek swap the roles: a SYN from the
    /// responder, numbered as the originator's SYN-ACK acknowledged, when that
    /// SYN-ACK is all the originator sent (the SYN-ACK was seen first, and neither
    /// port looked like a service). The sender of this SYN is the originator from
    /// now on, and the history gains '^'. With `mayFlipRoles` false (the caller can
    /// no longer swap what it recorded), the states change as Zeek's do but the
    /// roles stay.
    @discardableResult
    public mutating func observe(_ packet: TCPPacket, fromOriginator: Bool, mayFlipRoles: Bool = true) -> Bool {
        var reversal = false
        if fromOriginator {
            Self.observe(packet, sender: &originator, peer: &responder, isOriginator: true,
                         onceSeen: &onceSeen, history: &history)
        } else {
            reversal = reversesRoles(packet)
            Self.observe(packet, sender: &responder, peer: &originator, isOriginator: false,
                         onceSeen: &onceSeen, history: &history)
            if reversal {
                originator.setState(.established)
                if mayFlipRoles {
                    swap(&originator, &responder)
                    Self.add(UInt8(ascii: "^"), isOriginator: true, to: &history)
                } else {
                    reversal = false
                }
            }
        }
        if packet.flags & (TCPPacket.fin | TCPPacket.rst) != 0 {
            func over(_ s: EndpointState) -> Bool { s == .closed || s == .reset }
            closeSeen = over(originator.state) || over(responder.state)
        }
        return reversal
    }

    /// Records bytes of one direction that were never captured (a content gap:
    /// the G letter, when Zeek would report it).
    public mutating func contentGap(fromOriginator: Bool) {
        // Zeek reports gaps only in connections both of whose sides are
        // established, or closed after being established.
        func clean(_ e: Endpoint) -> Bool {
            e.state == .established || (e.state == .closed && e.previousState == .established)
        }
        guard clean(originator), clean(responder) else { return }
        if fromOriginator {
            Self.logarithmic(&originator.gaps, &originator.gapMark, UInt8(ascii: "G"), isOriginator: true, history: &history)
        } else {
            Self.logarithmic(&responder.gaps, &responder.gapMark, UInt8(ascii: "G"), isOriginator: false, history: &history)
        }
    }

    /// Whether either side has closed or reset the connection: a SYN that follows
    /// starts a new connection (Zeek's rule for reused ports). Stored, so that the
    /// per-packet test reads one field.
    public private(set) var closeSeen = false

    /// Whether the connection is over as Zeek's close rules see it (closed both
    /// ways, reset by either side, or closed by one side the other never answered):
    /// it is forgotten once the close delay has passed.
    public var isOver: Bool {
        let o = originator.state, r = responder.state
        func done(_ s: EndpointState) -> Bool { s == .closed || s == .reset }
        if o == .reset || r == .reset { return true }
        return (done(o) && (done(r) || r == .inactive)) || (done(r) && o == .inactive)
    }

    /// The connection's state by Zeek's `conn_state` rules.
    public var state: ConnectionState {
        let os = originator.state, rs = responder.state
        let originatorInactive = os == .inactive || os == .partial
        let responderInactive = rs == .inactive || rs == .partial
        if rs == .reset {
            if os == .synSent || os == .synAckSent || (os == .reset && originator.size == 0 && responder.size == 0) {
                return .rej
            }
            return originatorInactive ? .rstrh : .rstr
        }
        if os == .reset {
            if responderInactive { return Self.isSYNThenRST(history) ? .rstos0 : .oth }
            return .rsto
        }
        if rs == .closed && os == .closed { return .sf }
        if os == .closed { return responderInactive ? .sh : .s2 }
        if rs == .closed { return originatorInactive ? .shr : .s3 }
        if os == .synSent && rs == .inactive { return .s0 }
        if os == .established && rs == .established { return .s1 }
        return .oth
    }

    /// `^?S[^HAFGIQ]*R.*`, the whole history: the originator's SYN, then its RST,
    /// with no handshake, ACK, FIN, gap or odd flags from it in between.
    static func isSYNThenRST(_ history: String) -> Bool {
        var letters = history.utf8.makeIterator()
        var next = letters.next()
        if next == UInt8(ascii: "^") { next = letters.next() }
        guard next == UInt8(ascii: "S") else { return false }
        while let c = letters.next() {
            switch c {
            case UInt8(ascii: "R"): return true
            case UInt8(ascii: "H"), UInt8(ascii: "A"), UInt8(ascii: "F"), UInt8(ascii: "G"),
                 UInt8(ascii: "I"), UInt8(ascii: "Q"): return false
            default: continue
            }
        }
        return false
    }

    // MARK: - one packet

    private static func observe(_ p: TCPPacket, sender: inout Endpoint, peer: inout Endpoint, isOriginator: Bool,
                                onceSeen: inout UInt32, history: inout String) {
        let end = p.sequence &+ UInt32(truncatingIfNeeded: p.segmentLength)
        startNumbering(p, end: end, &sender)
        recordHistory(p, &sender, isOriginator: isOriginator, onceSeen: &onceSeen, history: &history)
        if p.isFIN { sender.fins += 1 }
        if p.window == 0 && !p.isRST && peer.state != .closed && sender.state != .reset {
            logarithmic(&sender.zeroWindows, &sender.zeroWindowMark, UInt8(ascii: "W"), isOriginator: isOriginator, history: &history)
        }
        if p.isACK {
            if peer.state == .inactive {
                // The peer's numbering starts as if its SYN came just before the byte acknowledged.
                let before = p.acknowledgment &- 1
                peer.number(start: before, last: before)
            } else if !p.isRST {
                let delta = Int32(bitPattern: p.acknowledgment &- peer.acknowledged)
                if delta > 0 && !(p.acknowledgment == 0 && delta > tooLarge) { peer.acknowledged = p.acknowledgment }
            }
        }
        if advanceLast(p, end: end, &sender) {
            logarithmic(&sender.retransmissions, &sender.retransmissionMark, UInt8(ascii: "T"), isOriginator: isOriginator,
                        history: &history)
        }
        updateStates(p, &sender, &peer, isOriginator: isOriginator)
    }

    /// Sequence distances beyond this are not trusted on SYN and RST packets.
    static let tooLarge: Int32 = 1 << 20

    /// The endpoint's numbering, from its first packet (a SYN starts it at the SYN;
    /// anything else as if a SYN had come just before), and again when a SYN brings
    /// new numbers.
    private static func startNumbering(_ p: TCPPacket, end: UInt32, _ e: inout Endpoint) {
        switch e.state {
        case .inactive:
            if p.isSYN {
                e.number(start: p.sequence, last: end)
            } else {
                e.number(start: p.sequence &- 1, last: p.sequence)
            }
        case .synSent, .synAckSent:
            if p.isSYN && p.sequence != e.start { e.number(start: p.sequence, last: end) }
        case .established, .partial:
            // A SYN here is taken for the one that really sets the connection up.
            if p.isSYN { e.number(start: p.sequence, last: end) }
        case .reset:
            if p.isSYN && e.previousState == .inactive { e.number(start: p.sequence, last: end) }
        case .closed:
            break
        }
    }

    /// Moves the highest sequence sent forward; true when the packet carried
    /// payload that did not (a retransmission, or data out of order).
    private static func advanceLast(_ p: TCPPacket, end: UInt32, _ e: inout Endpoint) -> Bool {
        let delta = Int32(bitPattern: end &- e.last)
        if (p.isSYN || p.isRST) && (delta > tooLarge || delta < -tooLarge) { return false }
        if p.isFIN && e.last == e.start &+ 1 {
            // Only the SYN seen so far: trust the FIN even behind it (streams over 2 GB).
            e.last = end
            return false
        }
        if e.state == .reset { return false }
        if delta > 0 {
            e.last = end
            return false
        }
        return p.payloadLength > 0
    }

    private static func recordHistory(_ p: TCPPacket, _ e: inout Endpoint, isOriginator: Bool,
                                      onceSeen: inout UInt32, history: inout String) {
        let control = (p.isSYN ? 1 : 0) + (p.isFIN ? 1 : 0) + (p.isRST ? 1 : 0)
        func once(_ bit: UInt32, _ letter: UInt8) {
            let mask = isOriginator ? bit : bit << 16
            guard onceSeen & mask == 0 else { return }
            onceSeen |= mask
            add(letter, isOriginator: isOriginator, to: &history)
        }
        if control > 1 {
            if p.isFIN && p.isRST { once(seenFINRST, UInt8(ascii: "I")) } else { once(seenMultiFlag, UInt8(ascii: "Q")) }
        } else if control == 1 {
            // S (or H), F and R again only with other sequence numbers than the last such packet.
            if p.isSYN {
                if !e.sentSYN || p.sequence != e.lastSYN {
                    add(p.isACK ? UInt8(ascii: "H") : UInt8(ascii: "S"), isOriginator: isOriginator, to: &history)
                }
                e.sentSYN = true
                e.lastSYN = p.sequence
            } else if p.isFIN {
                let after = p.sequence &+ UInt32(truncatingIfNeeded: p.payloadLength)
                if !e.sentFIN || after != e.lastFIN { add(UInt8(ascii: "F"), isOriginator: isOriginator, to: &history) }
                e.sentFIN = true
                e.lastFIN = after
            } else {
                if !e.sentRST || p.sequence != e.lastRST { add(UInt8(ascii: "R"), isOriginator: isOriginator, to: &history) }
                e.sentRST = true
                e.lastRST = p.sequence
            }
        } else if p.payloadLength > 0 {
            once(seenData, UInt8(ascii: "D"))
        } else if p.isACK {
            once(seenACK, UInt8(ascii: "A"))
        }
    }

    /// Zeek's endpoint state machine, driven by the sender's state.
    private static func updateStates(_ p: TCPPacket, _ e: inout Endpoint, _ peer: inout Endpoint, isOriginator: Bool) {
        switch e.state {
        case .inactive:
            if p.isSYN {
                if isOriginator {
                    e.setState(p.isACK ? .synAckSent : .synSent)
                } else {
                    if peer.state == .synSent { peer.setState(.established) }
                    e.setState(.established)
                }
            }
            if p.isFIN { e.setState(.closed) }
            if p.isRST { e.setState(.reset) }
            if e.state == .inactive {
                if !isOriginator && p.payloadLength == 0 && peer.state == .synSent {
                    // an ACK before the SYN-ACK: still waiting
                } else if p.isACK && peer.state == .established {
                    e.setState(.established)
                } else {
                    e.setState(.partial)
                }
            }
        case .synSent, .synAckSent:
            if p.isFIN { e.setState(.closed) }
            if p.isRST { e.setState(.reset) }
        case .established, .partial:
            if p.isSYN && e.state == .partial && peer.state == .inactive && !p.isACK {
                e.setState(.synSent)
            }
            if p.isRST {
                e.setState(.reset)
            } else if p.isFIN {
                e.setState(.closed)
                // A RST after the FIN from the other side still counts as a normal close.
                if peer.state == .reset && peer.previousState == .closed { peer.setState(.closed) }
            }
        case .closed:
            if p.isRST && peer.state != .closed { e.setState(.reset) }
        case .reset:
            break
        }
    }

    private static func logarithmic(_ count: inout Int, _ mark: inout Int, _ letter: UInt8, isOriginator: Bool,
                                    history: inout String) {
        count += 1
        if count == mark {
            add(letter, isOriginator: isOriginator, to: &history)
            mark = mark < Int.max / 10 ? mark * 10 : Int.max
        }
    }

    /// The longest history kept: S, F and R repeat with every new sequence number,
    /// so a flood on one connection would otherwise grow it without end.
    public static let maximumHistory = 256

    /// Appends an upper-case letter, in lower case for the responder.
    private static func add(_ letter: UInt8, isOriginator: Bool, to history: inout String) {
        guard history.utf8.count < maximumHistory else { return }
        history.unicodeScalars.append(Unicode.Scalar(isOriginator ? letter : letter | 0x20))
    }
}

