// The trace reader. It trusts nothing: each line is parsed on its own (so errors carry
// FILE:LINE and a huge file streams), every field is type- and range-checked, and every
// symbol an event names must have been bound by an earlier event (or be explicitly a
// never-issued handle). The first problem ends the read with TraceFormatError.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "checker/trace_io.hpp"
#include "model/op_traits.hpp"
#include "symbol_space.hpp"

namespace lockstep::checker {

using namespace lockstep::model;
using json = nlohmann::json;

namespace {

// How a value looks in an error message: its JSON type and a short rendering. Only a scalar is
// rendered (an array or object may be large, or deep), cut to 40 bytes on a UTF-8 character boundary.
std::string found(const json& v) {
  switch (v.type()) {
    case json::value_t::object: return "an object";
    case json::value_t::array: return "an array";
    case json::value_t::null: return "null";
    default: break;
  }
  std::string s = v.dump();
  if (s.size() > 40) {
    std::size_t cut = 37;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xc0) == 0x80) --cut;
    s = s.substr(0, cut) + "...";
  }
  switch (v.type()) {
    case json::value_t::string: return "the string " + s;
    case json::value_t::boolean: return s;
    default: return "the number " + s;
  }
}

// nlohmann::json refuses a number no double can hold with out_of_range, not parse_error.
constexpr const char* kNumberTooLarge = "JSON numbers within the range of a double (this line has a larger one)";

// A line whose arrays and objects nest deeper than this is refused before it is parsed. A trace
// nests 5 deep (observed_state.procs[i].lwps[j]); nlohmann::json renders and copies a value by
// recursion, one stack frame per level, so a line of 10^5 '[' would overflow the stack.
constexpr std::size_t kMaxJsonDepth = 64;

// The deepest nesting of arrays and objects in a line of JSON text (brackets inside strings do not
// count). Computed on any text, valid JSON or not.
std::size_t json_depth(std::string_view text) {
  std::size_t depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

// Field access for one JSON object at one place in the file; every failure names the field.
class Fields {
 public:
  Fields(const json& j, std::string loc, std::string prefix) : j_(j), loc_(std::move(loc)), prefix_(std::move(prefix)) {}

  [[noreturn]] void fail(const std::string& what) const { throw TraceFormatError(fmt::format("{}: {}", loc_, what)); }
  [[noreturn]] void bad(std::string_view key, const std::string& expected, const json& v) const {
    fail(fmt::format("\"{}{}\": {}, found {}", prefix_, key, expected, found(v)));
  }

  const json* opt(std::string_view key) const {
    auto it = j_.find(key);
    return it == j_.end() ? nullptr : &*it;
  }
  const json& req(std::string_view key) const {
    if (const json* v = opt(key)) return *v;
    fail(fmt::format("\"{}{}\": a required field, missing", prefix_, key));
  }

  std::int64_t integer(std::string_view key, std::int64_t lo, std::int64_t hi) const { return integer_of(key, req(key), lo, hi); }
  std::int64_t integer_or(std::string_view key, std::int64_t lo, std::int64_t hi, std::int64_t dflt) const {
    const json* v = opt(key);
    return v ? integer_of(key, *v, lo, hi) : dflt;
  }
  std::int64_t integer_of(std::string_view key, const json& v, std::int64_t lo, std::int64_t hi) const {
    const std::string want = fmt::format("an integer in [{}, {}]", lo, hi);
    if (v.is_number_unsigned()) {
      const auto u = v.get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(hi)) bad(key, want, v);
      return static_cast<std::int64_t>(u);
    }
    if (!v.is_number_integer()) bad(key, want, v);
    const auto i = v.get<std::int64_t>();
    if (i < lo || i > hi) bad(key, want, v);
    return i;
  }
  std::uint64_t uint64(std::string_view key) const {
    const json& v = req(key);
    if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<std::int64_t>() >= 0)) bad(key, "an unsigned integer", v);
    return v.get<std::uint64_t>();
  }
  std::string string(std::string_view key) const { return string_of(key, req(key)); }
  std::string string_or(std::string_view key, std::string dflt) const {
    const json* v = opt(key);
    return v ? string_of(key, *v) : dflt;
  }
  std::string string_of(std::string_view key, const json& v) const {
    if (!v.is_string()) bad(key, "a string", v);
    return v.get<std::string>();
  }
  bool boolean(std::string_view key) const {
    const json& v = req(key);
    if (!v.is_boolean()) bad(key, "true or false", v);
    return v.get<bool>();
  }
  bool boolean_or(std::string_view key, bool dflt) const { return opt(key) ? boolean(key) : dflt; }
  const json& object(std::string_view key) const {
    const json& v = req(key);
    if (!v.is_object()) bad(key, "an object", v);
    return v;
  }
  const json* array_or_null(std::string_view key) const {
    const json* v = opt(key);
    if (v && !v->is_array()) bad(key, "an array", *v);
    return v;
  }
  Fields sub(std::string_view key) const { return Fields(object(key), loc_, fmt::format("{}{}.", prefix_, key)); }
  Fields element(std::string_view key, std::size_t i, const json& v) const {
    if (!v.is_object()) bad(fmt::format("{}[{}]", key, i), "an object", v);
    return Fields(v, loc_, fmt::format("{}{}[{}].", prefix_, key, i));
  }
  const std::string& loc() const { return loc_; }
  const std::string& prefix() const { return prefix_; }

 private:
  const json& j_;
  std::string loc_;
  std::string prefix_;
};

