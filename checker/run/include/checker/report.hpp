// The human-readable end of a campaign: coverage, figures, verdict, and for a
// failure the shrunk program as a numbered listing with the command that replays it.
#pragma once
#include <string>

#include "checker/campaign.hpp"

namespace lockstep::checker {

std::string campaign_summary(const CampaignReport& r, const CampaignConfig& c);

}  // namespace lockstep::checker
