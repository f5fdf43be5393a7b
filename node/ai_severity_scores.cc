#include "node/ai_severity_scores.h"

#include <chrono>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "core/sqlite/sqlite.h"
#include "core/status_macros.h"

namespace scancov::node {

absl::Status SaveAiSeverityScores(NodeStore& store, const std::string& study_id,
                                  const std::string& model_digest,
                                  const std::vector<AiSeverityScore>& scores) {
  for (size_t i = 0; i < scores.size(); ++i) {
    const double p = scores[i].probability;
    if (!(p >= 0.0 && p <= 1.0)) {  // also NaN
      return absl::InvalidArgumentError(absl::StrCat("ai_severity_scores: study '", study_id,
                                                     "': score ", i, " is not a probability"));
    }
  }
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  SQLite::Database& db = store.db();
  return sqlite::InTransaction(
      db, absl::StrCat("ai_severity_scores: study '", study_id, "': save"), [&] {
        SQLite::Statement clear(db, "DELETE FROM ai_severity_scores WHERE study_id = ?");
        clear.bind(1, study_id);
        clear.exec();
        SQLite::Statement insert(db, "INSERT INTO ai_severity_scores VALUES(?, ?, ?, ?, ?)");
        for (const AiSeverityScore& s : scores) {
          insert.bind(1, study_id);
          insert.bind(2, s.patient_key);
          insert.bind(3, s.probability);
          insert.bind(4, model_digest);
          insert.bind(5, now);
          insert.exec();
          insert.reset();
        }
        return absl::OkStatus();
      });
}

absl::StatusOr<std::map<std::string, double>> LoadAiSeverityScores(NodeStore& store,
                                                                   const std::string& study_id) {
  using Scores = std::map<std::string, double>;
  const std::string where = absl::StrCat("ai_severity_scores: study '", study_id, "': load");
  absl::StatusOr<Scores> out = sqlite::Guard(where, [&]() -> absl::StatusOr<Scores> {
    SQLite::Statement q(store.db(),
                        "SELECT patient_key, probability FROM ai_severity_scores "
                        "WHERE study_id = ?");
    q.bind(1, study_id);
    Scores scores;
    while (q.executeStep()) {
      sqlite::Row row(q);
      const std::string patient = row.Text();
      scores[patient] = row.Double();
    }
    return scores;
  });
  if (out.ok() && out->empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "variable '", protocol::kAiSeverityPrefix, study_id,
        "': this site holds no AI-severity scores from study '", study_id,
        "' (the study has not finished its evaluation here, the site was not in it, or it had no "
        "usable CT)"));
  }
  return out;
}

}  // namespace scancov::node
