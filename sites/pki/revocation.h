// Revoking consortium certificates: X.509 v2 CRLs signed by the consortium CA, and reading
// them back with their signature checked. In-memory PEM only; the CA's record of revocations
// and crl.pem are in pki_directory.h, the file-watching check that the aggregator and the nodes
// run on every peer in revocation_checker.h.
//
// A CRL here carries: issuer = the CA's subject, thisUpdate, nextUpdate (always set: a reader
// knows when to expect a newer one), the cRLNumber and authorityKeyIdentifier extensions, and
// one entry per revoked certificate (serial, revocation date, reasonCode). Signed with
// ecdsa-with-SHA256 by the CA key; `openssl crl -CAfile ca.crt -verify` accepts it.
//
// Thread safety: the functions are thread-safe; a RevocationList is immutable after Parse.
#ifndef SCANCOV_SITES_PKI_REVOCATION_H_
#define SCANCOV_SITES_PKI_REVOCATION_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "sites/pki/certificate_authority.h"

namespace scancov::sites {

// RFC 5280 CRLReason (removeFromCRL, for delta CRLs, is not used).
enum class RevocationReason {
  kUnspecified = 0,
  kKeyCompromise = 1,
  kCaCompromise = 2,
  kAffiliationChanged = 3,
  kSuperseded = 4,
  kCessationOfOperation = 5,
  kCertificateHold = 6,
  kPrivilegeWithdrawn = 9,
  kAaCompromise = 10,
};

// RFC 5280's names: "unspecified", "keyCompromise", "cACompromise", "affiliationChanged",
// "superseded", "cessationOfOperation", "certificateHold", "privilegeWithdrawn",
// "aACompromise".
absl::string_view ReasonName(RevocationReason reason);
// Inverse of ReasonName (exact); InvalidArgument lists the accepted names.
absl::StatusOr<RevocationReason> ParseRevocationReason(absl::string_view name);

struct RevokedCertificate {
  std::string serial_hex;  // as CertificateInfo::serial_hex (upper-case, no leading zeros)
  absl::Time revoked_at;   // whole seconds
  RevocationReason reason = RevocationReason::kUnspecified;
};

// What the CA records when it revokes: the entry and, for people, whose certificate it was.
struct RevocationRecord {
  RevokedCertificate revoked;
  std::string subject;  // RFC 2253, e.g. "CN=kb,OU=site,O=Example"
};

// The revocation record of `certificate_pem` at `now`. Refuses (InvalidArgument) malformed PEM,
// the CA certificate itself, and a certificate that the CA of `ca_certificate_pem` did not sign
// (a CRL can only revoke its own CA's certificates). Expired certificates may be revoked.
absl::StatusOr<RevocationRecord> RevocationRecordFor(absl::string_view certificate_pem,
                                                     absl::string_view ca_certificate_pem,
                                                     RevocationReason reason, absl::Time now);

struct CrlOptions {
  int valid_days = 7;  // nextUpdate = thisUpdate + valid_days (1..366)
  // Shifts thisUpdate (and so nextUpdate) from the current time; tests make expired CRLs.
  int64_t this_update_offset_s = 0;
  uint64_t crl_number = 1;  // must grow with every CRL the CA publishes
};

// A CRL listing `revoked`, signed by `ca` (whose certificate must be valid now). The entries
// are sorted by serial; a serial that is not hex is InvalidArgument.
absl::StatusOr<std::string> CreateCrl(const CertificateAndKey& ca,
                                      const std::vector<RevokedCertificate>& revoked,
                                      const CrlOptions& options);

// A CRL whose signature has been checked against the CA.
class RevocationList {
 public:
  // Parses `crl_pem` and checks that the CA of `ca_certificate_pem` issued and signed it.
  // InvalidArgument for malformed PEM, a CRL without nextUpdate or with an unreadable entry;
  // Unauthenticated for a CRL of another issuer or whose signature does not verify.
  static absl::StatusOr<RevocationList> Parse(absl::string_view crl_pem,
                                              absl::string_view ca_certificate_pem);

  absl::Time this_update() const { return this_update_; }
  absl::Time next_update() const { return next_update_; }
  uint64_t crl_number() const { return crl_number_; }  // 0 when absent
  // A CRL past its nextUpdate is stale: newer revocations may be missing from it.
  bool IsExpiredAt(absl::Time now) const { return now > next_update_; }
  const std::map<std::string, RevokedCertificate>& entries() const { return entries_; }
  // The entry for `serial_hex`, or null.
  const RevokedCertificate* Find(absl::string_view serial_hex) const;

  // OK when the first certificate in `certificate_pem` is not on this list; otherwise
  // Unauthenticated "certificate serial <hex> (<subject>) is revoked (<reason>, since <date>;
  // CRL <number>)". InvalidArgument for malformed PEM. Messages never carry key material.
  absl::Status CheckCertificate(absl::string_view certificate_pem) const;

 private:
  absl::Time this_update_;
  absl::Time next_update_;
  uint64_t crl_number_ = 0;
  std::map<std::string, RevokedCertificate> entries_;
};

}  // namespace scancov::sites

#endif  // SCANCOV_SITES_PKI_REVOCATION_H_
