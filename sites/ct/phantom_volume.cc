#include "sites/ct/phantom_volume.h"

#include <algorithm>
#include <cmath>

#include "core/status_macros.h"
#include "sites/ct/phantom_internal.h"
#include "sites/ct/pixel_codec.h"

namespace scancov::sites {
namespace {

// Independent random streams per stage (SplitMix64 of seed and stage), so that changing the
// disease does not move the anatomy and changing the noise does not move the lesions.
uint64_t StreamSeed(uint64_t seed, uint64_t stage) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * (stage + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

PhantomGrid MakePhantomGrid(const ScannerSpec& scanner) {
  PhantomGrid g;
  g.nx = scanner.columns;
  g.ny = scanner.rows;
  g.nz = scanner.number_of_slices;
  g.dx = g.dy = scanner.pixel_spacing_mm;
  g.dz = SliceSpacing(scanner);
  // Centred in x and y; the top slice 40 mm below the table reference, as scanners often put
  // the chest at negative z.
  g.origin = {-0.5 * (g.nx - 1) * g.dx, -0.5 * (g.ny - 1) * g.dy, -(g.nz - 1) * g.dz - 40.0};
  return g;
}

absl::StatusOr<PhantomVolume> GeneratePhantomVolume(const PhantomSpec& spec) {
  SCV_RETURN_IF_ERROR(ValidatePhantomSpec(spec));
  internal::Canvas canvas;
  canvas.grid = MakePhantomGrid(spec.scanner);
  const size_t n = canvas.grid.size();
  canvas.hu.assign(n, static_cast<float>(PhantomHu::kAir));
  canvas.tissue.assign(n, internal::kTissueAir);
  canvas.lung.assign(n, kLungNone);
  canvas.lesion.assign(n, kLesionNone);

  PhantomVolume out;
  Random anatomy_rng(StreamSeed(spec.seed, 0));
  canvas.anatomy = internal::MakeAnatomy(spec, canvas.grid, anatomy_rng);
  internal::PaintAnatomy(canvas);
  internal::PaintLungVessels(canvas, anatomy_rng);
  Random lesion_rng(StreamSeed(spec.seed, 1));
  internal::PaintLesions(spec.disease, canvas, lesion_rng, out.truth);
  Random calcium_rng(StreamSeed(spec.seed, 2));
  internal::PaintCalcium(spec.calcium, canvas, calcium_rng, out.truth);
  internal::PaintDevices(spec.devices, canvas, out.truth);

  // Noise, then the round trip through the 16-bit stored values so that `hu` is exactly what
  // the DICOM files say.
  Random noise_rng(StreamSeed(spec.seed, 3));
  const PixelCodec codec(spec.scanner.rescale_slope, spec.scanner.rescale_intercept);
  std::normal_distribution<float> noise(0.0f, static_cast<float>(spec.scanner.noise_sigma_hu));
  out.hu.resize(n);
  for (size_t i = 0; i < n; ++i) {
    float v = canvas.hu[i];
    if (spec.scanner.noise_sigma_hu > 0) v += noise(noise_rng.engine());
    out.hu[i] = codec.ToHu(codec.ToStored(v));
  }
  out.grid = canvas.grid;
  out.lung_labels = std::move(canvas.lung);
  out.lesion_labels = std::move(canvas.lesion);
  return out;
}

}  // namespace scancov::sites
