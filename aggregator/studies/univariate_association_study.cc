// The univariate_association kind at the aggregator: one round of per-site association
// statistics (protocol/wire/univariate_association.h), combined into the seed's Table 1
// (association_table.h).
#include "absl/strings/str_cat.h"
#include "aggregator/server/study_logic.h"
#include "aggregator/studies/association_table.h"
#include "aggregator/studies/round_helpers.h"
#include "core/status_macros.h"
#include "protocol/wire/univariate_association.h"

namespace scancov::aggregator {
namespace {

class UnivariateAssociationStudy : public StudyLogic {
 public:
  explicit UnivariateAssociationStudy(wire::AssociationSpec spec) : spec_(std::move(spec)) {}

  static absl::StatusOr<std::unique_ptr<StudyLogic>> Create(const v1::StudySpec& spec) {
    SCV_ASSIGN_OR_RETURN(wire::AssociationSpec parsed,
                         wire::ParseAssociationSpec(spec.spec_json()));
    return std::make_unique<UnivariateAssociationStudy>(std::move(parsed));
  }

  std::vector<TaskRecord> PlanRound(const StudyRecord& study, uint32_t round, const std::string&,
                                    const std::vector<RoundRecord>&) const override {
    return TasksPerSite(study, round, v1::TASK_KIND_ANALYZE, "");
  }

  absl::Status ValidateResult(const TaskRecord& task, const v1::UploadHeader& header,
                              const protocol::TensorSet* weights,
                              const protocol::TensorSet*) const override {
    if (weights != nullptr) return absl::InvalidArgumentError("ANALYZE results carry no weights");
    return Annotate(wire::ParseAssociationSiteResult(header.result_json()).status(),
                    absl::StrCat("site ", task.site_id));
  }

  absl::StatusOr<RoundOutcome> CloseRound(const StudyRecord& study, uint32_t,
                                          const protocol::TensorSet*,
                                          const std::vector<ResultRecord>& results,
                                          const std::vector<RoundRecord>&) const override {
    std::vector<std::pair<std::string, wire::AssociationSiteResult>> site_results;
    for (const std::string& site : study.spec.sites()) {  // keep the spec's site order
      for (const ResultRecord& r : results) {
        if (r.site_id != site) continue;
        absl::StatusOr<wire::AssociationSiteResult> parsed =
            wire::ParseAssociationSiteResult(r.result_json);
        SCV_RETURN_IF_ERROR(Annotate(parsed.status(), absl::StrCat("site ", site)));
        site_results.push_back({site, std::move(*parsed)});
      }
    }
    SCV_ASSIGN_OR_RETURN(wire::AssociationTable table, CombineAssociations(site_results, spec_));
    RoundOutcome out;
    out.result_json = wire::ToJson(table);
    int significant = 0;
    for (const wire::AssociationRow& row : table.rows) significant += row.significant;
    out.metrics["n_terms_tested"] = table.tests;
    out.metrics["n_terms_significant"] = significant;
    out.study_done = true;
    return out;
  }

 private:
  const wire::AssociationSpec spec_;
};

}  // namespace

SCANCOV_REGISTER_STUDY_LOGIC(univariate_association, &UnivariateAssociationStudy::Create);

}  // namespace scancov::aggregator
