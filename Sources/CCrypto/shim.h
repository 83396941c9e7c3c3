#ifndef FLOWDB_CCRYPTO_SHIM_H
#define FLOWDB_CCRYPTO_SHIM_H
/* OpenSSL's libcrypto, for SHA-256 only: it uses the CPU's SHA instructions. */
#include <openssl/evp.h>
#endif
