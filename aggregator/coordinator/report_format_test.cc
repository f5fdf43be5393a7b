// The study report's tables are for people (counts as counts, estimates without trailing
// zeros); its CSV keeps every digit for scripts.
#include <gmock/gmock.h>

#include "aggregator/coordinator/report.h"

namespace scancov::aggregator {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

v1::StudyStatus TrainingStudy() {
  v1::StudyStatus st;
  st.set_study_id("demo");
  st.set_state(v1::STUDY_STATE_DONE);
  st.mutable_spec()->set_name("demo");
  st.mutable_spec()->set_kind(v1::STUDY_KIND_TRAINING);
  st.mutable_spec()->set_study_kind("tabular_training");
  st.mutable_spec()->set_rounds(1);
  st.mutable_spec()->add_sites("kb");
  v1::RoundStatus* r = st.add_rounds();
  r->set_round(1);
  r->set_state("closed");
  (*r->mutable_metrics())["global.n_val"] = 287;
  (*r->mutable_metrics())["global.val_auc"] = 0.81774321;
  (*r->mutable_metrics())["local.n_val_withheld"] = 1;
  v1::SiteRoundStatus* s = r->add_sites();
  s->set_site_id("kb");
  s->set_state("done");
  (*s->mutable_metrics())["global.val_auc"] = 0.7650001;
  return st;
}

TEST(ReportFormatTest, TablesShowCountsAsCountsAndCsvKeepsEveryDigit) {
  const v1::StudyStatus st = TrainingStudy();
  const std::string md = StudyReportMarkdown(st);
  EXPECT_THAT(md, HasSubstr("| 287 |"));
  EXPECT_THAT(md, HasSubstr("| 0.8177 |"));
  EXPECT_THAT(md, HasSubstr("| 1 |"));
  EXPECT_THAT(md, HasSubstr("| 0.765 |"));
  EXPECT_THAT(md, Not(HasSubstr("287.0000")));
  EXPECT_THAT(md, Not(HasSubstr("1.0000")));
  const std::string csv = StudyMetricsCsv(st);
  EXPECT_THAT(csv, HasSubstr("1,,all,global.val_auc,0.81774321\n"));
  EXPECT_THAT(csv, HasSubstr("1,,kb,global.val_auc,0.7650001\n"));
}

}  // namespace
}  // namespace scancov::aggregator
