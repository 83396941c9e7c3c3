-- flowdb archive, migration 0007: what was said, for the protocols flowdb
-- recognises in the reassembled bytes (by content, not by port): HTTP/1.x, TLS
-- and SSH. Names follow Zeek's http.log, ssl.log and ssh.log where they have one.
--
-- Flows ingested before this version have no rows here and a NULL `app`.

-- The application protocol of a flow ('http', 'tls', 'ssh'; NULL: none
-- recognised, or not looked for: `ingest --no-apps`), and its host: the Host of
-- its first HTTP request, or the server name (SNI) of its TLS ClientHello.
ALTER TABLE flow ADD COLUMN app TEXT CHECK (app IN ('http', 'tls', 'ssh'));
ALTER TABLE flow ADD COLUMN app_host TEXT;
CREATE INDEX flow_by_app_host ON flow(app_host) WHERE app_host IS NOT NULL;
CREATE INDEX flow_by_app ON flow(app) WHERE app IS NOT NULL;

-- One row per HTTP request/response transaction, in request order.
CREATE TABLE http (
    flow_id                 INTEGER NOT NULL REFERENCES flow(id),
    trans_depth             INTEGER NOT NULL,   -- 1-based position in the connection (Zeek's)
    ts                      INTEGER,            -- capture time of the request's first byte (ns)
    method                  TEXT,               -- NULL: a response whose request was not seen
    host                    TEXT,               -- the Host header
    uri                     TEXT,
    version                 TEXT,               -- of the request ('1.1'), else of the response
    user_agent              TEXT,
    referrer                TEXT,
    origin                  TEXT,
    status_code             INTEGER,            -- NULL: no response
    status_msg              TEXT,
    informational           TEXT,               -- JSON array of interim (1xx) status codes, NULL: none
    request_body_len        INTEGER NOT NULL DEFAULT 0,  -- body bytes after removing the chunked coding
    response_body_len       INTEGER NOT NULL DEFAULT 0,
    request_content_type    TEXT,
    response_content_type   TEXT,
    request_headers         TEXT,               -- JSON array of [name, value], in order
    response_headers        TEXT,
    -- where each body lies in its direction's stream (see `chunk.stream_offset`):
    -- its first byte, and its bytes on the wire (chunk framing included)
    request_body_offset     INTEGER,
    request_body_wire_len   INTEGER,
    response_body_offset    INTEGER,
    response_body_wire_len  INTEGER,
    request_chunked         INTEGER NOT NULL DEFAULT 0,
    response_chunked        INTEGER NOT NULL DEFAULT 0,
    incomplete              INTEGER NOT NULL DEFAULT 0,  -- a gap or the end of the capture cut a message
    PRIMARY KEY (flow_id, trans_depth)
) STRICT, WITHOUT ROWID;
CREATE INDEX http_by_host ON http(host);

-- One row per TLS handshake (the first of a connection).
CREATE TABLE tls (
    flow_id         INTEGER PRIMARY KEY REFERENCES flow(id),
    ts              INTEGER,            -- capture time of the ClientHello's first byte (ns)
    version         TEXT,               -- negotiated: 'TLSv1.2', 'TLSv1.3' (through supported_versions), ...
    cipher          TEXT,               -- IANA name of the suite chosen
    curve           TEXT,               -- named group of the key exchange (key_share, or ECDHE ServerKeyExchange)
    server_name     TEXT,               -- SNI
    alpn_offered    TEXT,               -- JSON array of the client's ALPN protocols
    next_protocol   TEXT,               -- ALPN chosen by the server
    resumed         INTEGER,            -- 1: a session resumed (session id echoed, or a pre-shared key accepted)
    established     INTEGER,            -- 1: the handshake went on to encrypted data (see docs/schema.md)
    ja3             TEXT,
    ja3s            TEXT,
    ja4             TEXT,
    client_version  TEXT,               -- the highest version the client offered
    cert_chain_sha256 TEXT,             -- JSON array of the SHA-256 of the certificates sent in the clear (TLS <= 1.2)
    -- the server's certificate (the chain's first), as OpenSSL prints it with RFC 2253 flags
    subject         TEXT,               -- 'CN=server.example,O=Example GmbH,C=DE'
    issuer          TEXT,
    serial          TEXT,               -- upper-case hex, as `openssl x509 -serial`
    not_before      INTEGER,            -- validity, ns since the epoch
    not_after       INTEGER
) STRICT;
CREATE INDEX tls_by_server_name ON tls(server_name);
CREATE INDEX tls_by_ja3 ON tls(ja3);
CREATE INDEX tls_by_ja4 ON tls(ja4);

-- One row per SSH connection whose identification lines were seen.
CREATE TABLE ssh (
    flow_id             INTEGER PRIMARY KEY REFERENCES flow(id),
    client              TEXT,           -- the client's identification line ('SSH-2.0-OpenSSH_9.2p1 Debian-2')
    server              TEXT,
    version             TEXT,           -- protocol version (the server's: '2.0', '1.99', '1.5')
    client_software     TEXT,
    server_software     TEXT,
    hassh               TEXT,
    hassh_server        TEXT,
    hassh_string        TEXT,           -- what the hashes were computed over
    hassh_server_string TEXT,
    kex_alg             TEXT,           -- algorithms chosen (the client's first the server also offers)
    host_key_alg        TEXT,
    cipher_alg          TEXT,           -- client to server
    mac_alg             TEXT,
    compression_alg     TEXT
) STRICT;
