// The files of a stress run (stress_files.hpp): the history, the trace, the drawing.
#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "checker/atomic_file.hpp"
#include "checker/junit.hpp"
#include "checker/stress_files.hpp"
#include "checker/stress_trace.hpp"
#include "checker/trace_io.hpp"

namespace lockstep::checker::stress {

using namespace lockstep::model;

std::string history_text(const lin::History& h, const std::vector<std::int64_t>& call_ns, const std::vector<std::int64_t>& ret_ns) {
  std::string out = nlohmann::json{{"lockstep_history", "1.0"}, {"hosts", h.hosts}, {"operations", h.ops.size()},
                                   {"observations", h.observations.size()}}
                        .dump() +
                    "\n";
  for (std::size_t i = 0; i < h.ops.size(); ++i) {
    const lin::Operation& o = h.ops[i];
    nlohmann::json j{{"i", i}, {"op", model::to_string(o.op)}, {"call_ns", i < call_ns.size() ? call_ns[i] : -1}};
    if (o.ret) j["ret_ns"] = i < ret_ns.size() ? ret_ns[i] : -1, j["answer"] = render(o.outcome);
    if (!o.created.empty()) {
      nlohmann::json c = nlohmann::json::array();
      for (const Binding& b : o.created) c.push_back({{"sym", symbol(b.kind, b.id)}, {"pid", b.pid}});
      j["created"] = c;
    }
    out += j.dump() + "\n";
  }
  for (const lin::ObservationPoint& p : h.observations) out += nlohmann::json{{"observation_at_ns", p.at / 2}}.dump() + "\n";
  return out;
}

std::string history_svg(const lin::History& h, const lin::Judgement& j, const std::string& title) {
  // Lanes: one per actor, hosts first. Columns: the distinct event positions, in order.
  std::map<std::pair<int, std::uint32_t>, std::size_t> lane;
  for (const lin::Operation& o : h.ops) lane[{static_cast<int>(o.op.actor.kind), o.op.actor.index}] = 0;
  std::size_t n = 0;
  for (auto& [k, v] : lane) v = n++;
  std::vector<std::uint64_t> pos;
  for (const lin::Operation& o : h.ops) {
    pos.push_back(o.call);
    if (o.ret) pos.push_back(*o.ret);
  }
  for (const lin::ObservationPoint& p : h.observations) pos.push_back(p.at);
  std::sort(pos.begin(), pos.end());
  pos.erase(std::unique(pos.begin(), pos.end()), pos.end());
  auto col = [&](std::uint64_t p) { return static_cast<double>(std::lower_bound(pos.begin(), pos.end(), p) - pos.begin()); };
  const double cw = 90, lh = 46, left = 80, top = 60;
  const double width = left + cw * static_cast<double>(pos.size() + 1) + 40, height = top + lh * static_cast<double>(n) + 70;
  std::map<std::size_t, std::size_t> order;  // op -> its place in the prefix (1-based)
  for (const lin::Step& s : j.order)
    if (!s.observation && !order.count(s.index)) order[s.index] = order.size() + 1;
  // The operation no order explains, if it is one (h.ops.size(): none, or an observation).
  const std::size_t culprit = j.culprit && !j.culprit_is_observation ? *j.culprit : h.ops.size();
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{:.0f}\" height=\"{:.0f}\" font-family=\"monospace\" font-size=\"11\">\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"10\" y=\"20\" font-size=\"13\">{}</text>\n"
      "<text x=\"10\" y=\"38\" fill=\"#555\">green: the longest linearizable prefix (its order numbered); red: the operation no order "
      "explains; grey: not placed</text>\n",
      width, height, xml_escape(title));
  for (const auto& [k, i] : lane) {
    const double y = top + lh * static_cast<double>(i);
    const Actor a{static_cast<Actor::Kind>(k.first), k.second};
    svg += fmt::format("<text x=\"10\" y=\"{:.0f}\">{}</text><line x1=\"{:.0f}\" y1=\"{:.0f}\" x2=\"{:.0f}\" y2=\"{:.0f}\" stroke=\"#ddd\"/>\n",
                       y + 22, xml_escape(model::to_string(a)), left, y + 36, width - 20, y + 36);
  }
  for (std::size_t i = 0; i < h.ops.size(); ++i) {
    const lin::Operation& o = h.ops[i];
    const double y = top + lh * static_cast<double>(lane[{static_cast<int>(o.op.actor.kind), o.op.actor.index}]);
    const double x0 = left + cw * col(o.call), x1 = o.ret ? left + cw * col(*o.ret) + cw * 0.8 : width - 30;
    const bool bad = culprit == i;
    const auto it = order.find(i);
    const std::string fill = bad ? "#f4b6b6" : it != order.end() ? "#c8ecc8" : "#e4e4e4";
    std::string label(op_name(o.op.body));
    if (auto p = label.find("lwproc_"); p != std::string::npos) label = label.substr(p + 7);
    if (auto p = label.find("sys_"); p != std::string::npos) label = label.substr(p + 4);
    const std::string answer = o.ret ? render(o.outcome) : "…";
    svg += fmt::format(
        "<g><title>{}&#10;-> {}</title><rect x=\"{:.0f}\" y=\"{:.0f}\" width=\"{:.0f}\" height=\"30\" rx=\"4\" fill=\"{}\" stroke=\"{}\"/>"
        "<text x=\"{:.0f}\" y=\"{:.0f}\">{}{}</text><text x=\"{:.0f}\" y=\"{:.0f}\" fill=\"#333\">{}</text></g>\n",
        xml_escape(model::to_string(o.op)), xml_escape(answer), x0, y + 4, std::max(12.0, x1 - x0), fill, bad ? "#c00" : "#888", x0 + 3, y + 16,
        it != order.end() ? fmt::format("{}. ", it->second) : std::string(), xml_escape(label.substr(0, 18)), x0 + 3, y + 29,
        xml_escape(answer.substr(0, 20)));
  }
  for (const lin::ObservationPoint& p : h.observations) {
    const double x = left + cw * col(p.at);
    svg += fmt::format("<line x1=\"{:.0f}\" y1=\"{:.0f}\" x2=\"{:.0f}\" y2=\"{:.0f}\" stroke=\"#36c\" stroke-dasharray=\"4\"/>"
                       "<text x=\"{:.0f}\" y=\"{:.0f}\" fill=\"#36c\">§7 observation</text>\n",
                       x, top - 6, x, height - 40, x + 3, height - 28);
  }
  if (!j.what.empty()) svg += fmt::format("<text x=\"10\" y=\"{:.0f}\" fill=\"#c00\">{}</text>\n", height - 10, xml_escape(fmt::format("[{}] {}", rule_name(j.rule), j.what)));
  return svg + "</svg>\n";
}

