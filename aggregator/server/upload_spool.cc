#include "aggregator/server/upload_spool.h"

#include <algorithm>
#include <filesystem>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/file_util.h"
#include "core/status_macros.h"

namespace scancov::aggregator {
namespace {

using spool::File;

constexpr size_t kDigestBytes = 32;

uint64_t ChunkOffset(const v1::WeightsManifest& m, uint32_t index) {
  return static_cast<uint64_t>(index) * m.chunk_bytes();
}

uint64_t ChunkSize(const v1::WeightsManifest& m, uint32_t index) {
  return std::min<uint64_t>(m.chunk_bytes(), m.total_bytes() - ChunkOffset(m, index));
}

// The manifest without its chunking: the same payload sent in other chunks is the same upload.
std::string LayoutBytes(const v1::WeightsManifest& m) {
  v1::WeightsManifest layout = m;
  layout.clear_chunk_bytes();
  layout.clear_num_chunks();
  return layout.SerializeAsString();
}

absl::StatusOr<v1::WeightsManifest> ReadManifest(const std::string& path) {
  SCV_ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(path));
  v1::WeightsManifest m;
  if (!m.ParseFromString(bytes)) return absl::DataLossError(path + ": unreadable manifest");
  return m;
}

// Chunks [0, n) of `base`.part whose bytes match the SHA-256 recorded for them in `base`.sums
// (a chunk's record is written after its bytes, so a torn last chunk has none), fed to `hash`
// and `finite` when they are given.
absl::StatusOr<uint32_t> CountVerified(const std::string& base, const v1::WeightsManifest& m,
                                       Sha256* hash, protocol::FiniteScanner* finite) {
  const int64_t part_size = spool::SizeOf(base + ".part");
  const int64_t sums_size = spool::SizeOf(base + ".sums");
  if (part_size <= 0 || sums_size <= 0) return 0;
  SCV_ASSIGN_OR_RETURN(File part, File::Open(base + ".part", /*append=*/false));
  SCV_ASSIGN_OR_RETURN(File sums, File::Open(base + ".sums", /*append=*/false));
  const uint64_t records = std::min<uint64_t>(sums_size / kDigestBytes, m.num_chunks());
  std::string data;
  std::string digest;
  uint32_t n = 0;
  for (; n < records; ++n) {
    const uint64_t offset = ChunkOffset(m, n);
    const uint64_t size = ChunkSize(m, n);
    if (offset + size > static_cast<uint64_t>(part_size)) break;
    SCV_RETURN_IF_ERROR(part.ReadAt(offset, size, &data));
    SCV_RETURN_IF_ERROR(sums.ReadAt(n * kDigestBytes, kDigestBytes, &digest));
    if (Sha256Digest(data) != digest) break;
    if (hash != nullptr) hash->Update(data);
    if (finite != nullptr) finite->Feed(data);
  }
  return n;
}

}  // namespace

UploadSession::UploadSession(UploadSpool* spool, std::string base, std::string where,
                             v1::WeightsManifest manifest)
    : spool_(spool),
      base_(std::move(base)),
      where_(std::move(where)),
      manifest_(std::move(manifest)),
      finite_(manifest_) {}

UploadSession::~UploadSession() {
  part_.Close();
  sums_.Close();
  spool_->Release(base_, finished_ ? std::nullopt : std::optional<uint32_t>(next_));
}

absl::Status UploadSession::Prepare() {
  absl::StatusOr<v1::WeightsManifest> stored = ReadManifest(base_ + ".manifest");
  const bool same_layout = stored.ok() && LayoutBytes(*stored) == LayoutBytes(manifest_);
  if (spool::Exists(base_ + ".weights")) {
    if (same_layout) {
      finished_ = true;
      next_ = manifest_.num_chunks();
      return absl::OkStatus();
    }
    SCV_RETURN_IF_ERROR(spool::RemoveFile(base_ + ".weights"));  // another layout: stale
  }
  if (same_layout && stored->chunk_bytes() == manifest_.chunk_bytes()) {
    SCV_RETURN_IF_ERROR(Recover());
  } else {
    Discard();
    SCV_RETURN_IF_ERROR(WriteFileAtomic(base_ + ".manifest", manifest_.SerializeAsString()));
  }
  return OpenForAppend();
}

absl::Status UploadSession::Recover() {
  SCV_ASSIGN_OR_RETURN(next_, CountVerified(base_, manifest_, &payload_hash_, &finite_));
  // Drop whatever follows the verified prefix (a torn chunk, a record without its chunk).
  SCV_RETURN_IF_ERROR(OpenForAppend());
  SCV_RETURN_IF_ERROR(part_.Truncate(ChunkOffset(manifest_, next_)));
  return sums_.Truncate(static_cast<uint64_t>(next_) * kDigestBytes);
}

