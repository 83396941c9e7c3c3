#ifndef FLOWDB_CCRYPTO_SHIM_H
#define FLOWDB_CCRYPTO_SHIM_H
/* OpenSSL's libcrypto: SHA-256 (it uses the CPU's SHA instructions), and the HMAC,
   AES-ECB and AES-GCM that remove the protection of QUIC's Initial packets. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#endif
