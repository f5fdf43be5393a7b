// Tiny synthetic chest CTs (sites/ct phantoms) for the AI-severity tests: 64 x 64 pixels of 6 mm,
// 16 slices of 10 mm, whose lesion extent depends on a simulated outcome so that the task is
// learnable: severe scans have 25-45% of each lung diseased (with consolidation and crazy
// paving), non-severe ones 0-8% (ground glass mostly). Test-only.
#ifndef SCANCOV_MODELS_NN_SEVERITY_TEST_SCANS_H_
#define SCANCOV_MODELS_NN_SEVERITY_TEST_SCANS_H_

#include <cstdint>
#include <vector>

#include "models/nn/severity_slices.h"

namespace scancov::nn {

// One phantom; `seed` drives the anatomy, the extent within its range and the noise.
SeverityScan MakeSeverityPhantom(uint64_t seed, int label);

// `count` scans alternating severe / not severe, seeds first_seed, first_seed + 1, ...
std::vector<SeverityScan> MakeSeverityCohort(uint64_t first_seed, int count);

// A copy of `scan` with a 'device' of `hu` HU (a catheter, a tube, a table) in every voxel
// outside the lung mask whose column is a multiple of 3, and in the first row.
SeverityScan WithDeviceOutsideLungs(const SeverityScan& scan, int16_t hu);

}  // namespace scancov::nn

#endif  // SCANCOV_MODELS_NN_SEVERITY_TEST_SCANS_H_
