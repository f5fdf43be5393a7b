#include "sites/pki/verify.h"

#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "sites/pki/openssl_util.h"
#include "sites/pki/x509_fields.h"

namespace scancov::sites {
namespace {

using internal::X509Ptr;

std::string Asn1TimeText(const ASN1_TIME* time) {
  absl::StatusOr<absl::Time> t = internal::Asn1TimeToAbsl(time);
  if (!t.ok()) return "<malformed time>";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", *t, absl::UTCTimeZone());
}

// Why X509_verify_cert failed, in the words of verify.h.
std::string ChainFailureReason(X509_STORE_CTX* ctx, X509* leaf) {
  const int error = X509_STORE_CTX_get_error(ctx);
  const bool at_leaf = X509_STORE_CTX_get_error_depth(ctx) == 0;
  X509* failing = X509_STORE_CTX_get_current_cert(ctx);
  if (failing == nullptr) failing = leaf;
  switch (error) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return absl::StrCat(at_leaf ? "expired" : "CA certificate expired", " at ",
                          Asn1TimeText(X509_get0_notAfter(failing)));
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return absl::StrCat(at_leaf ? "not yet valid" : "CA certificate not yet valid",
                          ": valid from ", Asn1TimeText(X509_get0_notBefore(failing)));
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      return absl::StrCat("not issued by this CA (issuer ",
                          internal::NameToString(X509_get_issuer_name(leaf)),
                          "): ", X509_verify_cert_error_string(error));
    default:
      return X509_verify_cert_error_string(error);
  }
}

absl::Status VerifyChain(X509* leaf, X509* ca, absl::Time now) {
  internal::ClearOpenSslErrors();
  internal::X509StorePtr store(X509_STORE_new());
  internal::X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (store == nullptr || ctx == nullptr || X509_STORE_add_cert(store.get(), ca) != 1 ||
      X509_STORE_CTX_init(ctx.get(), store.get(), leaf, nullptr) != 1) {
    return internal::OpenSslError("verify: setting up the certificate store");
  }
  X509_STORE_CTX_set_time(ctx.get(), 0, absl::ToTimeT(now));
  X509_STORE_CTX_set_flags(ctx.get(), X509_V_FLAG_X509_STRICT);
  if (X509_verify_cert(ctx.get()) == 1) return absl::OkStatus();
  internal::ClearOpenSslErrors();
  return absl::UnauthenticatedError(ChainFailureReason(ctx.get(), leaf));
}

absl::Status CheckKeyUsage(X509* leaf, Role role) {
  const bool server = role == Role::kAggregator;
  const int purpose = server ? X509_PURPOSE_SSL_SERVER : X509_PURPOSE_SSL_CLIENT;
  if (X509_check_purpose(leaf, purpose, /*ca=*/0) != 1) {
    return absl::UnauthenticatedError(absl::StrCat("wrong key usage: a ", RoleName(role),
                                                   " certificate needs ",
                                                   server ? "serverAuth" : "clientAuth"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<PeerIdentity> VerifyCertificate(absl::string_view cert_pem,
                                               absl::string_view ca_cert_pem, absl::Time now) {
  SCV_ASSIGN_OR_RETURN(X509Ptr ca, internal::ParseCertificatePem(ca_cert_pem, "CA certificate"));
  SCV_ASSIGN_OR_RETURN(X509Ptr leaf, internal::ParseCertificatePem(cert_pem, "certificate"));
  const std::string where =
      "certificate " + internal::NameToString(X509_get_subject_name(leaf.get()));
  if (X509_check_ca(leaf.get()) != 0) {
    return absl::UnauthenticatedError(where + ": is a CA certificate, not a peer certificate");
  }
  SCV_RETURN_IF_ERROR(Annotate(VerifyChain(leaf.get(), ca.get(), now), where));
  absl::StatusOr<PeerIdentity> identity = internal::IdentityFromCertificate(leaf.get());
  if (!identity.ok()) return Annotate(identity.status(), where);
  SCV_RETURN_IF_ERROR(Annotate(CheckKeyUsage(leaf.get(), identity->role), where));
  return identity;
}

}  // namespace scancov::sites
