#include "models/stats/roc_counts.h"

#include <algorithm>
#include <cmath>
#include <iterator>

#include "absl/strings/str_cat.h"

namespace scancov::stats {
namespace {

using json = nlohmann::json;

absl::Status ValidateGrid(absl::Span<const double> grid) {
  if (grid.empty()) return absl::InvalidArgumentError("roc grid: empty");
  for (size_t k = 0; k < grid.size(); ++k) {
    if (!std::isfinite(grid[k])) {
      return absl::InvalidArgumentError(absl::StrCat("roc grid: threshold ", k, " not finite"));
    }
    if (k > 0 && !(grid[k] > grid[k - 1])) {
      return absl::InvalidArgumentError(
          absl::StrCat("roc grid: thresholds must increase strictly (at ", k, ")"));
    }
  }
  return absl::OkStatus();
}

// Number of values in sorted `v` that are >= t.
int64_t AtOrAbove(const std::vector<double>& v, double t) {
  return static_cast<int64_t>(v.end() - std::lower_bound(v.begin(), v.end(), t));
}

}  // namespace

std::vector<double> EvenGrid(double from, double to, int steps) {
  std::vector<double> grid;
  for (int k = 0; k <= steps; ++k) grid.push_back(from + k * (to - from) / steps);
  return grid;
}

absl::StatusOr<GridRoc> RocAtGrid(absl::Span<const double> scores, absl::Span<const double> labels,
                                  absl::Span<const double> grid) {
  if (scores.size() != labels.size()) {
    return absl::InvalidArgumentError("roc: scores and labels differ in length");
  }
  if (absl::Status s = ValidateGrid(grid); !s.ok()) return s;
  std::vector<double> events, non_events;
  for (size_t i = 0; i < scores.size(); ++i) {
    if (!std::isfinite(scores[i])) return absl::InvalidArgumentError("roc: a score is not finite");
    if (labels[i] == 1.0) {
      events.push_back(scores[i]);
    } else if (labels[i] == 0.0) {
      non_events.push_back(scores[i]);
    } else {
      return absl::InvalidArgumentError("roc: labels must be 0 or 1");
    }
  }
  std::sort(events.begin(), events.end());
  std::sort(non_events.begin(), non_events.end());
  GridRoc roc;
  roc.positives = static_cast<int64_t>(events.size());
  roc.negatives = static_cast<int64_t>(non_events.size());
  for (double t : grid) roc.points.push_back({t, AtOrAbove(events, t), AtOrAbove(non_events, t)});
  return roc;
}

absl::Status ValidateGridRoc(const GridRoc& roc) {
  if (roc.positives < 0 || roc.negatives < 0 || roc.positives > kMaxRocClassSize ||
      roc.negatives > kMaxRocClassSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("roc: class sizes must be in [0, ", kMaxRocClassSize, "]"));
  }
  std::vector<double> grid;
  for (const GridRocPoint& p : roc.points) grid.push_back(p.threshold);
  if (absl::Status s = ValidateGrid(grid); !s.ok()) return s;
  int64_t tp = roc.positives, fp = roc.negatives;
  for (const GridRocPoint& p : roc.points) {
    if (p.true_positives < 0 || p.false_positives < 0 || p.true_positives > tp ||
        p.false_positives > fp) {
      return absl::InvalidArgumentError(
          absl::StrCat("roc: counts at threshold ", p.threshold,
                       " must be non-increasing and within the class"));
    }
    tp = p.true_positives;
    fp = p.false_positives;
  }
  return absl::OkStatus();
}

