// Binary morphology on label volumes (non-zero = foreground) with structuring elements given in
// millimetres, so the same radius means the same anatomy on a 0.7 mm and on a 3 mm grid.
//
// Dilation and erosion by a ball (or, with `in_plane`, a disk in each slice) are computed
// exactly from a Euclidean distance transform (Felzenszwalb & Huttenlocher's lower envelope of
// parabolas, one pass per axis, anisotropic spacing), which costs O(voxels) whatever the
// radius:
//   Dilate(A, r) = { p : dist(p, A) <= r },  Erode(A, r) = { p : dist(p, not A) > r }.
// The grid's outside counts as foreground for erosion (a mask touching the first or last slice
// is not eaten from the image border) and as background for dilation.
//
// FillHolesInSlices sets, in every slice, the background not 4-connected to the slice border.
// Functions are pure except FillHolesInSlices (in place); work is split over `threads`.
#ifndef SCANCOV_MODELS_CT_MORPHOLOGY_H_
#define SCANCOV_MODELS_CT_MORPHOLOGY_H_

#include <vector>

#include "core/volume.h"

namespace scancov::ct {

// Squared distance in mm^2 from every voxel to the nearest voxel where mask != 0 (0 on it); a
// very large value (>= 1e30) when the mask is empty (in that slice, with `in_plane`).
Volume<float> SquaredDistanceToMask(const LabelVolume& mask, bool in_plane, int threads = 0);

// Results hold 0 / 1.
LabelVolume Dilate(const LabelVolume& mask, double radius_mm, bool in_plane, int threads = 0);
LabelVolume Erode(const LabelVolume& mask, double radius_mm, bool in_plane, int threads = 0);
// Erode(Dilate(mask)): fills gaps and concavities narrower than about 2 x radius.
LabelVolume Close(const LabelVolume& mask, double radius_mm, bool in_plane, int threads = 0);

// In place: fills, per slice, every hole (background not 4-connected to the slice border);
// afterwards the mask holds 0 / 1.
void FillHolesInSlices(LabelVolume& mask, int threads = 0);

}  // namespace scancov::ct

#endif  // SCANCOV_MODELS_CT_MORPHOLOGY_H_
