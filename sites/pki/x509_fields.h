// Internal: reading the fields of a parsed X509 certificate. Not part of the public API.
#ifndef SCANCOV_SITES_PKI_X509_FIELDS_H_
#define SCANCOV_SITES_PKI_X509_FIELDS_H_

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "sites/pki/identity.h"

namespace scancov::sites::internal {

// RFC 2253 text ("CN=kb,OU=site,O=Example").
std::string NameToString(const X509_NAME* name);

// UTF-8 values of every entry with `nid` (e.g. NID_commonName) in `name`, in order.
absl::StatusOr<std::vector<std::string>> NameEntries(const X509_NAME* name, int nid);

// The entries of `names` of the given GENERAL_NAME type, rendered as SubjectAltNames does.
std::vector<std::string> AltNameValues(const GENERAL_NAMES* names, int type);

// SAN entries of the given GENERAL_NAME type (GEN_URI, GEN_DNS); IP addresses (GEN_IPADD) are
// rendered as text ("127.0.0.1", "::1").
std::vector<std::string> SubjectAltNames(X509* cert, int type);

// A serial number as upper-case hex without leading zeros ("1F03..."), the form that
// `scancov-pki show`, revocation records and refusal messages use.
absl::StatusOr<std::string> SerialHex(const ASN1_INTEGER* serial);

absl::StatusOr<absl::Time> Asn1TimeToAbsl(const ASN1_TIME* time);

// IdentityFromCertificatePem on an already-parsed certificate.
absl::StatusOr<PeerIdentity> IdentityFromCertificate(X509* cert);

}  // namespace scancov::sites::internal

#endif  // SCANCOV_SITES_PKI_X509_FIELDS_H_
