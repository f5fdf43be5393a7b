// JPEG 2000 decoding from memory with OpenJPEG: the OpenJPEG boundary of the importer.
//
// Takes a raw codestream (ISO 15444-1 J2K, starting with the SOC marker FF 4F FF 51, as DICOM
// transfer syntaxes 1.2.840.10008.1.2.4.90/.91 carry it; HTJ2K codestreams of 15444-15 too) or
// a JP2 file (the 12-byte signature box, which some encoders put in DICOM anyway), and returns
// the first component's samples with what the codestream says about them. Nothing is checked
// against DICOM here (dicom_jpeg2000.h does that).
//
// OpenJPEG's messages are captured, never printed: its error callback's text becomes part of
// the Status (it names markers and sizes, never sample values). The decoder runs in strict
// mode, so a truncated codestream is an error rather than a partly decoded image.
//
// Thread-safe: each call has its own codec and stream.
#ifndef SCANCOV_NODE_IMAGING_JPEG2000_CODEC_H_
#define SCANCOV_NODE_IMAGING_JPEG2000_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"

namespace scancov::node {

enum class Jpeg2000Format { kCodestream, kJp2 };

struct Jpeg2000Image {
  Jpeg2000Format format = Jpeg2000Format::kCodestream;
  int components = 0;
  // Of component 0; width/height are its own size (a subsampled component differs from the
  // image's reference grid, which is refused by the caller comparing with the header).
  int width = 0, height = 0;
  int precision = 0;  // bits per sample
  bool is_signed = false;
  std::vector<int32_t> samples;  // component 0, row-major, width * height
};

// True when `data` starts like a J2K codestream or a JP2 file.
bool LooksLikeJpeg2000(const uint8_t* data, size_t size);

// Decodes `data` (not owned, only read during the call). InvalidArgument when it is neither a
// codestream nor JP2; DataLoss with OpenJPEG's reason when it is damaged or truncated.
absl::StatusOr<Jpeg2000Image> DecodeJpeg2000(const uint8_t* data, size_t size);

}  // namespace scancov::node

#endif  // SCANCOV_NODE_IMAGING_JPEG2000_CODEC_H_
