#include "models/nn/severity_test_scans.h"

#include <cstdlib>

#include "core/env.h"
#include "sites/ct/phantom_volume.h"

namespace scancov::nn {

SeverityScan MakeSeverityPhantom(uint64_t seed, int label) {
  Random rng(seed * 7919 + 13);
  sites::PhantomSpec spec;
  spec.seed = seed;
  spec.patient.body_scale = 0.9 + 0.15 * rng.Uniform();
  const bool severe = label == 1;
  const double extent = severe ? 0.25 + 0.2 * rng.Uniform() : 0.08 * rng.Uniform();
  spec.disease.extent_right = extent;
  spec.disease.extent_left = extent * (0.7 + 0.3 * rng.Uniform());
  spec.disease.ggo_fraction = severe ? 0.4 : 0.9;
  spec.disease.crazy_paving_fraction = severe ? 0.3 : 0.1;
  spec.disease.consolidation_fraction = severe ? 0.3 : 0.0;
  spec.scanner.rows = 64;
  spec.scanner.columns = 64;
  spec.scanner.pixel_spacing_mm = 6.0;
  spec.scanner.slice_thickness_mm = 10.0;
  spec.scanner.number_of_slices = 16;
  absl::StatusOr<sites::PhantomVolume> volume = sites::GeneratePhantomVolume(spec);
  if (!volume.ok()) std::abort();  // a fixed, valid spec: a failure is a bug in the generator
  const sites::PhantomGrid& g = volume->grid;
  SeverityScan scan;
  scan.ct = HuVolume(g.nx, g.ny, g.nz, {g.dx, g.dy, g.dz});
  scan.ct.voxels = volume->hu;
  scan.lungs = LabelVolume(g.nx, g.ny, g.nz, scan.ct.spacing);
  scan.lungs.voxels = volume->lung_labels;
  scan.label = label;
  return scan;
}

std::vector<SeverityScan> MakeSeverityCohort(uint64_t first_seed, int count) {
  std::vector<SeverityScan> scans;
  for (int i = 0; i < count; ++i) scans.push_back(MakeSeverityPhantom(first_seed + i, i % 2));
  return scans;
}

SeverityScan WithDeviceOutsideLungs(const SeverityScan& scan, int16_t hu) {
  SeverityScan out = scan;
  for (int k = 0; k < out.ct.nz; ++k) {
    for (int j = 0; j < out.ct.ny; ++j) {
      for (int i = 0; i < out.ct.nx; ++i) {
        if (out.lungs.at(k, j, i) == 0 && (i % 3 == 0 || j == 0)) out.ct.at(k, j, i) = hu;
      }
    }
  }
  return out;
}

}  // namespace scancov::nn
