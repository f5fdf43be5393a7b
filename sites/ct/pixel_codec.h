// HU <-> 16-bit stored pixel values under a rescale slope and intercept
// (HU = stored x slope + intercept).
#ifndef SCANCOV_SITES_CT_PIXEL_CODEC_H_
#define SCANCOV_SITES_CT_PIXEL_CODEC_H_

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace scancov::sites {

class PixelCodec {
 public:
  // Unsigned storage (PixelRepresentation 0) when intercept <= -1024, else signed.
  PixelCodec(double slope, double intercept)
      : slope_(slope), intercept_(intercept), is_signed_(intercept > -1024.0) {}

  bool is_signed() const { return is_signed_; }
  // Nearest stored value, clamped to the 16-bit range (as a scanner saturates).
  int32_t ToStored(double hu) const {
    const double v = std::nearbyint((hu - intercept_) / slope_);
    const double lo = is_signed_ ? -32768.0 : 0.0;
    const double hi = is_signed_ ? 32767.0 : 65535.0;
    return static_cast<int32_t>(std::clamp(v, lo, hi));
  }
  // HU of a stored value, rounded and clamped to int16.
  int16_t ToHu(int32_t stored) const {
    const double v = std::nearbyint(stored * slope_ + intercept_);
    return static_cast<int16_t>(std::clamp(v, -32768.0, 32767.0));
  }

 private:
  double slope_;
  double intercept_;
  bool is_signed_;
};

}  // namespace scancov::sites

#endif  // SCANCOV_SITES_CT_PIXEL_CODEC_H_