// `observed_state` (format 1.1): a §7 observation in canonical names; see observation_json.
Observation parse_observation(const Fields& f) {
  static constexpr std::array<std::string_view, 4> kKinds = {"kernel", "init", "user", "kthread"};
  static constexpr std::array<std::string_view, 4> kStates = {"RUNNING", "PARKED", "ZOMBIE", "REAPED"};
  auto pick = [&](const Fields& g, std::string_view key, const auto& names) {
    const json& v = g.req(key);
    const std::string x = g.string_of(key, v);
    for (std::size_t i = 0; i < names.size(); ++i)
      if (names[i] == x) return i;
    std::string want = "one of";
    for (std::size_t i = 0; i < names.size(); ++i) want += fmt::format("{}{}", i ? ", " : " ", names[i]);
    g.bad(key, want, v);
  };
  auto pair_of_ints = [&](const Fields& g, std::string_view key, const json& v, std::size_t n) {
    if (!v.is_array() || v.size() != n) g.bad(key, fmt::format("an array of {} integers", n), v);
    std::vector<std::int64_t> out;
    for (const json& x : v) out.push_back(g.integer_of(key, x, -2, std::numeric_limits<std::int32_t>::max()));
    return out;
  };
  Observation o;
  o.nprocs = static_cast<int>(f.integer("nprocs", 0, kPidMax + 1));
  if (const json* ps = f.array_or_null("procs"))
    for (std::size_t i = 0; i < ps->size(); ++i) {
      const Fields p = f.element("procs", i, (*ps)[i]);
      ObsProc op;
      op.pid = static_cast<Pid>(p.integer("pid", 0, kPidMax));
      op.ppid = static_cast<Pid>(p.integer("ppid", 0, kPidMax));
      op.comm = p.string("comm");
      op.kind = static_cast<ProcKind>(pick(p, "kind", kKinds));
      op.uid = static_cast<Uid>(p.integer("uid", 0, std::numeric_limits<Uid>::max()));
      op.fdtable = static_cast<int>(p.integer("fdtable", 0, std::numeric_limits<std::int32_t>::max()));
      if (const json* ls = p.array_or_null("lwps"))
        for (const json& l : *ls) {
          // [lid, bound, released]: two integers and a boolean.
          if (!l.is_array() || l.size() != 3 || !l[2].is_boolean()) p.bad("lwps", "an array [lid, bound, released]", l);
          const auto v = pair_of_ints(p, "lwps", json::array({l[0], l[1]}), 2);
          op.lwps.push_back(ObsLwp{static_cast<int>(v[0]), static_cast<std::int32_t>(v[1]), l[2].get<bool>()});
        }
      if (const json* fs = p.array_or_null("fds"))
        for (const json& x : *fs) {
          const auto v = pair_of_ints(p, "fds", x, 2);
          op.fds.emplace_back(static_cast<int>(v[0]), static_cast<int>(v[1]));
        }
      if (op.kind == ProcKind::Kthread) {
        op.kstate = static_cast<KState>(pick(p, "kstate", kStates));
        op.suspend_requested = p.boolean("suspend_requested");
        op.progress = static_cast<std::uint64_t>(p.integer("progress", 0, std::numeric_limits<std::int64_t>::max()));
        op.exit_code = static_cast<int>(p.integer("exit_code", std::numeric_limits<int>::min(), std::numeric_limits<int>::max()));
      }
      o.procs.push_back(std::move(op));
    }
  if (const json* hs = f.array_or_null("hosts"))
    for (std::size_t i = 0; i < hs->size(); ++i) {
      const Fields h = f.element("hosts", i, (*hs)[i]);
      ObsHost oh;
      if (const json& c = h.req("curlwp"); !c.is_null()) {
        const auto v = pair_of_ints(h, "curlwp", c, 2);
        oh.curlwp = std::pair{static_cast<Pid>(v[0]), static_cast<int>(v[1])};
      }
      oh.pid = static_cast<Pid>(h.integer("pid", 0, kPidMax));
      o.hosts.push_back(oh);
    }
  if (const json* bs = f.array_or_null("blocked"))
    for (std::size_t i = 0; i < bs->size(); ++i) {
      const Fields b = f.element("blocked", i, (*bs)[i]);
      ObsWait w;
      w.host = static_cast<int>(b.integer("host", 0, 0xffff));
      w.what = b.string("what");
      w.target = static_cast<Pid>(b.integer("target", 0, kPidMax));
      if (const json* d = b.opt("deadline")) {  // format 1.7: a tick, or null for a wait without a timeout
        w.deadline_said = true;
        if (!d->is_null()) w.deadline = b.integer("deadline", 0, std::numeric_limits<std::int64_t>::max());
      }
      o.blocked.push_back(std::move(w));
    }
  if (const json* fl = f.opt("files")) {
    if (!fl->is_object()) f.bad("files", "an object of path: size", *fl);
    for (const auto& [path, size] : fl->items()) o.files[path] = f.integer_of("files", size, 0, std::numeric_limits<std::int64_t>::max());
  }
  if (const json* cs = f.array_or_null("console"))
    for (const json& line : *cs) o.console.push_back(f.string_of("console", line));
  return o;
}

