/// A minimal TCP state machine a stream can consult in `accept` to ignore
/// packets the endpoints themselves would reject. It assumes in-order packets
/// and does not look at sequence numbers.
public struct TCPSimpleFSM: Sendable, Equatable {
    public enum State: Sendable, Equatable, CustomStringConvertible {
        case closed, synSent, established, closeWait, lastAck, reset

        public var description: String {
            switch self {
            case .closed: return "Closed"
            case .synSent: return "SynSent"
            case .established: return "Established"
            case .closeWait: return "CloseWait"
            case .lastAck: return "LastAck"
            case .reset: return "Reset"
            }
        }
    }

    public struct Options: Sendable, Equatable {
        /// Accept connections whose SYN / SYN-ACK / ACK were not captured.
        public var supportMissingEstablishment: Bool

        public init(supportMissingEstablishment: Bool = false) {
            self.supportMissingEstablishment = supportMissingEstablishment
        }
    }

    public private(set) var state: State = .closed
    public var options: Options
    /// Direction of the side that drove the last transition (opener or closer).
    private var direction: FlowDirection = .clientToServer

    public init(options: Options = Options()) {
        self.options = options
    }

    /// Returns whether a packet with `flags` going in `direction` is valid in
    /// the current state, updating the state when it is.
    public mutating func checkState(_ flags: TCPFlags, direction dir: FlowDirection) -> Bool {
        let syn = flags.contains(.syn), ack = flags.contains(.ack)
        let fin = flags.contains(.fin), rst = flags.contains(.rst)

        if state == .closed && options.supportMissingEstablishment && !(syn && !ack) {
            // Guess where the capture started.
            if syn && ack {
                state = .synSent
                direction = dir.reversed
            } else if fin && !ack {
                state = .established
            } else if fin && ack {
                state = .closeWait
                direction = dir.reversed
            } else {
                state = .established
            }
        }

        switch state {
        case .closed:
            if syn && !ack {
                direction = dir
                state = .synSent
                return true
            }
        case .synSent:
            if rst {
                state = .reset
                return true
            }
            if syn && ack && dir == direction.reversed {
                state = .established
                return true
            }
            if syn && !ack && dir == direction {
                return true  // retransmitted SYN
            }
        case .established:
            if rst {
                state = .reset
                return true
            }
            if fin {
                state = .closeWait
                direction = dir
            }
            return true
        case .closeWait:
            if rst {
                state = .reset
                return true
            }
            if fin && ack && dir == direction.reversed {
                state = .lastAck
                return true
            }
            if ack {
                return true
            }
        case .lastAck:
            if rst {
                state = .reset
                return true
            }
            if ack && direction == dir {
                state = .closed
                return true
            }
        case .reset:
            break
        }
        return false
    }

    /// `checkState(segment.flags, direction:)`.
    public mutating func checkState(_ segment: TCPSegment, direction dir: FlowDirection) -> Bool {
        checkState(segment.flags, direction: dir)
    }
}

/// Checks segments against the MSS and window announced by the other side.
public struct TCPOptionCheck: Sendable, Equatable {
    /// Why a segment was rejected.
    public enum Violation: Error, Sendable, Equatable {
        /// The MSS option's data was not 2 bytes long.
        case invalidMSSLength(Int)
        /// The window-scale option's data was not 1 byte long.
        case invalidWindowScaleLength(Int)
        /// The segment starts before the expected sequence (and is not a keep-alive).
        case reemitted(difference: Int, sequence: UInt32, nextSequence: TCPSequence)
        /// The payload is larger than the MSS announced by the receiver.
        case exceedsMSS(length: Int, mss: Int)
        /// The segment starts beyond the receiver's announced window.
        case exceedsReceiveWindow(difference: Int, window: UInt)
    }

    struct Side: Sendable, Equatable {
        var mss = 0
        var scale = -1
        var receiveWindow: UInt = 0
    }

    var sides = (clientToServer: Side(), serverToClient: Side())

    public init() {}

    private func side(_ dir: FlowDirection) -> Side {
        dir == .clientToServer ? sides.clientToServer : sides.serverToClient
    }

    private mutating func update(_ dir: FlowDirection, _ body: (inout Side) -> Void) {
        if dir == .clientToServer { body(&sides.clientToServer) } else { body(&sides.serverToClient) }
    }

    public static func == (lhs: TCPOptionCheck, rhs: TCPOptionCheck) -> Bool {
        lhs.sides.clientToServer == rhs.sides.clientToServer && lhs.sides.serverToClient == rhs.sides.serverToClient
    }

    /// Validates `segment`; throws the first violation found. SYNs record the
    /// MSS and window scale of their sender; every accepted segment records
    /// its sender's receive window.
    public mutating func accept(
        _ segment: TCPSegment,
        captureInfo: CaptureInfo,
        direction dir: FlowDirection,
        nextSequence: TCPSequence?,
        start: inout Bool
    ) throws(Violation) {
        var current = side(dir)
        if segment.flags.contains(.syn) {
            var mss = -1
            var scale = -1
            var options = TCPOptionIterator(segment.options)
            while let (kind, data) = options.next() {
                if kind == 2 {
                    guard data.count == 2 else { throw .invalidMSSLength(data.count) }
                    mss = Int(data[0]) << 8 | Int(data[1])
                }
                if kind == 3 {
                    guard data.count == 1 else { throw .invalidWindowScaleLength(data.count) }
                    scale = Int(data[0])
                }
            }
            current.mss = mss
            current.scale = scale
        } else if let nextSequence {
            let other = side(dir.reversed)
            let length = segment.payload.count
            let diff = nextSequence.difference(to: TCPSequence(segment.sequence))
            if diff == -1 && (length == 1 || length == 0) {
                // Probably a keep-alive.
            } else if diff < 0 {
                throw .reemitted(difference: diff, sequence: segment.sequence, nextSequence: nextSequence)
            } else if other.mss > 0 && length > other.mss {
                throw .exceedsMSS(length: length, mss: other.mss)
            } else if other.receiveWindow != 0 && other.scale < 0 && diff > Int(other.receiveWindow) {
                throw .exceedsReceiveWindow(difference: diff, window: other.receiveWindow)
            }
        }
        current.receiveWindow = UInt(segment.window)
        if current.scale > 0 {
            current.receiveWindow <<= UInt(current.scale)
        }
        let updated = current
        update(dir) { $0 = updated }
    }
}

/// Walks raw TCP options as (kind, data) pairs. Stops at end-of-list or at
/// the first malformed option (gopacket rejects the whole packet then).
struct TCPOptionIterator {
    private var rest: UnsafeRawBufferPointer

    init(_ bytes: UnsafeRawBufferPointer) {
        rest = bytes
    }

    mutating func next() -> (kind: UInt8, data: UnsafeRawBufferPointer)? {
        guard let kind = rest.first else { return nil }
        switch kind {
        case 0:
            rest = UnsafeRawBufferPointer(start: nil, count: 0)
            return (kind, UnsafeRawBufferPointer(start: nil, count: 0))
        case 1:
            rest = UnsafeRawBufferPointer(rebasing: rest[1...])
            return (kind, UnsafeRawBufferPointer(start: nil, count: 0))
        default:
            guard rest.count >= 2 else { return nil }
            let length = Int(rest[1])
            guard length >= 2 && length <= rest.count else { return nil }
            let data = UnsafeRawBufferPointer(rebasing: rest[2..<length])
            rest = UnsafeRawBufferPointer(rebasing: rest[length...])
            return (kind, data)
        }
    }
}
