#include "node/imaging/dicom_jpeg2000.h"

// clang-format off
#include <dcmtk/config/osconfig.h>  // must precede the other DCMTK headers
// clang-format on
#include <dcmtk/dcmdata/dcdatset.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>

#include <set>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "node/imaging/jpeg2000_codec.h"

namespace scancov::node {
namespace {

struct Fragment {
  const uint8_t* data = nullptr;
  size_t size = 0;
  uint64_t offset = 0;  // of its item tag, from the first fragment's item tag (PS3.5 A.4)
};

// The fragments after the Basic Offset Table, and the table's entries.
absl::Status ReadItems(DcmPixelSequence& seq, std::vector<Fragment>* fragments,
                       std::vector<uint64_t>* table) {
  const unsigned long items = seq.card();
  if (items < 2) return absl::DataLossError("encapsulated pixel data holds no fragment");
  uint64_t offset = 0;
  for (unsigned long i = 0; i < items; ++i) {
    DcmPixelItem* item = nullptr;
    Uint8* bytes = nullptr;
    if (seq.getItem(item, i).bad() || item == nullptr) {
      return absl::DataLossError("encapsulated pixel data: an item cannot be read");
    }
    const Uint32 length = item->getLength();
    if (length > 0 && (item->getUint8Array(bytes).bad() || bytes == nullptr)) {
      return absl::DataLossError(absl::StrCat("encapsulated pixel data: item ", i, " unreadable"));
    }
    if (i == 0) {
      if (length % 4 != 0) {
        return absl::DataLossError("Basic Offset Table length is not a multiple of 4");
      }
      for (Uint32 k = 0; k < length; k += 4) {  // little endian, whatever the host
        table->push_back(uint64_t{bytes[k]} | uint64_t{bytes[k + 1]} << 8 |
                         uint64_t{bytes[k + 2]} << 16 | uint64_t{bytes[k + 3]} << 24);
      }
      continue;
    }
    fragments->push_back({bytes, length, offset});
    offset += 8 + uint64_t{length};
  }
  return absl::OkStatus();
}

// Index of the first fragment of each frame.
absl::StatusOr<std::vector<size_t>> FrameStarts(const std::vector<Fragment>& fragments,
                                                const std::vector<uint64_t>& table, int frames) {
  std::vector<size_t> starts;
  if (frames == 1) return std::vector<size_t>{0};
  if (!table.empty()) {
    if (table.size() != static_cast<size_t>(frames)) {
      return absl::DataLossError(absl::StrCat("Basic Offset Table has ", table.size(),
                                              " entries for ", frames, " frames"));
    }
    size_t f = 0;
    for (uint64_t offset : table) {
      while (f < fragments.size() && fragments[f].offset < offset) ++f;
      if (f == fragments.size() || fragments[f].offset != offset ||
          (!starts.empty() && f <= starts.back())) {
        return absl::DataLossError(absl::StrCat("Basic Offset Table entry ", starts.size() + 1,
                                                " does not point at a fragment"));
      }
      starts.push_back(f);
    }
    return starts;
  }
  if (fragments.size() == static_cast<size_t>(frames)) {
    for (size_t f = 0; f < fragments.size(); ++f) starts.push_back(f);
    return starts;
  }
  for (size_t f = 0; f < fragments.size(); ++f) {
    if (LooksLikeJpeg2000(fragments[f].data, fragments[f].size)) starts.push_back(f);
  }
  if (starts.size() != static_cast<size_t>(frames) || starts.front() != 0) {
    return absl::DataLossError(absl::StrCat("cannot tell ", frames, " frames apart in ",
                                            fragments.size(),
                                            " fragments (no Basic Offset Table, and ",
                                            starts.size(), " fragments start a codestream)"));
  }
  return starts;
}

absl::Status Mismatch(const std::string& what) {
  return absl::FailedPreconditionError(absl::StrCat(what, " (codestream and header differ)"));
}

// DecodeJpeg2000Frame without the frame in its messages.
absl::Status DecodeFrame(DcmDataset& dataset, const SliceHeader& h, int frame, uint16_t* stored) {
  DcmElement* element = nullptr;
  DcmPixelSequence* sequence = nullptr;
  DcmPixelData* pixel_data = nullptr;
  if (dataset.findAndGetElement(DCM_PixelData, element).good()) {
    pixel_data = OFdynamic_cast(DcmPixelData*, element);
  }
  if (pixel_data == nullptr ||
      pixel_data->getEncapsulatedRepresentation(dataset.getOriginalXfer(), nullptr, sequence)
          .bad() ||
      sequence == nullptr) {
    return absl::DataLossError("JPEG 2000 transfer syntax but no encapsulated pixel data");
  }
  SCV_ASSIGN_OR_RETURN(std::vector<uint8_t> codestream,
                       EncapsulatedFrame(*sequence, frame, h.number_of_frames));
  SCV_ASSIGN_OR_RETURN(Jpeg2000Image image, DecodeJpeg2000(codestream.data(), codestream.size()));
  if (image.components != 1) {
    return Mismatch(
        absl::StrCat(image.components, " components, SamplesPerPixel ", h.samples_per_pixel));
  }
  if (image.width != h.columns || image.height != h.rows) {
    return Mismatch(absl::StrCat("image ", image.width, "x", image.height, ", Columns x Rows ",
                                 h.columns, "x", h.rows));
  }
  if (image.precision != h.bits_stored) {
    return Mismatch(
        absl::StrCat("precision ", image.precision, " bits, BitsStored ", h.bits_stored));
  }
  if (image.is_signed != (h.pixel_representation == 1)) {
    return Mismatch(absl::StrCat(image.is_signed ? "signed" : "unsigned",
                                 " samples, PixelRepresentation ", h.pixel_representation));
  }
  // Precision equals BitsStored (<= 16), so every sample fits the stored bit pattern.
  const size_t n = image.samples.size();
  for (size_t i = 0; i < n; ++i) stored[i] = static_cast<uint16_t>(image.samples[i]);
  return absl::OkStatus();
}

}  // namespace

bool IsJpeg2000TransferSyntax(const std::string& uid) {
  static const std::set<std::string> kJpeg2000 = {
      "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91", "1.2.840.10008.1.2.4.201",
      "1.2.840.10008.1.2.4.202", "1.2.840.10008.1.2.4.203"};
  return kJpeg2000.count(uid) > 0;
}

absl::StatusOr<std::vector<uint8_t>> EncapsulatedFrame(DcmPixelSequence& sequence, int frame,
                                                       int frames) {
  if (frames < 1 || frame < 0 || frame >= frames) {
    return absl::InvalidArgumentError(absl::StrCat("frame ", frame + 1, " of ", frames));
  }
  std::vector<Fragment> fragments;
  std::vector<uint64_t> table;
  SCV_RETURN_IF_ERROR(ReadItems(sequence, &fragments, &table));
  SCV_ASSIGN_OR_RETURN(std::vector<size_t> starts, FrameStarts(fragments, table, frames));
  const size_t first = starts[frame];
  const size_t end = frame + 1 < frames ? starts[frame + 1] : fragments.size();
  std::vector<uint8_t> bytes;
  for (size_t f = first; f < end; ++f) {
    bytes.insert(bytes.end(), fragments[f].data, fragments[f].data + fragments[f].size);
  }
  return bytes;
}

absl::Status DecodeJpeg2000Frame(DcmDataset& dataset, const SliceHeader& h, int frame,
                                 uint16_t* stored) {
  const absl::Status status = DecodeFrame(dataset, h, frame, stored);
  if (status.ok()) return status;
  return absl::Status(status.code(),
                      absl::StrCat("JPEG 2000 frame ", frame + 1, ": ", status.message()));
}

}  // namespace scancov::node