template <std::size_t N>
std::string one_of(const std::array<std::string_view, N>& names, std::size_t from = 0) {
  std::string s = "one of ";
  for (std::size_t i = from; i < N; ++i) s += fmt::format("{}{}", i > from ? ", " : "", names[i]);
  return s;
}

Rule parse_rule(const Fields& f, std::string_view key, const json& v) {
  const std::string s = f.string_of(key, v);
  for (std::size_t i = 0; i < kRuleCount; ++i)
    if (kRuleNames[i] == s) return static_cast<Rule>(i);
  f.bad(key, "a SPEC rule id (" + one_of(kRuleNames) + ")", v);
}

constexpr std::array<std::string_view, 5> kKindNames = {"returned", "blocked", "fatal", "not_runnable", "dead"};
constexpr std::array<std::string_view, 4> kWaitNames = {"suspend", "shutdown", "exit", "resume"};
std::optional<std::size_t> op_index(std::string_view name) {
  for (std::size_t i = 0; i < kOpKindCount; ++i)
    if (op_name(i) == name) return i;
  return std::nullopt;
}

std::string all_op_names() {
  std::string s;
  for (std::size_t i = 0; i < kOpKindCount; ++i) s += fmt::format("{}{}", i ? ", " : "", op_name(i));
  return s;
}

// "lwp#12" -> 12. Only the canonical spelling: the prefix, then decimal digits without a leading zero.
std::optional<std::uint32_t> parse_symbol(std::string_view s, std::string_view prefix) {
  if (s.size() <= prefix.size() || s.substr(0, prefix.size()) != prefix) return std::nullopt;
  std::string_view d = s.substr(prefix.size());
  if (d.size() > 10 || (d.size() > 1 && d[0] == '0')) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : d) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v >= std::numeric_limits<std::uint32_t>::max()) return std::nullopt;  // the max is the model's "none"
  return static_cast<std::uint32_t>(v);
}

bool creates_kthread(const OpBody& b) { return traits(b).creates == Creates::Kthread; }

// The op of kind `index` with default arguments (OpBody's alternative number `index`).
OpBody default_body(std::size_t index) {
  static const auto bodies = []<std::size_t... I>(std::index_sequence<I...>) {
    return std::array<OpBody, kOpKindCount>{OpBody(std::in_place_index<I>)...};
  }(std::make_index_sequence<kOpKindCount>{});
  return bodies.at(index);
}

}  // namespace

// Which symbols exist so far (SymbolSpace), and which processes are kthreads.
struct TraceReader::Symbols {
  SymbolSpace issued;
  std::vector<bool> kthread = std::vector<bool>(2, false);  // by ProcId
  int hosts = 0;

  bool is_kthread(ProcId p) const { return p < kthread.size() && kthread[p]; }

  // A handle named in op arguments: bound earlier, or marked never issued (and truly beyond).
  std::uint32_t ref(const Fields& f, std::string_view key, const json& v, Binding::Kind kind, bool never_issued) const {
    const std::string_view prefix = SymbolSpace::prefix(kind);
    const std::uint32_t next = issued.next(kind);
    const std::optional<std::uint32_t> id = v.is_string() ? parse_symbol(v.get<std::string>(), prefix) : std::nullopt;
    if (!id) f.bad(key, fmt::format("a symbol \"{}N\"", prefix), v);
    if (never_issued && *id < next)
      f.fail(fmt::format("\"{}{}\": {} is marked never_issued but was issued already (the next unissued is {}{})", f.prefix(), key,
                         v.get<std::string>(), prefix, next));
    if (!never_issued && *id >= next)
      f.fail(fmt::format("\"{}{}\": a symbol bound by an earlier event ({}0..{}{} are), found {} which no event bound "
                         "(a handle that was never issued must say \"never_issued\": true)",
                         f.prefix(), key, prefix, prefix, next - 1, v.get<std::string>()));
    return *id;
  }

