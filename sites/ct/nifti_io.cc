#include "sites/ct/nifti_io.h"

#include <zlib.h>

#include <cstring>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace scancov::sites {
namespace {

// The NIfTI-1 header (nifti1.h), 348 bytes with natural alignment.
struct Nifti1Header {
  int32_t sizeof_hdr;
  char data_type[10];
  char db_name[18];
  int32_t extents;
  int16_t session_error;
  char regular;
  char dim_info;
  int16_t dim[8];
  float intent_p1, intent_p2, intent_p3;
  int16_t intent_code;
  int16_t datatype;
  int16_t bitpix;
  int16_t slice_start;
  float pixdim[8];
  float vox_offset;
  float scl_slope;
  float scl_inter;
  int16_t slice_end;
  char slice_code;
  char xyzt_units;
  float cal_max, cal_min;
  float slice_duration;
  float toffset;
  int32_t glmax, glmin;
  char descrip[80];
  char aux_file[24];
  int16_t qform_code, sform_code;
  float quatern_b, quatern_c, quatern_d;
  float qoffset_x, qoffset_y, qoffset_z;
  float srow_x[4], srow_y[4], srow_z[4];
  char intent_name[16];
  char magic[4];
};
static_assert(sizeof(Nifti1Header) == 348, "NIfTI-1 header must be 348 bytes");

constexpr int16_t kUint8 = 2;
constexpr int16_t kInt16 = 4;

struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};
using GzFile = std::unique_ptr<gzFile_s, GzCloser>;

Nifti1Header MakeHeader(const PhantomGrid& g, int16_t datatype, const std::string& description) {
  Nifti1Header h;
  std::memset(&h, 0, sizeof h);
  h.sizeof_hdr = 348;
  h.regular = 'r';
  h.dim[0] = 3;
  h.dim[1] = static_cast<int16_t>(g.nx);
  h.dim[2] = static_cast<int16_t>(g.ny);
  h.dim[3] = static_cast<int16_t>(g.nz);
  h.dim[4] = h.dim[5] = h.dim[6] = h.dim[7] = 1;
  h.datatype = datatype;
  h.bitpix = datatype == kUint8 ? 8 : 16;
  h.pixdim[0] = 1.0f;  // qfac
  h.pixdim[1] = static_cast<float>(g.dx);
  h.pixdim[2] = static_cast<float>(g.dy);
  h.pixdim[3] = static_cast<float>(g.dz);
  h.vox_offset = 352.0f;
  h.scl_slope = 0.0f;  // no scaling
  h.xyzt_units = 2;    // millimetres
  std::strncpy(h.descrip, description.c_str(), sizeof h.descrip - 1);
  h.qform_code = 1;
  h.sform_code = 1;
  // LPS -> RAS flips x and y: a rotation by 180 degrees about z, quaternion (0, 0, 0, 1).
  h.quatern_b = 0.0f;
  h.quatern_c = 0.0f;
  h.quatern_d = 1.0f;
  h.qoffset_x = static_cast<float>(-g.origin[0]);
  h.qoffset_y = static_cast<float>(-g.origin[1]);
  h.qoffset_z = static_cast<float>(g.origin[2]);
  const float sx[4] = {static_cast<float>(-g.dx), 0, 0, h.qoffset_x};
  const float sy[4] = {0, static_cast<float>(-g.dy), 0, h.qoffset_y};
  const float sz[4] = {0, 0, static_cast<float>(g.dz), h.qoffset_z};
  std::memcpy(h.srow_x, sx, sizeof sx);
  std::memcpy(h.srow_y, sy, sizeof sy);
  std::memcpy(h.srow_z, sz, sizeof sz);
  std::memcpy(h.magic, "n+1\0", 4);
  return h;
}