absl::Status UploadSession::OpenForAppend() {
  if (!part_.is_open()) {
    SCV_ASSIGN_OR_RETURN(part_, File::Open(base_ + ".part", /*append=*/true));
  }
  if (!sums_.is_open()) {
    SCV_ASSIGN_OR_RETURN(sums_, File::Open(base_ + ".sums", /*append=*/true));
  }
  return absl::OkStatus();
}

void UploadSession::Discard() {
  part_.Close();
  sums_.Close();
  for (const char* ext : {".part", ".sums", ".manifest"}) {
    spool::RemoveFile(base_ + ext).IgnoreError();
  }
  next_ = 0;
}

absl::Status UploadSession::Add(const v1::WeightsChunk& chunk) {
  const std::string where = absl::StrCat(where_, ": chunk ", chunk.index());
  if (finished_ || next_ >= manifest_.num_chunks()) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": more chunks than the manifest announced (", manifest_.num_chunks(), ")"));
  }
  if (chunk.index() != next_) {
    // The first chunk of a stream names where the sender thinks the upload stands: a stale
    // view (UploadStatus raced another stream) is worth asking again; later it is a bug.
    const std::string why = absl::StrCat(where, ": out of order, expected chunk ", next_);
    return added_ ? absl::InvalidArgumentError(why)
                  : absl::AbortedError(why + " (ask UploadStatus for the resume point)");
  }
  const uint64_t offset = ChunkOffset(manifest_, next_);
  const uint64_t size = ChunkSize(manifest_, next_);
  if (chunk.offset() != offset || chunk.data().size() != size) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": offset/size ", chunk.offset(), "/",
                                                   chunk.data().size(), ", expected ", offset, "/",
                                                   size));
  }
  const std::string digest = Sha256Digest(chunk.data());
  if (digest != chunk.sha256()) {
    return absl::DataLossError(where + ": sha256 mismatch (corrupted in transit)");
  }
  absl::Status written = part_.Append(chunk.data());
  if (written.ok()) written = sums_.Append(digest);
  if (!written.ok()) {
    // Keep the files a verified prefix: cut back what this chunk may have left.
    part_.Truncate(offset).IgnoreError();
    sums_.Truncate(static_cast<uint64_t>(next_) * kDigestBytes).IgnoreError();
    return written;
  }
  payload_hash_.Update(chunk.data());
  finite_.Feed(chunk.data());
  ++next_;
  added_ = true;
  spool_->Publish(base_, next_);
  return absl::OkStatus();
}

absl::StatusOr<SpooledWeights> UploadSession::Finish() {
  SpooledWeights out;
  out.path = base_ + ".weights";
  out.manifest = manifest_;
  out.sha256_hex = ToHex(manifest_.sha256());
  out.bytes = manifest_.total_bytes();
  if (finished_) return out;
  if (next_ != manifest_.num_chunks()) {
    return absl::DataLossError(absl::StrCat(where_, ": truncated, ", next_, " of ",
                                            manifest_.num_chunks(),
                                            " chunks received (kept for a resume)"));
  }
  finished_ = true;  // spent, whatever follows
  if (payload_hash_.Finish() != manifest_.sha256()) {
    Discard();
    return absl::DataLossError(where_ + ": sha256 of the whole payload does not match");
  }
  if (absl::Status finite = finite_.status(); !finite.ok()) {
    Discard();
    return Annotate(finite, where_);
  }
  SCV_RETURN_IF_ERROR(part_.Sync());
  part_.Close();
  sums_.Close();
  std::error_code ec;
  std::filesystem::rename(base_ + ".part", out.path, ec);
  if (ec) return absl::UnavailableError(absl::StrCat(where_, ": rename failed: ", ec.message()));
  spool::RemoveFile(base_ + ".sums").IgnoreError();
  return out;
}

absl::StatusOr<std::unique_ptr<UploadSpool>> UploadSpool::Open(std::string dir,
                                                               protocol::ManifestLimits limits) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  SCV_RETURN_IF_ERROR(MakeDirs(dir));
  limits.expected_layout = nullptr;  // per upload (Begin)
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    // A manifest write cut by a crash (core/file_util.h writes "<path>.tmp", then renames).
    if (absl::EndsWith(entry.path().string(), ".tmp")) std::filesystem::remove(entry.path(), ec);
  }
  return std::unique_ptr<UploadSpool>(new UploadSpool(std::move(dir), limits));
}

