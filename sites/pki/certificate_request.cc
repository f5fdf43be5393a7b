#include "sites/pki/certificate_request.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "sites/pki/ca_signer.h"
#include "sites/pki/cert_builder.h"
#include "sites/pki/openssl_util.h"
#include "sites/pki/x509_fields.h"

namespace scancov::sites {
namespace {

using internal::AltName;
using internal::ExtensionsPtr;
using internal::GeneralNamesPtr;
using internal::X509ReqPtr;

constexpr int kMinRsaBits = 3072;

absl::Status AddRequestedAltNames(X509_REQ* request, const std::vector<AltName>& names) {
  SCV_ASSIGN_OR_RETURN(GeneralNamesPtr list, internal::BuildGeneralNames(names));
  internal::ClearOpenSslErrors();
  ExtensionsPtr extensions(sk_X509_EXTENSION_new_null());
  internal::X509ExtensionPtr san(X509V3_EXT_i2d(NID_subject_alt_name, /*crit=*/0, list.get()));
  if (extensions == nullptr || san == nullptr ||
      sk_X509_EXTENSION_push(extensions.get(), san.get()) == 0) {
    return internal::OpenSslError("certificate request: encoding subjectAltName");
  }
  san.release();  // now owned by `extensions`
  if (X509_REQ_add_extensions(request, extensions.get()) != 1) {
    return internal::OpenSslError("certificate request: adding subjectAltName");
  }
  return absl::OkStatus();
}

// The key types a consortium certificate may certify; returns e.g. "EC P-256".
absl::StatusOr<std::string> CheckKeyPolicy(EVP_PKEY* key) {
  constexpr absl::string_view kAccepted = "EC P-256 or P-384, or RSA of at least 3072 bits";
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_EC: {
      char group[80] = {0};
      size_t length = 0;
      if (EVP_PKEY_get_group_name(key, group, sizeof(group), &length) != 1) {
        return absl::InvalidArgumentError(
            absl::StrCat("key: an EC key without a named curve is not accepted (", kAccepted, ")"));
      }
      const std::string curve(group, length);
      if (curve == "prime256v1") return std::string("EC P-256");
      if (curve == "secp384r1") return std::string("EC P-384");
      return absl::InvalidArgumentError(absl::StrCat("key: EC curve ", absl::CHexEscape(curve),
                                                     " is not accepted (", kAccepted, ")"));
    }
    case EVP_PKEY_RSA: {
      const int bits = EVP_PKEY_get_bits(key);
      if (bits < kMinRsaBits) {
        return absl::InvalidArgumentError(
            absl::StrCat("key: RSA-", bits, " is too weak (", kAccepted, ")"));
      }
      return absl::StrCat("RSA-", bits);
    }
    default:
      return absl::InvalidArgumentError(absl::StrCat("key: type ",
                                                     OBJ_nid2sn(EVP_PKEY_get_base_id(key)),
                                                     " is not accepted (", kAccepted, ")"));
  }
}

// The subject must say exactly what the CA was asked to certify, and nothing else.
absl::Status CheckRequestSubject(const X509_NAME* subject, const PeerIdentity& identity,
                                 const std::string& consortium) {
  const std::string where = absl::StrCat("request subject '", internal::NameToString(subject), "'");
  for (int i = 0; i < X509_NAME_entry_count(subject); ++i) {
    const int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(X509_NAME_get_entry(subject, i)));
    if (nid != NID_commonName && nid != NID_organizationalUnitName && nid != NID_organizationName) {
      return absl::PermissionDeniedError(absl::StrCat(
          where, ": carries ", nid == NID_undef ? "an unknown attribute" : OBJ_nid2sn(nid),
          ", which the CA does not certify (only OU=role, CN=id and O=consortium)"));
    }
  }
  SCV_ASSIGN_OR_RETURN(std::vector<std::string> cn, internal::NameEntries(subject, NID_commonName));
  SCV_ASSIGN_OR_RETURN(std::vector<std::string> ou,
                       internal::NameEntries(subject, NID_organizationalUnitName));
  SCV_ASSIGN_OR_RETURN(std::vector<std::string> o,
                       internal::NameEntries(subject, NID_organizationName));
  if (cn.size() != 1 || cn.front() != identity.id) {
    return absl::PermissionDeniedError(
        absl::StrCat(where, ": CN disagrees with the id the CA was asked to certify ('",
                     identity.id, "'); the CA decides the id"));
  }
  if (ou.size() != 1 || ou.front() != RoleName(identity.role)) {
    return absl::PermissionDeniedError(
        absl::StrCat(where, ": OU disagrees with the role the CA was asked to certify ('",
                     RoleName(identity.role), "'); the CA decides the role"));
  }
  if (o.size() > 1 || (o.size() == 1 && o.front() != consortium)) {
    return absl::PermissionDeniedError(
        absl::StrCat(where, ": O is not this consortium ('", consortium, "')"));
  }
  return absl::OkStatus();
}

