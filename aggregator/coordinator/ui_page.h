// The coordinator's live page (ui_server.h): one HTML page, its style sheet and its script,
// compiled in (no CDN, no file to install: the page works offline). The script polls
// /api/state (ui_state.h) every 2 s and builds the page with textContent only: nothing the
// aggregator sends is ever parsed as markup.
#ifndef SCANCOV_AGGREGATOR_COORDINATOR_UI_PAGE_H_
#define SCANCOV_AGGREGATOR_COORDINATOR_UI_PAGE_H_

#include <string_view>

namespace scancov::aggregator {

std::string_view UiPageHtml();    // served at /
std::string_view UiPageStyle();   // served at /ui.css
std::string_view UiPageScript();  // served at /ui.js

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_COORDINATOR_UI_PAGE_H_
