// SHA-256 and HMAC-SHA256 over byte strings (OpenSSL EVP).
#ifndef SCANCOV_CORE_SHA256_H_
#define SCANCOV_CORE_SHA256_H_

#include <memory>
#include <string>
#include "absl/strings/string_view.h"

namespace scancov {

// Incremental SHA-256. Not thread-safe; cheap to create.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(absl::string_view bytes);
  void Update(const void* data, size_t size);
  // Returns the 32-byte digest. The hasher must not be used afterwards.
  std::string Finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One-shot digest (32 raw bytes).
std::string Sha256Digest(absl::string_view bytes);
// Lower-case hex of raw bytes.
std::string ToHex(absl::string_view raw);
// HMAC-SHA256(key, message), 32 raw bytes.
std::string HmacSha256(absl::string_view key, absl::string_view message);

}  // namespace scancov

#endif  // SCANCOV_CORE_SHA256_H_
