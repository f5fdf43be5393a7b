// Internal: the steps of building and signing an X.509 v3 certificate with OpenSSL 3's
// non-deprecated APIs. Not part of the public API of scancov_pki.
#ifndef SCANCOV_SITES_PKI_CERT_BUILDER_H_
#define SCANCOV_SITES_PKI_CERT_BUILDER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "sites/pki/openssl_util.h"

namespace scancov::sites::internal {

// A fresh EC P-256 key pair.
absl::StatusOr<EvpPkeyPtr> GenerateEcP256Key();

// Subject or issuer name from (NID, UTF-8 value) pairs, in order.
absl::StatusOr<X509NamePtr> BuildName(const std::vector<std::pair<int, std::string>>& entries);

// A SAN entry: a DNS name, an IP address (text form) or a URI.
struct AltName {
  enum class Kind { kDns, kIp, kUri };
  Kind kind;
  std::string value;
};

// Checks `host` as a DNS name (letters, digits, '-', dot-separated labels of 1..63, no
// wildcards) or an IPv4/IPv6 address and returns it as a SAN entry (DNS names lower-cased).
absl::StatusOr<AltName> ParseHost(absl::string_view host);

// Starts a v3 certificate: random 128-bit serial, subject, issuer, validity
// [now + not_before_offset_s, that + valid_days] and public key.
absl::StatusOr<X509Ptr> NewCertificate(const X509_NAME* subject, const X509_NAME* issuer,
                                       int64_t not_before_offset_s, int valid_days,
                                       EVP_PKEY* public_key);

// Adds an extension given in openssl.cnf syntax ("critical,CA:TRUE"). `issuer` may be `cert`
// itself for a self-signed certificate; subjectKeyIdentifier must be added before
// authorityKeyIdentifier.
absl::Status AddExtension(X509* cert, X509* issuer, int nid, const std::string& value);

// The GENERAL_NAMES of a subjectAltName, built from structured entries (no string parsing, so a
// value cannot smuggle in extra entries).
absl::StatusOr<GeneralNamesPtr> BuildGeneralNames(const std::vector<AltName>& names);

// Adds a non-critical subjectAltName built from structured entries (no string parsing, so a
// value cannot smuggle in extra entries).
absl::Status AddSubjectAltNames(X509* cert, const std::vector<AltName>& names);

// Signs with ECDSA over SHA-256.
absl::Status SignCertificate(X509* cert, EVP_PKEY* issuer_key);

}  // namespace scancov::sites::internal

#endif  // SCANCOV_SITES_PKI_CERT_BUILDER_H_
