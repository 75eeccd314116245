// Helpers shared by the fuzz targets.
#pragma once
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace lockstep::fuzz {

// The readers take a path: each input is written to one in-memory file (memfd), which the reader
// opens by its /proc/self/fd path (a fresh open file description, read from the start).
class MemFile {
 public:
  MemFile() : fd_(memfd_create("lockstep-fuzz", MFD_CLOEXEC)) {
    if (fd_ < 0) die("memfd_create failed");
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;
  ~MemFile() { close(fd_); }

  // Replaces the file's contents; returns its path.
  const std::string& write(const std::uint8_t* data, std::size_t size) {
    if (ftruncate(fd_, 0) != 0) die("ftruncate failed");
    for (std::size_t done = 0; done < size;) {
      const ssize_t n = pwrite(fd_, data + done, size - done, static_cast<off_t>(done));
      if (n <= 0) die("pwrite failed");
      done += static_cast<std::size_t>(n);
    }
    return path_;
  }
  const std::string& write(std::string_view s) { return write(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()); }
  const std::string& path() const { return path_; }

 private:
  [[noreturn]] static void die(const char* what) {
    std::fprintf(stderr, "fuzz: %s\n", what);
    std::abort();
  }
  int fd_;
  std::string path_;
};

// A property of the code under test does not hold: report it as a crash, with the input's story.
[[noreturn]] inline void fail(const std::string& what) {
  std::fprintf(stderr, "\nFUZZ PROPERTY VIOLATED: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

// Valid UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF).
inline bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      n = 1, cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2, cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;
    for (std::size_t k = 1; k <= n; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3f);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += n + 1;
  }
  return true;
}

// A message a command prints as its one line on stderr: no line break or other control character.
inline bool one_printable_line(std::string_view s) {
  for (char ch : s)
    if (static_cast<unsigned char>(ch) < 0x20) return false;
  return valid_utf8(s);
}

}  // namespace lockstep::fuzz
