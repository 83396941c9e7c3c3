/// Changes to an archive's contents beyond ingesting.
public enum Maintenance {
    /// Removes a capture and everything recorded from it (its flows with their
    /// deliveries, payload, gaps and packet positions), in one transaction.
    public static func deleteCapture(_ id: Int64, in c: SQLiteConnection) throws {
        try c.transaction {
            for sql in [
                "DELETE FROM delivery_block WHERE flow_id IN (SELECT id FROM flow WHERE capture_id = ?1)",
                "DELETE FROM payload WHERE flow_id IN (SELECT id FROM flow WHERE capture_id = ?1)",
                "DELETE FROM gap WHERE flow_id IN (SELECT id FROM flow WHERE capture_id = ?1)",
                "DELETE FROM packet_block WHERE capture_id = ?1 OR flow_id IN (SELECT id FROM flow WHERE capture_id = ?1)",
                "DELETE FROM flow WHERE capture_id = ?1",
                "DELETE FROM capture WHERE id = ?1",
            ] {
                let s = try c.prepare(sql)
                try s.bind(id, at: 1)
                try s.step()
            }
        }
    }
}
