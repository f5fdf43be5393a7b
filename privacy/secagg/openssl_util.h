// Internal helpers for secagg: the owning pointers for the OpenSSL objects it uses, on
// core/openssl_util.h. Not part of the public API of scancov_secagg.
#ifndef SCANCOV_PRIVACY_SECAGG_OPENSSL_UTIL_H_
#define SCANCOV_PRIVACY_SECAGG_OPENSSL_UTIL_H_

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/x509.h>

#include <memory>

#include "core/openssl_util.h"

namespace scancov::privacy::secagg::internal {

using openssl::BioPtr;
using openssl::EvpPkeyPtr;
using openssl::OpenSslError;
using openssl::OpenSslPtr;
using openssl::X509Ptr;

using EvpPkeyCtxPtr = OpenSslPtr<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using EvpCipherCtxPtr = OpenSslPtr<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free>;
using EvpMdCtxPtr = OpenSslPtr<EVP_MD_CTX, EVP_MD_CTX_free>;
using EvpKdfPtr = OpenSslPtr<EVP_KDF, EVP_KDF_free>;
using EvpKdfCtxPtr = OpenSslPtr<EVP_KDF_CTX, EVP_KDF_CTX_free>;

}  // namespace scancov::privacy::secagg::internal

#endif  // SCANCOV_PRIVACY_SECAGG_OPENSSL_UTIL_H_
