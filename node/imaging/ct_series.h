// CtSeries: a decoded CT series as the node holds it: the CT itself (a HuVolume, core/volume.h:
// HU voxels, grid and placement in patient coordinates) and whose it is, by pseudonymous keys.
//
// Why two types and not one: the volume is what every room computes on (models/ct, models/nn,
// sites/ct), and none of them needs to know about patients or series; the keys are node
// metadata (the imaging store and the volume cache are keyed by them). So the node wraps the
// volume instead of the volume carrying optional identity fields, and code that only computes
// takes the HuVolume by reference, with no copy.
#ifndef SCANCOV_NODE_IMAGING_CT_SERIES_H_
#define SCANCOV_NODE_IMAGING_CT_SERIES_H_

#include <string>

#include "core/volume.h"

namespace scancov::node {

struct CtSeries {
  // Hounsfield units, clamped to int16; slices sorted so that k grows along the slice normal.
  HuVolume volume;

  // Pseudonymous keys (privacy::Pseudonymizer): the patient (from PatientID), the study and
  // the series (from their instance UIDs). Never the identifiers themselves.
  std::string patient_key;
  std::string study_key;
  std::string series_key;
};

}  // namespace scancov::node

#endif  // SCANCOV_NODE_IMAGING_CT_SERIES_H_
