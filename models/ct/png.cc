#include "models/ct/png.h"

#include <zlib.h>

#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/file_util.h"

namespace scancov::ct {
namespace {

constexpr char kSignature[] = "\x89PNG\r\n\x1a\n";

void PutU32(std::string& out, uint32_t v) {
  out.push_back(static_cast<char>(v >> 24));
  out.push_back(static_cast<char>(v >> 16));
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v));
}

uint32_t GetU32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

void PutChunk(std::string& out, const char* type, const std::string& data) {
  PutU32(out, static_cast<uint32_t>(data.size()));
  const size_t start = out.size();
  out.append(type, 4);
  out.append(data);
  const uLong crc = crc32(0L, reinterpret_cast<const Bytef*>(out.data() + start), 4 + data.size());
  PutU32(out, static_cast<uint32_t>(crc));
}

int Paeth(int a, int b, int c) {
  const int p = a + b - c;
  const int pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}

// Reverses the per-row filters in place; `raw` holds height rows of 1 + stride bytes.
absl::Status Unfilter(std::string& raw, int height, size_t stride, int bpp,
                      std::vector<uint8_t>& out) {
  out.assign(static_cast<size_t>(height) * stride, 0);
  for (int y = 0; y < height; ++y) {
    const uint8_t filter = static_cast<uint8_t>(raw[y * (stride + 1)]);
    const uint8_t* in = reinterpret_cast<const uint8_t*>(raw.data()) + y * (stride + 1) + 1;
    uint8_t* row = out.data() + y * stride;
    const uint8_t* prev = y > 0 ? row - stride : nullptr;
    for (size_t x = 0; x < stride; ++x) {
      const int a = x >= static_cast<size_t>(bpp) ? row[x - bpp] : 0;
      const int b = prev ? prev[x] : 0;
      const int c = prev && x >= static_cast<size_t>(bpp) ? prev[x - bpp] : 0;
      int pred = 0;
      switch (filter) {
        case 0:
          pred = 0;
          break;
        case 1:
          pred = a;
          break;
        case 2:
          pred = b;
          break;
        case 3:
          pred = (a + b) / 2;
          break;
        case 4:
          pred = Paeth(a, b, c);
          break;
        default:
          return absl::InvalidArgumentError(absl::StrCat("png: row ", y, " has filter ", filter));
      }
      row[x] = static_cast<uint8_t>(in[x] + pred);
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> EncodePng(const RgbImage& image) {
  if (image.width <= 0 || image.height <= 0 ||
      image.rgb.size() != static_cast<size_t>(image.width) * image.height * 3) {
    return absl::InvalidArgumentError("png: empty image or buffer size mismatch");
  }
  const size_t stride = static_cast<size_t>(image.width) * 3;
  std::string raw;
  raw.reserve(image.height * (stride + 1));
  for (int y = 0; y < image.height; ++y) {
    const uint8_t* row = image.rgb.data() + y * stride;
    raw.push_back(1);  // Sub
    for (size_t x = 0; x < stride; ++x) {
      raw.push_back(static_cast<char>(row[x] - (x >= 3 ? row[x - 3] : 0)));
    }
  }
  uLongf size = compressBound(raw.size());
  std::string z(size, '\0');
  if (compress2(reinterpret_cast<Bytef*>(z.data()), &size,
                reinterpret_cast<const Bytef*>(raw.data()), raw.size(), 6) != Z_OK) {
    return absl::InternalError("png: zlib compression failed");
  }
  z.resize(size);
  std::string ihdr;
  PutU32(ihdr, static_cast<uint32_t>(image.width));
  PutU32(ihdr, static_cast<uint32_t>(image.height));
  ihdr += std::string("\x08\x02\x00\x00\x00", 5);  // depth 8, RGB, deflate, filter 0, no interlace
  std::string out(kSignature, 8);
  PutChunk(out, "IHDR", ihdr);
  PutChunk(out, "IDAT", z);
  PutChunk(out, "IEND", "");
  return out;
}

absl::StatusOr<RgbImage> DecodePng(absl::string_view bytes) {
  if (bytes.size() < 8 || std::memcmp(bytes.data(), kSignature, 8) != 0) {
    return absl::InvalidArgumentError("png: not a PNG signature");
  }
  const unsigned char* p = reinterpret_cast<const unsigned char*>(bytes.data());
  size_t pos = 8;
  int width = 0, height = 0, colour = -1;
  std::string idat;
  bool end = false;
  while (!end) {
    if (pos + 12 > bytes.size()) return absl::InvalidArgumentError("png: truncated chunk");
    const uint32_t len = GetU32(p + pos);
    if (len > bytes.size() - pos - 12)
      return absl::InvalidArgumentError("png: chunk overruns file");
    const std::string type(bytes.data() + pos + 4, 4);
    const uLong crc = crc32(0L, p + pos + 4, 4 + len);
    if (crc != GetU32(p + pos + 8 + len)) {
      return absl::InvalidArgumentError(absl::StrCat("png: CRC mismatch in ", type));
    }
    const unsigned char* data = p + pos + 8;
    if (type == "IHDR") {
      if (len != 13) return absl::InvalidArgumentError("png: IHDR length");
      width = static_cast<int>(GetU32(data));
      height = static_cast<int>(GetU32(data + 4));
      colour = data[9];
      if (data[8] != 8 || (colour != 0 && colour != 2) || data[12] != 0) {
        return absl::UnimplementedError(
            absl::StrCat("png: only 8-bit grey/RGB non-interlaced (depth ", data[8], ", colour ",
                         colour, ", interlace ", data[12], ")"));
      }
    } else if (type == "IDAT") {
      idat.append(reinterpret_cast<const char*>(data), len);
    } else if (type == "IEND") {
      end = true;
    }
    pos += 12 + len;
  }
  if (width <= 0 || height <= 0 || colour < 0) return absl::InvalidArgumentError("png: no IHDR");
  const int bpp = colour == 2 ? 3 : 1;
  const size_t stride = static_cast<size_t>(width) * bpp;
  std::string raw((stride + 1) * height, '\0');
  uLongf raw_size = raw.size();
  if (uncompress(reinterpret_cast<Bytef*>(raw.data()), &raw_size,
                 reinterpret_cast<const Bytef*>(idat.data()), idat.size()) != Z_OK ||
      raw_size != raw.size()) {
    return absl::InvalidArgumentError("png: IDAT does not inflate to the image size");
  }
  std::vector<uint8_t> pixels;
  absl::Status s = Unfilter(raw, height, stride, bpp, pixels);
  if (!s.ok()) return s;
  RgbImage image(width, height);
  for (size_t i = 0; i < static_cast<size_t>(width) * height; ++i) {
    for (int c = 0; c < 3; ++c) image.rgb[i * 3 + c] = pixels[i * bpp + (bpp == 3 ? c : 0)];
  }
  return image;
}

absl::Status WritePng(const std::string& path, const RgbImage& image) {
  absl::StatusOr<std::string> png = EncodePng(image);
  if (!png.ok()) return png.status();
  return WriteFileAtomic(path, *png);
}

}  // namespace scancov::ct
