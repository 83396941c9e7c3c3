extension AssemblerCore {
    func flush(olderThan t: Int64, closeOlderThan tc: Int64) -> (flushed: Int, closed: Int) {
        var flushed = 0
        var closed = 0
        for connection in pool.connections {
            for half in [connection.serverToClient, connection.clientToServer] {
                let result = flushClose(connection, half, olderThan: t, closeOlderThan: tc)
                if result.flushed { flushed += 1 }
                if result.closed { closed += 1 }
            }
            if connection.bothClosed
                && connection.serverToClient.lastSeen < tc
                && connection.clientToServer.lastSeen < tc {
                pool.remove(connection)
            }
        }
        return (flushed, closed)
    }

    /// Flushes queued pages seen before `t`, then closes the half if nothing
    /// is left queued and the connection was last seen before `tc`.
    private func flushClose(_ connection: Connection, _ half: HalfConnection,
                            olderThan t: Int64, closeOlderThan tc: Int64) -> (flushed: Bool, closed: Bool) {
        guard !half.closed else { return (false, false) }
        var flushed = false
        while let head = half.first, head.seen < t {
            flushed = true
            skipFlush(connection, half)
            if half.closed {
                return (true, true)
            }
        }
        if half.first == nil && connection.lastSeen < tc {
            closeHalf(connection, half)
            return (flushed, true)
        }
        return (flushed, false)
    }

    func flushAll() -> Int {
        let connections = pool.connections
        for connection in connections {
            flushCompletely(connection)
        }
        return connections.count
    }

    /// Delivers everything queued on both halves (server-to-client first) and closes them.
    func flushCompletely(_ connection: Connection) {
        for half in [connection.serverToClient, connection.clientToServer] {
            while !half.closed {
                skipFlush(connection, half)
            }
        }
    }
}
