// The report section of a federated intercept calibration: the calibrated intercept with its
// standard error, the rest of the published linear predictor kept as published.
#include <nlohmann/json.hpp>

#include "absl/strings/str_format.h"
#include "aggregator/coordinator/report_section.h"

namespace scancov::aggregator {
namespace {

class InterceptCalibrationReport : public ReportSection {
 public:
  std::string Markdown(const v1::StudyStatus& status) const override {
    if (status.rounds().empty()) return "";
    const nlohmann::json r =
        nlohmann::json::parse(status.rounds().rbegin()->result_json(), nullptr, false);
    if (!r.is_object() || !r.contains("fit")) return "";
    const nlohmann::json& f = r.at("fit");
    return absl::StrFormat(
        "\n## Calibrated intercept\n\nintercept = %.4f (SE %.4f), %d Newton steps, n = %d, "
        "events = %d; the rest of the linear predictor kept as published.\n",
        f.value("intercept", 0.0), f.value("se", 0.0), f.value("iterations", 0), f.value("n", 0),
        f.value("events", 0));
  }
};

}  // namespace

SCANCOV_REGISTER_REPORT_SECTION(intercept_calibration, InterceptCalibrationReport);

}  // namespace scancov::aggregator
