#include "privacy/secagg/key_signature.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include "absl/strings/str_cat.h"
#include "privacy/secagg/openssl_util.h"
#include "privacy/secagg/wire.h"

namespace scancov::privacy::secagg {
namespace {

using internal::OpenSslError;

const unsigned char* Bytes(absl::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

absl::StatusOr<internal::X509Ptr> ParseCertificate(absl::string_view pem) {
  internal::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  internal::X509Ptr cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (cert == nullptr) {
    return OpenSslError("advert signature: certificate PEM does not parse",
                        absl::StatusCode::kInvalidArgument);
  }
  return cert;
}

absl::Status CheckKeyType(EVP_PKEY* key, absl::string_view what) {
  const int type = EVP_PKEY_get_base_id(key);
  if (type != EVP_PKEY_EC && type != EVP_PKEY_RSA) {
    return absl::InvalidArgumentError(
        absl::StrCat("advert signature: ", what, " is neither EC nor RSA"));
  }
  return absl::OkStatus();
}

}  // namespace

std::string AdvertPayload(absl::string_view study_id, uint64_t round, absl::string_view site_id,
                          const Bytes32& c_public, const Bytes32& s_public) {
  WireWriter w;
  w.Bytes("scancov-secagg-advert-v1");
  w.Bytes(study_id);
  w.U64(round);
  w.Bytes(site_id);
  w.Bytes(absl::MakeConstSpan(c_public));
  w.Bytes(absl::MakeConstSpan(s_public));
  return w.Take();
}

absl::StatusOr<std::string> SignPayload(absl::string_view private_key_pem,
                                        absl::string_view payload) {
  internal::BioPtr bio(
      BIO_new_mem_buf(private_key_pem.data(), static_cast<int>(private_key_pem.size())));
  internal::EvpPkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)
                               : nullptr);
  if (key == nullptr) {
    return OpenSslError("advert signature: private key PEM does not parse",
                        absl::StatusCode::kInvalidArgument);
  }
  if (absl::Status s = CheckKeyType(key.get(), "private key"); !s.ok()) return s;
  internal::EvpMdCtxPtr md(EVP_MD_CTX_new());
  size_t size = 0;
  if (md == nullptr ||
      EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
      EVP_DigestSign(md.get(), nullptr, &size, Bytes(payload), payload.size()) != 1) {
    return OpenSslError("advert signature: sign");
  }
  std::string signature(size, '\0');
  if (EVP_DigestSign(md.get(), reinterpret_cast<unsigned char*>(signature.data()), &size,
                     Bytes(payload), payload.size()) != 1) {
    return OpenSslError("advert signature: sign");
  }
  signature.resize(size);
  return signature;
}

absl::StatusOr<std::string> CertificateCommonName(absl::string_view certificate_pem) {
  absl::StatusOr<internal::X509Ptr> cert = ParseCertificate(certificate_pem);
  if (!cert.ok()) return cert.status();
  X509_NAME* subject = X509_get_subject_name(cert->get());
  const int at = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (at < 0 || X509_NAME_get_index_by_NID(subject, NID_commonName, at) >= 0) {
    return absl::InvalidArgumentError("advert signature: certificate needs exactly one CN");
  }
  unsigned char* utf8 = nullptr;
  const int len =
      ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at)));
  if (len < 0) return OpenSslError("advert signature: certificate CN");
  std::string cn(reinterpret_cast<char*>(utf8), len);
  OPENSSL_free(utf8);
  return cn;
}

absl::Status VerifyPayload(absl::string_view certificate_pem, absl::string_view site_id,
                           absl::string_view payload, absl::string_view signature) {
  absl::StatusOr<std::string> cn = CertificateCommonName(certificate_pem);
  if (!cn.ok()) return cn.status();
  if (*cn != site_id) {
    return absl::PermissionDeniedError(
        absl::StrCat("advert signature: the certificate of '", site_id, "' has CN '", *cn, "'"));
  }
  absl::StatusOr<internal::X509Ptr> cert = ParseCertificate(certificate_pem);
  if (!cert.ok()) return cert.status();
  EVP_PKEY* key = X509_get0_pubkey(cert->get());
  if (key == nullptr) return OpenSslError("advert signature: certificate public key");
  if (absl::Status s = CheckKeyType(key, "certificate key"); !s.ok()) return s;
  internal::EvpMdCtxPtr md(EVP_MD_CTX_new());
  if (md == nullptr || EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha256(), nullptr, key) != 1) {
    return OpenSslError("advert signature: verify init");
  }
  if (EVP_DigestVerify(md.get(), Bytes(signature), signature.size(), Bytes(payload),
                       payload.size()) != 1) {
    ERR_clear_error();
    return absl::PermissionDeniedError(absl::StrCat("advert signature: the keys advertised for '",
                                                    site_id,
                                                    "' are not signed by its certificate's key"));
  }
  return absl::OkStatus();
}

}  // namespace scancov::privacy::secagg
