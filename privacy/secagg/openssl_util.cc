#include "privacy/secagg/openssl_util.h"

#include <openssl/err.h>

#include <string>

#include "absl/strings/str_cat.h"

namespace scancov::privacy::secagg::internal {

absl::Status OpenSslError(absl::string_view where, absl::StatusCode code) {
  std::string errors;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    absl::StrAppend(&errors, errors.empty() ? "" : "; ", buf);
  }
  if (errors.empty()) errors = "OpenSSL error";
  return absl::Status(code, absl::StrCat(where, ": ", errors));
}

}  // namespace scancov::privacy::secagg::internal
