#include "node/imaging/jpeg2000_codec.h"

#include <openjpeg.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace scancov::node {
namespace {

constexpr uint8_t kSoc[] = {0xFF, 0x4F, 0xFF, 0x51};  // SOC then SIZ
constexpr uint8_t kJp2Signature[] = {0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50,
                                     0x20, 0x20, 0x0D, 0x0A, 0x87, 0x0A};

bool StartsWith(const uint8_t* data, size_t size, const uint8_t* prefix, size_t n) {
  return size >= n && std::memcmp(data, prefix, n) == 0;
}

// The read position in a caller's buffer, for OpenJPEG's stream callbacks.
struct MemorySource {
  const uint8_t* data;
  size_t size;
  size_t pos;
};

OPJ_SIZE_T Read(void* buffer, OPJ_SIZE_T n, void* user) {
  auto* src = static_cast<MemorySource*>(user);
  if (src->pos >= src->size) return static_cast<OPJ_SIZE_T>(-1);  // end of stream
  n = std::min<OPJ_SIZE_T>(n, src->size - src->pos);
  std::memcpy(buffer, src->data + src->pos, n);
  src->pos += n;
  return n;
}

// Skips forward or back; past the end it stops at the end (OpenJPEG then reads nothing and
// reports the codestream as too short), before the start it fails.
OPJ_OFF_T Skip(OPJ_OFF_T n, void* user) {
  auto* src = static_cast<MemorySource*>(user);
  if (n < 0 && static_cast<size_t>(-n) > src->pos) return -1;
  const size_t to = n < 0 ? src->pos - static_cast<size_t>(-n)
                          : std::min(src->size, src->pos + static_cast<size_t>(n));
  const OPJ_OFF_T moved = static_cast<OPJ_OFF_T>(to) - static_cast<OPJ_OFF_T>(src->pos);
  src->pos = to;
  return moved;
}

OPJ_BOOL Seek(OPJ_OFF_T to, void* user) {
  auto* src = static_cast<MemorySource*>(user);
  if (to < 0 || static_cast<size_t>(to) > src->size) return OPJ_FALSE;
  src->pos = static_cast<size_t>(to);
  return OPJ_TRUE;
}

// OpenJPEG's first error message, kept instead of printed.
struct Messages {
  std::string first_error;
};

void OnError(const char* msg, void* user) {
  auto* m = static_cast<Messages*>(user);
  if (m->first_error.empty() && msg != nullptr) {
    m->first_error = std::string(absl::StripAsciiWhitespace(msg));
  }
}

void Ignore(const char*, void*) {}

struct CodecDeleter {
  void operator()(opj_codec_t* c) const { opj_destroy_codec(c); }
};
struct StreamDeleter {
  void operator()(opj_stream_t* s) const { opj_stream_destroy(s); }
};
struct ImageDeleter {
  void operator()(opj_image_t* i) const { opj_image_destroy(i); }
};

absl::Status Damaged(const char* step, const Messages& m) {
  return absl::DataLossError(
      absl::StrCat("damaged JPEG 2000 codestream (", step, " failed",
                   m.first_error.empty() ? "" : ": OpenJPEG: ", m.first_error, ")"));
}

}  // namespace

bool LooksLikeJpeg2000(const uint8_t* data, size_t size) {
  return StartsWith(data, size, kSoc, sizeof kSoc) ||
         StartsWith(data, size, kJp2Signature, sizeof kJp2Signature);
}

absl::StatusOr<Jpeg2000Image> DecodeJpeg2000(const uint8_t* data, size_t size) {
  Jpeg2000Image out;
  if (StartsWith(data, size, kJp2Signature, sizeof kJp2Signature)) {
    out.format = Jpeg2000Format::kJp2;
  } else if (!StartsWith(data, size, kSoc, sizeof kSoc)) {
    return absl::InvalidArgumentError(
        "not a JPEG 2000 codestream (no SOC marker and no JP2 signature at its start)");
  }
  std::unique_ptr<opj_codec_t, CodecDeleter> codec(
      opj_create_decompress(out.format == Jpeg2000Format::kJp2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K));
  if (!codec) return absl::InternalError("OpenJPEG: cannot create a decoder");
  Messages messages;
  opj_set_error_handler(codec.get(), OnError, &messages);
  opj_set_warning_handler(codec.get(), Ignore, nullptr);
  opj_set_info_handler(codec.get(), Ignore, nullptr);
  opj_dparameters_t params;
  opj_set_default_decoder_parameters(&params);
  if (!opj_setup_decoder(codec.get(), &params)) return Damaged("decoder set-up", messages);
  // Strict: a codestream cut short is an error, not an image with its last packets missing.
  opj_decoder_set_strict_mode(codec.get(), OPJ_TRUE);

  MemorySource source{data, size, 0};
  std::unique_ptr<opj_stream_t, StreamDeleter> stream(opj_stream_create(size, OPJ_TRUE));
  if (!stream) return absl::InternalError("OpenJPEG: cannot create a stream");
  opj_stream_set_read_function(stream.get(), Read);
  opj_stream_set_skip_function(stream.get(), Skip);
  opj_stream_set_seek_function(stream.get(), Seek);
  opj_stream_set_user_data(stream.get(), &source, nullptr);
  opj_stream_set_user_data_length(stream.get(), size);

  opj_image_t* raw_image = nullptr;
  const bool header_ok = opj_read_header(stream.get(), codec.get(), &raw_image);
  std::unique_ptr<opj_image_t, ImageDeleter> image(raw_image);
  if (!header_ok || !image) return Damaged("header", messages);
  if (!opj_decode(codec.get(), stream.get(), image.get())) return Damaged("decoding", messages);
  if (!opj_end_decompress(codec.get(), stream.get())) return Damaged("end of codestream", messages);

  out.components = static_cast<int>(image->numcomps);
  if (out.components < 1 || image->comps == nullptr || image->comps[0].data == nullptr) {
    return absl::DataLossError("JPEG 2000 codestream decoded to no samples");
  }
  const opj_image_comp_t& c = image->comps[0];
  out.width = static_cast<int>(c.w);
  out.height = static_cast<int>(c.h);
  out.precision = static_cast<int>(c.prec);
  out.is_signed = c.sgnd != 0;
  out.samples.assign(c.data, c.data + static_cast<size_t>(c.w) * c.h);
  return out;
}

}  // namespace scancov::node
