// Writes a whole file or nothing: the text goes to a temporary file beside the
// target, is flushed to disk, then renamed over it. A reader never sees half a file.
#pragma once
#include <string>

namespace lockstep::checker {

// Returns an empty string on success, otherwise what went wrong (with the path).
std::string write_file_atomically(const std::string& path, const std::string& text);

}  // namespace lockstep::checker
