#include "models/scores/selection_wire.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "core/status_macros.h"
#include "models/stats/summary_json.h"

namespace scancov::scores {
namespace {

using nlohmann::json;

constexpr char kWhere[] = "model selection";
constexpr int kPhaseSquares = 2;
constexpr int kPhaseFits = 3;

absl::Status BadCheckpoint(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(kWhere, ": checkpoint: ", what));
}

// The tensor `name` with exactly this dtype and shape, or InvalidArgument. Checked before any
// allocation: a TensorSet accepts a [2^62, 0] tensor.
absl::StatusOr<const protocol::Tensor*> Expect(const protocol::TensorSet& set, const char* name,
                                               protocol::DType dtype,
                                               const std::vector<int64_t>& shape) {
  const protocol::Tensor* t = set.Find(name);
  if (t == nullptr || t->dtype != dtype || t->shape != shape) {
    return BadCheckpoint(absl::StrCat("'", name, "' must be ", protocol::DTypeName(dtype), " ",
                                      protocol::ShapeString(shape)));
  }
  return t;
}

// Rows of a [rows, cols] float64 tensor of finite values (>= 0 when `non_negative`).
absl::StatusOr<std::vector<std::vector<double>>> Matrix(const protocol::TensorSet& set,
                                                        const char* name, int64_t rows,
                                                        int64_t cols, bool non_negative = false) {
  SCV_ASSIGN_OR_RETURN(const protocol::Tensor* t,
                       Expect(set, name, protocol::DType::kFloat64, {rows, cols}));
  const std::vector<double> values = protocol::ToDoubles(*t);
  for (double v : values) {
    if (!std::isfinite(v) || (non_negative && v < 0.0)) {
      return BadCheckpoint(absl::StrCat("'", name, "' holds a value that is not finite",
                                        non_negative ? " or is negative" : ""));
    }
  }
  std::vector<std::vector<double>> out;
  for (int64_t r = 0; r < rows; ++r) {
    out.emplace_back(values.begin() + r * cols, values.begin() + (r + 1) * cols);
  }
  return out;
}

absl::StatusOr<std::vector<ModelRequest>> ModelsFromTensors(const protocol::TensorSet& set,
                                                            const SelectionShape& shape) {
  const protocol::Tensor* part = set.Find("model_part");
  if (part == nullptr || part->dtype != protocol::DType::kInt64 || part->shape.size() != 1 ||
      part->shape[0] < 1 || part->shape[0] > static_cast<int64_t>(kMaxSelectionModelsPerBatch)) {
    return BadCheckpoint(
        absl::StrCat("'model_part' must be int64 [M], 1 <= M <= ", kMaxSelectionModelsPerBatch));
  }
  const int64_t m = part->shape[0];
  const protocol::Tensor* columns = set.Find("model_columns");
  if (columns == nullptr || columns->shape.size() != 2 || columns->shape[1] < 1 ||
      columns->shape[1] > shape.width) {
    return BadCheckpoint(
        absl::StrCat("'model_columns' must be [", m, ", C], 1 <= C <= ", shape.width));
  }
  const int64_t c = columns->shape[1];
  SCV_RETURN_IF_ERROR(Expect(set, "model_columns", protocol::DType::kInt64, {m, c}).status());
  SCV_ASSIGN_OR_RETURN(const auto betas, Matrix(set, "model_beta", m, c + 1));
  const std::vector<double> parts = protocol::ToDoubles(*part);
  const std::vector<double> cols = protocol::ToDoubles(*columns);
  std::vector<ModelRequest> models;
  for (int64_t i = 0; i < m; ++i) {
    ModelRequest r;
    if (!(parts[i] >= 0 && parts[i] < shape.parts)) {
      return BadCheckpoint(absl::StrCat("model ", i, ": part out of [0, ", shape.parts, ")"));
    }
    r.part = static_cast<int>(parts[i]);
    for (int64_t k = 0; k < c; ++k) {
      const double col = cols[i * c + k];
      if (col == -1.0) continue;  // padding
      if (!(col >= 0 && col < shape.width)) {
        return BadCheckpoint(absl::StrCat("model ", i, ": column out of [0, ", shape.width, ")"));
      }
      r.columns.push_back(static_cast<int>(col));
    }
    r.beta.assign(betas[i].begin(), betas[i].begin() + r.columns.size() + 1);
    models.push_back(std::move(r));
  }
  return models;
}

void AddMatrix(protocol::TensorSet& set, const char* name, protocol::DType dtype,
               const std::vector<std::vector<double>>& rows, size_t cols) {
  std::vector<double> flat;
  for (const auto& row : rows) flat.insert(flat.end(), row.begin(), row.end());
  (void)set.Add(protocol::FromDoubles(
      name, {static_cast<int64_t>(rows.size()), static_cast<int64_t>(cols)}, dtype, flat));
}

Eigen::VectorXd ToVector(const std::vector<double>& v) {
  return Eigen::Map<const Eigen::VectorXd>(v.data(), static_cast<Eigen::Index>(v.size()));
}

}  // namespace

