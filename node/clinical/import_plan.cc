#include "node/clinical/import_plan.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "node/clinical/decimal_style.h"

namespace scancov::node::internal {
namespace {

// Columns need this many values before their median says anything about units.
constexpr size_t kMinValuesForUnitCheck = 8;

std::string Range(const sites::VariableSpec& spec) {
  return absl::StrFormat("[%g, %g]%s%s", spec.min, spec.max, spec.unit.empty() ? "" : " ",
                         spec.unit);
}

bool IsMissingToken(absl::string_view t) {
  if (t.empty()) return true;
  const std::string lower = absl::AsciiStrToLower(t);
  return lower == "na" || lower == "n/a" || lower == "nan" || lower == "null";
}

// Resolves a header that is not the id and not mapped: a dictionary column, a dropped
// identifier, or an error.
std::string PlanUnmapped(const std::string& header, const ColumnMapping* mapping,
                         PlannedColumn& col) {
  if (sites::IsDirectIdentifierColumn(header) ||
      (mapping != nullptr &&
       (mapping->drop_unmapped ||
        std::find(mapping->drop.begin(), mapping->drop.end(), header) != mapping->drop.end()))) {
    col.kind = ColumnKind::kDrop;
    return "";
  }
  const sites::ResolvedHeader r = sites::ResolveHeader(header);
  if (r.spec == nullptr) {
    return "unknown column (not in the variable dictionary; rename it, or map or drop it in a "
           "column mapping)";
  }
  col.kind = ColumnKind::kVariable;
  col.spec = r.spec;
  if (r.alternative != nullptr && !r.alternative->IsSynonym()) {
    return absl::StrCat("wrong units: ", r.spec->name, " given in ", r.alternative->unit,
                        ", expected ", r.spec->unit, " (", r.alternative->note,
                        "); convert the column, or declare its unit in a column mapping");
  }
  return "";
}

std::string PlanMapped(const MappedColumn& m, PlannedColumn& col) {
  col.kind = ColumnKind::kVariable;
  col.spec = sites::FindVariable(m.name);
  if (col.spec == nullptr) return "maps to an unknown variable";
  if (!m.unit.empty()) {
    const sites::ResolvedHeader r = sites::ResolveUnit(*col.spec, m.unit);
    if (r.spec == nullptr) return "mapped unit is not known for this variable";
    col.unit = r.alternative;
    col.unit_declared = true;
  }
  if (!m.values.empty()) col.codes = &m.values;
  return "";
}

}  // namespace

std::string Where(absl::string_view file, int line, int field_index, absl::string_view header) {
  return absl::StrCat(file, ":", line, ":", field_index + 1, " (", header, ")");
}

absl::StatusOr<ImportPlan> PlanColumns(absl::string_view file, const CsvRecord& header,
                                       const ColumnMapping* mapping) {
  const std::string id_column = mapping != nullptr ? mapping->id_column : sites::kPatientIdColumn;
  ImportPlan plan;
  std::vector<std::string> errors;
  absl::flat_hash_map<std::string, int> seen;  // canonical variable -> field
  for (size_t i = 0; i < header.fields.size(); ++i) {
    PlannedColumn col;
    col.header = std::string(absl::StripAsciiWhitespace(header.fields[i]));
    std::string why;
    if (col.header == id_column && plan.id_index < 0) {
      col.kind = ColumnKind::kId;
      plan.id_index = static_cast<int>(i);
    } else if (mapping != nullptr && mapping->columns.count(col.header) > 0) {
      why = PlanMapped(mapping->columns.at(col.header), col);
    } else {
      why = PlanUnmapped(col.header, mapping, col);
    }
    if (why.empty() && col.kind == ColumnKind::kVariable) {
      auto [it, inserted] = seen.emplace(col.spec->name, static_cast<int>(i));
      if (!inserted) {
        why =
            absl::StrCat("variable ", col.spec->name, " already given by column ", it->second + 1);
      }
    }
    if (!why.empty())
      errors.push_back(absl::StrCat(Where(file, header.line, i, col.header), ": ", why));
    if (col.kind == ColumnKind::kVariable && why.empty()) {
      plan.variable_fields.push_back(static_cast<int>(i));
      plan.variables.push_back(col.spec->name);
    }
    if (col.kind == ColumnKind::kDrop) plan.dropped.push_back(col.header);
    plan.columns.push_back(std::move(col));
  }
  if (plan.id_index < 0 && plan.variables.empty()) {
    // Probably no header row: the first line is a patient's, so quote none of it.
    return absl::InvalidArgumentError(absl::StrCat(
        file, ":", header.line, ": the header names no known column (is the header row missing?)"));
  }
  if (plan.id_index < 0) {
    errors.push_back(
        absl::StrCat(file, ":", header.line, ": no patient identifier column '", id_column, "'"));
  }
  if (!errors.empty()) return absl::InvalidArgumentError(absl::StrJoin(errors, "; "));
  return plan;
}

double ParseCell(const PlannedColumn& column, absl::string_view text, char decimal,
                 std::string* why) {
  const double nan = std::nan("");
  const absl::string_view t = absl::StripAsciiWhitespace(text);
  if (IsMissingToken(t)) return nan;
  const sites::VariableSpec& spec = *column.spec;
  double v = 0;
  if (column.codes != nullptr) {
    auto it = column.codes->find(std::string(t));
    if (it == column.codes->end()) {
      *why = "not one of the codes declared in the column mapping";
      return nan;
    }
    v = it->second;
  } else if (!ParseNumber(t, decimal, &v, why)) {
    if (why->empty()) {
      *why = absl::StrCat("not a number (expected ", sites::TypeName(spec.type), " in ",
                          Range(spec), ")");
    }
    return nan;
  }
  return column.unit != nullptr ? column.unit->ToCanonical(v) : v;
}

std::string CheckValue(const sites::VariableSpec& spec, double value) {
  if (spec.Accepts(value)) return "";
  if (spec.type != sites::VariableType::kContinuous && value >= spec.min && value <= spec.max) {
    return absl::StrCat("not an allowed value (", spec.levels, ")");
  }
  std::string why = absl::StrCat("value outside the plausible range ", Range(spec));
  for (const sites::AlternativeUnit& alt : spec.alternatives) {
    if (!alt.IsSynonym() && spec.Accepts(alt.ToCanonical(value))) {
      absl::StrAppend(&why, "; looks like ", alt.unit, " (", alt.note, ")");
      break;
    }
  }
  return why;
}

std::string CheckColumnUnits(const sites::VariableSpec& spec, std::vector<double> values) {
  values.erase(std::remove_if(values.begin(), values.end(), [](double v) { return std::isnan(v); }),
               values.end());
  if (!spec.HasMedianCheck() || values.size() < kMinValuesForUnitCheck) return "";
  std::nth_element(values.begin(), values.begin() + values.size() / 2, values.end());
  const double median = values[values.size() / 2];
  if (median >= spec.median_lo && median <= spec.median_hi) return "";
  std::vector<std::string> candidates;
  for (const sites::AlternativeUnit& alt : spec.alternatives) {
    const double m = alt.ToCanonical(median);
    if (!alt.IsSynonym() && m >= spec.median_lo && m <= spec.median_hi) {
      candidates.push_back(absl::StrCat(alt.unit, " (", alt.note, ")"));
    }
  }
  if (candidates.empty()) return "";  // atypical cohort, not evidently a unit problem
  return absl::StrFormat(
      "wrong units: the column's median is outside the typical range [%g, %g] for %s and "
      "looks like %s; convert the column, or declare its unit in a column mapping",
      spec.median_lo, spec.median_hi, spec.unit, absl::StrJoin(candidates, " or "));
}

}  // namespace scancov::node::internal
