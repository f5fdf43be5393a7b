// A minimal PNG codec (zlib only) for overlay images: 8-bit RGB, non-interlaced.
//
// Encoder: signature, IHDR (8-bit, colour type 2 RGB), one IDAT with the zlib stream of the
// rows, each prefixed with filter type 1 (Sub: the byte minus the one 3 bytes to its left,
// which compresses CT's smooth regions better than no filter), and IEND; every chunk carries
// the CRC-32 of its type and data. Decoder: the subset the encoder writes plus what other tools
// commonly write for such images: colour types 0 (grey) and 2 (RGB) at 8 bits, several IDAT
// chunks, and all five filter types; it checks the signature, every CRC and the sizes, and
// returns "png: why" otherwise. Ancillary chunks are skipped.
#ifndef SCANCOV_MODELS_CT_PNG_H_
#define SCANCOV_MODELS_CT_PNG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace scancov::ct {

struct RgbImage {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> rgb;  // row-major, 3 bytes per pixel, top row first

  RgbImage() = default;
  RgbImage(int w, int h) : width(w), height(h), rgb(static_cast<size_t>(w) * h * 3, 0) {}
  uint8_t* at(int x, int y) { return &rgb[(static_cast<size_t>(y) * width + x) * 3]; }
  const uint8_t* at(int x, int y) const { return &rgb[(static_cast<size_t>(y) * width + x) * 3]; }
};

// Fails on an empty image or one whose buffer does not match its size.
absl::StatusOr<std::string> EncodePng(const RgbImage& image);
absl::StatusOr<RgbImage> DecodePng(absl::string_view bytes);
// EncodePng then an atomic write (core/file_util.h).
absl::Status WritePng(const std::string& path, const RgbImage& image);

}  // namespace scancov::ct

#endif  // SCANCOV_MODELS_CT_PNG_H_
