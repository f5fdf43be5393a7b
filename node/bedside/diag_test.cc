#include <gtest/gtest.h>
#include <cstdio>
#include "node/bedside/bedside_test_util.h"
#include "node/bedside/score_patient.h"
#include "sites/ct/phantom_volume.h"
namespace scancov::node {
TEST(Diag, Healthy) {
  for (double ext : {0.0, 0.35}) {
  sites::PhantomSpec spec = testing::ChestSpec(21, ext, ext);
  const sites::PhantomFiles files = testing::WriteChestPhantom(spec, "diag");
  auto r = ScorePatient(testing::DefaultRequest(files.dicom_dir));
  ASSERT_TRUE(r.ok()) << r.status();
  auto v = sites::GeneratePhantomVolume(spec);
  const auto& g = v->grid;
  int64_t fp = 0, fn = 0, tp = 0, outside = 0, border = 0, near_vessel = 0, hist[5] = {0,0,0,0,0};
  int64_t lung_extra = 0, lung_missing = 0;
  for (int k = 0; k < g.nz; ++k) for (int j = 1; j < g.ny-1; ++j) for (int i = 1; i < g.nx-1; ++i) {
    size_t idx = g.Index(k, j, i);
    bool mine = r->lesion_labels.voxels[idx] >= 2, truth = v->lesion_labels[idx] >= 2;
    lung_extra += r->lungs.voxels[idx] && !v->lung_labels[idx];
    lung_missing += !r->lungs.voxels[idx] && v->lung_labels[idx];
    if (mine && truth) ++tp;
    if (!mine && truth) ++fn;
    if (mine && !truth) {
      ++fp;
      if (!v->lung_labels[idx]) { ++outside; continue; }
      bool b = false;
      for (auto d : {g.Index(k,j,i+1), g.Index(k,j,i-1), g.Index(k,j+1,i), g.Index(k,j-1,i)}) b |= !v->lung_labels[d];
      if (k > 0) b |= !v->lung_labels[g.Index(k-1,j,i)];
      if (k < g.nz-1) b |= !v->lung_labels[g.Index(k+1,j,i)];
      border += b;
      int hu = v->hu[idx];
      hist[hu < -780 ? 0 : hu < -570 ? 1 : hu < -290 ? 2 : hu < 0 ? 3 : 4]++;
      bool vessel=false;
      for (int dj=-2; dj<=2; ++dj) for (int di=-2; di<=2; ++di) { int jj=j+dj, ii=i+di; if (jj<0||ii<0||jj>=g.ny||ii>=g.nx) continue; size_t d=g.Index(k,jj,ii); vessel |= v->lung_labels[d] && v->hu[d] > -200; }
      near_vessel += vessel && !b;
    }
  }
  printf("ext %.2f tp %ld fn %ld fp %ld (outside truth lung %ld, truth border %ld, near vessel %ld) raw hu bins %ld %ld %ld %ld %ld; lung extra %ld missing %ld\n", ext, tp, fn, fp, outside, border, near_vessel, hist[0],hist[1],hist[2],hist[3],hist[4], lung_extra, lung_missing);
  printf("both extent %.2f\n", r->lesions.both.extent_percent);
  }
}
}
