// Builders of the dictionary tables (variables_table.cc); use the accessors in variables.h.
#ifndef SCANCOV_SITES_COHORT_VARIABLES_INTERNAL_H_
#define SCANCOV_SITES_COHORT_VARIABLES_INTERNAL_H_

#include <vector>

#include "sites/cohort/variables.h"

namespace scancov::sites::internal {

std::vector<VariableSpec> BuildAdmissionTable();
std::vector<VariableSpec> BuildOutcomeTable();

}  // namespace scancov::sites::internal

#endif  // SCANCOV_SITES_COHORT_VARIABLES_INTERNAL_H_