// The host names an aggregator's request asks for, after checking every SAN entry.
absl::StatusOr<std::vector<std::string>> RequestedHosts(X509_REQ* request,
                                                        const PeerIdentity& identity) {
  ExtensionsPtr extensions(X509_REQ_get_extensions(request));
  std::vector<std::string> hosts;
  int san_count = 0;
  for (int i = 0; extensions != nullptr && i < sk_X509_EXTENSION_num(extensions.get()); ++i) {
    X509_EXTENSION* extension = sk_X509_EXTENSION_value(extensions.get(), i);
    if (OBJ_obj2nid(X509_EXTENSION_get_object(extension)) != NID_subject_alt_name) continue;
    if (++san_count > 1) {
      return absl::InvalidArgumentError("request: more than one subjectAltName extension");
    }
    GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(extension)));
    if (names == nullptr) return absl::InvalidArgumentError("request: malformed subjectAltName");
    for (int j = 0; j < sk_GENERAL_NAME_num(names.get()); ++j) {
      const int type = sk_GENERAL_NAME_value(names.get(), j)->type;
      if (type != GEN_URI && type != GEN_DNS && type != GEN_IPADD) {
        return absl::InvalidArgumentError(
            "request: a subjectAltName entry that is neither a URI, a DNS name nor an IP address");
      }
    }
    for (const std::string& uri : internal::AltNameValues(names.get(), GEN_URI)) {
      if (uri != IdentityUri(identity)) {
        return absl::PermissionDeniedError(absl::StrCat(
            "request: SAN URI '", absl::CHexEscape(uri),
            "' is not the identity the CA was asked to certify ('", IdentityUri(identity), "')"));
      }
    }
    for (int type : {GEN_DNS, GEN_IPADD}) {
      for (std::string& host : internal::AltNameValues(names.get(), type)) {
        hosts.push_back(std::move(host));
      }
    }
  }
  if (!hosts.empty() && identity.role != Role::kAggregator) {
    return absl::PermissionDeniedError(
        absl::StrCat("request: asks for host names, which only aggregator certificates carry (",
                     ToString(identity), ")"));
  }
  return hosts;
}

