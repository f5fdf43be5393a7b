// The CA's own record of the certificates it revoked (<pki>/revoked.txt, see pki_directory.h):
// one line per revocation, from which every CRL is made.
//
//   # comment lines start with '#'
//   <serial hex>\t<revoked at, 2025-01-31T12:00:00Z>\t<reason, RFC 5280 name>\t<subject>
//
// Thread safety: pure functions.
#ifndef SCANCOV_SITES_PKI_REVOCATION_INDEX_H_
#define SCANCOV_SITES_PKI_REVOCATION_INDEX_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "sites/pki/revocation.h"

namespace scancov::sites {

// The file's text, with a header comment, records in the given order.
std::string FormatRevocationIndex(const std::vector<RevocationRecord>& records);

// Parses the file's text; InvalidArgument "<where>:<line>: <why>" for a malformed line or a
// serial recorded twice.
absl::StatusOr<std::vector<RevocationRecord>> ParseRevocationIndex(absl::string_view text,
                                                                   absl::string_view where);

}  // namespace scancov::sites

#endif  // SCANCOV_SITES_PKI_REVOCATION_INDEX_H_
