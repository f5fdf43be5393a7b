#include "aggregator/server/work_meter.h"

#include <openssl/rand.h>

#include <cstring>

#include "absl/strings/string_view.h"
#include "core/sha256.h"

namespace scancov::aggregator {

WorkMeter::WorkMeter() {
  // Without the salt a site could read the byte count back from the token (by trying counts);
  // should the CSPRNG fail, the salt stays zero and the token only hides less.
  if (RAND_bytes(salt_.data(), static_cast<int>(salt_.size())) != 1) salt_.fill(0);
}

std::string WorkMeter::Token() const {
  const uint64_t bytes = bytes_.load(std::memory_order_relaxed);
  unsigned char message[sizeof(salt_) + sizeof(bytes)];
  std::memcpy(message, salt_.data(), salt_.size());
  std::memcpy(message + salt_.size(), &bytes, sizeof(bytes));
  return Sha256Digest(absl::string_view(reinterpret_cast<const char*>(message), sizeof(message)))
      .substr(0, 8);
}

}  // namespace scancov::aggregator
