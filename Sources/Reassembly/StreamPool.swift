/// State of one direction of a connection.
final class HalfConnection {
    let direction: FlowDirection
    /// Pages attributed to this half (gopacket's accounting, which does not
    /// count pages created when a stream keeps live bytes).
    var pages = 0
    /// Pages already delivered that the stream asked to see again.
    var saved: Page?
    /// Out-of-order pages waiting for their gap to fill, sorted by sequence.
    var first: Page?
    var last: Page?
    /// Next expected sequence; `nil` until the start of the half is known.
    var nextSeq: TCPSequence?
    var ackSeq: TCPSequence?
    var created: Int64
    var lastSeen: Int64
    var closed = false
    var queuedBytes = 0
    var queuedPackets = 0
    var overlapBytes = 0
    var overlapPackets = 0

    init(direction: FlowDirection, timestamp: Int64) {
        self.direction = direction
        self.created = timestamp
        self.lastSeen = timestamp
    }
}

/// Both halves of a connection and the stream receiving them.
final class Connection {
    /// Key of the first packet seen, i.e. the client-to-server orientation.
    let key: FlowKey
    let clientToServer: HalfConnection
    let serverToClient: HalfConnection
    let stream: any Stream
    /// The stream is asked whether each packet starts a new connection.
    let asksStream: Bool

    init(key: FlowKey, stream: any Stream, timestamp: Int64) {
        self.key = key
        self.stream = stream
        asksStream = stream.decidesConnectionEnds
        clientToServer = HalfConnection(direction: .clientToServer, timestamp: timestamp)
        serverToClient = HalfConnection(direction: .serverToClient, timestamp: timestamp)
    }

    var lastSeen: Int64 { max(clientToServer.lastSeen, serverToClient.lastSeen) }

    var bothClosed: Bool { clientToServer.closed && serverToClient.closed }

    var anyClosed: Bool { clientToServer.closed || serverToClient.closed }
}

/// Live connections, found by the key of a packet in either direction.
///
/// Each connection is filed under its key in one orientation chosen for both
/// directions (`FlowKey.canonical`), so a packet costs one hash lookup whichever
/// way it travels (two, one of them a miss, half the time otherwise). gopacket
/// tries the key and then its reverse; as a connection is only ever created when
/// neither is present, both find the same connection.
struct StreamPool {
    private(set) var connections: [FlowKey: Connection]

    init() {
        connections = Dictionary(minimumCapacity: PageCache.initialBatch)
    }

    /// The connection of a packet with `key`, and the half that packet belongs to.
    func lookup(_ key: FlowKey) -> (connection: Connection, half: HalfConnection)? {
        guard let connection = connections[key.canonical] else { return nil }
        return (connection, connection.key == key ? connection.clientToServer : connection.serverToClient)
    }

    mutating func insert(_ connection: Connection) {
        connections[connection.key.canonical] = connection
    }

    /// Removes `connection` if it is still the one registered under its key.
    mutating func remove(_ connection: Connection) {
        if let index = connections.index(forKey: connection.key.canonical), connections.values[index] === connection {
            connections.remove(at: index)
        }
    }

    var count: Int { connections.count }
}

extension FlowKey {
    /// The key oriented from its lower endpoint (address, then port) to the higher:
    /// the same for both directions of a connection.
    @inlinable
    public var canonical: FlowKey {
        let forward = source.high != destination.high ? source.high < destination.high
            : source.low != destination.low ? source.low < destination.low
            : sourcePort <= destinationPort
        return forward ? self : reversed
    }
}
