// JUnit XML for CI dashboards. `lockstep run`: one test suite, one test case per program run (its
// index, program seed and time); the failing program's case carries the shrunk listing and the two
// commands that reproduce it. `lockstep mutants`: one test case per fault (a surviving fault is a
// failure) and one for the control run on the correct impl.
#pragma once
#include <string>

#include "checker/campaign.hpp"
#include "checker/mutants.hpp"

namespace lockstep::checker {

std::string xml_escape(const std::string& s);
std::string junit_xml(const CampaignReport& r, const CampaignConfig& c);
std::string junit_xml(const MutantReport& r, const MutantConfig& c);

}  // namespace lockstep::checker
