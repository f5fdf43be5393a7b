// The consortium certificate authority: creating the CA, issuing site, coordinator and
// aggregator certificates, describing certificates. In-memory PEM only; verification is in
// verify.h, the on-disk layout in pki_directory.h. In production a participant makes its own
// key and the CA signs its request (certificate_request.h); IssueCertificate, which makes the
// key at the CA, is for tests and the demo's convenience. Revocation is in revocation.h.
//
// Every certificate is X.509 v3 with an EC P-256 key, a random 128-bit serial and an
// ecdsa-with-SHA256 signature:
//
//   CA:          Subject O=<consortium>, CN=<consortium> CA
//                basicConstraints critical CA:TRUE, pathlen:0; keyUsage critical keyCertSign,
//                cRLSign; subject/authority key identifiers.
//   site,        Subject O=<consortium>, OU=<role>, CN=<id>; SAN URI urn:scancov:<role>:<id>;
//   coordinator: basicConstraints critical CA:FALSE; keyUsage critical digitalSignature;
//                extendedKeyUsage clientAuth.
//   aggregator:  as above, but extendedKeyUsage serverAuth and SAN DNS/IP entries for
//                localhost, 127.0.0.1 and every IssueOptions::hosts entry.
//
// PEM output is what gRPC's SslServerCredentials/SslCredentials and the openssl CLI read:
// "BEGIN CERTIFICATE" and unencrypted PKCS#8 "BEGIN PRIVATE KEY".
//
// Thread safety: all functions are thread-safe (they share no state).
#ifndef SCANCOV_SITES_PKI_CERTIFICATE_AUTHORITY_H_
#define SCANCOV_SITES_PKI_CERTIFICATE_AUTHORITY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "sites/pki/identity.h"

namespace scancov::sites {

// A certificate and its private key, both PEM. The private key is secret: never log it.
struct CertificateAndKey {
  std::string certificate_pem;
  std::string private_key_pem;
};

struct CaOptions {
  // Subject O of the CA and of every certificate it issues. 1..60 bytes of UTF-8, no control
  // characters.
  std::string consortium;
  int valid_days = 3650;
  // Shifts notBefore (and so notAfter) from the current time; tests use negative values.
  int64_t not_before_offset_s = 0;
};

struct IssueOptions {
  Role role = Role::kSite;
  std::string id;  // validated with ValidateId
  int valid_days = 365;
  // Shifts notBefore (and so notAfter) from the current time; negative values let tests make
  // already-expired certificates, positive ones not-yet-valid certificates.
  int64_t not_before_offset_s = 0;
  // Extra host names / IP addresses for an aggregator certificate (localhost and 127.0.0.1 are
  // always included). Must be empty for the other roles.
  std::vector<std::string> hosts;
};

// Generates a key and a self-signed CA certificate.
absl::StatusOr<CertificateAndKey> CreateCertificateAuthority(const CaOptions& options);

// CA-side key generation (tests and the demo; not for production, where the key must be made
// where it is used: certificate_request.h): generates a key and a certificate for
// options.role/options.id signed by `ca`. Refuses a CA whose key does not match its
// certificate, a CA certificate that is not valid now, and a certificate that would outlive the
// CA.
absl::StatusOr<CertificateAndKey> IssueCertificate(const CertificateAndKey& ca,
                                                   const IssueOptions& options);

// What `scancov-pki show` prints.
struct CertificateInfo {
  std::string subject;  // RFC 2253, e.g. "CN=kb,OU=site,O=Example"
  std::string issuer;   // RFC 2253
  std::string serial_hex;
  absl::Time not_before;
  absl::Time not_after;
  std::string sha256_fingerprint;  // lower-case hex of SHA-256 over the DER encoding
  bool is_ca = false;
  // The identity the aggregator would derive (IdentityFromCertificatePem), or why not.
  absl::StatusOr<PeerIdentity> identity = absl::UnknownError("not parsed");
  std::vector<std::string> hosts;  // SAN DNS names and IP addresses
};

// Describes the first certificate in `pem`. Does not verify it.
absl::StatusOr<CertificateInfo> DescribeCertificate(absl::string_view pem);

}  // namespace scancov::sites

#endif  // SCANCOV_SITES_PKI_CERTIFICATE_AUTHORITY_H_