absl::Status WriteNifti(const std::string& path, const PhantomGrid& g, int16_t datatype,
                        const void* data, size_t bytes, const std::string& description) {
  if (g.nx > 32767 || g.ny > 32767 || g.nz > 32767) {
    return absl::InvalidArgumentError(path + ": dimensions exceed NIfTI-1 limits");
  }
  // zlib's "T" mode writes plain bytes through the same interface.
  const char* mode = absl::EndsWith(path, ".gz") ? "wb1" : "wbT";
  GzFile f(gzopen(path.c_str(), mode));
  if (!f) return absl::PermissionDeniedError(path + ": cannot create");
  const Nifti1Header h = MakeHeader(g, datatype, description);
  const char extension[4] = {0, 0, 0, 0};
  bool ok = gzwrite(f.get(), &h, sizeof h) == static_cast<int>(sizeof h) &&
            gzwrite(f.get(), extension, 4) == 4;
  const char* p = static_cast<const char*>(data);
  for (size_t done = 0; ok && done < bytes;) {
    const unsigned chunk = static_cast<unsigned>(std::min<size_t>(bytes - done, 1u << 30));
    ok = gzwrite(f.get(), p + done, chunk) == static_cast<int>(chunk);
    done += chunk;
  }
  if (gzclose(f.release()) != Z_OK || !ok) return absl::DataLossError(path + ": write failed");
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteNiftiLabels(const std::string& path, const PhantomGrid& grid,
                              const std::vector<uint8_t>& labels, const std::string& description) {
  if (labels.size() != grid.size()) {
    return absl::InvalidArgumentError(path + ": label count does not match the grid");
  }
  return WriteNifti(path, grid, kUint8, labels.data(), labels.size(), description);
}

absl::Status WriteNiftiInt16(const std::string& path, const PhantomGrid& grid,
                             const std::vector<int16_t>& values, const std::string& description) {
  if (values.size() != grid.size()) {
    return absl::InvalidArgumentError(path + ": value count does not match the grid");
  }
  return WriteNifti(path, grid, kInt16, values.data(), values.size() * 2, description);
}

absl::StatusOr<NiftiVolume> ReadNifti(const std::string& path) {
  GzFile f(gzopen(path.c_str(), "rb"));
  if (!f) return absl::NotFoundError(path + ": cannot open");
  Nifti1Header h;
  if (gzread(f.get(), &h, sizeof h) != static_cast<int>(sizeof h)) {
    return absl::DataLossError(path + ": truncated NIfTI header");
  }
  if (h.sizeof_hdr != 348 || std::memcmp(h.magic, "n+1", 4) != 0) {
    return absl::InvalidArgumentError(path + ": not a little-endian single-file NIfTI-1");
  }
  if (h.dim[0] < 3 || h.dim[1] < 1 || h.dim[2] < 1 || h.dim[3] < 1 ||
      (h.datatype != kUint8 && h.datatype != kInt16) || h.vox_offset < 352) {
    return absl::UnimplementedError(absl::StrCat(
        path, ": only 3-D uint8/int16 volumes are supported (datatype ", h.datatype, ")"));
  }
  NiftiVolume v;
  v.nx = h.dim[1];
  v.ny = h.dim[2];
  v.nz = h.dim[3];
  v.spacing = {h.pixdim[1], h.pixdim[2], h.pixdim[3]};
  for (int c = 0; c < 4; ++c) {
    v.srow[0][c] = h.srow_x[c];
    v.srow[1][c] = h.srow_y[c];
    v.srow[2][c] = h.srow_z[c];
  }
  v.datatype = h.datatype;
  if (gzseek(f.get(), static_cast<z_off_t>(h.vox_offset), SEEK_SET) < 0) {
    return absl::DataLossError(path + ": cannot seek to the voxels");
  }
  const size_t count = static_cast<size_t>(v.nx) * v.ny * v.nz;
  char* dst;
  size_t bytes;
  if (h.datatype == kUint8) {
    v.u8.resize(count);
    dst = reinterpret_cast<char*>(v.u8.data());
    bytes = count;
  } else {
    v.i16.resize(count);
    dst = reinterpret_cast<char*>(v.i16.data());
    bytes = count * 2;
  }
  for (size_t done = 0; done < bytes;) {
    const unsigned chunk = static_cast<unsigned>(std::min<size_t>(bytes - done, 1u << 30));
    if (gzread(f.get(), dst + done, chunk) != static_cast<int>(chunk)) {
      return absl::DataLossError(path + ": truncated voxel data");
    }
    done += chunk;
  }
  return v;
}

}  // namespace scancov::sites
