// Early-return helpers for absl::Status / absl::StatusOr.
//
//   SCV_RETURN_IF_ERROR(WriteManifest(m));
//   SCV_ASSIGN_OR_RETURN(TensorSet set, assembler.Finish());
#ifndef SCANCOV_CORE_STATUS_MACROS_H_
#define SCANCOV_CORE_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

#define SCV_RETURN_IF_ERROR(expr)                \
  do {                                           \
    ::absl::Status scv_status_ = (expr);         \
    if (!scv_status_.ok()) return scv_status_;   \
  } while (0)

#define SCV_CONCAT_INNER_(a, b) a##b
#define SCV_CONCAT_(a, b) SCV_CONCAT_INNER_(a, b)

#define SCV_ASSIGN_OR_RETURN(lhs, expr) \
  SCV_ASSIGN_OR_RETURN_IMPL_(SCV_CONCAT_(scv_statusor_, __LINE__), lhs, expr)

#define SCV_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                               \
  if (!statusor.ok()) return statusor.status();         \
  lhs = std::move(statusor).value()

namespace scancov {

// Prefixes a status message with context ("where: why"), keeping its code.
inline absl::Status Annotate(const absl::Status& status, absl::string_view where) {
  if (status.ok()) return status;
  return absl::Status(status.code(), std::string(where) + ": " + std::string(status.message()));
}

}  // namespace scancov

#endif  // SCANCOV_CORE_STATUS_MACROS_H_
