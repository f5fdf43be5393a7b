#include "aggregator/coordinator/report_html.h"

#include <cmark-gfm-core-extensions.h>
#include <cmark-gfm.h>

#include <cctype>
#include <map>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "core/xml_escape.h"

namespace scancov::aggregator {
namespace {

constexpr char kCss[] = R"css(
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",sans-serif;
 color:#222;max-width:1180px;margin:1.5em auto;padding:0 1em}
header{border-bottom:2px solid #34506b;margin-bottom:1em}
header h1{margin:.2em 0}
header dl{display:grid;grid-template-columns:max-content 1fr;gap:.15em 1em;margin:.5em 0 1em}
header dt{font-weight:600;color:#555}header dd{margin:0}
nav.toc{background:#f4f6f9;border:1px solid #d8dde6;padding:.4em 1.2em;display:inline-block}
nav.toc ol{margin:.3em 0;padding-left:1.4em}
h2{border-bottom:1px solid #d8dde6;margin-top:1.6em}
.wide{overflow-x:auto}
table{border-collapse:collapse;margin:.7em 0;font-size:13px}
th,td{border:1px solid #cdd3dc;padding:.25em .55em;vertical-align:top}
th{background:#eaeef3;text-align:left}
tbody tr:nth-child(even){background:#f9fafb}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.na{color:#8a8f98;text-align:center}
code{background:#f1f3f5;padding:0 .2em;border-radius:3px;overflow-wrap:anywhere}
.fig{display:inline-block;margin:.5em 1em .5em 0;vertical-align:top;max-width:100%}
.fig svg{max-width:100%;height:auto;border:1px solid #e4e7eb}
.fig .cap{display:block;font-size:12px;color:#555}
@media print{body{max-width:none;margin:0;font-size:10.5pt}nav.toc{display:none}
 .wide{overflow:visible}table,.fig{break-inside:avoid}h2{break-after:avoid}}
)css";

struct CmarkFree {
  void operator()(cmark_node* n) const { cmark_node_free(n); }
  void operator()(cmark_parser* p) const { cmark_parser_free(p); }
};

// The text of `node`'s descendants (text and code spans), as the reader sees it.
std::string PlainText(cmark_node* node) {
  std::string text;
  cmark_iter* it = cmark_iter_new(node);
  for (cmark_event_type ev; (ev = cmark_iter_next(it)) != CMARK_EVENT_DONE;) {
    cmark_node* n = cmark_iter_get_node(it);
    const cmark_node_type t = cmark_node_get_type(n);
    if (ev == CMARK_EVENT_ENTER && (t == CMARK_NODE_TEXT || t == CMARK_NODE_CODE)) {
      text += cmark_node_get_literal(n);
    }
  }
  cmark_iter_free(it);
  return text;
}

void ReplaceWithText(cmark_node* node, const std::string& text) {
  cmark_node* t = cmark_node_new(CMARK_NODE_TEXT);
  cmark_node_set_literal(t, text.c_str());
  cmark_node_insert_before(node, t);
  cmark_node_free(node);  // unlinks it
}

// What another party's text may have made of the Markdown: raw HTML is shown as text (the
// renderer's safe mode would only omit it, hiding what the site sent), a link goes nowhere but
// to an anchor of the page, an image is one of our figures or its alt text.
void Defang(cmark_node* doc, const std::map<std::string, const ReportFile*>& figures) {
  std::vector<cmark_node*> nodes;
  cmark_iter* it = cmark_iter_new(doc);
  for (cmark_event_type ev; (ev = cmark_iter_next(it)) != CMARK_EVENT_DONE;) {
    if (ev == CMARK_EVENT_ENTER) nodes.push_back(cmark_iter_get_node(it));
  }
  cmark_iter_free(it);
  // Children before their parents: a node is changed only after everything inside it.
  for (auto n = nodes.rbegin(); n != nodes.rend(); ++n) {
    cmark_node* node = *n;
    const char* url = cmark_node_get_url(node);
    switch (cmark_node_get_type(node)) {
      case CMARK_NODE_HTML_INLINE:
        ReplaceWithText(node, cmark_node_get_literal(node));
        break;
      case CMARK_NODE_HTML_BLOCK: {
        cmark_node* para = cmark_node_new(CMARK_NODE_PARAGRAPH);
        cmark_node_insert_before(node, para);
        const std::string literal(absl::StripTrailingAsciiWhitespace(cmark_node_get_literal(node)));
        cmark_node_append_child(para, cmark_node_new(CMARK_NODE_TEXT));
        cmark_node_set_literal(cmark_node_first_child(para), literal.c_str());
        cmark_node_free(node);
        break;
      }
      case CMARK_NODE_LINK:
        if (url != nullptr && url[0] == '#') break;
        while (cmark_node* child = cmark_node_first_child(node)) {
          cmark_node_insert_before(node, child);
        }
        cmark_node_free(node);
        break;
      case CMARK_NODE_IMAGE:
        if (url != nullptr && figures.count(url)) break;
        ReplaceWithText(node, PlainText(node));
        break;
      default:
        break;
    }
  }
  // The page's header says what the first heading would.
  cmark_node* first = cmark_node_first_child(doc);
  if (first != nullptr && cmark_node_get_type(first) == CMARK_NODE_HEADING &&
      cmark_node_get_heading_level(first) == 1) {
    cmark_node_free(first);
  }
}

// The level-2 headings in document order: the order the renderer writes their "<h2>".
std::vector<std::string> SectionTitles(cmark_node* doc) {
  std::vector<std::string> titles;
  cmark_iter* it = cmark_iter_new(doc);
  for (cmark_event_type ev; (ev = cmark_iter_next(it)) != CMARK_EVENT_DONE;) {
    cmark_node* n = cmark_iter_get_node(it);
    if (ev == CMARK_EVENT_ENTER && cmark_node_get_type(n) == CMARK_NODE_HEADING &&
        cmark_node_get_heading_level(n) == 2) {
      titles.push_back(PlainText(n));
    }
  }
  cmark_iter_free(it);
  return titles;
}

// `svg` with a viewBox (from its width and height) so that CSS can scale it to the page.
std::string Scalable(const std::string& svg) {
  const size_t end = svg.find('>');
  if (end == std::string::npos || svg.find("viewBox") < end) return svg;
  auto attr = [&](const std::string& name) -> std::string {
    const size_t at = svg.find(" " + name + "=\"");
    if (at == std::string::npos || at > end) return "";
    const size_t from = at + name.size() + 3;
    return svg.substr(from, svg.find('"', from) - from);
  };
  const std::string w = attr("width"), h = attr("height");
  if (w.empty() || h.empty()) return svg;
  return absl::StrCat(svg.substr(0, 4), " viewBox=\"0 0 ", w, " ", h, "\"", svg.substr(4));
}

// A cell that holds a number (or a number and its interval, a ratio, a percentage).
bool Numeric(absl::string_view cell) {
  if (cell.empty()) return false;
  size_t i = cell[0] == '-' || cell[0] == '+' ? 1 : 0;
  if (i >= cell.size() || !std::isdigit(static_cast<unsigned char>(cell[i]))) return false;
  for (char c : cell) {
    if (std::isalpha(static_cast<unsigned char>(c)) && c != 'e' && c != 'E') return false;
  }
  return true;
}

// Post-processing of cmark's HTML, which is regular: "<h2>", "<table>", "<td>" (no alignment
// in our tables) and images as `<img src="URL" alt="ALT" />`. Text from the Markdown is escaped
// by then, so these strings can only be the renderer's own.
std::string Finish(const std::string& html,
                   const std::map<std::string, const ReportFile*>& figures) {
  std::string out;
  size_t pos = 0, section = 0;
  while (pos < html.size()) {
    const size_t lt = html.find('<', pos);
    if (lt == std::string::npos) {
      out.append(html, pos, std::string::npos);
      break;
    }
    out.append(html, pos, lt - pos);
    absl::string_view rest = absl::string_view(html).substr(lt);
    if (absl::StartsWith(rest, "<h2>")) {
      absl::StrAppend(&out, "<h2 id=\"sec-", ++section, "\">");
      pos = lt + 4;
    } else if (absl::StartsWith(rest, "<table>")) {
      out += "<div class=\"wide\"><table>";
      pos = lt + 7;
    } else if (absl::StartsWith(rest, "</table>")) {
      out += "</table></div>";
      pos = lt + 8;
    } else if (absl::StartsWith(rest, "<td>")) {
      const size_t close = html.find("</td>", lt);
      if (close == std::string::npos) {
        out.append(html, lt, std::string::npos);
        break;
      }
      const std::string cell = html.substr(lt + 4, close - lt - 4);
      if (cell.empty()) {
        out += "<td class=\"na\">—";
      } else {
        absl::StrAppend(
            &out,
            cell.find('<') == std::string::npos && Numeric(cell) ? "<td class=\"num\">" : "<td>",
            cell);
      }
      pos = close;
    } else if (absl::StartsWith(rest, "<img src=\"")) {
      const size_t src = lt + 10, src_end = html.find('"', src);
      const size_t alt = html.find("alt=\"", src_end) + 5, alt_end = html.find('"', alt);
      const size_t end = html.find("/>", alt_end) + 2;
      auto f = figures.find(html.substr(src, src_end - src));
      absl::StrAppend(&out, "<span class=\"fig\">",
                      f == figures.end() ? "" : Scalable(f->second->content),
                      "<span class=\"cap\">", html.substr(alt, alt_end - alt), "</span></span>");
      pos = end;
    } else {
      out += '<';
      pos = lt + 1;
    }
  }
  return out;
}

}  // namespace

std::string RenderHtmlPage(const HtmlPage& page) {
  cmark_gfm_core_extensions_ensure_registered();
  std::map<std::string, const ReportFile*> figures;
  for (const ReportFile& f : page.figures) {
    figures[f.name] = &f;
    figures[XmlEscape(f.name)] = &f;  // as the renderer writes it in src="..."
  }
  // Safe mode is cmark-gfm's default (no CMARK_OPT_UNSAFE); invalid UTF-8 from a site becomes
  // U+FFFD.
  std::unique_ptr<cmark_parser, CmarkFree> parser(cmark_parser_new(CMARK_OPT_VALIDATE_UTF8));
  if (cmark_syntax_extension* table = cmark_find_syntax_extension("table")) {
    cmark_parser_attach_syntax_extension(parser.get(), table);
  }
  cmark_parser_feed(parser.get(), page.markdown.data(), page.markdown.size());
  std::unique_ptr<cmark_node, CmarkFree> doc(cmark_parser_finish(parser.get()));
  Defang(doc.get(), figures);
  const std::vector<std::string> sections = SectionTitles(doc.get());
  char* rendered = cmark_render_html(doc.get(), CMARK_OPT_DEFAULT,
                                     cmark_parser_get_syntax_extensions(parser.get()));
  const std::string body = Finish(rendered, figures);
  cmark_get_default_mem_allocator()->free(rendered);

  std::string html = absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
      XmlEscape(page.title), "</title>\n<style>", kCss, "</style>\n</head>\n<body>\n<header>\n<h1>",
      XmlEscape(page.title), "</h1>\n<dl>\n");
  for (const auto& [name, value] : page.facts) {
    absl::StrAppend(&html, "<dt>", XmlEscape(name), "</dt><dd>", XmlEscape(value), "</dd>\n");
  }
  html += "</dl>\n</header>\n";
  if (!sections.empty()) {
    html += "<nav class=\"toc\"><strong>Contents</strong>\n<ol>\n";
    for (size_t i = 0; i < sections.size(); ++i) {
      absl::StrAppend(&html, "<li><a href=\"#sec-", i + 1, "\">", XmlEscape(sections[i]),
                      "</a></li>\n");
    }
    html += "</ol>\n</nav>\n";
  }
  absl::StrAppend(&html, "<main>\n", body, "</main>\n</body>\n</html>\n");
  return html;
}

}  // namespace scancov::aggregator
