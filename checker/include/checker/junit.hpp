// JUnit XML for CI systems: one test suite per `lockstep run`, one test case for the
// conformance verdict, with the counterexample listing as the failure text.
#pragma once
#include <string>

#include "checker/campaign.hpp"

namespace lockstep::checker {

std::string junit_xml(const CampaignReport& r, const CampaignConfig& c);

}  // namespace lockstep::checker