  Actor actor(const Fields& f, std::string_view key, const json& v) const {
    const std::string s = f.string_of(key, v);
    if (s == "clock") return Actor::clock();
    if (s == "reaper") return Actor::reaper();
    if (auto h = parse_symbol(s, "H")) {
      if (static_cast<std::int64_t>(*h) >= hosts)
        f.bad(key, fmt::format("a host thread of this trace (H0..H{}, config.hosts = {})", hosts - 1, hosts), v);
      return Actor::host(static_cast<HostId>(*h));
    }
    if (auto k = parse_symbol(s, "K")) {
      if (!is_kthread(*k)) f.bad(key, fmt::format("a kthread actor K<proc> whose proc#{} an earlier kthread_create/kproc_start bound", *k), v);
      return Actor::kthread(*k);
    }
    f.bad(key, "an actor (H<n>, K<proc>, clock or reaper)", v);
  }
};

TraceReader::TraceReader(std::string path, ReadOptions options)
    : path_(std::move(path)), options_(std::move(options)), buf_(1u << 16), sym_(std::make_unique<Symbols>()) {
  f_.reset(std::fopen(path_.c_str(), "re"));
  if (f_ == nullptr) throw TraceFormatError(fmt::format("{}:0: a readable trace file ({})", path_, std::strerror(errno)));
  std::string text;
  if (!read_line(text)) fail("a header line, found an empty file");
  check_depth(text);
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    fail(fmt::format("a JSON header object (byte {}: not valid JSON)", e.byte));
  } catch (const json::exception&) {  // out_of_range 406: a number beyond a double, e.g. 1e999
    fail(kNumberTooLarge);
  }
  if (!j.is_object()) fail(fmt::format("a JSON header object, found {}", found(j)));
  const Fields f(j, where(line_), "");
  if (!f.opt("lockstep_trace")) f.fail("a lockstep trace header with \"lockstep_trace\": \"MAJOR.MINOR\" (is this a lockstep trace?)");
  const std::string ver = f.string("lockstep_trace");
  int major = -1, minor = -1;
  if (std::sscanf(ver.c_str(), "%d.%d", &major, &minor) != 2 || major < 0 || minor < 0 || fmt::format("{}.{}", major, minor) != ver)
    f.bad("lockstep_trace", "a version \"MAJOR.MINOR\"", f.req("lockstep_trace"));
  if (major > kTraceMajor)
    f.fail(fmt::format("trace format {} is newer than this lockstep reads ({}.x); read it with a newer lockstep", ver, kTraceMajor));
  if (major < kTraceMajor) f.fail(fmt::format("a trace format this lockstep reads ({}.x), found {}", kTraceMajor, ver));
  header_.major = major;
  header_.minor = minor;  // a newer minor only adds fields, which are ignored
  header_.tool = f.string_or("tool", "");
  header_.seed = f.opt("seed") ? f.uint64("seed") : 0;
  const Fields c = f.sub("config");
  header_.config.hosts = static_cast<int>(c.integer("hosts", 1, 16));
  header_.config.kthreads = static_cast<int>(c.integer_or("kthreads", 0, 16, 2));
  header_.config.maxproc = static_cast<int>(c.integer("maxproc", 2, 30000));
  header_.config.pid_max = static_cast<Pid>(c.integer("pid_max", 2, kPidMax));
  if (const json* a = f.array_or_null("faults"))
    for (std::size_t i = 0; i < a->size(); ++i) {
      const std::string name = f.string_of(fmt::format("faults[{}]", i), (*a)[i]);
      if (options_.known_faults && std::find(options_.known_faults->begin(), options_.known_faults->end(), name) == options_.known_faults->end())
        f.bad(fmt::format("faults[{}]", i), "an injected fault's name (see 'lockstep faults')", (*a)[i]);
      header_.faults.push_back(name);
    }
  if (const json* a = f.array_or_null("rules"))
    for (std::size_t i = 0; i < a->size(); ++i) header_.rules.emplace_back(rule_name(parse_rule(f, fmt::format("rules[{}]", i), (*a)[i])));
  if (f.opt("expect")) {
    const Fields x = f.sub("expect");
    const std::string v = x.string("verdict");
    if (v == "agree") header_.expect.verdict = Verdict::Agree;
    else if (v == "DIVERGE") header_.expect.verdict = Verdict::Diverge;
    else if (v == "DEADLOCK") header_.expect.verdict = Verdict::Deadlock;
    else x.bad("verdict", "one of agree, DIVERGE, DEADLOCK", x.req("verdict"));
    if (header_.expect.verdict != Verdict::Agree) header_.expect.step = static_cast<std::size_t>(x.integer("step", 0, std::numeric_limits<std::int64_t>::max()));
    if (header_.expect.verdict == Verdict::Diverge) {
      header_.expect.rule = parse_rule(x, "rule", x.req("rule"));
      header_.expect.what = x.string_or("what", "");
      header_.expect.expected = x.string_or("expected", "");
      header_.expect.observed = x.string_or("observed", "");
    }
  }
  if (f.opt("events")) promised_ = static_cast<std::size_t>(f.integer("events", 0, std::numeric_limits<std::int64_t>::max()));
  header_.program = f.string_or("program", "");
  if (const json* o = f.opt("order")) {  // format 1.2
    const std::string order = f.string_of("order", *o);
    if (order != "total" && order != "partial") f.bad("order", "one of total, partial", *o);
    header_.partial_order = order == "partial";
  }
  if (f.opt("schedule")) {  // format 1.3
    const Fields sc = f.sub("schedule");
    TraceSchedule s;
    s.strategy = sc.string("strategy");
    if (options_.check_strategy)
      if (std::string why = options_.check_strategy(s.strategy); !why.empty()) sc.bad("strategy", why, sc.req("strategy"));
    s.seed = sc.uint64("seed");
    header_.schedule = std::move(s);
  }
  sym_->hosts = header_.config.hosts;
}

