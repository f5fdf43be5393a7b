// COVID-19 lesions: GGO, crazy paving and consolidation with an exact voxel count per lung.
//
// Every lung voxel gets a score: a smooth random field (blob-shaped lesions) plus a preference
// for the subpleural periphery and for the lung bases when the spec asks for them. The
// round(extent x lung voxels) highest-scoring voxels become lesion, so the extent is exact to
// one voxel. Within a lesion the score also orders the types: the highest scores (the blob
// cores) become consolidation, the next crazy paving, the rim ground glass, in the requested
// proportions.
#include <algorithm>
#include <cmath>
#include <utility>

#include "sites/ct/phantom_internal.h"

namespace scancov::sites::internal {
namespace {

struct TypeCounts {
  int64_t consolidation = 0, crazy_paving = 0, ggo = 0;
};

TypeCounts SplitLesions(const DiseaseSpec& d, int64_t lesion_voxels) {
  double cons = d.consolidation_fraction, cp = d.crazy_paving_fraction, ggo = d.ggo_fraction;
  const double sum = cons + cp + ggo;
  if (sum <= 0) {
    cons = cp = 0;
    ggo = 1;
  } else {
    cons /= sum;
    cp /= sum;
  }
  TypeCounts out;
  out.consolidation = std::llround(lesion_voxels * cons);
  out.crazy_paving = std::min(lesion_voxels - out.consolidation,
                              static_cast<int64_t>(std::llround(lesion_voxels * cp)));
  out.ggo = lesion_voxels - out.consolidation - out.crazy_paving;
  return out;
}

}  // namespace

void PaintLesions(const DiseaseSpec& disease, Canvas& c, Random& rng, PhantomTruth& truth) {
  const PhantomGrid& g = c.grid;
  const Anatomy& a = c.anatomy;
  const SmoothField coarse(g, 32.0, rng);
  const SmoothField fine(g, 14.0, rng);
  const SmoothField texture(g, 5.0, rng);
  // Interlobular septa of crazy paving: a grid of lines about 7 mm apart (at least 3 voxels).
  const int septa_period = std::max(3, static_cast<int>(std::lround(7.0 / g.dx)));

  for (int side = 0; side < 2; ++side) {
    const uint8_t label = side == 0 ? kLungRight : kLungLeft;
    LungTruth& lt = side == 0 ? truth.right : truth.left;
    lt.requested_extent = side == 0 ? disease.extent_right : disease.extent_left;
    std::vector<std::pair<float, size_t>> scored;
    for (int k = 0; k < g.nz; ++k) {
      for (int j = 0; j < g.ny; ++j) {
        for (int i = 0; i < g.nx; ++i) {
          const size_t idx = g.Index(k, j, i);
          if (c.lung[idx] != label) continue;
          const Vec3 b = LungBaseCoordinates(a, c.Position(k, j, i));
          const double rc = std::sqrt(b.x * b.x / (a.cavity_a * a.cavity_a) +
                                      b.y * b.y / (a.cavity_b * a.cavity_b));
          const double t_rel = std::clamp((b.z / a.length - 0.05) / 0.9, 0.0, 1.0);
          double score = 0.65 * coarse.At(k, j, i) + 0.35 * fine.At(k, j, i);
          score +=
              disease.peripheral ? 1.1 * std::clamp((rc - 0.4) / 0.57, 0.0, 1.0) : 0.4 * (1.0 - rc);
          if (disease.inferior) score += 0.9 * (1.0 - t_rel);
          scored.emplace_back(static_cast<float>(score), idx);
        }
      }
    }
    lt.lung_voxels = static_cast<int64_t>(scored.size());
    const int64_t lesions = std::min<int64_t>(
        lt.lung_voxels, std::llround(lt.requested_extent * static_cast<double>(lt.lung_voxels)));
    auto by_score = [](const std::pair<float, size_t>& x, const std::pair<float, size_t>& y) {
      return x.first != y.first ? x.first > y.first : x.second < y.second;
    };
    std::nth_element(scored.begin(), scored.begin() + lesions, scored.end(), by_score);
    std::sort(scored.begin(), scored.begin() + lesions, by_score);
    const TypeCounts counts = SplitLesions(disease, lesions);
    for (int64_t n = 0; n < lesions; ++n) {
      const size_t idx = scored[n].second;
      const int i = static_cast<int>(idx % g.nx);
      const int j = static_cast<int>((idx / g.nx) % g.ny);
      const int k = static_cast<int>(idx / (static_cast<size_t>(g.nx) * g.ny));
      const double tex = texture.At(k, j, i) - 0.5;
      if (n < counts.consolidation) {
        c.lesion[idx] = kLesionConsolidation;
        c.hu[idx] = static_cast<float>(PhantomHu::kConsolidation + 80 * tex);
      } else if (n < counts.consolidation + counts.crazy_paving) {
        c.lesion[idx] = kLesionCrazyPaving;
        const bool septum = i % septa_period == 0 || j % septa_period == 0;
        c.hu[idx] = static_cast<float>((septum ? -380 : -530) + 30 * tex);
      } else {
        c.lesion[idx] = kLesionGgo;
        c.hu[idx] = static_cast<float>(PhantomHu::kGgo + 60 * tex);
      }
    }
    lt.consolidation_voxels = counts.consolidation;
    lt.crazy_paving_voxels = counts.crazy_paving;
    lt.ggo_voxels = counts.ggo;
    lt.healthy_voxels = lt.lung_voxels - lesions;
  }
}

}  // namespace scancov::sites::internal
