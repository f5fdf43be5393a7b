// The report section of a tabular model: the generic rounds tables and charts say it all.
#include "aggregator/coordinator/report_section.h"

namespace scancov::aggregator {

SCANCOV_REGISTER_REPORT_SECTION(tabular_training, ReportSection);

}  // namespace scancov::aggregator
