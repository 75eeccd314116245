#include "checker/junit.hpp"

#include <fmt/format.h>

namespace lockstep::checker {

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char ch : s) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        // XML 1.0 forbids most control characters even when escaped.
        if (static_cast<unsigned char>(ch) >= 0x20 || ch == '\n' || ch == '\t') out += ch;
    }
  }
  return out;
}

namespace {

std::string fault_list(const impl::FaultSet& f) {
  std::string out;
  for (auto n : f.names()) out += fmt::format("{}{}", out.empty() ? "" : ",", n);
  return out.empty() ? "none" : out;
}

std::string suite(const std::string& name, std::size_t tests, std::size_t failures, double seconds, const std::string& properties,
                  const std::string& cases) {
  return fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<testsuites tests=\"{}\" failures=\"{}\" errors=\"0\" time=\"{:.3f}\">\n"
      "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"0\" time=\"{:.3f}\">\n"
      "    <properties>\n{}    </properties>\n{}"
      "  </testsuite>\n"
      "</testsuites>\n",
      tests, failures, seconds, xml_escape(name), tests, failures, seconds, properties, cases);
}

std::string property(const std::string& name, const std::string& value) {
  return fmt::format("      <property name=\"{}\" value=\"{}\"/>\n", xml_escape(name), xml_escape(value));
}
}  // namespace

std::string junit_xml(const CampaignReport& r, const CampaignConfig& c) {
  const std::string shard = c.shard.sharded() ? fmt::format(" shard={}/{}", c.shard.index, c.shard.total) : "";
  const std::string name = fmt::format("lockstep run seed={} fault={}{}", c.seed, fault_list(c.lockstep.faults), shard);
  std::string cases;
  std::size_t failures = 0;
  for (const ProgramRecord& p : r.records) {
    std::string body;
    if (r.failure && r.failure->program_index == p.index) {
      ++failures;
      const Counterexample& f = *r.failure;
      const std::string message = fmt::format("{} (program {}, base seed {}); reproduce: {}", f.shrunk_result.summary(), p.index, c.seed,
                                              program_command(p.index, c));
      const std::string text = fmt::format("{}\n\nshrunk program ({} steps):\n{}\nreplay the shrunk program: {}\nre-run program {}: {}\n",
                                           f.shrunk_result.summary(), f.shrunk_result.events.size(), listing(f.shrunk_result),
                                           reproduce_command(f.shrunk, c, f.schedule), p.index, program_command(p.index, c));
      body = fmt::format("      <failure message=\"{}\" type=\"{}\">{}</failure>\n", xml_escape(message), to_string(f.shrunk_result.verdict),
                         xml_escape(text));
    }
    cases += fmt::format("    <testcase classname=\"lockstep.run\" name=\"program {} seed={:#018x}\" time=\"{:.6f}\"{}", p.index, p.seed,
                         p.seconds, body.empty() ? "/>\n" : ">\n" + body + "    </testcase>\n");
  }
  std::string props = property("seed", std::to_string(c.seed)) + property("programs", std::to_string(r.programs)) +
                      property("steps", std::to_string(r.steps)) + property("fault", fault_list(c.lockstep.faults));
  if (c.shard.sharded()) props += property("shard", fmt::format("{}/{}", c.shard.index, c.shard.total));
  if (r.budget_exhausted) props += property("time_budget_reached", "true");
  return suite(name, r.records.size(), failures, r.seconds, props, cases);
}

std::string junit_xml(const MutantReport& r, const MutantConfig& c) {
  std::string cases;
  std::size_t failures = 0;
  double total = 0;
  for (const MutantRow& m : r.rows) {
    total += m.seconds;
    std::string body;
    if (!m.killed) {
      ++failures;
      body = fmt::format("      <failure message=\"{}\" type=\"SURVIVED\">no divergence within {} programs or the time budget</failure>\n",
                         xml_escape(fmt::format("fault {} survived (breaks {})", m.fault, m.breaks)), m.programs);
    } else {
      body = fmt::format("      <system-out>{}</system-out>\n", xml_escape(fmt::format("killed after {:.2f} s: {} (reported {})",
                                                                                      m.seconds_to_kill, m.verdict, m.reported_rule)));
    }
    cases += fmt::format("    <testcase classname=\"lockstep.mutants\" name=\"{}\" time=\"{:.3f}\">\n{}    </testcase>\n",
                         xml_escape(m.fault), m.seconds, body);
  }
  if (r.control_ran) {
    std::string body;
    if (r.false_alarm) {
      ++failures;
      body = fmt::format("      <failure message=\"{}\" type=\"FALSE_ALARM\"/>\n", xml_escape("the correct impl diverged: " + *r.false_alarm));
    }
    cases += fmt::format("    <testcase classname=\"lockstep.mutants\" name=\"control (correct impl, {} programs)\" time=\"{:.3f}\"{}",
                         r.control_programs, r.control_seconds, body.empty() ? "/>\n" : ">\n" + body + "    </testcase>\n");
    total += r.control_seconds;
  }
  std::string props = property("seed", std::to_string(c.campaign.seed));
  if (c.campaign.shard.sharded()) props += property("shard", fmt::format("{}/{}", c.campaign.shard.index, c.campaign.shard.total));
  return suite("lockstep mutants", r.rows.size() + (r.control_ran ? 1 : 0), failures, total, props, cases);
}

}  // namespace lockstep::checker
