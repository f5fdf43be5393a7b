// Test helpers: sites/ct phantoms as core Volumes, and Dice of one label.
#ifndef SCANCOV_MODELS_CT_TEST_PHANTOM_H_
#define SCANCOV_MODELS_CT_TEST_PHANTOM_H_

#include <cstdint>

#include "core/volume.h"
#include "sites/ct/phantom_spec.h"
#include "sites/ct/phantom_volume.h"

namespace scancov::ct::testing {

struct PhantomVolumes {
  sites::PhantomVolume phantom;
  HuVolume hu;
  LabelVolume lungs;    // 0 / 1 right / 2 left
  LabelVolume lesions;  // 0 outside, 1 healthy, 2 GGO, 3 crazy paving, 4 consolidation
};

// A small phantom (SmallScanner: 128 x 128 x 40, 3 x 3 x 5 mm) with the given disease.
sites::PhantomSpec SmallSpec(uint64_t seed, double extent, double ggo, double crazy_paving,
                             double consolidation);
// Generates the phantom or fails the test (ADD_FAILURE and an empty result).
PhantomVolumes MakePhantom(const sites::PhantomSpec& spec);

// Dice of label `value` between two label volumes of the same size.
double DiceOf(const LabelVolume& a, const LabelVolume& b, uint8_t value);

}  // namespace scancov::ct::testing

#endif  // SCANCOV_MODELS_CT_TEST_PHANTOM_H_
