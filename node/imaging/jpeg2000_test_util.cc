#include "node/imaging/jpeg2000_test_util.h"

#include <gtest/gtest.h>
#include <openjpeg.h>

// clang-format off
#include <dcmtk/config/osconfig.h>
// clang-format on
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmdata/dcxfer.h>

#include <algorithm>
#include <cstring>

namespace scancov::node::testing {
namespace {

// OpenJPEG's output stream over a growing buffer (the JP2 writer seeks back to fill box
// lengths).
struct Sink {
  Bytes bytes;
  size_t pos = 0;
};

OPJ_SIZE_T Write(void* buffer, OPJ_SIZE_T n, void* user) {
  auto* s = static_cast<Sink*>(user);
  if (s->bytes.size() < s->pos + n) s->bytes.resize(s->pos + n);
  std::memcpy(s->bytes.data() + s->pos, buffer, n);
  s->pos += n;
  return n;
}

OPJ_OFF_T SkipOut(OPJ_OFF_T n, void* user) {
  auto* s = static_cast<Sink*>(user);
  if (n < 0 && static_cast<size_t>(-n) > s->pos) return -1;
  s->pos = static_cast<size_t>(static_cast<OPJ_OFF_T>(s->pos) + n);
  if (s->bytes.size() < s->pos) s->bytes.resize(s->pos);
  return n;
}

OPJ_BOOL SeekOut(OPJ_OFF_T to, void* user) {
  auto* s = static_cast<Sink*>(user);
  if (to < 0) return OPJ_FALSE;
  s->pos = static_cast<size_t>(to);
  if (s->bytes.size() < s->pos) s->bytes.resize(s->pos);
  return OPJ_TRUE;
}

void FailOnError(const char* msg, void*) { ADD_FAILURE() << "OpenJPEG encoder: " << msg; }
void Quiet(const char*, void*) {}

void AppendLe32(Bytes& out, uint32_t v) {
  for (int k = 0; k < 4; ++k) out.push_back(static_cast<uint8_t>(v >> (8 * k)));
}

}  // namespace

Bytes EncodeJ2k(const std::vector<int32_t>& samples, int width, int height, int components,
                int precision, bool is_signed, const J2kEncoding& encoding) {
  EXPECT_EQ(samples.size(), static_cast<size_t>(width) * height * components);
  std::vector<opj_image_cmptparm_t> params(components);
  for (opj_image_cmptparm_t& c : params) {
    std::memset(&c, 0, sizeof c);
    c.dx = c.dy = 1;
    c.w = static_cast<OPJ_UINT32>(width);
    c.h = static_cast<OPJ_UINT32>(height);
    c.prec = static_cast<OPJ_UINT32>(precision);
    c.sgnd = is_signed ? 1 : 0;
  }
  opj_image_t* image = opj_image_create(static_cast<OPJ_UINT32>(components), params.data(),
                                        components == 1 ? OPJ_CLRSPC_GRAY : OPJ_CLRSPC_SRGB);
  image->x0 = image->y0 = 0;
  image->x1 = static_cast<OPJ_UINT32>(width);
  image->y1 = static_cast<OPJ_UINT32>(height);
  const size_t plane = static_cast<size_t>(width) * height;
  for (int c = 0; c < components; ++c) {
    std::copy(samples.begin() + c * plane, samples.begin() + (c + 1) * plane, image->comps[c].data);
  }
  opj_cparameters_t p;
  opj_set_default_encoder_parameters(&p);
  p.tcp_numlayers = 1;
  p.cp_disto_alloc = 1;
  p.tcp_rates[0] = encoding.lossless ? 0.0f : static_cast<float>(encoding.ratio);
  p.irreversible = encoding.lossless ? 0 : 1;
  p.numresolution = 1;  // at most 6, and the coarsest level at least 1 pixel wide
  while (p.numresolution < 6 && (std::min(width, height) >> p.numresolution) > 0) {
    ++p.numresolution;
  }
  opj_codec_t* codec = opj_create_compress(encoding.jp2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K);
  opj_set_error_handler(codec, FailOnError, nullptr);
  opj_set_warning_handler(codec, Quiet, nullptr);
  opj_set_info_handler(codec, Quiet, nullptr);
  Sink sink;
  opj_stream_t* stream = opj_stream_create(OPJ_J2K_STREAM_CHUNK_SIZE, OPJ_FALSE);
  opj_stream_set_write_function(stream, Write);
  opj_stream_set_skip_function(stream, SkipOut);
  opj_stream_set_seek_function(stream, SeekOut);
  opj_stream_set_user_data(stream, &sink, nullptr);
  const bool ok = opj_setup_encoder(codec, &p, image) && opj_start_compress(codec, image, stream) &&
                  opj_encode(codec, stream) && opj_end_compress(codec, stream);
  EXPECT_TRUE(ok) << "OpenJPEG encoding failed";
  opj_stream_destroy(stream);
  opj_destroy_codec(codec);
  opj_image_destroy(image);
  return sink.bytes;
}

std::vector<Bytes> Split(const Bytes& bytes, int pieces) {
  std::vector<Bytes> out;
  size_t step = (bytes.size() / pieces + 1) & ~size_t{1};
  for (size_t at = 0; at < bytes.size(); at += step) {
    out.emplace_back(bytes.begin() + at, bytes.begin() + std::min(bytes.size(), at + step));
  }
  return out;
}

void PutEncapsulated(DcmDataset& dataset, const std::string& xfer_uid,
                     const std::vector<std::vector<Bytes>>& frames, bool offset_table,
                     const std::vector<uint32_t>& table_entries) {
  auto* sequence = new DcmPixelSequence(DCM_PixelSequenceTag);
  auto* table = new DcmPixelItem(DCM_PixelItemTag);
  sequence->insert(table);
  Bytes offsets;
  uint32_t at = 0;
  for (const std::vector<Bytes>& fragments : frames) {
    AppendLe32(offsets, at);
    for (Bytes fragment : fragments) {
      if (fragment.size() % 2 != 0) fragment.push_back(0);
      auto* item = new DcmPixelItem(DCM_PixelItemTag);
      ASSERT_TRUE(
          item->putUint8Array(fragment.data(), static_cast<unsigned long>(fragment.size())).good());
      sequence->insert(item);
      at += 8 + static_cast<uint32_t>(fragment.size());
    }
  }
  if (!table_entries.empty()) {
    offsets.clear();
    for (uint32_t entry : table_entries) AppendLe32(offsets, entry);
  }
  if (offset_table) {
    ASSERT_TRUE(
        table->putUint8Array(offsets.data(), static_cast<unsigned long>(offsets.size())).good());
  }
  auto* pixel_data = new DcmPixelData(DCM_PixelData);
  pixel_data->putOriginalRepresentation(DcmXfer(xfer_uid.c_str()).getXfer(), nullptr, sequence);
  ASSERT_TRUE(dataset.insert(pixel_data, /*replaceOld=*/true).good());
}

std::vector<int32_t> NativeSamples(const std::string& path, int* width, int* height, int* precision,
                                   bool* is_signed) {
  DcmFileFormat file;
  EXPECT_TRUE(file.loadFile(path.c_str()).good()) << path;
  DcmDataset& ds = *file.getDataset();
  Uint16 rows = 0, columns = 0, bits = 0, representation = 0;
  ds.findAndGetUint16(DCM_Rows, rows);
  ds.findAndGetUint16(DCM_Columns, columns);
  ds.findAndGetUint16(DCM_BitsStored, bits);
  ds.findAndGetUint16(DCM_PixelRepresentation, representation);
  const Uint16* pixels = nullptr;
  unsigned long count = 0;
  EXPECT_TRUE(ds.findAndGetUint16Array(DCM_PixelData, pixels, &count).good()) << path;
  *width = columns;
  *height = rows;
  *precision = bits;
  *is_signed = representation == 1;
  std::vector<int32_t> samples(static_cast<size_t>(rows) * columns);
  EXPECT_GE(count, samples.size());
  const uint32_t mask = bits >= 16 ? 0xFFFFu : (1u << bits) - 1;
  for (size_t i = 0; i < samples.size() && i < count; ++i) {
    const uint32_t v = pixels[i] & mask;
    samples[i] = (*is_signed && (v >> (bits - 1)) != 0) ? static_cast<int32_t>(v) - (1 << bits)
                                                        : static_cast<int32_t>(v);
  }
  return samples;
}

Bytes ConvertToJpeg2000(const std::string& path, const J2kFile& options) {
  int width = 0, height = 0, precision = 0;
  bool is_signed = false;
  const std::vector<int32_t> samples = NativeSamples(path, &width, &height, &precision, &is_signed);
  const Bytes codestream =
      EncodeJ2k(samples, width, height, 1, precision, is_signed, options.encoding);
  const std::string uid = options.encoding.lossless ? UID_JPEG2000LosslessOnlyTransferSyntax
                                                    : UID_JPEG2000TransferSyntax;
  DcmFileFormat file;
  EXPECT_TRUE(file.loadFile(path.c_str()).good()) << path;
  file.loadAllDataIntoMemory();
  PutEncapsulated(*file.getDataset(), uid, {Split(codestream, options.fragments)},
                  options.offset_table);
  OFCondition saved;
  if (options.transfer_syntax.empty()) {
    saved = file.saveFile(path.c_str(), DcmXfer(uid.c_str()).getXfer());
  } else {  // a UID DCMTK may not know: meta header written as given
    file.getMetaInfo()->putAndInsertString(DCM_TransferSyntaxUID, options.transfer_syntax.c_str());
    saved = file.saveFile(path.c_str(), DcmXfer(uid.c_str()).getXfer(), EET_UndefinedLength,
                          EGL_recalcGL, EPD_noChange, 0, 0, EWM_dontUpdateMeta);
  }
  EXPECT_TRUE(saved.good()) << path << ": " << saved.text();
  return codestream;
}

void RewriteFragments(const std::string& path, const std::vector<std::vector<Bytes>>& frames,
                      bool offset_table, const std::vector<uint32_t>& table) {
  DcmFileFormat file;
  ASSERT_TRUE(file.loadFile(path.c_str()).good()) << path;
  file.loadAllDataIntoMemory();
  const E_TransferSyntax xfer = file.getDataset()->getOriginalXfer();
  PutEncapsulated(*file.getDataset(), DcmXfer(xfer).getXferID(), frames, offset_table, table);
  ASSERT_TRUE(file.saveFile(path.c_str(), xfer).good()) << path;
}

}  // namespace scancov::node::testing
