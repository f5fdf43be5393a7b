#include "node/cohort_guard.h"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/sha256.h"
#include "core/sqlite/sqlite.h"
#include "node/store/node_store.h"
#include "protocol/failure_code.h"

namespace scancov::node {
namespace {

// A member: the first 8 bytes of SHA-256 of the key (collisions among a site's patients are
// negligible at 2^-64 per pair and would only make the guard stricter or looser by one).
std::vector<uint64_t> Members(const std::vector<std::string>& keys) {
  std::vector<uint64_t> out;
  out.reserve(keys.size());
  for (const std::string& k : keys) {
    const std::string d = Sha256Digest(k);
    uint64_t v = 0;
    std::memcpy(&v, d.data(), sizeof(v));
    out.push_back(v);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string Blob(const std::vector<uint64_t>& members) {
  return std::string(reinterpret_cast<const char*>(members.data()),
                     members.size() * sizeof(uint64_t));
}

std::vector<uint64_t> FromBlob(const std::string& blob) {
  std::vector<uint64_t> out(blob.size() / sizeof(uint64_t));
  std::memcpy(out.data(), blob.data(), out.size() * sizeof(uint64_t));
  return out;
}

absl::Status Refuse(protocol::FailureCode code, const std::string& why,
                    const std::map<std::string, int64_t>& numbers) {
  return protocol::WithFailureCode(absl::PermissionDeniedError(why), code, numbers);
}

}  // namespace

int64_t SymmetricDifference(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b) {
  int64_t common = 0;
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (a[i] == b[j]) {
      ++common, ++i, ++j;
    } else if (a[i] < b[j]) {
      ++i;
    } else {
      ++j;
    }
  }
  return static_cast<int64_t>(a.size() + b.size()) - 2 * common;
}

absl::Status CohortGuard::Admit(const CohortRead& read, const CohortLimits& limits) {
  std::vector<std::string> sorted = read.variables;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  const std::string variables = absl::StrJoin(sorted, ",");
  SQLite::Database& db = store_->db();
  return sqlite::InTransaction(db, "cohort guard", [&]() -> absl::Status {
    // The budget: studies and rounds over this signature, this one not yet counted.
    SQLite::Statement counts(db,
                             "SELECT COUNT(DISTINCT study_id), COUNT(*),"
                             " SUM(study_id = ?3), SUM(study_id = ?3 AND task_id = ?4)"
                             " FROM cohort_reads WHERE variables = ?1 AND outcome = ?2");
    counts.bind(1, variables);
    counts.bind(2, read.outcome);
    counts.bind(3, read.study_id);
    counts.bind(4, read.task_id);
    counts.executeStep();
    sqlite::Row row(counts);
    const int64_t studies = row.Int64(), rounds = row.Int64();
    const bool study_known = row.Int64() > 0, task_known = row.Int64() > 0;
    if (!study_known && studies >= limits.max_studies) {
      return Refuse(protocol::FailureCode::kStudyBudget,
                    absl::StrCat("gate: the site's budget of ", limits.max_studies,
                                 " studies over these variables is spent"),
                    {{"studies", limits.max_studies}});
    }
    if (!task_known && rounds >= limits.max_rounds) {
      return Refuse(protocol::FailureCode::kStudyBudget,
                    absl::StrCat("gate: the site's budget of ", limits.max_rounds,
                                 " rounds over these variables is spent"),
                    {{"rounds", limits.max_rounds}});
    }
    // Differencing: every set of rows against every other study's.
    std::vector<std::vector<uint64_t>> sets;
    for (const std::vector<std::string>& keys : read.cohorts) sets.push_back(Members(keys));
    SQLite::Statement others(db, "SELECT members FROM cohort_sets WHERE study_id != ?1");
    others.bind(1, read.study_id);
    while (others.executeStep()) {
      sqlite::Row other_row(others);
      const std::vector<uint64_t> other = FromBlob(other_row.Blob());
      for (const std::vector<uint64_t>& set : sets) {
        const int64_t d = SymmetricDifference(set, other);
        if (d > 0 && d < limits.min_count) {
          return Refuse(protocol::FailureCode::kCohortDifference,
                        absl::StrCat("gate: this study's cohort differs from an earlier "
                                     "study's by fewer than the minimum count (",
                                     limits.min_count, ") of patients"),
                        {{"min", limits.min_count}});
        }
      }
    }
    SQLite::Statement add_read(db, "INSERT OR IGNORE INTO cohort_reads VALUES(?1, ?2, ?3, ?4)");
    add_read.bind(1, read.study_id);
    add_read.bind(2, read.task_id);
    add_read.bind(3, variables);
    add_read.bind(4, read.outcome);
    add_read.exec();
    for (const std::vector<uint64_t>& set : sets) {
      const std::string blob = Blob(set);
      SQLite::Statement add_set(db, "INSERT OR IGNORE INTO cohort_sets VALUES(?1, ?2, ?3, ?4)");
      add_set.bind(1, read.study_id);
      add_set.bind(2, ToHex(Sha256Digest(blob)));
      add_set.bind(3, static_cast<int64_t>(set.size()));
      add_set.bind(4, blob.data(), static_cast<int>(blob.size()));
      add_set.exec();
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<BudgetUse>> CohortGuard::Use() const {
  SQLite::Database& db = store_->db();
  return sqlite::Guard("cohort guard: budget", [&]() -> absl::StatusOr<std::vector<BudgetUse>> {
    SQLite::Statement q(
        db,
        "SELECT variables, outcome, COUNT(DISTINCT study_id), COUNT(*)"
        " FROM cohort_reads GROUP BY variables, outcome ORDER BY variables, outcome");
    std::vector<BudgetUse> out;
    while (q.executeStep()) {
      sqlite::Row row(q);
      BudgetUse u;
      u.variables = row.Text();
      u.outcome = row.Text();
      u.studies = row.Int64();
      u.rounds = row.Int64();
      out.push_back(std::move(u));
    }
    return out;
  });
}

}  // namespace scancov::node
