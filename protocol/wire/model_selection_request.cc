#include "protocol/wire/model_selection_request.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace scancov::wire {
namespace {

using scores::ModelRequest;
using scores::SelectionRequest;
using scores::Standardization;

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

}  // namespace scancov::wire
