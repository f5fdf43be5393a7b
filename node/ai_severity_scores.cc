#include "node/ai_severity_scores.h"

#include <SQLiteCpp/SQLiteCpp.h>

#include <chrono>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace scancov::node {
absl::Status CreateAiSeveritySchema(SQLite::Database& db) {
  try {
    db.exec(
        "CREATE TABLE IF NOT EXISTS ai_severity_scores(study_id TEXT NOT NULL, "
        "patient_key TEXT NOT NULL, probability REAL NOT NULL, model_digest TEXT NOT NULL, "
        "scored_at INTEGER NOT NULL, PRIMARY KEY(study_id, patient_key))");
    return absl::OkStatus();
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("ai_severity_scores: create: ", e.what()));
  }
}

absl::Status SaveAiSeverityScores(SQLite::Database& db, const std::string& study_id,
                                  const std::string& model_digest,
                                  const std::vector<AiSeverityScore>& scores) {
  for (size_t i = 0; i < scores.size(); ++i) {
    const double p = scores[i].probability;
    if (!(p >= 0.0 && p <= 1.0)) {  // also NaN
      return absl::InvalidArgumentError(absl::StrCat("ai_severity_scores: study '", study_id,
                                                     "': score ", i, " is not a probability"));
    }
  }
  SCV_RETURN_IF_ERROR(CreateAiSeveritySchema(db));
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  try {
    SQLite::Transaction transaction(db);
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
    transaction.commit();
    return absl::OkStatus();
  } catch (const std::exception& e) {
    return absl::InternalError(
        absl::StrCat("ai_severity_scores: study '", study_id, "': save: ", e.what()));
  }
}

absl::StatusOr<std::map<std::string, double>> LoadAiSeverityScores(SQLite::Database& db,
                                                                   const std::string& study_id) {
  std::map<std::string, double> out;
  try {
    if (db.tableExists("ai_severity_scores")) {
      SQLite::Statement q(db,
                          "SELECT patient_key, probability FROM ai_severity_scores "
                          "WHERE study_id = ?");
      q.bind(1, study_id);
      while (q.executeStep()) out[q.getColumn(0).getString()] = q.getColumn(1).getDouble();
    }
  } catch (const std::exception& e) {
    return absl::InternalError(
        absl::StrCat("ai_severity_scores: study '", study_id, "': load: ", e.what()));
  }
  if (out.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "variable '", protocol::kAiSeverityPrefix, study_id,
        "': this site holds no AI-severity scores from study '", study_id,
        "' (the study has not finished its evaluation here, the site was not in it, or it had no "
        "usable CT)"));
  }
  return out;
}

}  // namespace scancov::node
