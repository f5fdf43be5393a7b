// The certificate checks of `scancov-node check` (node/preflight.h): chain, key, dates, name.
// Each reads the files itself, so that each line stands on its own.
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/file_util.h"
#include "core/openssl_util.h"
#include "node/preflight.h"
#include "sites/pki/certificate_authority.h"

namespace scancov::node {
namespace {

using X509StorePtr = openssl::OpenSslPtr<X509_STORE, X509_STORE_free>;
using X509StoreCtxPtr = openssl::OpenSslPtr<X509_STORE_CTX, X509_STORE_CTX_free>;
inline void X509StackFree(STACK_OF(X509) * s) { sk_X509_pop_free(s, X509_free); }
using X509StackPtr = openssl::OpenSslPtr<STACK_OF(X509), X509StackFree>;

CheckResult Fail(std::string check, std::string detail) {
  return {std::move(check), CheckStatus::kFail, std::move(detail)};
}

// The file's text, or a FAIL naming the site file's field and the path.
std::optional<std::string> Read(const std::string& path, absl::string_view field,
                                const std::string& check, CheckResult* failed) {
  absl::StatusOr<std::string> text = ReadFileToString(path);
  if (!text.ok()) {
    *failed = Fail(check,
                   absl::StrCat("cannot read ", field, " (", path, "): ", text.status().message()));
    return std::nullopt;
  }
  return *text;
}

// Every certificate in `pem`, in order.
std::vector<openssl::X509Ptr> ParseCertificates(const std::string& pem) {
  std::vector<openssl::X509Ptr> out;
  openssl::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  while (X509* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) out.emplace_back(c);
  openssl::ClearOpenSslErrors();  // the end of the data
  return out;
}

std::string Date(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M UTC", t, absl::UTCTimeZone());
}

int64_t Days(absl::Duration d) { return absl::ToInt64Hours(d) / 24; }

std::string Subject(const std::string& pem) {
  absl::StatusOr<sites::CertificateInfo> info = sites::DescribeCertificate(pem);
  return info.ok() ? info->subject : "(unreadable)";
}

}  // namespace

CheckResult CheckCertificateChain(const sites::SiteConfig& config) {
  const std::string check = "certificate-chain";
  CheckResult failed;
  std::optional<std::string> ca_pem = Read(config.ca_cert, "tls.ca", check, &failed);
  if (!ca_pem) return failed;
  std::optional<std::string> cert_pem = Read(config.cert, "tls.cert", check, &failed);
  if (!cert_pem) return failed;
  std::vector<openssl::X509Ptr> cas = ParseCertificates(*ca_pem);
  std::vector<openssl::X509Ptr> chain = ParseCertificates(*cert_pem);
  if (cas.empty())
    return Fail(check, absl::StrCat(config.ca_cert, " (tls.ca) holds no PEM certificate"));
  if (chain.empty()) {
    return Fail(check, absl::StrCat(config.cert, " (tls.cert) holds no PEM certificate"));
  }
  X509StorePtr store(X509_STORE_new());
  for (const openssl::X509Ptr& ca : cas) X509_STORE_add_cert(store.get(), ca.get());
  X509StackPtr untrusted(sk_X509_new_null());
  for (size_t i = 1; i < chain.size(); ++i) {
    X509_up_ref(chain[i].get());
    sk_X509_push(untrusted.get(), chain[i].get());
  }
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (ctx == nullptr ||
      X509_STORE_CTX_init(ctx.get(), store.get(), chain[0].get(), untrusted.get()) != 1) {
    return Fail(check, std::string(openssl::OpenSslError("verify context").message()));
  }
  // Dates are the validity check's line; this one is about who signed it and for what.
  X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(ctx.get()), X509_V_FLAG_NO_CHECK_TIME);
  X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_CLIENT);
  if (X509_verify_cert(ctx.get()) != 1) {
    const int error = X509_STORE_CTX_get_error(ctx.get());
    openssl::ClearOpenSslErrors();
    return Fail(check, absl::StrCat(config.cert, " (", Subject(*cert_pem),
                                    ") does not verify against the CA in ", config.ca_cert, ": ",
                                    X509_verify_cert_error_string(error),
                                    "; the site file needs the consortium's ca.crt and the "
                                    "certificate that CA signed for this site"));
  }
  return {check, CheckStatus::kOk,
          absl::StrCat(config.cert, " is signed by the CA in ", config.ca_cert, " (",
                       Subject(*ca_pem), ")")};
}