absl::StatusOr<SignedRequest> SignChecked(const CertificateAndKey& ca,
                                          absl::string_view request_pem,
                                          const SignOptions& options) {
  const PeerIdentity identity{options.role, options.id};
  SCV_ASSIGN_OR_RETURN(internal::LoadedCa loaded, internal::LoadCa(ca));
  SCV_ASSIGN_OR_RETURN(X509ReqPtr request,
                       internal::ParseRequestPem(request_pem, "certificate request"));
  EVP_PKEY* key = X509_REQ_get0_pubkey(request.get());
  if (key == nullptr) return absl::InvalidArgumentError("request: no readable public key");
  internal::ClearOpenSslErrors();
  if (X509_REQ_verify(request.get(), key) != 1) {
    internal::ClearOpenSslErrors();
    return absl::InvalidArgumentError(
        "request: signature does not verify with the request's own key (altered, or not made "
        "by the key's holder)");
  }
  SCV_ASSIGN_OR_RETURN(std::string key_description, CheckKeyPolicy(key));
  SCV_RETURN_IF_ERROR(
      CheckRequestSubject(X509_REQ_get_subject_name(request.get()), identity, loaded.consortium));
  IssueOptions issue;
  issue.role = options.role;
  issue.id = options.id;
  issue.valid_days = options.valid_days;
  issue.not_before_offset_s = options.not_before_offset_s;
  SCV_ASSIGN_OR_RETURN(issue.hosts, RequestedHosts(request.get(), identity));
  SCV_ASSIGN_OR_RETURN(internal::X509Ptr cert, internal::SignLeafCertificate(loaded, issue, key));
  SignedRequest out;
  SCV_ASSIGN_OR_RETURN(out.certificate_pem, internal::CertificateToPem(cert.get()));
  out.key_description = std::move(key_description);
  return out;
}

}  // namespace

absl::StatusOr<RequestAndKey> CreateCertificateRequest(const RequestOptions& options) {
  IssueOptions check;
  check.role = options.role;
  check.id = options.id;
  check.hosts = options.hosts;
  SCV_RETURN_IF_ERROR(internal::CheckLeafOptions(check));
  const PeerIdentity identity{options.role, options.id};
  std::vector<AltName> names = {{AltName::Kind::kUri, IdentityUri(identity)}};
  if (options.role == Role::kAggregator) {
    SCV_ASSIGN_OR_RETURN(std::vector<AltName> hosts, internal::ServerAltNames(options.hosts));
    names.insert(names.end(), hosts.begin(), hosts.end());
  }
  SCV_ASSIGN_OR_RETURN(internal::EvpPkeyPtr key, internal::GenerateEcP256Key());
  SCV_ASSIGN_OR_RETURN(
      internal::X509NamePtr subject,
      internal::BuildName({{NID_organizationalUnitName, std::string(RoleName(options.role))},
                           {NID_commonName, options.id}}));
  internal::ClearOpenSslErrors();
  X509ReqPtr request(X509_REQ_new());
  if (request == nullptr || X509_REQ_set_version(request.get(), X509_REQ_VERSION_1) != 1 ||
      X509_REQ_set_subject_name(request.get(), subject.get()) != 1 ||
      X509_REQ_set_pubkey(request.get(), key.get()) != 1) {
    return internal::OpenSslError("certificate request: setting subject and key");
  }
  SCV_RETURN_IF_ERROR(AddRequestedAltNames(request.get(), names));
  if (X509_REQ_sign(request.get(), key.get(), EVP_sha256()) <= 0) {
    return internal::OpenSslError("certificate request: signing with the new key");
  }
  RequestAndKey out;
  SCV_ASSIGN_OR_RETURN(out.request_pem, internal::RequestToPem(request.get()));
  SCV_ASSIGN_OR_RETURN(out.private_key_pem, internal::PrivateKeyToPem(key.get()));
  return out;
}

absl::StatusOr<SignedRequest> SignCertificateRequest(const CertificateAndKey& ca,
                                                     absl::string_view request_pem,
                                                     const SignOptions& options) {
  IssueOptions check;
  check.role = options.role;
  check.id = options.id;
  check.valid_days = options.valid_days;
  SCV_RETURN_IF_ERROR(internal::CheckLeafOptions(check));
  absl::StatusOr<SignedRequest> signed_request = SignChecked(ca, request_pem, options);
  if (!signed_request.ok()) {
    return Annotate(signed_request.status(),
                    absl::StrCat("signing ", ToString({options.role, options.id})));
  }
  return signed_request;
}

}  // namespace scancov::sites
