// Signatures that bind a site's advertised secagg public keys to its certificate.
//
// A site signs AdvertPayload(study, round, site id, c public key, s public key) with the
// private key of its TLS certificate (EC P-256/P-384 or RSA, PEM), ECDSA or RSA PKCS#1 v1.5 over
// SHA-256 (EVP_DigestSign). Anyone holding the site's certificate verifies it, and checks that
// the certificate's subject CN is the site id the advert claims, so that neither the server
// nor another site can substitute keys (which would let it read shares or unmask a vector).
//
// Trust in the certificate itself (chain to the consortium CA, revocation) is the caller's:
// pass only certificates verified with sites/pki. Stateless; thread-safe.
#ifndef SCANCOV_PRIVACY_SECAGG_KEY_SIGNATURE_H_
#define SCANCOV_PRIVACY_SECAGG_KEY_SIGNATURE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "privacy/secagg/key_agreement.h"

namespace scancov::privacy::secagg {

// The canonical, length-prefixed bytes that are signed.
std::string AdvertPayload(absl::string_view study_id, uint64_t round, absl::string_view site_id,
                          const Bytes32& c_public, const Bytes32& s_public);

// A DER signature of `payload` with the PEM private key (EC or RSA).
absl::StatusOr<std::string> SignPayload(absl::string_view private_key_pem,
                                        absl::string_view payload);

// OK when `signature` verifies over `payload` with the public key of `certificate_pem` and the
// certificate's single subject CN equals `site_id`; PermissionDenied otherwise.
absl::Status VerifyPayload(absl::string_view certificate_pem, absl::string_view site_id,
                           absl::string_view payload, absl::string_view signature);

// The certificate's subject CN (exactly one is required).
absl::StatusOr<std::string> CertificateCommonName(absl::string_view certificate_pem);

}  // namespace scancov::privacy::secagg

#endif  // SCANCOV_PRIVACY_SECAGG_KEY_SIGNATURE_H_
