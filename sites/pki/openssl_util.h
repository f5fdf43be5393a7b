// Internal helpers for the PKI library: the owning pointers for the OpenSSL objects it uses (on
// core/openssl_util.h) and PEM conversions. Not part of the public API of scancov_pki.
#ifndef SCANCOV_SITES_PKI_OPENSSL_UTIL_H_
#define SCANCOV_SITES_PKI_OPENSSL_UTIL_H_

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/openssl_util.h"

namespace scancov::sites::internal {

using openssl::BioPtr;
using openssl::ClearOpenSslErrors;
using openssl::EvpPkeyPtr;
using openssl::OpenSslError;
using openssl::OpenSslPtr;
using openssl::X509Ptr;

inline void GeneralNamesFree(GENERAL_NAMES* names) { GENERAL_NAMES_free(names); }
inline void ExtensionsFree(STACK_OF(X509_EXTENSION) * exts) {
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
}

using BignumPtr = OpenSslPtr<BIGNUM, BN_free>;
using X509NamePtr = OpenSslPtr<X509_NAME, X509_NAME_free>;
using X509StorePtr = OpenSslPtr<X509_STORE, X509_STORE_free>;
using X509StoreCtxPtr = OpenSslPtr<X509_STORE_CTX, X509_STORE_CTX_free>;
using X509ExtensionPtr = OpenSslPtr<X509_EXTENSION, X509_EXTENSION_free>;
using GeneralNamesPtr = OpenSslPtr<GENERAL_NAMES, GeneralNamesFree>;
using GeneralNamePtr = OpenSslPtr<GENERAL_NAME, GENERAL_NAME_free>;
using ExtensionsPtr = OpenSslPtr<STACK_OF(X509_EXTENSION), ExtensionsFree>;
using Asn1IntegerPtr = OpenSslPtr<ASN1_INTEGER, ASN1_INTEGER_free>;
using X509ReqPtr = OpenSslPtr<X509_REQ, X509_REQ_free>;
using X509CrlPtr = OpenSslPtr<X509_CRL, X509_CRL_free>;
using X509RevokedPtr = OpenSslPtr<X509_REVOKED, X509_REVOKED_free>;
using Asn1TimePtr = OpenSslPtr<ASN1_TIME, ASN1_TIME_free>;
using Asn1EnumeratedPtr = OpenSslPtr<ASN1_ENUMERATED, ASN1_ENUMERATED_free>;

// PEM <-> objects. Errors name `what` (e.g. a path or "CA certificate").
absl::StatusOr<X509Ptr> ParseCertificatePem(absl::string_view pem, absl::string_view what);
absl::StatusOr<EvpPkeyPtr> ParsePrivateKeyPem(absl::string_view pem, absl::string_view what);
absl::StatusOr<std::string> CertificateToPem(X509* cert);
absl::StatusOr<X509ReqPtr> ParseRequestPem(absl::string_view pem, absl::string_view what);
absl::StatusOr<std::string> RequestToPem(X509_REQ* request);
absl::StatusOr<X509CrlPtr> ParseCrlPem(absl::string_view pem, absl::string_view what);
absl::StatusOr<std::string> CrlToPem(X509_CRL* crl);
// Unencrypted PKCS#8 ("BEGIN PRIVATE KEY"), which gRPC and the openssl CLI read.
absl::StatusOr<std::string> PrivateKeyToPem(EVP_PKEY* key);

}  // namespace scancov::sites::internal

#endif  // SCANCOV_SITES_PKI_OPENSSL_UTIL_H_
