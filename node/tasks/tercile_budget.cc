#include "node/tasks/tercile_budget.h"

#include "absl/strings/str_cat.h"
#include "core/sha256.h"
#include "core/sqlite/sqlite.h"

namespace scancov::node {
namespace {

std::string DigestOf(const std::vector<double>& values) {
  return ToHex(Sha256Digest(absl::string_view(reinterpret_cast<const char*>(values.data()),
                                              values.size() * sizeof(double))));
}

}  // namespace

absl::StatusOr<std::map<uint32_t, TercileBudget::Answered>> TercileBudget::Load(
    const std::string& study_id) const {
  if (store_ == nullptr) {
    auto it = in_memory_.find(study_id);
    return it == in_memory_.end() ? std::map<uint32_t, Answered>() : it->second;
  }
  return sqlite::Guard(
      "tercile budget: read", [&]() -> absl::StatusOr<std::map<uint32_t, Answered>> {
        SQLite::Statement q(
            store_->db(),
            "SELECT round, beta_sha256, candidates_sha256 FROM tercile_rounds WHERE "
            "study_id = ?");
        q.bind(1, study_id);
        std::map<uint32_t, Answered> out;
        while (q.executeStep()) {
          sqlite::Row row(q);
          const uint32_t round = row.Uint32();
          Answered& a = out[round];
          a.beta_sha256 = row.Text();
          a.candidates_sha256 = row.Text();
        }
        return out;
      });
}

absl::Status TercileBudget::Record(const std::string& study_id, uint32_t round, const Answered& a) {
  if (store_ == nullptr) {
    in_memory_[study_id][round] = a;
    return absl::OkStatus();
  }
  return sqlite::Guard("tercile budget: record", [&] {
    SQLite::Statement q(store_->db(), "INSERT OR IGNORE INTO tercile_rounds VALUES(?, ?, ?, ?)");
    q.bind(1, study_id);
    q.bind(2, static_cast<int64_t>(round));
    q.bind(3, a.beta_sha256);
    q.bind(4, a.candidates_sha256);
    q.exec();
    return absl::OkStatus();
  });
}

absl::Status TercileBudget::Admit(const std::string& study_id, uint32_t round,
                                  const std::vector<double>& beta,
                                  const std::vector<double>& candidates) {
  const Answered asked{DigestOf(beta), DigestOf(candidates)};
  absl::StatusOr<std::map<uint32_t, Answered>> answered = Load(study_id);
  if (!answered.ok()) return answered.status();
  const auto refuse = [&](const std::string& why) {
    return absl::PermissionDeniedError(
        absl::StrCat("study '", study_id, "', terciles round ", round, ": ", why));
  };
  for (const auto& [r, a] : *answered) {
    if (a.beta_sha256 != asked.beta_sha256) {
      return refuse("other coefficients than the study's earlier terciles rounds");
    }
  }
  auto same = answered->find(round);
  if (same != answered->end()) {
    if (same->second.candidates_sha256 != asked.candidates_sha256) {
      return refuse("asked again with other candidates");
    }
    return absl::OkStatus();
  }
  if (answered->size() >= static_cast<size_t>(kMaxRoundsPerStudy)) {
    return refuse(absl::StrCat("a study gets at most ", kMaxRoundsPerStudy, " terciles rounds"));
  }
  return Record(study_id, round, asked);
}

}  // namespace scancov::node
