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
    /// The stream hears of overlaps.
    let reportsOverlaps: Bool
    /// Where the pool lists it (`StreamPool.connections`); -1 when not in a pool.
    var poolIndex = -1

    init(key: FlowKey, stream: any Stream, timestamp: Int64) {
        self.key = key
        self.stream = stream
        asksStream = stream.decidesConnectionEnds
        reportsOverlaps = stream.reportsOverlaps
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
/// directions (`FlowKey.canonical`), so a packet costs one probe sequence whichever
/// way it travels. gopacket tries the key and then its reverse; as a connection is
/// only ever created when neither is present, both find the same connection.
///
/// An open-addressing table with linear probing, at most half full, whose slots
/// hold a connection and its key's full hash: a probe reads one 16-byte slot and
/// then the connection it was going to use anyway, where `Dictionary` also read a
/// separate 56-byte key and value (with 65,536 connections, each of those a cache
/// miss). Removal shifts the following entries back, so no tombstones build up.
/// The connections are also listed densely, in the order they came, so going
/// through them costs their number, not the table's peak size (a flood of
/// 100,000 connections leaves a table of 262,144 slots behind).
struct StreamPool {
    private struct Slot {
        var hash: UInt = 0
        var connection: Connection?
    }

    private var slots: [Slot]
    private var mask: Int
    /// Every connection, in the order they came (a removal moves the last one
    /// into its place).
    private(set) var connections: [Connection] = []

    init() {
        slots = Array(repeating: Slot(), count: 2 * PageCache.initialBatch)
        mask = slots.count - 1
    }

    @inline(__always)
    private static func hash(_ canonical: FlowKey) -> UInt {
        UInt(bitPattern: canonical._rawHashValue(seed: 0))
    }

    /// The connection of a packet with `key`, and the half that packet belongs to.
    func lookup(_ key: FlowKey) -> (connection: Connection, half: HalfConnection)? {
        let hash = Self.hash(key.canonical)
        var i = Int(truncatingIfNeeded: hash) & mask
        while let connection = slots[i].connection {
            if slots[i].hash == hash {
                if connection.key == key { return (connection, connection.clientToServer) }
                if connection.key == key.reversed { return (connection, connection.serverToClient) }
            }
            i = (i &+ 1) & mask
        }
        return nil
    }

    /// Files `connection`, replacing one filed under the same key.
    mutating func insert(_ connection: Connection) {
        if (connections.count + 1) * 2 > slots.count { grow() }
        let canonical = connection.key.canonical
        let hash = Self.hash(canonical)
        var i = Int(truncatingIfNeeded: hash) & mask
        while let present = slots[i].connection {
            if slots[i].hash == hash && present.key.canonical == canonical {
                slots[i].connection = connection
                connection.poolIndex = present.poolIndex
                connections[present.poolIndex] = connection
                present.poolIndex = -1
                return
            }
            i = (i &+ 1) & mask
        }
        slots[i] = Slot(hash: hash, connection: connection)
        connection.poolIndex = connections.count
        connections.append(connection)
    }

    var count: Int { connections.count }

    /// Removes `connection` if it is still the one registered under its key.
    mutating func remove(_ connection: Connection) {
        let canonical = connection.key.canonical
        let hash = Self.hash(canonical)
        var i = Int(truncatingIfNeeded: hash) & mask
        while let present = slots[i].connection {
            if slots[i].hash == hash && present.key.canonical == canonical {
                if present === connection {
                    vacate(i)
                    unlist(connection)
                }
                return
            }
            i = (i &+ 1) & mask
        }
    }

    /// Empties `slot`, moving back each following entry of the same run that
    /// would otherwise no longer be found from its home slot.
    private mutating func vacate(_ slot: Int) {
        var hole = slot
        var i = slot
        while true {
            i = (i &+ 1) & mask
            guard slots[i].connection != nil else { break }
            let home = Int(truncatingIfNeeded: slots[i].hash) & mask
            // the entry may move into the hole unless its home lies after the hole
            // (cyclically) and at or before its own slot
            let stays = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i)
            if !stays {
                slots[hole] = slots[i]
                hole = i
            }
        }
        slots[hole] = Slot()
    }

    /// Takes `connection` off the dense list.
    private mutating func unlist(_ connection: Connection) {
        let index = connection.poolIndex
        let last = connections.removeLast()
        if index < connections.count {
            connections[index] = last
            last.poolIndex = index
        }
        connection.poolIndex = -1
    }

    private mutating func grow() {
        let old = slots
        slots = Array(repeating: Slot(), count: old.count * 2)
        mask = slots.count - 1
        for slot in old where slot.connection != nil {
            var i = Int(truncatingIfNeeded: slot.hash) & mask
            while slots[i].connection != nil { i = (i &+ 1) & mask }
            slots[i] = slot
        }
    }
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