CheckResult CheckKeyMatchesCertificate(const sites::SiteConfig& config) {
  const std::string check = "key-match";
  CheckResult failed;
  std::optional<std::string> cert_pem = Read(config.cert, "tls.cert", check, &failed);
  if (!cert_pem) return failed;
  std::optional<std::string> key_pem = Read(config.key, "tls.key", check, &failed);
  if (!key_pem) return failed;
  std::vector<openssl::X509Ptr> chain = ParseCertificates(*cert_pem);
  if (chain.empty()) {
    return Fail(check, absl::StrCat(config.cert, " (tls.cert) holds no PEM certificate"));
  }
  openssl::BioPtr bio(BIO_new_mem_buf(key_pem->data(), static_cast<int>(key_pem->size())));
  openssl::EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  openssl::ClearOpenSslErrors();
  if (key == nullptr) {
    return Fail(check, absl::StrCat(config.key, " (tls.key) holds no unencrypted PEM private key"));
  }
  if (X509_check_private_key(chain[0].get(), key.get()) != 1) {
    openssl::ClearOpenSslErrors();
    return Fail(check, absl::StrCat("the key ", config.key, " does not belong to the certificate ",
                                    config.cert,
                                    "; tls.key must be the key whose request the CA signed "
                                    "into tls.cert"));
  }
  return {check, CheckStatus::kOk, absl::StrCat(config.key, " is the key of ", config.cert)};
}

CheckResult CheckCertificateValidity(const sites::SiteConfig& config, absl::Time now,
                                     absl::Duration warn_within) {
  const std::string check = "certificate-dates";
  CheckResult failed;
  std::optional<std::string> cert_pem = Read(config.cert, "tls.cert", check, &failed);
  if (!cert_pem) return failed;
  absl::StatusOr<sites::CertificateInfo> info = sites::DescribeCertificate(*cert_pem);
  if (!info.ok()) return Fail(check, absl::StrCat(config.cert, ": ", info.status().message()));
  if (now < info->not_before) {
    return Fail(check,
                absl::StrFormat("%s is not valid yet: valid from %s (in %d days) by this "
                                "machine's clock; check the clock, or wait",
                                config.cert, Date(info->not_before), Days(info->not_before - now)));
  }
  if (now >= info->not_after) {
    return Fail(check, absl::StrFormat("%s expired on %s; ask the consortium's CA for a new "
                                       "certificate (scancov-pki request, then sign)",
                                       config.cert, Date(info->not_after)));
  }
  const int64_t days = Days(info->not_after - now);
  if (info->not_after - now < warn_within) {
    return {check, CheckStatus::kWarn,
            absl::StrFormat("%s expires on %s (in %d days); renew it before then (scancov-pki "
                            "request, then sign)",
                            config.cert, Date(info->not_after), days)};
  }
  return {check, CheckStatus::kOk,
          absl::StrFormat("valid until %s (%d days)", Date(info->not_after), days)};
}

CheckResult CheckCertificateIdentity(const sites::SiteConfig& config) {
  const std::string check = "certificate-name";
  CheckResult failed;
  std::optional<std::string> cert_pem = Read(config.cert, "tls.cert", check, &failed);
  if (!cert_pem) return failed;
  absl::StatusOr<sites::CertificateInfo> info = sites::DescribeCertificate(*cert_pem);
  if (!info.ok()) return Fail(check, absl::StrCat(config.cert, ": ", info.status().message()));
  if (!info->identity.ok()) {
    return Fail(
        check, absl::StrCat(config.cert, " (", info->subject,
                            ") names no consortium identity: ", info->identity.status().message()));
  }
  if (info->identity->id != config.site_id) {
    return Fail(check, absl::StrCat("the certificate's CN is '", info->identity->id,
                                    "' but the site file's site_id is '", config.site_id,
                                    "'; use the certificate issued for '", config.site_id,
                                    "' or correct site_id"));
  }
  if (info->identity->role != sites::Role::kSite) {
    return Fail(check, absl::StrCat(config.cert, " is a ", sites::RoleName(info->identity->role),
                                    " certificate; a node needs a site certificate (OU=site)"));
  }
  return {check, CheckStatus::kOk,
          absl::StrCat("CN '", info->identity->id, "' (site) equals site_id")};
}

}  // namespace scancov::node
