#include "protocol/wire/row_split.h"

#include "absl/strings/str_cat.h"
#include "core/json_fields.h"
#include "core/status_macros.h"

namespace scancov::wire {
namespace {

using nlohmann::json;

bool KnownPart(const json& v) { return v == "all" || v == "train" || v == "holdout"; }

}  // namespace

std::string RowSplit::For(const std::string& site) const {
  if (!by_site) return split;
  auto it = per_site.find(site);
  return it == per_site.end() ? "all" : it->second;
}

absl::StatusOr<RowSplit> ParseRowSplit(const json& spec, absl::string_view where) {
  RowSplit s;
  if (spec.is_object() && spec.contains("split") && !spec.at("split").is_null()) {
    const json& split = spec.at("split");
    const std::string bad =
        absl::StrCat(where, ": split must be all, train or holdout, or an object of them by site");
    if (split.is_object()) {
      s.by_site = true;
      for (const auto& [site, part] : split.items()) {
        if (!KnownPart(part)) return absl::InvalidArgumentError(bad);
        s.per_site[site] = part.get<std::string>();
      }
    } else if (KnownPart(split)) {
      s.split = split.get<std::string>();
    } else {
      return absl::InvalidArgumentError(bad);
    }
  }
  if (spec.is_object() && spec.contains("split_seed") && !spec.at("split_seed").is_null()) {
    const json& seed = spec.at("split_seed");
    if (!seed.is_number_integer() || (!seed.is_number_unsigned() && seed.get<int64_t>() < 0)) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": split_seed must be a non-negative integer"));
    }
    s.seed = seed.get<uint64_t>();
  }
  SCV_ASSIGN_OR_RETURN(s.holdout_fraction,
                       NumberField(spec, "holdout_fraction", where, s.holdout_fraction));
  if (!IsAllowedHoldoutFraction(s.holdout_fraction)) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": holdout_fraction must be one of ", kAllowedHoldoutFractionsText));
  }
  return s;
}

bool IsAllowedHoldoutFraction(double fraction) {
  for (double f : kAllowedHoldoutFractions) {
    if (fraction == f) return true;
  }
  return false;
}

void AddRowSplit(const RowSplit& s, json& spec) {
  spec["split"] = s.by_site ? json(s.per_site) : json(s.split);
  spec["holdout_fraction"] = s.holdout_fraction;
}

}  // namespace scancov::wire
