// Pseudonymisation of patient identifiers at import.
//
// A patient identifier (MRN, DICOM PatientID, a CSV id) is replaced by
// HMAC-SHA256(site secret, "scancov-patient-v1\0" + identifier), hex-encoded and truncated to
// 32 characters (128 bits). Without the site secret the mapping cannot be recomputed or
// inverted, so a pseudonym that leaves the site identifies no one outside it; inside the site the
// same identifier always gives the same pseudonym, so CT series and admission rows join.
//
// The secret is 32 random bytes in a file readable only by the node's user (mode 0600),
// created on first use. Thread-safe after construction.
#ifndef SCANCOV_PRIVACY_PSEUDONYMIZER_H_
#define SCANCOV_PRIVACY_PSEUDONYMIZER_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace scancov::privacy {

class Pseudonymizer {
 public:
  // Loads the secret from `secret_path`, creating it (0600, from the OS CSPRNG) if absent.
  // Refuses a secret file that is shorter than 32 bytes or readable by group/others.
  static absl::StatusOr<Pseudonymizer> FromSecretFile(const std::string& secret_path);
  // For tests: a fixed secret.
  static Pseudonymizer FromSecret(std::string secret) { return Pseudonymizer(std::move(secret)); }

  // The pseudonym of an identifier. Leading/trailing whitespace is ignored so "123 " == "123".
  std::string Pseudonym(absl::string_view identifier) const;

  // The site's key for splitting its patients (train/holdout, validation): derived from the
  // secret, so fixed per site and unknown outside it (node/gate.h).
  uint64_t SplitKey() const;

 private:
  explicit Pseudonymizer(std::string secret) : secret_(std::move(secret)) {}
  std::string secret_;
};

}  // namespace scancov::privacy

#endif  // SCANCOV_PRIVACY_PSEUDONYMIZER_H_
