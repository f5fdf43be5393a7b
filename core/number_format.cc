#include "core/number_format.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace scancov {

std::string HumanNumber(double v, int significant) {
  if (std::isnan(v)) return "n/a";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buffer[64];
  if (v == std::trunc(v) && std::abs(v) < 1e15) {
    std::snprintf(buffer, sizeof(buffer), "%.0f", v == 0 ? 0.0 : v);  // no "-0"
    return buffer;
  }
  significant = std::clamp(significant, 1, 17);
  const double magnitude = std::abs(v);
  std::string out;
  if (magnitude < 1e-4 || magnitude >= 1e15) {
    std::snprintf(buffer, sizeof(buffer), "%.*e", significant - 1, v);
    out = buffer;
    // Trailing zeros of the mantissa: "1.200e-05" -> "1.2e-05".
    const size_t e = out.find('e');
    std::string mantissa = out.substr(0, e);
    if (mantissa.find('.') != std::string::npos) {
      mantissa.erase(mantissa.find_last_not_of('0') + 1);
      if (mantissa.back() == '.') mantissa.pop_back();
    }
    return mantissa + out.substr(e);
  }
  // Digits after the point so that `significant` digits show: 0.012345 -> 0.01235 (4).
  const int before = static_cast<int>(std::floor(std::log10(magnitude))) + 1;
  const int decimals = std::max(0, significant - before);
  std::snprintf(buffer, sizeof(buffer), "%.*f", decimals, v);
  out = buffer;
  if (out.find('.') != std::string::npos) {
    out.erase(out.find_last_not_of('0') + 1);
    if (out.back() == '.') out.pop_back();
  }
  if (out == "-0") out = "0";
  return out;
}

std::string ExactNumber(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buffer[64];
  const std::to_chars_result r = std::to_chars(buffer, buffer + sizeof(buffer), v);
  return std::string(buffer, r.ptr);
}

}  // namespace scancov