StressFiles write_stress_files(const std::string& dir, const std::string& name, const StressRecording& rec, const StressVerdict& v,
                               std::uint64_t seed, const std::vector<std::string>& faults) {
  StressFiles f;
  auto put = [&](const std::string& path, const std::string& err) {
    if (err.empty()) f.written.push_back(path);
    else if (f.error.empty()) f.error = err;
  };
  const std::string base = fmt::format("{}/{}", dir, name);
  put(base + ".history.jsonl", write_file_atomically(base + ".history.jsonl", history_text(rec.history, rec.call_ns, rec.ret_ns)));
  if (v.kind == StressVerdictKind::Agree) {
    const StressTrace t = stress_trace(rec.history, v.judgement, rec, seed, faults, request_positions(rec));
    put(base + ".trace.jsonl", write_trace(base + ".trace.jsonl", t.header, t.events));
  } else if (v.kind == StressVerdictKind::Violation) {
    const lin::History& wh = v.witness ? v.witness->history : rec.history;
    const lin::Judgement& wj = v.witness ? v.witness->judgement : v.judgement;
    std::vector<std::int64_t> request_at = request_positions(rec, v.witness ? v.witness->ops : std::vector<std::size_t>{});
    // A narrowed call's request took effect at its place in the order the judge committed to.
    if (v.witness)
      for (std::size_t i : v.witness->narrowed)
        if (i < request_at.size() && request_at[i] >= 0) request_at[i] = static_cast<std::int64_t>(wh.ops[i].call);
    const StressTrace t = stress_trace(wh, wj, rec, seed, faults, request_at);
    put(base + ".trace.jsonl", write_trace(base + ".trace.jsonl", t.header, t.events));
    if (wh.ops.size() <= 400)
      put(base + ".svg", write_file_atomically(base + ".svg", history_svg(wh, wj, fmt::format("lockstep stress: {} ({})", name, to_string(v.kind)))));
  }
  return f;
}

}  // namespace lockstep::checker::stress
