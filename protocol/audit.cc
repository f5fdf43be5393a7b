#include "protocol/audit.h"

#include "absl/strings/str_cat.h"
#include "core/sha256.h"

namespace scancov::protocol {
namespace {

void Field(std::string& out, absl::string_view value) {
  absl::StrAppend(&out, value.size(), ":", value, ";");
}

}  // namespace

std::string AuditHash(const v1::AuditEntry& e) {
  std::string bytes = "scancov-audit-v1;";
  Field(bytes, e.prev_hash());
  Field(bytes, absl::StrCat(e.seq()));
  Field(bytes, absl::StrCat(e.at_unix()));
  Field(bytes, e.actor_role());
  Field(bytes, e.actor_id());
  Field(bytes, e.action());
  Field(bytes, e.study_id());
  Field(bytes, e.site_id());
  Field(bytes, absl::StrCat(e.task_ids_size()));
  for (const std::string& t : e.task_ids()) Field(bytes, t);
  Field(bytes, e.detail());
  return ToHex(Sha256Digest(bytes));
}

absl::Status VerifyAuditChain(const std::vector<v1::AuditEntry>& entries,
                              const std::string& prev_hash) {
  std::string prev = prev_hash;
  int64_t expected_seq = entries.empty() ? 0 : entries.front().seq();
  for (const v1::AuditEntry& e : entries) {
    const std::string where = absl::StrCat("audit entry ", e.seq());
    if (e.seq() != expected_seq) {
      return absl::DataLossError(absl::StrCat(where, ": expected entry ", expected_seq,
                                              " (an entry is missing or out of order)"));
    }
    if (e.prev_hash() != prev) {
      return absl::DataLossError(absl::StrCat(where, ": does not chain to the entry before it"));
    }
    if (AuditHash(e) != e.hash()) {
      return absl::DataLossError(absl::StrCat(where, ": its content does not match its hash"));
    }
    prev = e.hash();
    ++expected_seq;
  }
  return absl::OkStatus();
}

}  // namespace scancov::protocol
