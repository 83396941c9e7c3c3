-- flowdb archive, migration 0012: what a connection spoke before its TLS handshake.
--
-- TLS often begins after a protocol's own upgrade: SMTP, IMAP, POP3, FTP and XMPP
-- ask for it in a line of text (STARTTLS, STLS, AUTH TLS, <starttls/>), PostgreSQL
-- with its SSLRequest, LDAP with the StartTLS extended operation
-- (1.3.6.1.4.1.1466.20037), MySQL with the SSL request of its handshake, RDP with
-- its X.224 negotiation; a proxy's request (SOCKS, HTTP CONNECT) may precede it
-- too. Zeek logs such handshakes in ssl.log like any other; `preamble` names what
-- came before the ClientHello: 'smtp', 'imap', 'pop3', 'ftp', 'xmpp', 'postgresql',
-- 'ldap', 'mysql', 'rdp', 'socks', 'http-connect', or 'other'. NULL: the client's
-- first byte began the handshake.
ALTER TABLE tls ADD COLUMN preamble TEXT;

-- tls_log shows it after the columns it had.
DROP VIEW tls_log;
CREATE VIEW tls_log AS
SELECT strftime('%Y-%m-%dT%H:%M:%S', (t.ts - (t.ts % 1000000000 + 1000000000) % 1000000000) / 1000000000, 'unixepoch')
           || printf('.%06dZ', ((t.ts % 1000000000 + 1000000000) % 1000000000) / 1000) AS ts,
       t.flow_id, f.client_ip, f.client_port, f.server_ip, f.server_port,
       t.version, t.cipher, t.curve, t.server_name,
       CASE t.resumed WHEN 0 THEN 'no' WHEN 1 THEN 'yes' END AS resumed,
       t.next_protocol,
       CASE t.established WHEN 0 THEN 'no' WHEN 1 THEN 'yes' END AS established,
       t.cert_chain_sha256, t.subject, t.issuer,
       t.client_version, t.alpn_offered,
       t.ja3, t.ja3s, t.ja4,
       t.serial,
       strftime('%Y-%m-%dT%H:%M:%S', (t.not_before - (t.not_before % 1000000000 + 1000000000) % 1000000000) / 1000000000, 'unixepoch')
           || printf('.%06dZ', ((t.not_before % 1000000000 + 1000000000) % 1000000000) / 1000) AS not_before,
       strftime('%Y-%m-%dT%H:%M:%S', (t.not_after - (t.not_after % 1000000000 + 1000000000) % 1000000000) / 1000000000, 'unixepoch')
           || printf('.%06dZ', ((t.not_after % 1000000000 + 1000000000) % 1000000000) / 1000) AS not_after,
       t.preamble
FROM tls AS t JOIN flow AS f ON f.id = t.flow_id;
