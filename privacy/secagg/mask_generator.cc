#include "privacy/secagg/mask_generator.h"

#include <cstring>

#include "privacy/secagg/openssl_util.h"

namespace scancov::privacy::secagg {
namespace {

// 16 KiB of keystream per EVP call: large enough to amortise the call, small enough for L1.
constexpr size_t kBlockElements = 2048;

inline uint64_t FromLittleEndian(uint64_t v) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  return __builtin_bswap64(v);
#else
  return v;
#endif
}

template <MaskSign kSign>
void Accumulate(const uint64_t* block, size_t n, uint64_t* acc) {
  for (size_t i = 0; i < n; ++i) {
    const uint64_t m = FromLittleEndian(block[i]);
    // Unsigned arithmetic wraps: exactly the ring Z_2^64.
    acc[i] = kSign == MaskSign::kAdd ? acc[i] + m : acc[i] - m;
  }
}

}  // namespace

absl::Status ApplyMask(const Bytes32& seed, MaskSign sign, absl::Span<uint64_t> acc) {
  internal::EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  const unsigned char iv[16] = {0};
  if (ctx == nullptr ||
      EVP_EncryptInit_ex(ctx.get(), EVP_chacha20(), nullptr, seed.data(), iv) != 1) {
    return internal::OpenSslError("mask generator: ChaCha20 init");
  }
  uint64_t block[kBlockElements];
  for (size_t start = 0; start < acc.size(); start += kBlockElements) {
    const size_t n = std::min(kBlockElements, acc.size() - start);
    auto* bytes = reinterpret_cast<unsigned char*>(block);
    std::memset(bytes, 0, n * 8);
    int len = 0;
    if (EVP_EncryptUpdate(ctx.get(), bytes, &len, bytes, static_cast<int>(n * 8)) != 1) {
      return internal::OpenSslError("mask generator: ChaCha20 keystream");
    }
    if (sign == MaskSign::kAdd) {
      Accumulate<MaskSign::kAdd>(block, n, acc.data() + start);
    } else {
      Accumulate<MaskSign::kSubtract>(block, n, acc.data() + start);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<uint64_t>> ExpandMask(const Bytes32& seed, size_t length) {
  std::vector<uint64_t> out(length, 0);
  absl::Status s = ApplyMask(seed, MaskSign::kAdd, absl::MakeSpan(out));
  if (!s.ok()) return s;
  return out;
}

}  // namespace scancov::privacy::secagg
