#include "protocol/wire/model_selection_answer.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "core/status_macros.h"
#include "models/stats/summary_json.h"
#include "protocol/wire/model_selection.h"

namespace scancov::wire {
namespace {

using nlohmann::json;
using scores::ModelRequest;
using scores::ModelSiteResult;
using scores::PartMoments;
using scores::SelectionRequest;

constexpr char kWhere[] = "model selection";
constexpr char kKind[] = "model_selection";

}  // namespace

SelectionShape ShapeOf(const SelectionSpec& spec) {
  return {spec.options.num_folds + 1, static_cast<int>(spec.variables.size())};
}

json MomentsToJson(const std::vector<PartMoments>& moments) {
  json out = json::array();
  for (const PartMoments& m : moments) {
    out.push_back({{"rows", m.rows}, {"observed", m.observed}, {"sums", m.sums}});
  }
  return out;
}

absl::StatusOr<std::vector<PartMoments>> MomentsFromJson(const json& j) {
  if (!j.is_array()) {
    return absl::InvalidArgumentError(absl::StrCat(kWhere, ": moments must be a list"));
  }
  const auto integers = [](const json& v) {
    return v.is_array() &&
           std::all_of(v.begin(), v.end(), [](const json& x) { return x.is_number_integer(); });
  };
  try {
    std::vector<PartMoments> out;
    for (const json& m : j) {
      // Counts must be integers: a float such as 1e300 would be cast out of range.
      if (!m.is_object() || !m.contains("rows") || !m.at("rows").is_number_integer() ||
          !m.contains("observed") || !integers(m.at("observed"))) {
        return absl::InvalidArgumentError(
            absl::StrCat(kWhere, ": moments: 'rows' and 'observed' must be integers"));
      }
      out.push_back({m.at("rows").get<int64_t>(), m.at("observed").get<std::vector<int64_t>>(),
                     m.at("sums").get<std::vector<double>>()});
    }
    return out;
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(kWhere, ": moments: ", e.what()));
  }
}

json ModelResultsToJson(const std::vector<ModelSiteResult>& results) {
  json out = json::array();
  for (const ModelSiteResult& r : results) {
    out.push_back({{"summary", stats::ToJson(r.summary)}, {"auc", r.auc}, {"pairs", r.pairs}});
  }
  return out;
}

absl::StatusOr<std::vector<ModelSiteResult>> ModelResultsFromJson(const json& j) {
  if (!j.is_array()) {
    return absl::InvalidArgumentError(absl::StrCat(kWhere, ": models must be a list"));
  }
  std::vector<ModelSiteResult> out;
  for (const json& m : j) {
    ModelSiteResult r;
    if (!m.is_object() || !m.contains("summary") || !m.contains("auc") || !m.contains("pairs") ||
        !m.at("auc").is_number() || !m.at("pairs").is_number() || !m.at("summary").is_object()) {
      return absl::InvalidArgumentError(absl::StrCat(kWhere, ": a model result is malformed"));
    }
    for (const char* count : {"num_observations", "num_events", "num_perfectly_fitted"}) {
      if (!m.at("summary").contains(count) || !m.at("summary").at(count).is_number_integer()) {
        return absl::InvalidArgumentError(
            absl::StrCat(kWhere, ": a model result's '", count, "' must be an integer"));
      }
    }
    SCV_ASSIGN_OR_RETURN(r.summary, stats::LogisticSiteSummaryFromJson(m.at("summary")));
    r.auc = m.at("auc").get<double>();
    r.pairs = m.at("pairs").get<double>();
    out.push_back(std::move(r));
  }
  return out;
}

namespace {

absl::Status BadAnswer(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(kWhere, ": result_json: ", what));
}

// A parser's message without the "model selection: " every message here starts with.
std::string Unprefixed(const absl::Status& status) {
  absl::string_view message = status.message();
  absl::ConsumePrefix(&message, absl::StrCat(kWhere, ": "));
  return std::string(message);
}

// Counts a site can hold (2^40 rows): pooled over any number of sites they stay far from
// overflowing int64.
constexpr int64_t kMaxRows = int64_t{1} << 40;

