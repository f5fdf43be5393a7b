// The report section of a segmentation network: the generic rounds tables and per-metric charts
// (Dice, volume error).
#include "aggregator/coordinator/report_section.h"

namespace scancov::aggregator {

SCANCOV_REGISTER_REPORT_SECTION(segmentation, ReportSection);

}  // namespace scancov::aggregator
