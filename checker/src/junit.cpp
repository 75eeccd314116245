#include "checker/junit.hpp"

#include <fmt/format.h>

namespace lockstep::checker {

namespace {
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
}  // namespace

std::string junit_xml(const CampaignReport& r, const CampaignConfig& c) {
  std::string faults;
  for (auto n : c.lockstep.faults.names()) faults += fmt::format("{}{}", faults.empty() ? "" : ",", n);
  const std::string name = fmt::format("conformance seed={} fault={}", c.seed, faults.empty() ? "none" : faults);
  std::string body;
  if (r.failure) {
    const Counterexample& f = *r.failure;
    const std::string text = fmt::format("{}\n\nshrunk program ({} steps):\n{}\nreproduce: {}\n", f.shrunk_result.summary(),
                                         f.shrunk_result.steps.size(), listing(f.shrunk_result), reproduce_command(f.shrunk, c));
    body = fmt::format("      <failure message=\"{}\" type=\"{}\">{}</failure>\n", xml_escape(f.shrunk_result.summary()),
                       to_string(f.shrunk_result.verdict), xml_escape(text));
  }
  return fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<testsuites>\n"
      "  <testsuite name=\"lockstep run\" tests=\"1\" failures=\"{}\" errors=\"0\" time=\"{:.3f}\">\n"
      "    <properties>\n"
      "      <property name=\"programs\" value=\"{}\"/>\n"
      "      <property name=\"steps\" value=\"{}\"/>\n"
      "      <property name=\"seed\" value=\"{}\"/>\n"
      "    </properties>\n"
      "    <testcase classname=\"lockstep\" name=\"{}\" time=\"{:.3f}\">\n{}"
      "    </testcase>\n"
      "  </testsuite>\n"
      "</testsuites>\n",
      r.failure ? 1 : 0, r.seconds, r.programs, r.steps, c.seed, xml_escape(name), r.seconds, body);
}

}  // namespace lockstep::checker
