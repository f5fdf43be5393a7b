#include "privacy/secagg/key_agreement.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>

#include <algorithm>

#include "privacy/secagg/openssl_util.h"
#include "privacy/secagg/wire.h"

namespace scancov::privacy::secagg {
namespace {

using internal::OpenSslError;

constexpr char kSalt[] = "scancov-secagg-v1";

absl::StatusOr<Bytes32> RawX25519(const Bytes32& my_private, const Bytes32& peer_public) {
  internal::EvpPkeyPtr mine(
      EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, my_private.data(), my_private.size()));
  internal::EvpPkeyPtr peer(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr,
                                                        peer_public.data(), peer_public.size()));
  if (mine == nullptr || peer == nullptr) return OpenSslError("X25519: loading keys");
  internal::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(mine.get(), nullptr));
  Bytes32 shared;
  size_t len = shared.size();
  if (ctx == nullptr || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) != 1 ||
      EVP_PKEY_derive(ctx.get(), shared.data(), &len) != 1 || len != shared.size()) {
    // OpenSSL refuses an all-zero result itself: a small-order peer key.
    return OpenSslError("X25519: agreement failed (invalid peer public key?)",
                        absl::StatusCode::kInvalidArgument);
  }
  return shared;
}

absl::StatusOr<Bytes32> HkdfSha256(const Bytes32& secret, absl::string_view info) {
  internal::EvpKdfPtr kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  if (kdf == nullptr) return OpenSslError("HKDF: fetch");
  internal::EvpKdfCtxPtr ctx(EVP_KDF_CTX_new(kdf.get()));
  if (ctx == nullptr) return OpenSslError("HKDF: context");
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<uint8_t*>(secret.data()),
                                        secret.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<char*>(kSalt),
                                        sizeof kSalt - 1),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(info.data()),
                                        info.size()),
      OSSL_PARAM_construct_end()};
  Bytes32 out;
  if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) != 1) {
    return OpenSslError("HKDF: derive");
  }
  return out;
}

}  // namespace

absl::StatusOr<X25519KeyPair> X25519KeyPair::Generate(SecureRandom& random) {
  Bytes32 private_key;
  absl::Status filled = random.Fill(absl::MakeSpan(private_key));
  if (!filled.ok()) return filled;
  absl::StatusOr<X25519KeyPair> pair = FromPrivateKey(private_key);
  OPENSSL_cleanse(private_key.data(), private_key.size());
  return pair;
}

absl::StatusOr<X25519KeyPair> X25519KeyPair::FromPrivateKey(const Bytes32& private_key) {
  internal::EvpPkeyPtr key(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr,
                                                        private_key.data(), private_key.size()));
  Bytes32 public_key;
  size_t len = public_key.size();
  if (key == nullptr || EVP_PKEY_get_raw_public_key(key.get(), public_key.data(), &len) != 1 ||
      len != public_key.size()) {
    return OpenSslError("X25519: key pair from private key");
  }
  return X25519KeyPair(private_key, public_key);
}

std::string KdfInfo(KeyPurpose purpose, absl::string_view study_id, uint64_t round,
                    absl::string_view a, absl::string_view b) {
  if (b < a) std::swap(a, b);
  WireWriter w;
  w.Bytes(purpose == KeyPurpose::kShareEncryption ? "share-encryption" : "pairwise-mask");
  w.Bytes(study_id);
  w.U64(round);
  w.Bytes(a);
  w.Bytes(b);
  return w.Take();
}

absl::StatusOr<Bytes32> AgreeAndDerive(const Bytes32& my_private, const Bytes32& peer_public,
                                       absl::string_view info) {
  absl::StatusOr<Bytes32> shared = RawX25519(my_private, peer_public);
  if (!shared.ok()) return shared.status();
  absl::StatusOr<Bytes32> key = HkdfSha256(*shared, info);
  OPENSSL_cleanse(shared->data(), shared->size());
  return key;
}

}  // namespace scancov::privacy::secagg
