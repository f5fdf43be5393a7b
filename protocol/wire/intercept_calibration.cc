#include "protocol/wire/intercept_calibration.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "core/json_fields.h"
#include "core/status_macros.h"

namespace scancov::wire {
namespace {

using nlohmann::json;

constexpr char kKind[] = "intercept_calibration";

json SummaryToJson(const scores::InterceptSiteSummary& s) {
  return {{"intercept", s.intercept},     {"score", s.score},
          {"information", s.information}, {"log_likelihood", s.log_likelihood},
          {"n", s.num_observations},      {"events", s.num_events}};
}

// A summary with every field finite and in range; `max_rows` bounds n.
absl::StatusOr<scores::InterceptSiteSummary> SummaryFromJson(const json& j,
                                                             const std::string& where,
                                                             int64_t max_rows) {
  if (!j.is_object()) return absl::InvalidArgumentError(where + ": must be an object");
  scores::InterceptSiteSummary s;
  const auto number = [&](const char* key, double& out) -> absl::Status {
    if (!j.contains(key)) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": ", key, " is required"));
    }
    SCV_ASSIGN_OR_RETURN(out, NumberField(j, key, where, 0.0));
    return absl::OkStatus();
  };
  SCV_RETURN_IF_ERROR(number("intercept", s.intercept));
  SCV_RETURN_IF_ERROR(number("score", s.score));
  SCV_RETURN_IF_ERROR(number("information", s.information));
  SCV_RETURN_IF_ERROR(number("log_likelihood", s.log_likelihood));
  if (s.information < 0) return absl::InvalidArgumentError(where + ": information must be >= 0");
  if (s.log_likelihood > 0) {
    return absl::InvalidArgumentError(where + ": log_likelihood must be <= 0");
  }
  if (!j.contains("n") || !j.contains("events")) {
    return absl::InvalidArgumentError(where + ": n and events are required");
  }
  SCV_ASSIGN_OR_RETURN(s.num_observations, IntField(j, "n", where, 0, 0, max_rows));
  SCV_ASSIGN_OR_RETURN(s.num_events, IntField(j, "events", where, 0, 0, s.num_observations));
  return s;
}

}  // namespace

absl::StatusOr<InterceptSpec> ParseInterceptSpec(const std::string& spec_json) {
  const std::string where = "spec_json";
  SCV_ASSIGN_OR_RETURN(const json j, ParseObject(spec_json, where));
  SCV_ASSIGN_OR_RETURN(const std::string analysis, StringField(j, "analysis", where, kKind));
  if (analysis != kKind) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": analysis must be '", kKind, "'"));
  }
  InterceptSpec s;
  SCV_ASSIGN_OR_RETURN(s.outcome, StringField(j, "outcome", where, ""));
  if (s.outcome.empty()) return absl::InvalidArgumentError(where + ": outcome is required");
  SCV_ASSIGN_OR_RETURN(s.model, StringField(j, "model", where, ""));
  if (s.model.empty()) return absl::InvalidArgumentError(where + ": model is required");
  SCV_ASSIGN_OR_RETURN(s.split, ParseRowSplit(j, where));
  SCV_ASSIGN_OR_RETURN(const int64_t min_cell, IntField(j, "min_cell_count", where, 0, 0, 1000000));
  s.min_cell_count = static_cast<int>(min_cell);
  return s;
}

std::string ToJson(const InterceptSpec& s) {
  json j = {{"analysis", kKind},
            {"outcome", s.outcome},
            {"model", s.model},
            {"min_cell_count", s.min_cell_count}};
  AddRowSplit(s.split, j);
  return j.dump();
}

protocol::TensorSet InterceptToTensors(double intercept) {
  protocol::TensorSet set;
  (void)set.Add(
      protocol::FromDoubles(kInterceptTensor, {1}, protocol::DType::kFloat64, {intercept}));
  return set;
}

absl::StatusOr<double> ParseInterceptCheckpoint(const protocol::TensorSet* checkpoint) {
  if (checkpoint == nullptr) return 0.0;
  const protocol::Tensor* t = checkpoint->Find(kInterceptTensor);
  if (t == nullptr || checkpoint->size() != 1 || t->dtype != protocol::DType::kFloat64 ||
      t->shape != std::vector<int64_t>{1}) {
    return absl::InvalidArgumentError(
        absl::StrCat("checkpoint: must hold one float64 [1] tensor '", kInterceptTensor, "'"));
  }
  const double b = protocol::ToDoubles(*t)[0];
  if (!std::isfinite(b)) return absl::InvalidArgumentError("checkpoint: intercept must be finite");
  return b;
}

