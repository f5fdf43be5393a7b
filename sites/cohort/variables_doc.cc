// Markdown rendering of the dictionary, with the ground-truth association of each variable.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "sites/cohort/ground_truth.h"
#include "sites/cohort/variables.h"

namespace scancov::sites {
namespace {

std::string Alternatives(const VariableSpec& spec) {
  std::vector<std::string> out;
  for (const AlternativeUnit& alt : spec.alternatives) {
    out.push_back(alt.IsSynonym()
                      ? absl::StrCat(alt.unit, " (same)")
                      : absl::StrCat(alt.unit, " [`_", alt.header_suffix, "`]: ", alt.note));
  }
  return absl::StrJoin(out, "; ");
}

std::string Row(const VariableSpec& spec, bool outcome) {
  const std::string range = spec.type == VariableType::kContinuous
                                ? absl::StrFormat("%g..%g", spec.min, spec.max)
                                : spec.levels;
  const std::string median =
      spec.HasMedianCheck() ? absl::StrFormat("%g..%g", spec.median_lo, spec.median_hi) : "";
  const std::string header =
      spec.header_suffix.empty() ? "" : absl::StrCat("`", spec.name, "_", spec.header_suffix, "`");
  const std::string association =
      outcome ? "outcome" : AssociationName(SeverityAssociation(spec.name));
  return absl::StrCat("| `", spec.name, "` | ", GroupName(spec.group), " | ", TypeName(spec.type),
                      " | ", spec.unit, " | ", header, " | ", range, " | ", median, " | ",
                      Alternatives(spec), " | ", association, spec.seed_variable ? "" : " (extra)",
                      " | ", spec.description, " |\n");
}

}  // namespace

std::string DictionaryMarkdown() {
  std::string out =
      "| column | group | type | unit | suffixed header | hard limits / codes | typical median "
      "| alternative units | severity ground truth | description |\n"
      "|---|---|---|---|---|---|---|---|---|---|\n";
  for (const VariableSpec& spec : AdmissionVariables()) absl::StrAppend(&out, Row(spec, false));
  for (const VariableSpec& spec : OutcomeVariables()) absl::StrAppend(&out, Row(spec, true));
  return out;
}

}  // namespace scancov::sites
