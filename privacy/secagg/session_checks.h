// Checks shared by SecAggClient and SecAggServer on every incoming message. Stateless;
// thread-safe.
#ifndef SCANCOV_PRIVACY_SECAGG_SESSION_CHECKS_H_
#define SCANCOV_PRIVACY_SECAGG_SESSION_CHECKS_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "privacy/secagg/config.h"
#include "privacy/secagg/messages.h"

namespace scancov::privacy::secagg {

// InvalidArgument unless (study_id, round) is the roster's session. `what` names the message.
absl::Status CheckSession(const SecAggRoster& roster, absl::string_view what,
                          absl::string_view study_id, uint64_t round);

// InvalidArgument unless `site` is in the roster.
absl::Status CheckKnownSite(const SecAggRoster& roster, absl::string_view what,
                            absl::string_view site);

// The advert is for this session, from a site of the roster, and signed by the key of that
// site's certificate, whose CN is the site id (key_signature.h).
absl::Status VerifyAdvert(const SecAggRoster& roster, const KeyAdvert& advert);

}  // namespace scancov::privacy::secagg

#endif  // SCANCOV_PRIVACY_SECAGG_SESSION_CHECKS_H_
