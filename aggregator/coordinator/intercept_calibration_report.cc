// The report section of a federated intercept calibration: the calibrated intercept with its
// standard error, the rest of the published linear predictor kept as published. Result:
// protocol/wire/intercept_calibration.h.
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "aggregator/coordinator/report_section.h"
#include "core/number_format.h"
#include "protocol/wire/intercept_calibration.h"

namespace scancov::aggregator {
namespace {

class InterceptCalibrationReport : public ReportSection {
 public:
  std::string Markdown(const v1::StudyStatus& status) const override {
    if (status.rounds().empty() || status.rounds().rbegin()->result_json().empty()) return "";
    absl::StatusOr<wire::InterceptRoundResult> r =
        wire::ParseInterceptRoundResult(status.rounds().rbegin()->result_json());
    if (!r.ok()) {
      return absl::StrCat("\nThe calibration's result could not be read: ", r.status().message(),
                          "\n");
    }
    if (!r->fit) return "";
    const scores::InterceptCalibration& f = *r->fit;
    return absl::StrFormat(
        "\n## Calibrated intercept\n\nintercept = %s (SE %s), %d Newton steps, n = %d, "
        "events = %d; the rest of the linear predictor kept as published.\n",
        HumanNumber(f.intercept, 4), HumanNumber(f.standard_error, 3), f.iterations,
        f.num_observations, f.num_events);
  }
};

}  // namespace

SCANCOV_REGISTER_REPORT_SECTION(intercept_calibration, InterceptCalibrationReport);

}  // namespace scancov::aggregator