TraceReader::~TraceReader() = default;

std::string TraceReader::where(std::size_t line) const { return fmt::format("{}:{}", path_, line); }
std::size_t TraceReader::event_line(std::size_t step) const { return first_event_line_ + step; }

void TraceReader::check_depth(std::string_view text) const {
  if (json_depth(text) > kMaxJsonDepth)
    fail(fmt::format("JSON whose arrays and objects nest at most {} deep (this line nests deeper: not a trace?)", kMaxJsonDepth));
}

void TraceReader::fail(const std::string& what) const { throw TraceFormatError(fmt::format("{}: {}", where(line_), what)); }

// One line without its newline; false at the end of the file. Never holds more than
// kMaxTraceLine bytes of one line, so a file that is not a trace cannot exhaust memory.
bool TraceReader::read_line(std::string& out) {
  out.clear();
  ++line_;
  for (;;) {
    if (pos_ == end_) {
      end_ = std::fread(buf_.data(), 1, buf_.size(), f_.get());
      pos_ = 0;
      if (end_ == 0) {
        if (std::ferror(f_.get())) fail(fmt::format("a readable file ({})", std::strerror(errno)));
        return !out.empty();  // a last line without a newline still counts
      }
    }
    const char* start = buf_.data() + pos_;
    const void* nl = std::memchr(start, '\n', end_ - pos_);
    const std::size_t n = nl ? static_cast<const char*>(nl) - start : end_ - pos_;
    if (out.size() + n > kMaxTraceLine) fail(fmt::format("a line of at most {} bytes (this one is longer: not a trace?)", kMaxTraceLine));
    out.append(start, n);
    pos_ += n;
    if (nl) {
      ++pos_;
      return true;
    }
  }
}

