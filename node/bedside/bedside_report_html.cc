// The one-page HTML report (bedside_report.h): self-contained (inline CSS, PNGs as base64 data
// URIs), so it can be mailed or archived as one file and opened offline.
#include <tuple>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/xml_escape.h"
#include "models/scores/risk_classes.h"
#include "node/bedside/bedside_report.h"

namespace scancov::node {
namespace {

// Low green, medium amber, high red (the seed's colour-coded classes).
const char* ClassColour(const std::string& name) {
  if (name == "low") return "#2e7d32";
  if (name == "medium") return "#ef8f00";
  return "#c62828";
}

constexpr const char* kLevelColours[5] = {"#1b5e20", "#66bb6a", "#ffb300", "#f4511e", "#b71c1c"};

constexpr char kStyle[] = R"(<style>
body{font-family:Helvetica,Arial,sans-serif;margin:18px;color:#222;max-width:1100px}
h1{font-size:20px;margin:0 0 4px} h2{font-size:15px;margin:14px 0 6px}
.disclaimer{background:#fff3cd;border:1px solid #e0c36a;padding:6px 8px;font-size:12px}
.incomplete{background:#c62828;color:#fff;padding:8px;font-weight:bold;margin:8px 0}
.boxes{display:flex;gap:12px;flex-wrap:wrap}
.box{border:1px solid #ccc;border-radius:6px;padding:8px 12px;min-width:230px}
.badge{display:inline-block;color:#fff;border-radius:4px;padding:2px 8px;font-weight:bold}
.na{color:#777;font-style:italic}
table{border-collapse:collapse;font-size:13px} td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}
.scale td{width:110px;text-align:center;color:#fff;font-size:12px}
.scale td.off{opacity:.3} .scale td.on{outline:3px solid #000;font-weight:bold}
.imgs{display:flex;gap:8px;flex-wrap:wrap} .imgs figure{margin:0;font-size:12px}
.imgs img{width:340px;image-rendering:pixelated} small{color:#555}
</style>)";

std::string PngTag(const std::string& png, const std::string& alt, const char* style = "") {
  return absl::StrCat("<img alt=\"", XmlEscape(alt), "\" style=\"", style,
                      "\" src=\"data:image/png;base64,", absl::Base64Escape(png), "\">");
}

std::string Badge(const std::string& text, const char* colour) {
  return absl::StrCat("<span class=\"badge\" style=\"background:", colour, "\">", XmlEscape(text),
                      "</span>");
}

std::string FiveLevelScaleHtml(int level) {
  const scores::FiveLevelScale scale = scores::FiveLevelScaleFromTerciles(scores::RiskThresholds{});
  std::string out = "<table class=\"scale\"><tr>";
  for (int l = 1; l <= 5; ++l) {
    const double lo = l == 1 ? 0.0 : scale.cuts[l - 2];
    const double hi = l == 5 ? 1.0 : scale.cuts[l - 1];
    absl::StrAppendFormat(
        &out, "<td class=\"%s\" style=\"background:%s\">%d %s<br>p %.3f-%.3f</td>",
        l == level ? "on" : "off", kLevelColours[l - 1], l, scores::FiveLevelName(l), lo, hi);
  }
  return out + "</tr></table>";
}

std::string ScanCovBox(const BedsideResult& r) {
  std::string out =
      "<div class=\"box\"><b>ScanCov</b> (severe outcome: O2 &ge; 15 L/min, "
      "ventilation or death)<br>";
  if (!r.scancov.available) {
    return absl::StrCat(out, "<span class=\"na\">not computed: ", XmlEscape(r.scancov.reason),
                        "</span></div>");
  }
  const scores::ScanCovResult& s = r.scancov.value;
  const std::string cls = scores::RiskClassName(s.risk_class);
  absl::StrAppendFormat(&out, "probability <b>%.3f</b> %s<br>", s.probability,
                        Badge(cls + " risk", ClassColour(cls)));
  absl::StrAppendFormat(&out,
                        "<small>terciles 0.144 / 0.369; linear predictor %.3f; disease "
                        "extent %d/5 measured on the CT</small><br>",
                        s.linear_predictor, r.disease_extent);
  absl::StrAppend(&out, "level <b>", s.level, "/5</b> (", scores::FiveLevelName(s.level), ")",
                  FiveLevelScaleHtml(s.level), "</div>");
  return out;
}

std::string AiScoreBox(const BedsideResult& r) {
  std::string out = "<div class=\"box\"><b>AI-SCoRE</b> (in-hospital death)<br>";
  if (!r.aiscore.available) {
    return absl::StrCat(out, "<span class=\"na\">", XmlEscape(r.aiscore.reason), "</span></div>");
  }
  const std::string cls = scores::AiScoreClassName(r.aiscore.value.score_class);
  absl::StrAppendFormat(
      &out,
      "score <b>%.1f</b> / 100 %s<br><small>classes low [0, %g), medium "
      "[%g, %g), high [%g, 100]; model: %s</small></div>",
      r.aiscore.value.score, Badge(cls, ClassColour(cls)), r.aiscore.cut_points.low_medium,
      r.aiscore.cut_points.low_medium, r.aiscore.cut_points.medium_high,
      r.aiscore.cut_points.medium_high,
      XmlEscape(r.aiscore.model_source.empty() ? "file" : r.aiscore.model_source));
  return out;
}

std::string PointsBox(const char* name, const PointsOutcome& p) {
  std::string out = absl::StrCat("<div class=\"box\"><b>", name, "</b><br>");
  if (!p.available) {
    return absl::StrCat(out, "<span class=\"na\">not available: ", XmlEscape(p.reason),
                        "</span></div>");
  }
  absl::StrAppend(&out, "points <b>", p.value.points);
  if (p.value.partial()) absl::StrAppend(&out, " to ", p.value.max_points);
  absl::StrAppend(&out, "</b>, group ", XmlEscape(p.group));
  if (p.value.partial()) {
    absl::StrAppend(&out, "<br><small>partial, missing: ",
                    XmlEscape(absl::StrJoin(p.value.missing, ", ")), "</small>");
  }
  return out + "</div>";
}

std::string LungTable(const BedsideResult& r) {
  std::string out =
      "<table><tr><th>lung</th><th>volume mL</th><th>GGO %</th><th>crazy paving %</th>"
      "<th>consolidation %</th><th>extent %</th><th>extent 0-5</th><th>well-aerated %</th></tr>";
  const std::tuple<const char*, const ct::LungLesionStats*, const ct::HuIntervalStats*> rows[3] = {
      {"right", &r.lesions.right, &r.hu_intervals.right},
      {"left", &r.lesions.left, &r.hu_intervals.left},
      {"both", &r.lesions.both, &r.hu_intervals.both}};
  for (const auto& [name, s, h] : rows) {
    absl::StrAppendFormat(&out,
                          "<tr><td>%s</td><td>%.0f</td><td>%.1f</td><td>%.1f</td><td>%.1f</td>"
                          "<td><b>%.1f</b></td><td>%d</td><td>%.1f</td></tr>",
                          name, s->volume_ml, s->ggo_percent, s->crazy_paving_percent,
                          s->consolidation_percent, s->extent_percent, s->extent_score,
                          h->well_aerated_percent);
  }
  return out + "</table>";
}

std::string ImagesHtml(const BedsideResult& r) {
  std::string out = "<div class=\"imgs\">";
  for (const OverlayImage& o : r.overlays) {
    absl::StrAppend(&out, "<figure>", PngTag(o.png, "overlay"),
                    absl::StrFormat("<figcaption>%s lung: slice %d of %d (%d lesion voxels)"
                                    "</figcaption></figure>",
                                    o.zone, o.slice + 1, r.nz, o.lesion_voxels));
  }
  if (!r.chart_png.empty()) {
    absl::StrAppend(&out, "<figure>", PngTag(r.chart_png, "chart", "width:200px"),
                    "<figcaption>lesions per lung</figcaption></figure>");
  }
  return out +
         "</div><small>Yellow GGO, orange crazy paving, red consolidation; green / blue "
         "contours right / left lung. Radiological orientation: the patient's right on "
         "the image's left.</small>";
}

}  // namespace

std::string BedsideReportHtml(const BedsideResult& r) {
  std::string out = absl::StrCat("<!DOCTYPE html><html><head><meta charset=\"utf-8\">",
                                 "<title>ScanCov bedside report</title>", kStyle,
                                 "</head><body><h1>ScanCov bedside report</h1>");
  absl::StrAppend(&out, "<div class=\"disclaimer\">", XmlEscape(kResearchDisclaimer), "</div>");
  if (!r.complete()) {
    absl::StrAppend(&out, "<div class=\"incomplete\">INCOMPLETE: no valid ScanCov score (",
                    XmlEscape(r.scancov.reason), "). Partial results below.</div>");
  }
  for (const std::string& p : r.input_problems) {
    absl::StrAppend(&out, "<div class=\"incomplete\">input problem: ", XmlEscape(p), "</div>");
  }
  absl::StrAppendFormat(&out,
                        "<p>Patient (pseudonymous ID) <b>%s</b><br><small>series %s: %d x %d x "
                        "%d voxels, %.2f x %.2f x %.2f mm</small></p>",
                        XmlEscape(r.patient_key), XmlEscape(r.series_key.substr(0, 12)), r.nx, r.ny,
                        r.nz, r.spacing[0], r.spacing[1], r.spacing[2]);
  absl::StrAppend(&out, "<h2>Scores</h2><div class=\"boxes\">", ScanCovBox(r), AiScoreBox(r),
                  PointsBox("CURB-65", r.curb65), PointsBox("CALL", r.call), "</div>");
  absl::StrAppend(&out, "<h2>Lesions per lung</h2>", LungTable(r));
  absl::StrAppendFormat(&out,
                        "<p>Disease extent (CT, 0-5): <b>%d</b> &nbsp; Well-aerated lung: "
                        "<b>%.1f %%</b> &nbsp; Cardiovascular calcium: <b>%s</b></p>",
                        r.disease_extent, r.hu_intervals.both.well_aerated_percent,
                        r.calcium_available ? absl::StrFormat("%.0f mm&sup3;", r.calcium_volume_mm3)
                                            : std::string("not measured"));
  absl::StrAppend(&out, "<h2>Most affected slices</h2>", ImagesHtml(r));
  absl::StrAppend(&out, "<h2>Method</h2><p><small>Lungs: ", XmlEscape(r.lung_method),
                  ".<br>Lesions: ", XmlEscape(r.lesion_method),
                  ".<br>Extent 0-5: 0 none, 1 &lt; 10%, 2 10-25%, 3 25-50%, 4 50-75%, 5 &ge; 75% "
                  "of the lung volume, measured on the lesion map (the ScanCov paper used the "
                  "radiologist's visual score on the same scale).</small></p>");
  if (!r.notes.empty()) {
    absl::StrAppend(&out, "<h2>Notes</h2><ul>");
    for (const std::string& n : r.notes)
      absl::StrAppend(&out, "<li><small>", XmlEscape(n), "</small></li>");
    absl::StrAppend(&out, "</ul>");
  }
  return out + "</body></html>\n";
}

}  // namespace scancov::node