absl::Status CheckMoments(const std::vector<PartMoments>& moments, bool squares,
                          const SelectionShape& shape) {
  if (static_cast<int>(moments.size()) != shape.parts) {
    return BadAnswer(absl::StrCat("'moments' must have ", shape.parts, " parts"));
  }
  for (size_t p = 0; p < moments.size(); ++p) {
    const PartMoments& m = moments[p];
    const std::string where = absl::StrCat("moments[", p, "]");
    if (static_cast<int>(m.observed.size()) != shape.width ||
        static_cast<int>(m.sums.size()) != shape.width) {
      return BadAnswer(
          absl::StrCat(where, ": 'observed' and 'sums' need ", shape.width, " values"));
    }
    if (m.rows < 0 || m.rows > kMaxRows)
      return BadAnswer(absl::StrCat(where, ".rows out of range"));
    for (int j = 0; j < shape.width; ++j) {
      if (m.observed[j] < 0 || m.observed[j] > m.rows) {
        return BadAnswer(absl::StrCat(where, ".observed[", j, "] not in [0, rows]"));
      }
      if (!std::isfinite(m.sums[j]) || (squares && m.sums[j] < 0.0)) {
        return BadAnswer(
            absl::StrCat(where, ".sums[", j, "] not finite", squares ? " or negative" : ""));
      }
    }
  }
  return absl::OkStatus();
}

bool AllFinite(const std::vector<double>& v) {
  return std::all_of(v.begin(), v.end(), [](double x) { return std::isfinite(x); });
}

absl::Status CheckModel(const ModelSiteResult& r, const ModelRequest& asked, size_t i,
                        const SelectionShape& shape) {
  const std::string where = absl::StrCat("models[", i, "]");
  const stats::LogisticSiteSummary& s = r.summary;
  const size_t p = asked.beta.size();
  if (s.beta != asked.beta)
    return BadAnswer(absl::StrCat(where, " evaluated at other coefficients"));
  if (s.gradient.size() != p || s.information.size() != p * p || !AllFinite(s.gradient) ||
      !AllFinite(s.information)) {
    return BadAnswer(absl::StrCat(where, ".summary: gradient and information need ", p, " and ",
                                  p * p, " finite values"));
  }
  if (!std::isfinite(s.log_likelihood) || s.log_likelihood > 0.0 || !std::isfinite(s.weight_sum) ||
      s.weight_sum < 0.0) {
    return BadAnswer(absl::StrCat(where, ".summary: log_likelihood must be finite and <= 0, ",
                                  "weight_sum finite and >= 0"));
  }
  if (s.num_observations < 0 || s.num_observations > kMaxRows || s.num_events < 0 ||
      s.num_events > s.num_observations || s.num_perfectly_fitted < 0 ||
      s.num_perfectly_fitted > s.num_observations) {
    return BadAnswer(absl::StrCat(where, ".summary: counts out of range"));
  }
  if (!(r.auc >= 0.0 && r.auc <= 1.0)) return BadAnswer(absl::StrCat(where, ".auc not in [0, 1]"));
  // Positives x negatives of a held-out fold: a whole number, none for the all-rows part.
  const bool all_rows = asked.part == shape.parts - 1;
  if (!(r.pairs >= 0.0 && r.pairs <= 1e24) || std::floor(r.pairs) != r.pairs ||
      (all_rows && r.pairs != 0.0)) {
    return BadAnswer(absl::StrCat(where, ".pairs must be a whole number >= 0",
                                  all_rows ? " (0 for the all-rows part)" : ""));
  }
  return absl::OkStatus();
}

}  // namespace

json AggregatesToJson(const SelectionAggregates& a) {
  json j = {{"kind", KindName(a.kind)}};
  if (a.kind == SelectionRequest::Kind::kFits) {
    j["models"] = ModelResultsToJson(a.models);
  } else {
    j["moments"] = MomentsToJson(a.moments);
  }
  return j;
}

namespace {

absl::StatusOr<SelectionRequest::Kind> KindFromJson(const json& j) {
  const std::string kind = j.is_object() && j.contains("kind") && j.at("kind").is_string()
                               ? j.at("kind").get<std::string>()
                               : "";
  for (SelectionRequest::Kind k : {SelectionRequest::Kind::kSums, SelectionRequest::Kind::kSquares,
                                   SelectionRequest::Kind::kFits}) {
    if (kind == KindName(k)) return k;
  }
  return BadAnswer("'kind' must be \"sums\", \"squares\" or \"fits\"");
}

}  // namespace

