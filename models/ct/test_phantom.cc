#include "models/ct/test_phantom.h"

#include <utility>

#include "gtest/gtest.h"

namespace scancov::ct::testing {

sites::PhantomSpec SmallSpec(uint64_t seed, double extent, double ggo, double crazy_paving,
                             double consolidation) {
  sites::PhantomSpec spec;
  spec.seed = seed;
  spec.scanner = sites::SmallScanner();
  spec.disease.extent_right = extent;
  spec.disease.extent_left = 0.8 * extent;
  spec.disease.ggo_fraction = ggo;
  spec.disease.crazy_paving_fraction = crazy_paving;
  spec.disease.consolidation_fraction = consolidation;
  return spec;
}

PhantomVolumes MakePhantom(const sites::PhantomSpec& spec) {
  PhantomVolumes out;
  absl::StatusOr<sites::PhantomVolume> p = sites::GeneratePhantomVolume(spec);
  if (!p.ok()) {
    ADD_FAILURE() << p.status();
    return out;
  }
  out.phantom = *std::move(p);
  const sites::PhantomGrid& g = out.phantom.grid;
  const std::array<double, 3> spacing{g.dx, g.dy, g.dz};
  out.hu = HuVolume(g.nx, g.ny, g.nz, spacing);
  out.hu.voxels = out.phantom.hu;
  out.lungs = LabelVolume(g.nx, g.ny, g.nz, spacing);
  out.lungs.voxels = out.phantom.lung_labels;
  out.lesions = LabelVolume(g.nx, g.ny, g.nz, spacing);
  out.lesions.voxels = out.phantom.lesion_labels;
  return out;
}

double DiceOf(const LabelVolume& a, const LabelVolume& b, uint8_t value) {
  int64_t both = 0, na = 0, nb = 0;
  for (size_t v = 0; v < a.voxels.size(); ++v) {
    const bool x = a.voxels[v] == value, y = b.voxels[v] == value;
    both += x && y;
    na += x;
    nb += y;
  }
  return na + nb ? 2.0 * both / (na + nb) : 1.0;
}

}  // namespace scancov::ct::testing