std::string UploadSpool::Base(const UploadKey& key) const {
  std::string id = key.site_id;
  id.push_back('\0');
  id += key.task_id;
  id.push_back('\0');
  id += key.sha256_hex;
  return absl::StrCat(dir_, "/", ToHex(Sha256Digest(key.task_id)).substr(0, 16), "_",
                      ToHex(Sha256Digest(id)));
}

void UploadSpool::Release(const std::string& base, std::optional<uint32_t> verified) {
  absl::MutexLock lock(&mu_);
  active_.erase(base);
  if (verified.has_value()) {
    verified_[base] = *verified;
  } else {
    verified_.erase(base);
  }
}

void UploadSpool::Publish(const std::string& base, uint32_t verified) {
  absl::MutexLock lock(&mu_);
  verified_[base] = verified;
}

absl::StatusOr<std::unique_ptr<UploadSession>> UploadSpool::Begin(
    const UploadKey& key, const v1::WeightsManifest& manifest,
    const v1::WeightsManifest* expected_layout) {
  const std::string where =
      absl::StrCat("upload of task '", key.task_id, "' from site '", key.site_id, "'");
  if (key.sha256_hex != ToHex(manifest.sha256())) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": weights_sha256 '", key.sha256_hex,
                                                   "' is not the manifest's payload hash ",
                                                   ToHex(manifest.sha256())));
  }
  protocol::ManifestLimits limits = limits_;
  limits.expected_layout = expected_layout;
  SCV_RETURN_IF_ERROR(Annotate(protocol::CheckManifest(manifest, limits), where));
  const std::string base = Base(key);
  {
    absl::MutexLock lock(&mu_);
    ReceivingUpload shown;
    shown.site_id = key.site_id;
    shown.task_id = key.task_id;
    shown.total_bytes = manifest.total_bytes();
    shown.chunk_bytes = manifest.chunk_bytes();
    shown.num_chunks = manifest.num_chunks();
    if (!active_.emplace(base, std::move(shown)).second) {
      return absl::AbortedError(where +
                                ": another stream of the same upload is in progress; retry later");
    }
  }
  // From here the session's destructor releases the key, whatever happens.
  std::unique_ptr<UploadSession> session(new UploadSession(this, base, where, manifest));
  SCV_RETURN_IF_ERROR(Annotate(session->Prepare(), where));
  if (!session->finished_) Publish(base, session->next_chunk());
  return session;
}

std::vector<ReceivingUpload> UploadSpool::Receiving() {
  absl::MutexLock lock(&mu_);
  std::vector<ReceivingUpload> receiving;
  receiving.reserve(active_.size());
  for (const auto& [base, shown] : active_) {
    ReceivingUpload& r = receiving.emplace_back(shown);
    auto it = verified_.find(base);
    r.chunks_verified = it == verified_.end() ? 0 : std::min(it->second, r.num_chunks);
    r.bytes_verified = std::min<uint64_t>(r.total_bytes, r.chunk_bytes * r.chunks_verified);
  }
  return receiving;
}

uint32_t UploadSpool::VerifiedChunks(const UploadKey& key, uint32_t chunk_bytes) {
  const std::string base = Base(key);
  absl::StatusOr<v1::WeightsManifest> stored = ReadManifest(base + ".manifest");
  if (!stored.ok() || chunk_bytes == 0) return 0;
  if (spool::Exists(base + ".weights")) {
    return static_cast<uint32_t>((stored->total_bytes() + chunk_bytes - 1) / chunk_bytes);
  }
  if (stored->chunk_bytes() != chunk_bytes) return 0;
  {
    absl::MutexLock lock(&mu_);
    auto it = verified_.find(base);
    if (it != verified_.end()) return it->second;
    if (active_.contains(base)) return 0;  // its session is still preparing
  }
  absl::StatusOr<uint32_t> n = CountVerified(base, *stored, nullptr, nullptr);
  if (!n.ok()) return 0;
  absl::MutexLock lock(&mu_);
  verified_[base] = *n;
  return *n;
}

absl::StatusOr<SpooledWeights> UploadSpool::Find(const UploadKey& key) {
  const std::string base = Base(key);
  absl::StatusOr<v1::WeightsManifest> stored = ReadManifest(base + ".manifest");
  if (!spool::Exists(base + ".weights") || !stored.ok()) {
    return absl::NotFoundError(absl::StrCat("no finished upload of task '", key.task_id,
                                            "' from site '", key.site_id, "'"));
  }
  return SpooledWeights{base + ".weights", *stored, ToHex(stored->sha256()), stored->total_bytes()};
}

