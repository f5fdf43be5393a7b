#include "models/ct/morphology.h"

#include "gtest/gtest.h"
#include "models/ct/connected_components.h"

namespace scancov::ct {
namespace {

TEST(Components, FaceAndFullConnectivityDiffer) {
  // Two voxels touching only at a corner, plus a separate bar.
  LabelVolume m(6, 3, 2, {1, 1, 1});
  m.at(0, 0, 0) = 1;
  m.at(1, 1, 1) = 1;
  for (int i = 3; i < 6; ++i) m.at(0, 2, i) = 1;
  const Components face = LabelComponents(m, Connectivity::kFace);
  EXPECT_EQ(face.count, 3);
  const Components full = LabelComponents(m, Connectivity::kFull);
  EXPECT_EQ(full.count, 2);
  EXPECT_EQ(full.labels[m.Index(0, 0, 0)], full.labels[m.Index(1, 1, 1)]);
  EXPECT_EQ(full.sizes[full.labels[m.Index(0, 2, 4)]], 3);
  EXPECT_EQ(LabelsBySize(full).front(), full.labels[m.Index(0, 2, 3)]);
}

TEST(Components, UShapeJoinsThroughALaterRow) {
  // Two columns joined only at the bottom: union-find must merge labels met first apart.
  LabelVolume m(5, 4, 1, {1, 1, 1});
  for (int j = 0; j < 4; ++j) m.at(0, j, 0) = m.at(0, j, 4) = 1;
  for (int i = 0; i < 5; ++i) m.at(0, 3, i) = 1;
  const Components c = LabelComponents(m, Connectivity::kFace);
  EXPECT_EQ(c.count, 1);
  EXPECT_EQ(c.sizes[1], 11);
}

TEST(Morphology, DistanceTransformIsEuclideanInMillimetres) {
  LabelVolume m(7, 7, 3, {1.0, 2.0, 3.0});
  m.at(1, 3, 3) = 1;
  const Volume<float> d = SquaredDistanceToMask(m, /*in_plane=*/false, 2);
  EXPECT_FLOAT_EQ(d.at(1, 3, 3), 0.0f);
  EXPECT_FLOAT_EQ(d.at(1, 3, 6), 9.0f);                // 3 columns of 1 mm
  EXPECT_FLOAT_EQ(d.at(1, 5, 3), 16.0f);               // 2 rows of 2 mm
  EXPECT_FLOAT_EQ(d.at(2, 4, 4), 1.0f + 4.0f + 9.0f);  // diagonal
  const Volume<float> p = SquaredDistanceToMask(m, /*in_plane=*/true, 1);
  EXPECT_GE(p.at(0, 3, 3), 1e29f);  // nothing in slice 0
}

TEST(Morphology, DilateErodeCloseAndHoles) {
  LabelVolume m(11, 11, 1, {1, 1, 1});
  m.at(0, 5, 5) = 1;
  const LabelVolume d = Dilate(m, 2.0, true);
  int n = 0;
  for (uint8_t v : d.voxels) n += v;
  EXPECT_EQ(n, 13);  // the lattice points within radius 2
  // Eroding the radius-2 disk by 1 leaves the centre and its 4 neighbours.
  n = 0;
  for (uint8_t v : Erode(d, 1.0, true).voxels) n += v;
  EXPECT_EQ(n, 5);
  EXPECT_EQ(Erode(d, 1.0, true).at(0, 5, 6), 1);
  // A ring with a one-voxel gap: closing bridges it, hole filling then fills the inside.
  LabelVolume ring(9, 9, 1, {1, 1, 1});
  for (int j = 1; j < 8; ++j)
    for (int i = 1; i < 8; ++i)
      if (j == 1 || j == 7 || i == 1 || i == 7) ring.at(0, j, i) = 1;
  ring.at(0, 1, 4) = 0;
  LabelVolume holes = ring;
  FillHolesInSlices(holes);
  EXPECT_EQ(holes.at(0, 4, 4), 0);  // open ring: no hole
  LabelVolume closed = Close(ring, 1.5, true);
  EXPECT_EQ(closed.at(0, 1, 4), 1);
  FillHolesInSlices(closed);
  EXPECT_EQ(closed.at(0, 4, 4), 1);
  // Erosion does not eat a mask from the grid's border.
  LabelVolume full(4, 4, 2, {1, 1, 1}, 1);
  EXPECT_EQ(Erode(full, 1.5, false).voxels, full.voxels);
}

}  // namespace
}  // namespace scancov::ct