absl::StatusOr<SelectionAggregates> AggregatesFromJson(const json& j) {
  SelectionAggregates a;
  SCV_ASSIGN_OR_RETURN(a.kind, KindFromJson(j));
  if (a.kind == SelectionRequest::Kind::kFits) {
    if (!j.contains("models")) return BadAnswer("'models' missing");
    absl::StatusOr<std::vector<ModelSiteResult>> models = ModelResultsFromJson(j.at("models"));
    if (!models.ok()) return BadAnswer(Unprefixed(models.status()));
    a.models = std::move(*models);
    return a;
  }
  if (!j.contains("moments")) return BadAnswer("'moments' missing");
  absl::StatusOr<std::vector<PartMoments>> moments = MomentsFromJson(j.at("moments"));
  if (!moments.ok()) return BadAnswer(Unprefixed(moments.status()));
  a.moments = std::move(*moments);
  return a;
}

absl::Status CheckAnswer(const SelectionAggregates& answer, const SelectionRequest& request,
                         const SelectionShape& shape) {
  if (answer.kind != request.kind) {
    return BadAnswer(absl::StrCat("'kind' must be \"", KindName(request.kind), "\""));
  }
  if (request.kind != SelectionRequest::Kind::kFits) {
    return CheckMoments(answer.moments, request.kind == SelectionRequest::Kind::kSquares, shape);
  }
  if (answer.models.size() != request.models.size()) {
    return BadAnswer(absl::StrCat("'models' has ", answer.models.size(), " results for ",
                                  request.models.size(), " models"));
  }
  for (size_t i = 0; i < answer.models.size(); ++i) {
    SCV_RETURN_IF_ERROR(CheckModel(answer.models[i], request.models[i], i, shape));
  }
  return absl::OkStatus();
}

absl::Status CheckAnswer(const json& answer, const SelectionRequest& request,
                         const SelectionShape& shape) {
  SCV_ASSIGN_OR_RETURN(const SelectionAggregates parsed, AggregatesFromJson(answer));
  return CheckAnswer(parsed, request, shape);
}

std::string ToJson(const SelectionSiteAnswer& a) {
  if (a.refused) {
    return json{{"analysis", kKind}, {"status", "refused"}, {"reason", a.reason}}.dump();
  }
  json j = a.secure_sum ? json{{"kind", KindName(a.aggregates.kind)}, {"secure_sum", true}}
                        : AggregatesToJson(a.aggregates);
  j["analysis"] = kKind;
  j["status"] = "ok";
  j["suppressed"] = a.suppressed;
  return j.dump();
}

absl::StatusOr<SelectionSiteAnswer> ParseSelectionSiteAnswer(const std::string& text) {
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return BadAnswer("not a JSON object");
  SelectionSiteAnswer a;
  const json status = j.contains("status") ? j.at("status") : json();
  if (status == "refused") {
    if (!j.contains("reason") || !j.at("reason").is_string()) {
      return BadAnswer("a refusal's 'reason' must be a string");
    }
    a.refused = true;
    a.reason = j.at("reason").get<std::string>();
    return a;
  }
  if (status != "ok") return BadAnswer(R"('status' must be "ok" or "refused")");
  if (j.contains("suppressed")) {
    const json& s = j.at("suppressed");
    if (!s.is_array() || s.size() > kMaxSelectionVariables ||
        !std::all_of(s.begin(), s.end(), [](const json& v) { return v.is_string(); })) {
      return BadAnswer("'suppressed' must be a list of variable names");
    }
    a.suppressed = s.get<std::vector<std::string>>();
  }
  if (j.contains("secure_sum")) {
    if (!j.at("secure_sum").is_boolean()) return BadAnswer("'secure_sum' must be true or false");
    a.secure_sum = j.at("secure_sum").get<bool>();
  }
  if (a.secure_sum) {
    if (j.contains("moments") || j.contains("models")) {
      return BadAnswer("a secure_sum answer carries its numbers masked, not in clear");
    }
    SCV_ASSIGN_OR_RETURN(a.aggregates.kind, KindFromJson(j));
    return a;
  }
  SCV_ASSIGN_OR_RETURN(a.aggregates, AggregatesFromJson(j));
  return a;
}

}  // namespace scancov::wire
