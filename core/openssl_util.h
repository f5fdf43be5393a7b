// Owning pointers for OpenSSL objects and the OpenSSL error queue as an absl::Status, shared by
// the libraries that call OpenSSL directly (sites/pki, privacy/secagg; each adds the pointer
// types it needs). A library using this links OpenSSL::Crypto itself.
//
// Thread safety: OpenSslError and ClearOpenSslErrors act on the calling thread's error queue.
#ifndef SCANCOV_CORE_OPENSSL_UTIL_H_
#define SCANCOV_CORE_OPENSSL_UTIL_H_

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace scancov::openssl {

template <typename T, void (*kFree)(T*)>
struct OpenSslDeleter {
  void operator()(T* p) const { kFree(p); }
};

template <typename T, void (*kFree)(T*)>
using OpenSslPtr = std::unique_ptr<T, OpenSslDeleter<T, kFree>>;

// BIO_free returns int, so it gets a void wrapper.
inline void BioFreeVoid(BIO* bio) { BIO_free(bio); }

using BioPtr = OpenSslPtr<BIO, BioFreeVoid>;
using EvpPkeyPtr = OpenSslPtr<EVP_PKEY, EVP_PKEY_free>;
using X509Ptr = OpenSslPtr<X509, X509_free>;

// Drains the calling thread's OpenSSL error queue and returns a status "<what>: <errors>",
// where <errors> are the ERR_error_string_n texts joined by "; " (or "unknown OpenSSL error"
// when the queue is empty).
absl::Status OpenSslError(absl::string_view what,
                          absl::StatusCode code = absl::StatusCode::kInternal);

// Clears stale entries so that a later OpenSslError reports only the current failure.
void ClearOpenSslErrors();

}  // namespace scancov::openssl

#endif  // SCANCOV_CORE_OPENSSL_UTIL_H_