absl::StatusOr<GridRoc> SumGridRocs(absl::Span<const GridRoc> parts) {
  if (parts.empty()) return absl::InvalidArgumentError("roc sum: no parts");
  GridRoc sum;
  sum.points = parts[0].points;
  for (GridRocPoint& p : sum.points) p.true_positives = p.false_positives = 0;
  for (size_t k = 0; k < parts.size(); ++k) {
    const GridRoc& part = parts[k];
    if (absl::Status s = ValidateGridRoc(part); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("roc part ", k, ": ", s.message()));
    }
    if (part.points.size() != sum.points.size()) {
      return absl::InvalidArgumentError(absl::StrCat("roc part ", k, ": a different grid"));
    }
    sum.positives += part.positives;
    sum.negatives += part.negatives;
    for (size_t i = 0; i < part.points.size(); ++i) {
      if (part.points[i].threshold != sum.points[i].threshold) {
        return absl::InvalidArgumentError(absl::StrCat("roc part ", k, ": a different grid"));
      }
      sum.points[i].true_positives += part.points[i].true_positives;
      sum.points[i].false_positives += part.points[i].false_positives;
    }
  }
  return sum;
}

std::vector<GridRoc> OnCommonThresholds(absl::Span<const GridRoc> parts) {
  std::vector<double> common;
  for (size_t k = 0; k < parts.size(); ++k) {
    std::vector<double> mine;
    for (const GridRocPoint& p : parts[k].points) mine.push_back(p.threshold);
    std::sort(mine.begin(), mine.end());
    if (k == 0) {
      common = std::move(mine);
      continue;
    }
    std::vector<double> both;
    std::set_intersection(common.begin(), common.end(), mine.begin(), mine.end(),
                          std::back_inserter(both));
    common = std::move(both);
  }
  std::vector<GridRoc> out;
  for (const GridRoc& part : parts) {
    GridRoc r{part.positives, part.negatives, {}};
    for (const GridRocPoint& p : part.points) {
      if (std::binary_search(common.begin(), common.end(), p.threshold)) r.points.push_back(p);
    }
    out.push_back(std::move(r));
  }
  return out;
}

absl::StatusOr<double> TrapezoidalAuc(const GridRoc& roc) {
  if (absl::Status s = ValidateGridRoc(roc); !s.ok()) return s;
  if (roc.positives == 0 || roc.negatives == 0) {
    return absl::FailedPreconditionError("roc: needs both events and non-events");
  }
  const double p = static_cast<double>(roc.positives), n = static_cast<double>(roc.negatives);
  double area = 0, x = 1, y = 1;  // start at (1, 1): everybody positive
  for (const GridRocPoint& pt : roc.points) {
    const double x2 = pt.false_positives / n, y2 = pt.true_positives / p;
    area += (x - x2) * (y + y2) / 2;
    x = x2;
    y = y2;
  }
  return area + x * y / 2;  // down to (0, 0)
}

json ToJson(const GridRoc& roc) {
  json points = json::array();
  for (const GridRocPoint& p : roc.points) {
    points.push_back(
        {{"threshold", p.threshold}, {"tp", p.true_positives}, {"fp", p.false_positives}});
  }
  return {{"positives", roc.positives}, {"negatives", roc.negatives}, {"points", points}};
}

absl::StatusOr<GridRoc> GridRocFromJson(const json& j) {
  auto is_count = [](const json& v) { return v.is_number_integer(); };
  if (!j.is_object() || !j.contains("positives") || !j.contains("negatives") ||
      !j.contains("points") || !is_count(j["positives"]) || !is_count(j["negatives"]) ||
      !j["points"].is_array()) {
    return absl::InvalidArgumentError("roc: needs integer positives, negatives and a points list");
  }
  GridRoc roc;
  roc.positives = j["positives"].get<int64_t>();
  roc.negatives = j["negatives"].get<int64_t>();
  for (const json& p : j["points"]) {
    if (!p.is_object() || !p.contains("threshold") || !p["threshold"].is_number() ||
        !p.contains("tp") || !is_count(p["tp"]) || !p.contains("fp") || !is_count(p["fp"])) {
      return absl::InvalidArgumentError("roc: a point needs a threshold and integer tp, fp");
    }
    roc.points.push_back(
        {p["threshold"].get<double>(), p["tp"].get<int64_t>(), p["fp"].get<int64_t>()});
  }
  if (absl::Status s = ValidateGridRoc(roc); !s.ok()) return s;
  return roc;
}

}  // namespace scancov::stats
