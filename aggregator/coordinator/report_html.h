// Self-contained HTML pages from the reports' Markdown: one file that opens offline, with its
// CSS inline and every figure the Markdown references as one of the report's own SVG files
// inlined. The Markdown holds text from other parties (site ids, variable names, messages), so
// it is rendered by cmark-gfm in its safe mode and, before rendering, raw HTML becomes visible
// text, links other than in-page anchors become their text, and images other than the report's
// own figures become their alt text: the page has no script and loads nothing.
//
// Thread safety: pure functions.
#ifndef SCANCOV_AGGREGATOR_COORDINATOR_REPORT_HTML_H_
#define SCANCOV_AGGREGATOR_COORDINATOR_REPORT_HTML_H_

#include <string>
#include <utility>
#include <vector>

#include "aggregator/coordinator/report_section.h"

namespace scancov::aggregator {

struct HtmlPage {
  std::string title;
  // Shown under the title as "name: value" (study id, kind, state, date); text, escaped here.
  std::vector<std::pair<std::string, std::string>> facts;
  std::string markdown;  // the body
  // The SVG figures an image of `markdown` may name (by file name); any other image is dropped.
  // Their SVG is our own code's and trusted; it is inserted as it is.
  std::vector<ReportFile> figures;
};

// The whole document: <!DOCTYPE html>, the title, the facts, a table of contents of the
// Markdown's level-2 headings (each linked to its section), the body. Table cells that hold a
// number are right-aligned; an empty cell reads "—".
std::string RenderHtmlPage(const HtmlPage& page);

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_COORDINATOR_REPORT_HTML_H_