std::string KindName(SelectionRequest::Kind kind) {
  switch (kind) {
    case SelectionRequest::Kind::kSums:
      return "sums";
    case SelectionRequest::Kind::kSquares:
      return "squares";
    case SelectionRequest::Kind::kFits:
      return "fits";
  }
  return "";
}

protocol::TensorSet RequestToTensors(const SelectionRequest& request) {
  protocol::TensorSet set;
  const bool fits = request.kind == SelectionRequest::Kind::kFits;
  (void)set.Add(protocol::FromDoubles("phase", {1}, protocol::DType::kInt64,
                                      {double(fits ? kPhaseFits : kPhaseSquares)}));
  const size_t k = request.parts.empty() ? 0 : request.parts[0].means.size();
  std::vector<std::vector<double>> means, scales;
  for (const Standardization& s : request.parts) {
    means.emplace_back(s.means.data(), s.means.data() + s.means.size());
    scales.emplace_back(s.scales.data(), s.scales.data() + s.scales.size());
  }
  AddMatrix(set, "part_means", protocol::DType::kFloat64, means, k);
  if (!fits) return set;
  AddMatrix(set, "part_scales", protocol::DType::kFloat64, scales, k);
  size_t width = 0;
  std::vector<double> parts;
  for (const ModelRequest& m : request.models) {
    width = std::max(width, m.columns.size());
    parts.push_back(m.part);
  }
  std::vector<std::vector<double>> columns, betas;
  for (const ModelRequest& m : request.models) {
    columns.emplace_back(m.columns.begin(), m.columns.end());
    columns.back().resize(width, -1.0);
    betas.push_back(m.beta);
    betas.back().resize(width + 1, 0.0);
  }
  (void)set.Add(protocol::FromDoubles("model_part", {static_cast<int64_t>(parts.size())},
                                      protocol::DType::kInt64, parts));
  AddMatrix(set, "model_columns", protocol::DType::kInt64, columns, width);
  AddMatrix(set, "model_beta", protocol::DType::kFloat64, betas, width + 1);
  return set;
}

SelectionShape ShapeOf(const SelectionSpec& spec) {
  return {spec.options.num_folds + 1, static_cast<int>(spec.variables.size())};
}

