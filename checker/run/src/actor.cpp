#include "checker/actor.hpp"

#include <mutex>

namespace lockstep::checker {

Mailbox::Mailbox(impl::sync::Backend& b, const std::string& name) : m_(b, name + ".mailbox"), cv_(b, name + ".mailbox") {}

void Mailbox::post(Command c) {
  std::unique_lock lk(m_);
  cmd_ = std::move(c);
  has_cmd_ = true;
  result_.reset();
  cv_.notify_all();
}

std::optional<ImplResult> Mailbox::take_result() {
  std::unique_lock lk(m_);
  std::optional<ImplResult> r = std::move(result_);
  result_.reset();
  return r;
}

bool Mailbox::idle() {
  std::unique_lock lk(m_);
  return !has_cmd_ && !running_;
}

void Mailbox::quit() {
  std::unique_lock lk(m_);
  quit_ = true;
  cv_.notify_all();
}

void Mailbox::post_result(ImplResult r) {
  std::unique_lock lk(m_);
  result_ = std::move(r);
  running_ = false;
}

void Mailbox::serve() {
  for (;;) {
    Command c;
    {
      std::unique_lock lk(m_);
      while (!has_cmd_ && !quit_) cv_.wait(lk);
      if (quit_ && !has_cmd_) return;
      c = std::move(cmd_);
      has_cmd_ = false;
      running_ = true;
    }
    ImplResult r = c();
    post_result(std::move(r));
  }
}

}  // namespace lockstep::checker
