#include "privacy/secagg/shamir.h"

#include <openssl/crypto.h>

#include <bitset>

#include "absl/strings/str_cat.h"

namespace scancov::privacy::secagg {
namespace {

// Carry-less multiplication reduced by x^8 + x^4 + x^3 + x + 1, with masks instead of
// branches so that the time does not depend on the operands.
uint8_t Mul(uint8_t a, uint8_t b) {
  uint8_t product = 0;
  for (int i = 0; i < 8; ++i) {
    product ^= static_cast<uint8_t>(-(b & 1) & a);
    const uint8_t carry = static_cast<uint8_t>(-(a >> 7));
    a = static_cast<uint8_t>((a << 1) ^ (carry & 0x1b));
    b >>= 1;
  }
  return product;
}

// a^254 = a^-1 for a != 0 (the multiplicative group has order 255).
uint8_t Inverse(uint8_t a) {
  uint8_t result = 1;
  uint8_t power = a;
  for (int bit = 0; bit < 8; ++bit) {
    const uint8_t factor = Mul(result, power);
    const uint8_t take = static_cast<uint8_t>(-((254 >> bit) & 1));
    result = static_cast<uint8_t>((factor & take) | (result & ~take));
    power = Mul(power, power);
  }
  return result;
}

absl::Status CheckIndices(absl::Span<const uint8_t> indices, const char* where) {
  std::bitset<256> seen;
  for (uint8_t x : indices) {
    if (x == 0) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": share index 0 is invalid"));
    }
    if (seen[x]) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": share index ", static_cast<int>(x), " appears twice"));
    }
    seen[x] = true;
  }
  return absl::OkStatus();
}

absl::Status CheckShares(absl::Span<const ShamirShare> shares, int threshold, const char* where) {
  if (threshold < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": threshold ", threshold, " is below 2"));
  }
  if (shares.size() < static_cast<size_t>(threshold)) {
    return absl::FailedPreconditionError(
        absl::StrCat(where, ": ", shares.size(), " shares, ", threshold, " needed"));
  }
  std::vector<uint8_t> xs;
  for (const ShamirShare& s : shares) xs.push_back(s.index);
  return CheckIndices(xs, where);
}

// The polynomial through `points` (distinct non-zero indices), evaluated at x: Lagrange basis
// l_i(x) = prod_{j != i} (x - x_j) / (x_i - x_j); subtraction is XOR.
Bytes32 Interpolate(absl::Span<const ShamirShare> points, uint8_t x) {
  Bytes32 out{};
  for (size_t i = 0; i < points.size(); ++i) {
    uint8_t numerator = 1, denominator = 1;
    for (size_t j = 0; j < points.size(); ++j) {
      if (j == i) continue;
      numerator = Mul(numerator, static_cast<uint8_t>(x ^ points[j].index));
      denominator = Mul(denominator, static_cast<uint8_t>(points[i].index ^ points[j].index));
    }
    const uint8_t basis = Mul(numerator, Inverse(denominator));
    for (size_t b = 0; b < out.size(); ++b) out[b] ^= Mul(basis, points[i].value[b]);
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<ShamirShare>> ShamirSplit(const Bytes32& secret, int threshold,
                                                     absl::Span<const uint8_t> indices,
                                                     SecureRandom& random) {
  if (threshold < 2 || static_cast<size_t>(threshold) > indices.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("shamir split: threshold ", threshold, " not in [2, ", indices.size(), "]"));
  }
  if (absl::Status s = CheckIndices(indices, "shamir split"); !s.ok()) return s;
  // coefficients[k][j]: the x^(k+1) coefficient of byte j's polynomial.
  std::vector<Bytes32> coefficients(threshold - 1);
  for (Bytes32& c : coefficients) {
    if (absl::Status s = random.Fill(absl::MakeSpan(c)); !s.ok()) return s;
  }
  std::vector<ShamirShare> shares;
  shares.reserve(indices.size());
  for (uint8_t x : indices) {
    ShamirShare share{x, {}};
    for (size_t j = 0; j < secret.size(); ++j) {
      uint8_t y = 0;  // Horner, highest coefficient first
      for (int k = threshold - 2; k >= 0; --k)
        y = Mul(static_cast<uint8_t>(y ^ coefficients[k][j]), x);
      share.value[j] = y ^ secret[j];
    }
    shares.push_back(share);
  }
  for (Bytes32& c : coefficients) OPENSSL_cleanse(c.data(), c.size());
  return shares;
}

absl::StatusOr<Bytes32> ShamirReconstruct(absl::Span<const ShamirShare> shares, int threshold) {
  if (absl::Status s = CheckShares(shares, threshold, "shamir reconstruct"); !s.ok()) return s;
  return Interpolate(shares.subspan(0, threshold), 0);
}

absl::Status ShamirCheckConsistent(absl::Span<const ShamirShare> shares, int threshold) {
  if (absl::Status s = CheckShares(shares, threshold, "shamir check"); !s.ok()) return s;
  for (size_t j = threshold; j < shares.size(); ++j) {
    if (Interpolate(shares.subspan(0, threshold), shares[j].index) != shares[j].value) {
      return absl::DataLossError(
          absl::StrCat("shamir check: share ", static_cast<int>(shares[j].index),
                       " disagrees with the first ", threshold, " (a wrong share)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace scancov::privacy::secagg