std::string ToJson(const InterceptSiteAnswer& a) {
  if (a.refused) return json{{"status", "refused"}, {"reason", a.reason}}.dump();
  if (a.secure_sum) return json{{"status", "ok"}, {"secure_sum", true}}.dump();
  return json{{"status", "ok"}, {"summary", SummaryToJson(a.summary)}}.dump();
}

absl::StatusOr<InterceptSiteAnswer> ParseInterceptSiteAnswer(const std::string& text) {
  const std::string where = "result_json";
  SCV_ASSIGN_OR_RETURN(const json j, ParseObject(text, where));
  InterceptSiteAnswer a;
  SCV_ASSIGN_OR_RETURN(const std::string status, StringField(j, "status", where, ""));
  if (status != "ok" && status != "refused") {
    return absl::InvalidArgumentError(where + ": status must be ok or refused");
  }
  a.refused = status == "refused";
  SCV_ASSIGN_OR_RETURN(a.reason, StringField(j, "reason", where, ""));
  if (a.refused) return a;
  SCV_ASSIGN_OR_RETURN(a.secure_sum, BoolField(j, "secure_sum", where, false));
  if (a.secure_sum) {
    if (j.contains("summary")) {
      return absl::InvalidArgumentError(
          where + ": a secure_sum answer carries its numbers masked, not in clear");
    }
    return a;
  }
  if (!j.contains("summary")) return absl::InvalidArgumentError(where + ": summary is required");
  SCV_ASSIGN_OR_RETURN(
      a.summary, SummaryFromJson(j.at("summary"), where + ": summary", kMaxInterceptSiteRows));
  return a;
}

std::string ToJson(const InterceptRoundResult& r) {
  json j = {{"analysis", kKind},
            {"pooled_summary", SummaryToJson(r.pooled_summary)},
            {"refused", r.refused}};
  if (r.fit) {
    const scores::InterceptCalibration& c = *r.fit;
    j["fit"] = {{"intercept", c.intercept},   {"se", c.standard_error},
                {"iterations", c.iterations}, {"n", c.num_observations},
                {"events", c.num_events},     {"log_likelihood", c.log_likelihood}};
  }
  return j.dump();
}

absl::StatusOr<InterceptRoundResult> ParseInterceptRoundResult(const std::string& text) {
  const std::string where = "intercept result";
  SCV_ASSIGN_OR_RETURN(const json j, ParseObject(text, where));
  InterceptRoundResult r;
  if (!j.contains("pooled_summary")) {
    return absl::InvalidArgumentError(where + ": pooled_summary is required");
  }
  SCV_ASSIGN_OR_RETURN(
      r.pooled_summary,
      SummaryFromJson(j.at("pooled_summary"), where + ": pooled_summary", int64_t{1} << 62));
  SCV_ASSIGN_OR_RETURN(r.refused, StringListField(j, "refused", where, 100000));
  if (!j.contains("fit")) return r;
  const json& f = j.at("fit");
  const std::string fit_where = where + ": fit";
  if (!f.is_object()) return absl::InvalidArgumentError(fit_where + ": must be an object");
  scores::InterceptCalibration c;
  for (const char* key : {"intercept", "se", "log_likelihood", "iterations", "n", "events"}) {
    if (!f.contains(key)) {
      return absl::InvalidArgumentError(absl::StrCat(fit_where, ": ", key, " is required"));
    }
  }
  SCV_ASSIGN_OR_RETURN(c.intercept, NumberField(f, "intercept", fit_where, 0.0));
  SCV_ASSIGN_OR_RETURN(c.standard_error, NumberField(f, "se", fit_where, 0.0));
  SCV_ASSIGN_OR_RETURN(c.log_likelihood, NumberField(f, "log_likelihood", fit_where, 0.0));
  SCV_ASSIGN_OR_RETURN(const int64_t iterations,
                       IntField(f, "iterations", fit_where, 0, 0, 100000));
  c.iterations = static_cast<int>(iterations);
  SCV_ASSIGN_OR_RETURN(c.num_observations, IntField(f, "n", fit_where, 0, 0, int64_t{1} << 62));
  SCV_ASSIGN_OR_RETURN(c.num_events, IntField(f, "events", fit_where, 0, 0, c.num_observations));
  if (c.standard_error < 0) return absl::InvalidArgumentError(fit_where + ": se must be >= 0");
  r.fit = c;
  return r;
}

}  // namespace scancov::wire
