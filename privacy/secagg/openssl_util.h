// Internal helpers for secagg: owning pointers for OpenSSL objects and conversion of the
// OpenSSL error queue into absl::Status. Not part of the public API of scancov_secagg.
#ifndef SCANCOV_PRIVACY_SECAGG_OPENSSL_UTIL_H_
#define SCANCOV_PRIVACY_SECAGG_OPENSSL_UTIL_H_

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/x509.h>

#include <memory>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace scancov::privacy::secagg::internal {

template <typename T, void (*kFree)(T*)>
struct OpenSslDeleter {
  void operator()(T* p) const { kFree(p); }
};
template <typename T, void (*kFree)(T*)>
using OpenSslPtr = std::unique_ptr<T, OpenSslDeleter<T, kFree>>;

inline void BioFreeVoid(BIO* bio) { BIO_free(bio); }

using BioPtr = OpenSslPtr<BIO, BioFreeVoid>;
using EvpPkeyPtr = OpenSslPtr<EVP_PKEY, EVP_PKEY_free>;
using EvpPkeyCtxPtr = OpenSslPtr<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using EvpCipherCtxPtr = OpenSslPtr<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free>;
using EvpMdCtxPtr = OpenSslPtr<EVP_MD_CTX, EVP_MD_CTX_free>;
using EvpKdfPtr = OpenSslPtr<EVP_KDF, EVP_KDF_free>;
using EvpKdfCtxPtr = OpenSslPtr<EVP_KDF_CTX, EVP_KDF_CTX_free>;
using X509Ptr = OpenSslPtr<X509, X509_free>;

// Drains the calling thread's OpenSSL error queue into "<where>: <errors>" (or "<where>:
// OpenSSL error" when the queue is empty).
absl::Status OpenSslError(absl::string_view where,
                          absl::StatusCode code = absl::StatusCode::kInternal);

}  // namespace scancov::privacy::secagg::internal

#endif  // SCANCOV_PRIVACY_SECAGG_OPENSSL_UTIL_H_
