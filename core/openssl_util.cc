#include "core/openssl_util.h"

#include <openssl/err.h>

#include <string>

#include "absl/strings/str_cat.h"

namespace scancov::openssl {

absl::Status OpenSslError(absl::string_view what, absl::StatusCode code) {
  std::string errors;
  while (unsigned long e = ERR_get_error()) {  // NOLINT(runtime/int): the OpenSSL API type.
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    absl::StrAppend(&errors, errors.empty() ? "" : "; ", buf);
  }
  if (errors.empty()) errors = "unknown OpenSSL error";
  return absl::Status(code, absl::StrCat(what, ": ", errors));
}

void ClearOpenSslErrors() { ERR_clear_error(); }

}  // namespace scancov::openssl