std::optional<TraceEvent> TraceReader::next() {
  std::string text;
  if (!read_line(text)) {
    if (promised_ && events_ != *promised_)
      fail(fmt::format("the event of step {} (the header promises {} events), found the end of the file: the file is truncated", events_, *promised_));
    --line_;
    if (header_.expect.verdict != Verdict::Agree && header_.expect.step >= events_)
      throw TraceFormatError(fmt::format("{}: \"expect.step\": a step of this trace (0..{}), found {}", where(1),
                                         events_ == 0 ? 0 : events_ - 1, header_.expect.step));
    return std::nullopt;
  }
  if (promised_ && events_ >= *promised_) fail(fmt::format("the end of the file after the {} events the header promises", *promised_));
  if (text.empty()) fail("an event object, found an empty line");
  check_depth(text);
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    fail(fmt::format("an event as one JSON object (byte {}: not valid JSON, or a truncated line)", e.byte));
  } catch (const json::exception&) {
    fail(kNumberTooLarge);
  }
  if (!j.is_object()) fail(fmt::format("an event object, found {}", found(j)));
  const Fields f(j, where(line_), "");
  Symbols& s = *sym_;
  TraceEvent e;
  const std::int64_t step = f.integer("step", 0, std::numeric_limits<std::int64_t>::max());
  if (static_cast<std::size_t>(step) != events_)
    f.fail(fmt::format("\"step\": {} (steps are numbered 0, 1, 2, ... in file order), found {}", events_, step));
  e.step = events_;
  e.op.actor = s.actor(f, "actor", f.req("actor"));
  const std::string name = f.string("op");
  const std::optional<std::size_t> kind = op_index(name);
  if (!kind) f.bad("op", "an op name (" + all_op_names() + ")", f.req("op"));

  // Arguments, by op.
  const Fields a = f.sub("args");
  const bool never = a.boolean_or("never_issued", false);
  auto i32 = [&](std::string_view k) { return static_cast<int>(a.integer(k, std::numeric_limits<int>::min(), std::numeric_limits<int>::max())); };
  auto i64 = [&](std::string_view k) { return a.integer(k, std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max()); };
  // Each argument by its row of the op-traits table, in the row's order.
  bool has_handle = false;
  e.op.body = default_body(*kind);
  std::visit(
      [&](auto& o) {
        using T = std::decay_t<decltype(o)>;
        const OpTraits& t = traits_of<T>();
        std::apply(
            [&](auto... member) {
              [[maybe_unused]] std::size_t n = 0;  // unused by an op without arguments
              [[maybe_unused]] auto one = [&](const ArgTraits& arg, auto& value) {
                using M = std::decay_t<decltype(value)>;
                if constexpr (std::is_same_v<M, std::string>) value = a.string(arg.name);
                else if constexpr (std::is_same_v<M, bool>) value = a.boolean(arg.name);
                else if constexpr (std::is_same_v<M, std::int64_t>) value = i64(arg.name);
                else if constexpr (std::is_same_v<M, int>) value = i32(arg.name);  // Int and Pid
                else if constexpr (std::is_same_v<M, std::uint32_t>) {                // Uid, LwpSym, ProcSym
                  if (arg.kind == ArgKind::Uid) {
                    value = static_cast<Uid>(a.integer(arg.name, 0, std::numeric_limits<Uid>::max()));
                  } else if (arg.kind == ArgKind::LwpSym) {
                    const json& l = a.req(arg.name);
                    has_handle = !l.is_null();
                    value = l.is_null() ? kNoLwp : s.ref(a, arg.name, l, Binding::Kind::Lwp, never);
                  } else {
                    has_handle = true;
                    value = s.ref(a, arg.name, a.req(arg.name), Binding::Kind::Proc, never);
                  }
                }
              };
              (one(t.args[n++], o.*member), ...);
            },
            OpMembers<T>::get);
      },
      e.op.body);
  if (never && !has_handle) a.fail(fmt::format("\"args.never_issued\" only on an op that names an lwp or proc handle, not on {}", name));
  // Who may perform what: the clock only ticks; the body's own steps belong to a kthread actor.
  const Actor::Kind ak = e.op.actor.kind;
  const std::uint8_t actors = kOpTraits[*kind].actors;
  const bool body_op = actors == kByKthread;  // kthread_exit, work
  if ((ak == Actor::Kind::Clock) != (actors == kByClock))
    f.fail(fmt::format("\"actor\": the clock, and only the clock, performs tick (found {} performing {})", to_string(e.op.actor), name));
  if (body_op && ak != Actor::Kind::Kthread) f.fail(fmt::format("\"actor\": {} is performed by a kthread actor K<proc>, found {}", name, to_string(e.op.actor)));
  if (ak == Actor::Kind::Kthread && (actors & kByKthread) == 0)
    f.fail(fmt::format("\"op\": a kthread actor performs suspend_check, work or kthread_exit, found {}", name));

  auto outcome = [&](const Fields& o, bool binds_done) {
    TraceOutcome t;
    const json& k = o.req("kind");
    const std::string ks = o.string_of("kind", k);
    std::size_t ki = 0;
    while (ki < kKindNames.size() && kKindNames[ki] != ks) ++ki;
    if (ki == kKindNames.size()) o.bad("kind", one_of(kKindNames), k);
    t.kind = static_cast<OutcomeKind>(ki);
    if (const json* r = o.opt("rule")) t.rule = parse_rule(o, "rule", *r);
    if (o.opt("label")) t.label = o.string("label");
    t.ret = o.integer_or("ret", std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max(), 0);
    t.err = static_cast<int>(o.integer_or("err", 0, 4095, 0));
    if (const json* l = o.opt("lwp"); l && !l->is_null()) t.lwp = s.ref(o, "lwp", *l, Binding::Kind::Lwp, false);
    t.lwp_unnamed = o.boolean_or("lwp_unnamed", false);  // format 1.3
    if (t.lwp_unnamed && t.lwp != kNoLwp)
      o.fail(fmt::format("\"{}lwp_unnamed\" only where \"{}lwp\" names no symbol", o.prefix(), o.prefix()));
    if (const json* p = o.opt("proc")) {
      if (!binds_done) o.fail(fmt::format("\"{}proc\": only an event's own outcome names a new kthread", o.prefix()));
      t.proc = s.ref(o, "proc", *p, Binding::Kind::Proc, false);
    }
    t.st_size = o.integer_or("st_size", 0, std::numeric_limits<std::int64_t>::max(), 0);
    if (const json* w = o.opt("wait")) {
      const std::string ws = o.string_of("wait", *w);
      std::size_t wi = 0;
      while (wi < kWaitNames.size() && kWaitNames[wi] != ws) ++wi;
      if (wi == kWaitNames.size()) o.bad("wait", one_of(kWaitNames), *w);
      t.wait = static_cast<WaitKind>(wi);
      t.wait_target = s.ref(o, "target", o.req("target"), Binding::Kind::Proc, false);
    } else if (o.opt("target")) {
      o.fail(fmt::format("\"{}target\" together with \"{}wait\"", o.prefix(), o.prefix()));
    }
    if (const json* fa = o.opt("fatal")) {
      const std::string fs = o.string_of("fatal", *fa);
      std::size_t fi = 1;
      while (fi < kFatalNames.size() && kFatalNames[fi] != fs) ++fi;
      if (fi == kFatalNames.size()) o.bad("fatal", "a FATAL id (" + one_of(kFatalNames, 1) + ")", *fa);
      t.fatal = static_cast<Fatal>(fi);
    }
    if (t.kind == OutcomeKind::Fatal && t.fatal == Fatal::None) o.fail(fmt::format("\"{}fatal\": the FATAL id of a fatal outcome, missing", o.prefix()));
    return t;
  };

  // The outcome's lwp (L5) names an existing lwp; woken actors exist already. Then this event's
  // bindings, then the parts that may name what it bound (a new kthread's proc).
  const Fields of = f.sub("outcome");
  if (const json* w = f.array_or_null("woke"))
    for (std::size_t i = 0; i < w->size(); ++i) {
      const Fields c = f.element("woke", i, (*w)[i]);
      TraceCompletion tc;
      tc.actor = s.actor(c, "actor", c.req("actor"));
      tc.outcome = outcome(c.sub("outcome"), false);
      e.woke.push_back(std::move(tc));
    }
  // A list of bindings, `bind` or `observed_bind`: each the next unissued symbol of its kind
  // (counting from `space`, which it advances), with a pid.
  auto bindings = [&](std::string_view key, SymbolSpace& space, bool binds) {
    std::vector<Binding> out;
    const json* b = f.array_or_null(key);
    for (std::size_t i = 0; b && i < b->size(); ++i) {
      const Fields c = f.element(key, i, (*b)[i]);
      const json& sv = c.req("sym");
      Binding bd;
      const std::string ss = c.string_of("sym", sv);
      bd.kind = ss.rfind("lwp#", 0) == 0 ? Binding::Kind::Lwp : Binding::Kind::Proc;
      const std::string_view prefix = SymbolSpace::prefix(bd.kind);
      const std::optional<std::uint32_t> id = parse_symbol(ss, prefix);
      if (!id) c.bad("sym", "a symbol lwp#N or proc#N", sv);
      if (*id != space.next(bd.kind))
        c.bad("sym", fmt::format("the next unissued symbol {}{} (symbols are bound once, in order)", prefix, space.next(bd.kind)), sv);
      space.issue(bd.kind);
      bd.id = *id;
      bd.pid = static_cast<Pid>(c.integer("pid", 0, kPidMax));
      if (binds && bd.kind == Binding::Kind::Proc) {
        if (s.kthread.size() <= bd.id) s.kthread.resize(bd.id + 1, false);
        s.kthread[bd.id] = creates_kthread(e.op.body);
      }
      out.push_back(bd);
    }
    return out;
  };
  SymbolSpace before_bind = s.issued;  // what the impl's own bindings (observed_bind) count from
  e.bound = bindings("bind", s.issued, true);
  e.outcome = outcome(of, true);
  if (const json* d = f.opt("digest")) {
    const std::string ds = f.string_of("digest", *d);
    std::uint64_t v = 0;
    bool ok = ds.size() == 16;
    for (char ch : ds) {
      const int x = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
      ok = ok && x >= 0;
      v = (v << 4) | static_cast<unsigned>(x < 0 ? 0 : x);
    }
    if (!ok) f.bad("digest", "16 lowercase hex digits", *d);
    e.digest = v;
  }
  // Format 1.1: what the implementation did where it differed from the model.
  if (f.opt("observed")) e.observed = outcome(f.sub("observed"), false);
  if (const json* w = f.array_or_null("observed_woke")) {
    std::vector<TraceCompletion> woke;
    for (std::size_t i = 0; i < w->size(); ++i) {
      const Fields c = f.element("observed_woke", i, (*w)[i]);
      woke.push_back(TraceCompletion{s.actor(c, "actor", c.req("actor")), outcome(c.sub("outcome"), false)});
    }
    e.observed_woke = std::move(woke);
  }
  if (f.opt("observed_state")) e.observed_state = parse_observation(f.sub("observed_state"));
  // Format 1.3: the impl's own bindings of this step, where they differ from `bind`; they name the
  // symbols this step issues, and bind nothing for later events.
  if (f.opt("observed_bind")) e.observed_bind = bindings("observed_bind", before_bind, false);
  // Format 1.6: what the impl returned for an earlier call of a diverging round.
  if (f.opt("observed_in_round")) e.observed_in_round = outcome(f.sub("observed_in_round"), false);
  // Format 1.2: happens-before edges to earlier events (the file is in a topological order).
  if (const json* a = f.array_or_null("after")) {
    e.after.reserve(a->size());
    for (std::size_t i = 0; i < a->size(); ++i) {
      const json& v = (*a)[i];
      const std::string key = fmt::format("after[{}]", i);
      const bool is_uint = v.is_number_unsigned() || (v.is_number_integer() && v.get<std::int64_t>() >= 0);
      if (!is_uint) f.bad(key, "a step number (an unsigned integer)", v);
      const auto x = v.get<std::uint64_t>();
      if (x >= e.step)
        f.bad(key, e.step == 0 ? std::string("nothing (step 0 has no earlier event to come after)")
                               : fmt::format("an earlier step than this event's {} (0..{}: events are written in a topological order)", e.step, e.step - 1),
              v);
      e.after.push_back(static_cast<std::size_t>(x));
    }
    // No step twice: the first repeat in file order is the one reported.
    std::vector<std::pair<std::size_t, std::size_t>> by_step;  // (step, index)
    for (std::size_t i = 0; i < e.after.size(); ++i) by_step.emplace_back(e.after[i], i);
    std::sort(by_step.begin(), by_step.end());
    std::optional<std::pair<std::size_t, std::size_t>> repeat;  // (index, index of its first occurrence)
    for (std::size_t i = 1; i < by_step.size(); ++i)
      if (by_step[i].first == by_step[i - 1].first && (!repeat || by_step[i].second < repeat->first))
        repeat = std::pair{by_step[i].second, by_step[i - 1].second};
    if (repeat)
      f.fail(fmt::format("\"after[{}]\": each step at most once, found step {} again (it is after[{}] already)", repeat->first,
                         e.after[repeat->first], repeat->second));
  }
  // Format 1.4: the scheduling decisions of the event's step (or round).
  if (f.opt("round")) {
    e.round = static_cast<std::size_t>(f.integer("round", 2, 1 << 20));
  }
  if (const json* t = f.array_or_null("turns")) {
    e.turns.reserve(t->size());
    for (std::size_t i = 0; i < t->size(); ++i) {
      const std::string key = fmt::format("turns[{}]", i);
      const json& v = (*t)[i];
      if (!v.is_string()) f.bad(key, "a scheduling decision as text (\"H0 > lock proctable\" or \"~ K2\")", v);
      std::optional<TraceTurn> turn = parse_turn(v.get<std::string>());
      if (!turn) f.bad(key, "a scheduling decision: \"THREAD > STOP\" (a thread ran until STOP) or \"~ THREAD\" (woken spuriously)", v);
      e.turns.push_back(std::move(*turn));
    }
  }
  ++events_;
  return e;
}

Observation parse_observation_json(std::string_view text, const std::string& where) {
  if (json_depth(text) > kMaxJsonDepth) throw TraceFormatError(fmt::format("{}: nested deeper than {} levels", where, kMaxJsonDepth));
  json j;
  try {
    j = json::parse(text);
  } catch (const json::out_of_range&) {
    throw TraceFormatError(fmt::format("{}: {}", where, kNumberTooLarge));
  } catch (const json::parse_error& e) {
    throw TraceFormatError(fmt::format("{}: not JSON ({})", where, e.what()));
  }
  if (!j.is_object()) throw TraceFormatError(fmt::format("{}: expected a JSON object, found {}", where, found(j)));
  return parse_observation(Fields(j, where, ""));
}

Trace read_trace(const std::string& path, const ReadOptions& options) {
  TraceReader r(path, options);
  Trace t{r.header(), {}};
  while (auto e = r.next()) t.events.push_back(std::move(*e));
  return t;
}

}  // namespace lockstep::checker
