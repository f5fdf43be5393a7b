#include "privacy/secagg/secure_random.h"

#include <openssl/rand.h>

#include <cstring>

#include "privacy/secagg/openssl_util.h"

namespace scancov::privacy::secagg {
namespace {

class SystemRandom : public SecureRandom {
 public:
  absl::Status Fill(absl::Span<uint8_t> out) override {
    if (out.empty()) return absl::OkStatus();
    if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) {
      return internal::OpenSslError("SecureRandom: RAND_bytes");
    }
    return absl::OkStatus();
  }
};

}  // namespace

SecureRandom& SecureRandom::System() {
  static SystemRandom* const system = new SystemRandom();
  return *system;
}

struct DeterministicRandom::Impl {
  internal::EvpCipherCtxPtr ctx{EVP_CIPHER_CTX_new()};
};

DeterministicRandom::DeterministicRandom(uint64_t seed) : impl_(std::make_unique<Impl>()) {
  unsigned char key[32] = {0};
  for (int i = 0; i < 8; ++i) key[i] = static_cast<unsigned char>(seed >> (8 * i));
  const unsigned char iv[16] = {0};
  // A failure leaves ctx uninitialised; Fill then reports it.
  if (impl_->ctx != nullptr) EVP_EncryptInit_ex(impl_->ctx.get(), EVP_chacha20(), nullptr, key, iv);
}

DeterministicRandom::~DeterministicRandom() = default;

absl::Status DeterministicRandom::Fill(absl::Span<uint8_t> out) {
  std::memset(out.data(), 0, out.size());
  int len = 0;
  if (impl_->ctx == nullptr || EVP_EncryptUpdate(impl_->ctx.get(), out.data(), &len, out.data(),
                                                 static_cast<int>(out.size())) != 1) {
    return internal::OpenSslError("DeterministicRandom: ChaCha20");
  }
  return absl::OkStatus();
}

}  // namespace scancov::privacy::secagg
