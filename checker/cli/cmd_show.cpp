// `lockstep show FILE --format svg|dot|txt`: pictures of a trace. SVG is rendered by
// graphviz's `dot`, run as a child process; without it, say so and suggest --format dot.
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "checker/atomic_file.hpp"
#include "checker/trace_show.hpp"
#include "commands.hpp"
#include "load_trace.hpp"

extern char** environ;

namespace lockstep::cli {

using namespace lockstep::checker;

namespace {

std::string find_in_path(const std::string& exe) {
  const char* path = std::getenv("PATH");
  std::string_view p = path ? path : "/usr/bin:/bin";
  while (!p.empty()) {
    const auto cut = p.find(':');
    const std::string dir(p.substr(0, cut));
    const std::string full = (dir.empty() ? "." : dir) + "/" + exe;
    if (::access(full.c_str(), X_OK) == 0) return full;
    p = cut == std::string_view::npos ? std::string_view{} : p.substr(cut + 1);
  }
  return {};
}

// Feeds `input` to `dot -Tsvg` and returns its output; on failure `error` says why.
std::string run_dot(const std::string& dot, const std::string& input, std::string& error) {
  const std::string tmp_in = fmt::format("{}/lockstep-show-{}.dot", std::filesystem::temp_directory_path().string(), ::getpid());
  const std::string tmp_out = tmp_in + ".svg";
  if (std::string e = write_file_atomically(tmp_in, input); !e.empty()) {
    error = e;
    return {};
  }
  std::vector<std::string> args = {dot, "-Tsvg", "-o", tmp_out, tmp_in};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  int status = 0;
  std::string svg;
  if (::posix_spawn(&pid, dot.c_str(), nullptr, nullptr, argv.data(), environ) != 0 || ::waitpid(pid, &status, 0) != pid) {
    error = fmt::format("cannot run {}: {}", dot, std::strerror(errno));
  } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    error = fmt::format("{} failed (status {}) on the generated graph", dot, status);
  } else if (std::FILE* f = std::fopen(tmp_out.c_str(), "rb")) {
    char buf[1 << 16];
    std::size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) svg.append(buf, n);
    std::fclose(f);
  } else {
    error = fmt::format("{} wrote no output", dot);
  }
  std::remove(tmp_in.c_str());
  std::remove(tmp_out.c_str());
  return svg;
}

}  // namespace

void add_show(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("show", "Draw a trace: timeline per host thread and kthread, and the process tree");
  struct Opts {
    std::string file, format = "txt", output;
    std::size_t max_events = 200;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("FILE", o->file, "A trace (traces/FORMAT.md)")->required();
  cmd->add_option("--format", o->format, "txt, dot (Graphviz source) or svg (rendered by graphviz's dot)")
      ->capture_default_str()
      ->check(CLI::IsMember({"txt", "dot", "svg"}));
  cmd->add_option("-o,--output", o->output, "Write to FILE (atomically) instead of stdout");
  cmd->add_option("--max-events", o->max_events, "Show at most the last N events (where a divergence is)")->capture_default_str()->check(CLI::Range(1, 100000));
  cmd->callback([o, &exit_code] {
    std::string dot;
    if (o->format == "svg") {
      dot = find_in_path("dot");
      if (dot.empty()) {
        std::fputs("lockstep: --format svg needs graphviz's `dot`, which is not installed (apt-get install graphviz); "
                   "--format dot writes the graph to render elsewhere\n",
                   stderr);
        exit_code = 2;
        return;
      }
    }
    std::optional<Trace> loaded = load_trace(o->file);
    if (!loaded) {
      exit_code = 2;
      return;
    }
    const Trace& t = *loaded;
    const Timeline tl = build_timeline(t, o->file, ShowOptions{o->max_events});
    std::string text = o->format == "txt" ? show_text(tl) : show_dot(tl);
    if (o->format == "svg") {
      std::string error;
      text = run_dot(dot, text, error);
      if (!error.empty()) {
        std::fprintf(stderr, "lockstep: %s\n", error.c_str());
        exit_code = 2;
        return;
      }
    }
    if (o->output.empty()) {
      std::fwrite(text.data(), 1, text.size(), stdout);
    } else if (std::string e = write_file_atomically(o->output, text); !e.empty()) {
      std::fprintf(stderr, "lockstep: %s\n", e.c_str());
      exit_code = 2;
      return;
    }
    exit_code = 0;
  });
}

}  // namespace lockstep::cli
