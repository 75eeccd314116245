// Writes a whole file or nothing: the content goes to a temporary file beside the
// target, is flushed to disk, then renamed over it. A reader never sees half a file.
#pragma once
#include <cstdio>
#include <functional>
#include <string>

namespace lockstep::checker {

// Streams the content through `write` (which returns false when a write failed) into a buffered
// temporary file. Returns an empty string on success, otherwise what went wrong (with the path).
std::string write_file_atomically(const std::string& path, const std::function<bool(std::FILE*)>& write);

// The same for content already in memory.
std::string write_file_atomically(const std::string& path, const std::string& text);

}  // namespace lockstep::checker