absl::StatusOr<SpooledWeights> UploadSpool::Put(const UploadKey& key,
                                                const protocol::TensorSet& set) {
  protocol::WeightsEncoder encoder(set, protocol::kDefaultChunkBytes);
  UploadKey k = key;
  const std::string hex = ToHex(encoder.manifest().sha256());
  if (k.sha256_hex.empty()) k.sha256_hex = hex;
  SCV_ASSIGN_OR_RETURN(std::unique_ptr<UploadSession> session,
                       Begin(k, encoder.manifest(), nullptr));
  encoder.SkipTo(session->next_chunk());
  v1::WeightsChunk chunk;
  while (encoder.Next(&chunk)) SCV_RETURN_IF_ERROR(session->Add(chunk));
  return session->Finish();
}

absl::Status UploadSpool::Remove(const SpooledWeights& weights) {
  const std::string prefix = dir_ + "/";
  if (!absl::StartsWith(weights.path, prefix) || !absl::EndsWith(weights.path, ".weights") ||
      weights.path.find('/', prefix.size()) != std::string::npos) {
    return absl::InvalidArgumentError("upload spool: not a spooled file: " + weights.path);
  }
  const std::string base = weights.path.substr(0, weights.path.size() - 8);
  SCV_RETURN_IF_ERROR(spool::RemoveFile(weights.path));
  SCV_RETURN_IF_ERROR(spool::RemoveFile(base + ".manifest"));
  absl::MutexLock lock(&mu_);
  verified_.erase(base);
  return absl::OkStatus();
}

absl::Status UploadSpool::RemoveTask(const std::string& task_id) {
  const std::string prefix = ToHex(Sha256Digest(task_id)).substr(0, 16) + "_";
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    if (!absl::StartsWith(entry.path().filename().string(), prefix)) continue;
    SCV_RETURN_IF_ERROR(spool::RemoveFile(entry.path().string()));
  }
  if (ec) return absl::UnavailableError("upload spool: cannot list " + dir_ + ": " + ec.message());
  absl::MutexLock lock(&mu_);
  const std::string base_prefix = dir_ + "/" + prefix;
  for (auto it = verified_.begin(); it != verified_.end();) {
    if (absl::StartsWith(it->first, base_prefix)) {
      verified_.erase(it++);
    } else {
      ++it;
    }
  }
  return absl::OkStatus();
}

uint64_t UploadSpool::bytes_on_disk() {
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    const int64_t size = spool::SizeOf(entry.path().string());
    if (size > 0) total += static_cast<uint64_t>(size);
  }
  return total;
}

absl::Status ForEachTensor(
    const SpooledWeights& weights,
    const std::function<absl::Status(size_t index, protocol::Tensor tensor)>& fn) {
  const v1::WeightsManifest& m = weights.manifest;
  SCV_RETURN_IF_ERROR(
      Annotate(protocol::CheckManifest(m, protocol::AnyChunkSizeLimits()), "spooled weights"));
  SCV_ASSIGN_OR_RETURN(File file, File::Open(weights.path, /*append=*/false));
  SCV_ASSIGN_OR_RETURN(uint64_t size, file.Size());
  if (size != m.total_bytes()) {
    return absl::DataLossError(absl::StrCat("spooled weights: ", weights.path, " holds ", size,
                                            " bytes, the manifest ", m.total_bytes()));
  }
  Sha256 hash;
  for (int i = 0; i < m.tensors_size(); ++i) {
    const v1::TensorSpec& s = m.tensors(i);
    protocol::Tensor t;
    t.name = s.name();
    t.shape.assign(s.shape().begin(), s.shape().end());
    SCV_ASSIGN_OR_RETURN(t.dtype, protocol::FromProto(s.dtype()));
    SCV_RETURN_IF_ERROR(file.ReadAt(s.offset(), s.nbytes(), &t.bytes));
    hash.Update(t.bytes);
    SCV_RETURN_IF_ERROR(fn(static_cast<size_t>(i), std::move(t)));
  }
  if (hash.Finish() != m.sha256()) {
    return absl::DataLossError("spooled weights: " + weights.path +
                               " no longer matches its payload hash");
  }
  return absl::OkStatus();
}

absl::StatusOr<protocol::TensorSet> LoadSpooled(const SpooledWeights& weights) {
  protocol::TensorSet set;
  SCV_RETURN_IF_ERROR(
      ForEachTensor(weights, [&](size_t, protocol::Tensor t) { return set.Add(std::move(t)); }));
  return set;
}

}  // namespace scancov::aggregator
