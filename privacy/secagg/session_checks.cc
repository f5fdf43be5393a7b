#include "privacy/secagg/session_checks.h"

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "privacy/secagg/key_signature.h"

namespace scancov::privacy::secagg {

absl::Status CheckSession(const SecAggRoster& roster, absl::string_view what,
                          absl::string_view study_id, uint64_t round) {
  const SecAggConfig& c = roster.config();
  if (study_id != c.study_id || round != c.round) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": for study '", study_id, "' round ",
                                                   round, ", this session is study '", c.study_id,
                                                   "' round ", c.round));
  }
  return absl::OkStatus();
}

absl::Status CheckKnownSite(const SecAggRoster& roster, absl::string_view what,
                            absl::string_view site) {
  if (!roster.Contains(site)) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": site '", site, "' is not a participant of this study"));
  }
  return absl::OkStatus();
}

absl::Status VerifyAdvert(const SecAggRoster& roster, const KeyAdvert& advert) {
  SCV_RETURN_IF_ERROR(CheckSession(roster, "secagg advert", advert.study_id, advert.round));
  SCV_RETURN_IF_ERROR(CheckKnownSite(roster, "secagg advert", advert.site_id));
  const std::string payload = AdvertPayload(advert.study_id, advert.round, advert.site_id,
                                            advert.c_public, advert.s_public);
  return Annotate(
      VerifyPayload(roster.Certificate(advert.site_id), advert.site_id, payload, advert.signature),
      absl::StrCat("secagg advert of '", advert.site_id, "'"));
}

}  // namespace scancov::privacy::secagg
