#include "checker/atomic_file.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>

namespace lockstep::checker {

std::string write_file_atomically(const std::string& path, const std::function<bool(std::FILE*)>& write) {
  const std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  std::FILE* f = std::fopen(tmp.c_str(), "we");
  if (f == nullptr) return fmt::format("{}: cannot create: {}", tmp, std::strerror(errno));
  std::vector<char> buf(1u << 20);  // big writes: a trace can be hundreds of MB
  std::setvbuf(f, buf.data(), _IOFBF, buf.size());
  bool ok = write(f);
  ok = ok && std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
  const std::string why = ok ? "" : std::strerror(errno);
  if (std::fclose(f) != 0 && ok) {
    const std::string e = std::strerror(errno);
    ::unlink(tmp.c_str());
    return fmt::format("{}: cannot close: {}", tmp, e);
  }
  if (!ok) {
    ::unlink(tmp.c_str());
    return fmt::format("{}: write failed: {}", tmp, why);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string e = std::strerror(errno);
    ::unlink(tmp.c_str());
    return fmt::format("{}: cannot rename into place: {}", path, e);
  }
  return {};
}

std::string write_file_atomically(const std::string& path, const std::string& text) {
  return write_file_atomically(path, [&](std::FILE* f) { return std::fwrite(text.data(), 1, text.size(), f) == text.size(); });
}

}  // namespace lockstep::checker
