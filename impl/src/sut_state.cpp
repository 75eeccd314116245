#include "sut_state.hpp"

#include <algorithm>
#include <cstdio>

namespace lockstep::impl {

namespace {

void put_string(std::string& out, const std::string& s) {
  out += '"';
  for (const unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
}

// A small integer per key, by first appearance (the interface wants keys in [0, 2^31)).
int key_of(std::map<std::uint64_t, int>& keys, std::uint64_t k) {
  return keys.try_emplace(k, static_cast<int>(keys.size())).first->second;
}

const char* kstate_name(KthreadState s) {
  switch (s) {
    case KthreadState::running: return "RUNNING";
    case KthreadState::parked: return "PARKED";
    case KthreadState::zombie: return "ZOMBIE";
    case KthreadState::reaped: return "REAPED";
  }
  return "RUNNING";
}

}  // namespace

std::string sut_state_json(const Snapshot& snap, const std::map<HostId, int>& host_index) {
  auto host_of = [&](HostId id) {
    auto it = host_index.find(id);
    return it == host_index.end() ? 1000 + static_cast<long>(id) : static_cast<long>(it->second);
  };
  std::map<std::uint64_t, int> tables, descriptions;
  std::string out = "{\"nprocs\":" + std::to_string(snap.nprocs) + ",\"procs\":[";
  bool first = true;
  for (const ProcSnapshot& p : snap.procs) {
    out += first ? "{" : ",{";
    first = false;
    out += "\"pid\":" + std::to_string(p.pid) + ",\"ppid\":" + std::to_string(p.ppid) + ",\"comm\":";
    put_string(out, p.comm);
    out += std::string(",\"kind\":\"") + to_string(p.kind) + "\",\"uid\":" + std::to_string(p.uid) + ",\"lwps\":[";
    for (std::size_t i = 0; i < p.lwps.size(); ++i) {
      const LwpSnapshot& l = p.lwps[i];
      long bound = -1;
      if (l.bound_to) {
        const HostSnapshot* h = snap.host(*l.bound_to);
        bound = h != nullptr && h->kernel_thread ? -2 : host_of(*l.bound_to);
      }
      out += (i ? ",[" : "[") + std::to_string(l.lid) + "," + std::to_string(bound) + "," + (l.released ? "true" : "false") + "]";
    }
    out += "],\"fdtable\":" + std::to_string(key_of(tables, p.fdtable)) + ",\"fds\":[";
    if (const FdTableSnapshot* t = snap.fdtable(p.fdtable))
      for (std::size_t i = 0; i < t->fds.size(); ++i)
        out += (i ? ",[" : "[") + std::to_string(t->fds[i].fd) + "," + std::to_string(key_of(descriptions, t->fds[i].description)) + "]";
    out += "]";
    if (p.kthread) {
      out += std::string(",\"kstate\":\"") + kstate_name(p.kthread->state) + "\",\"suspend_requested\":" +
             (p.kthread->suspend_requested ? "true" : "false") + ",\"progress\":" + std::to_string(p.kthread->progress) +
             ",\"exit_code\":" + std::to_string(p.kthread->exit_code.value_or(0));
    }
    out += "}";
  }
  out += "],\"hosts\":[";
  int hosts = 0;
  for (const auto& [id, index] : host_index) hosts = std::max(hosts, index + 1);
  for (int i = 0; i < hosts; ++i) {
    const HostSnapshot* h = nullptr;
    for (const auto& [id, index] : host_index)
      if (index == i) h = snap.host(id);
    std::string curlwp = "null";
    pid_t pid = 1;
    if (h != nullptr) {
      if (h->curlwp != 0 && h->curlwp_pid && h->curlwp_lid) curlwp = "[" + std::to_string(*h->curlwp_pid) + "," + std::to_string(*h->curlwp_lid) + "]";
      pid = h->current_pid;
    }
    out += std::string(i ? "," : "") + "{\"curlwp\":" + curlwp + ",\"pid\":" + std::to_string(pid) + "}";
  }
  out += "],\"blocked\":[";
  first = true;
  for (const WaitSnapshot& w : snap.blocked) {
    if (w.kind == WaitKind::park) continue;  // a parked kthread shows as its state
    out += std::string(first ? "" : ",") + "{\"host\":" + std::to_string(host_of(w.host)) + ",\"what\":\"" +
           (w.kind == WaitKind::suspend ? "kthread_suspend" : "kthread_wait_exit") + "\",\"target\":" + std::to_string(w.target);
    // The timeout as armed: ticks from the wait's start to its deadline (lockstep/sut.h).
    if (w.deadline) out += ",\"timo\":" + std::to_string(*w.deadline - w.since);
    out += "}";
    first = false;
  }
  out += "],\"files\":{";
  first = true;
  for (const FileSnapshot& f : snap.files) {
    out += first ? "" : ",";
    first = false;
    put_string(out, f.path);
    out += ":" + std::to_string(f.size);
  }
  out += "},\"console\":[";
  for (std::size_t i = 0; i < snap.console.size(); ++i) {
    out += i ? "," : "";
    put_string(out, snap.console[i]);
  }
  out += "]}";
  return out;
}

}  // namespace lockstep::impl