absl::StatusOr<SelectionRequest> RequestFromTensors(const protocol::TensorSet* checkpoint,
                                                    const SelectionShape& shape) {
  SelectionRequest request;
  if (checkpoint == nullptr) return request;
  SCV_ASSIGN_OR_RETURN(const protocol::Tensor* phase,
                       Expect(*checkpoint, "phase", protocol::DType::kInt64, {1}));
  const double kind = protocol::ToDoubles(*phase)[0];
  if (kind != kPhaseSquares && kind != kPhaseFits) return BadCheckpoint("unknown phase");
  SCV_ASSIGN_OR_RETURN(const auto mean_rows,
                       Matrix(*checkpoint, "part_means", shape.parts, shape.width));
  std::vector<std::vector<double>> scale_rows(shape.parts, std::vector<double>(shape.width, 0.0));
  if (kind == kPhaseFits) {
    request.kind = SelectionRequest::Kind::kFits;
    SCV_ASSIGN_OR_RETURN(scale_rows,
                         Matrix(*checkpoint, "part_scales", shape.parts, shape.width, true));
    SCV_ASSIGN_OR_RETURN(request.models, ModelsFromTensors(*checkpoint, shape));
  } else {
    request.kind = SelectionRequest::Kind::kSquares;
  }
  for (int p = 0; p < shape.parts; ++p) {
    request.parts.push_back({ToVector(mean_rows[p]), ToVector(scale_rows[p])});
  }
  return request;
}

absl::StatusOr<SelectionShape> ClaimedShape(const protocol::TensorSet* checkpoint,
                                            const json& answer) {
  SelectionShape shape;
  if (checkpoint != nullptr) {
    const protocol::Tensor* means = checkpoint->Find("part_means");
    if (means == nullptr || means->shape.size() != 2) {
      return BadCheckpoint("'part_means' must be float64 [parts, variables]");
    }
    shape = {static_cast<int>(std::clamp<int64_t>(means->shape[0], 0, 1000)),
             static_cast<int>(std::clamp<int64_t>(means->shape[1], 0, 1000))};
  } else if (answer.contains("moments") && answer.at("moments").is_array() &&
             !answer.at("moments").empty() && answer.at("moments")[0].is_object() &&
             answer.at("moments")[0].contains("observed") &&
             answer.at("moments")[0].at("observed").is_array()) {
    shape = {
        static_cast<int>(std::min<size_t>(answer.at("moments").size(), 1000)),
        static_cast<int>(std::min<size_t>(answer.at("moments")[0].at("observed").size(), 1000))};
  }
  if (shape.parts < 3 || shape.parts > 11 || shape.width < 1 ||
      shape.width > static_cast<int>(kMaxSelectionVariables)) {
    return absl::InvalidArgumentError(absl::StrCat(kWhere, ": 3..11 parts (folds + 1) of 1..",
                                                   kMaxSelectionVariables, " variables expected"));
  }
  return shape;
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

absl::Status CheckAnswer(const json& answer, const SelectionRequest& request,
                         const SelectionShape& shape) {
  if (!answer.is_object() || !answer.contains("kind") || !answer.at("kind").is_string() ||
      answer.at("kind").get<std::string>() != KindName(request.kind)) {
    return BadAnswer(absl::StrCat("'kind' must be \"", KindName(request.kind), "\""));
  }
  if (request.kind != SelectionRequest::Kind::kFits) {
    if (!answer.contains("moments")) return BadAnswer("'moments' missing");
    const absl::StatusOr<std::vector<PartMoments>> moments = MomentsFromJson(answer.at("moments"));
    if (!moments.ok()) return BadAnswer(Unprefixed(moments.status()));
    return CheckMoments(*moments, request.kind == SelectionRequest::Kind::kSquares, shape);
  }
  if (!answer.contains("models")) return BadAnswer("'models' missing");
  const absl::StatusOr<std::vector<ModelSiteResult>> parsed =
      ModelResultsFromJson(answer.at("models"));
  if (!parsed.ok()) return BadAnswer(Unprefixed(parsed.status()));
  const std::vector<ModelSiteResult>& models = *parsed;
  if (models.size() != request.models.size()) {
    return BadAnswer(absl::StrCat("'models' has ", models.size(), " results for ",
                                  request.models.size(), " models"));
  }
  for (size_t i = 0; i < models.size(); ++i) {
    SCV_RETURN_IF_ERROR(CheckModel(models[i], request.models[i], i, shape));
  }
  return absl::OkStatus();
}

}  // namespace scancov::scores
