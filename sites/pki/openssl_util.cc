#include "sites/pki/openssl_util.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <climits>
#include <string>

namespace scancov::sites::internal {
namespace {

absl::StatusOr<BioPtr> ReadOnlyBio(absl::string_view data, absl::string_view what) {
  if (data.size() > static_cast<size_t>(INT_MAX)) {
    return absl::InvalidArgumentError(std::string(what) + ": PEM input too large");
  }
  BioPtr bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
  if (bio == nullptr) return OpenSslError(std::string(what) + ": allocating a BIO");
  return bio;
}

absl::StatusOr<std::string> BioContents(BIO* bio, absl::string_view what) {
  BUF_MEM* mem = nullptr;
  BIO_get_mem_ptr(bio, &mem);
  if (mem == nullptr) return OpenSslError(what);
  return std::string(mem->data, mem->length);
}

}  // namespace

absl::StatusOr<X509Ptr> ParseCertificatePem(absl::string_view pem, absl::string_view what) {
  ClearOpenSslErrors();
  auto bio = ReadOnlyBio(pem, what);
  if (!bio.ok()) return bio.status();
  X509Ptr cert(PEM_read_bio_X509(bio->get(), nullptr, nullptr, nullptr));
  if (cert == nullptr) {
    return OpenSslError(std::string(what) + ": not a PEM certificate",
                        absl::StatusCode::kInvalidArgument);
  }
  return cert;
}

absl::StatusOr<EvpPkeyPtr> ParsePrivateKeyPem(absl::string_view pem, absl::string_view what) {
  ClearOpenSslErrors();
  auto bio = ReadOnlyBio(pem, what);
  if (!bio.ok()) return bio.status();
  // An empty passphrase callback result: encrypted keys fail instead of prompting on a tty.
  static constexpr auto kNoPassphrase = [](char*, int, int, void*) { return 0; };
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio->get(), nullptr, kNoPassphrase, nullptr));
  if (key == nullptr) {
    return OpenSslError(std::string(what) + ": not an unencrypted PEM private key",
                        absl::StatusCode::kInvalidArgument);
  }
  return key;
}

absl::StatusOr<std::string> CertificateToPem(X509* cert) {
  ClearOpenSslErrors();
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_X509(bio.get(), cert) != 1) {
    return OpenSslError("encoding certificate as PEM");
  }
  return BioContents(bio.get(), "encoding certificate as PEM");
}

absl::StatusOr<X509ReqPtr> ParseRequestPem(absl::string_view pem, absl::string_view what) {
  ClearOpenSslErrors();
  auto bio = ReadOnlyBio(pem, what);
  if (!bio.ok()) return bio.status();
  X509ReqPtr request(PEM_read_bio_X509_REQ(bio->get(), nullptr, nullptr, nullptr));
  if (request == nullptr) {
    return OpenSslError(std::string(what) + ": not a PEM certificate request",
                        absl::StatusCode::kInvalidArgument);
  }
  return request;
}

absl::StatusOr<std::string> RequestToPem(X509_REQ* request) {
  ClearOpenSslErrors();
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_X509_REQ(bio.get(), request) != 1) {
    return OpenSslError("encoding certificate request as PEM");
  }
  return BioContents(bio.get(), "encoding certificate request as PEM");
}

absl::StatusOr<X509CrlPtr> ParseCrlPem(absl::string_view pem, absl::string_view what) {
  ClearOpenSslErrors();
  auto bio = ReadOnlyBio(pem, what);
  if (!bio.ok()) return bio.status();
  X509CrlPtr crl(PEM_read_bio_X509_CRL(bio->get(), nullptr, nullptr, nullptr));
  if (crl == nullptr) {
    return OpenSslError(std::string(what) + ": not a PEM certificate revocation list",
                        absl::StatusCode::kInvalidArgument);
  }
  return crl;
}

absl::StatusOr<std::string> CrlToPem(X509_CRL* crl) {
  ClearOpenSslErrors();
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_X509_CRL(bio.get(), crl) != 1) {
    return OpenSslError("encoding CRL as PEM");
  }
  return BioContents(bio.get(), "encoding CRL as PEM");
}

absl::StatusOr<std::string> PrivateKeyToPem(EVP_PKEY* key) {
  ClearOpenSslErrors();
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return OpenSslError("encoding private key as PEM");
  }
  return BioContents(bio.get(), "encoding private key as PEM");
}

}  // namespace scancov::sites::internal
