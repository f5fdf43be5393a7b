// Escaping text for XML and HTML (the SVG figures of the reports, the bedside HTML page):
// & < > " become entities, everything else (apostrophes included) is kept. Thread-safe, pure.
#ifndef SCANCOV_CORE_XML_ESCAPE_H_
#define SCANCOV_CORE_XML_ESCAPE_H_

#include <string>

#include "absl/strings/string_view.h"

namespace scancov {

std::string XmlEscape(absl::string_view text);

}  // namespace scancov

#endif  // SCANCOV_CORE_XML_ESCAPE_H_
