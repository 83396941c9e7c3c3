import Applications
import Store

/// A flow's DNS queries still waiting for their responses.
final class DNSTransactions {
    var pending: [(message: DNSMessage, time: Int64)] = []
    /// Whether the flow was named (its `app` and first query).
    var named = false
}

/// Turns DNS messages into `dns` rows, as Zeek's dns.log pairs them: a response
/// completes the oldest waiting query with its id; a query never answered is
/// written alone when its flow ends; a response without its query alone at once.
enum DNSRecorder {
    /// Queries one flow keeps waiting; past it the oldest is written unanswered
    /// (a flood of queries on one 5-tuple must not grow without bound).
    static let maxPending = 1024

    static func message(_ m: DNSMessage, at time: Int64, flow: FlowState, writer: ArchiveWriter) {
        let transactions = flow.dns ?? DNSTransactions()
        flow.dns = transactions
        if !transactions.named {
            transactions.named = true
            writer.setApplication(flow, app: "dns", host: m.query)
        }
        if !m.isResponse {
            if transactions.pending.count >= maxPending {
                let oldest = transactions.pending.removeFirst()
                writer.addDNS(row(flow, query: oldest, response: nil))
            }
            transactions.pending.append((m, time))
            return
        }
        if let i = transactions.pending.firstIndex(where: { $0.message.id == m.id && ($0.message.query == m.query || m.query == nil) }) {
            let query = transactions.pending.remove(at: i)
            writer.addDNS(row(flow, query: query, response: (m, time)))
        } else {
            writer.addDNS(row(flow, query: nil, response: (m, time)))
        }
    }

    /// The flow ended: its unanswered queries are written.
    static func finish(_ flow: FlowState, writer: ArchiveWriter) {
        guard let transactions = flow.dns else { return }
        for query in transactions.pending { writer.addDNS(row(flow, query: query, response: nil)) }
        transactions.pending.removeAll()
    }

    static func row(_ flow: FlowState, query: (message: DNSMessage, time: Int64)?,
                    response: (message: DNSMessage, time: Int64)?) -> RowValues {
        var row = Tables.dns.row()
        let asked = query?.message ?? response!.message
        row.set("flow_id", flow.handle.id)
        row.set("ts", query?.time ?? response!.time)
        row.set("trans_id", Int(asked.id))
        if let q = query, let r = response { row.set("rtt", r.time - q.time) }
        row.set("query", asked.query)
        row.set("qclass", asked.qclass.map(Int.init))
        row.set("qclass_name", asked.qclass.flatMap { DNS.classNames[$0] })
        row.set("qtype", asked.qtype.map(Int.init))
        row.set("qtype_name", asked.qtype.flatMap { DNS.typeNames[$0] })
        row.set("rd", asked.rd)
        row.set("z", Int(asked.z))
        if let r = response?.message {
            row.set("rcode", Int(r.rcode))
            row.set("rcode_name", DNS.rcodeNames[r.rcode])
            row.set("aa", r.aa)
            row.set("tc", r.tc)
            row.set("ra", r.ra)
            row.set("z", Int(r.z))
            if !r.answers.isEmpty {
                // Zeek's vector: its separator inside an element escaped
                row.set("answers", r.answers.map { $0.utf8.contains(0x2c) ? $0.replacing(",", with: "\\x2c") : $0 }
                    .joined(separator: ","))
                row.set("ttls", r.ttls.map(String.init).joined(separator: ","))
            }
            row.set("rejected", r.isRejected)
        } else {
            row.set("aa", false); row.set("tc", false); row.set("ra", false); row.set("rejected", false)
        }
        return row
    }
}
