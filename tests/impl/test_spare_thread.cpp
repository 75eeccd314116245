// SpareThread (impl/spare_thread.hpp): jobs run, join waits for them, finished threads are reused,
// and a job blocked for good does not hold up the next ones.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "impl/spare_thread.hpp"

using lockstep::impl::SpareThread;
using namespace std::chrono_literals;

TEST(SpareThread, JoinWaitsForTheJob) {
  std::atomic<bool> ran{false};
  SpareThread t([&] {
    std::this_thread::sleep_for(20ms);
    ran = true;
  });
  EXPECT_TRUE(t.joinable());
  t.join();
  EXPECT_TRUE(ran);
  EXPECT_FALSE(t.joinable());
}

TEST(SpareThread, RunsOffTheCallersThread) {
  std::thread::id where;
  SpareThread([&] { where = std::this_thread::get_id(); }).join();
  EXPECT_NE(where, std::this_thread::get_id());
}

TEST(SpareThread, AFinishedThreadTakesTheNextJob) {
  std::set<std::thread::id> seen;
  for (int i = 0; i < 50; ++i) {
    std::thread::id where;
    SpareThread([&] { where = std::this_thread::get_id(); }).join();
    seen.insert(where);
  }
  // One after another, so the pool never needs a second thread (others may exist from earlier tests).
  EXPECT_LT(seen.size(), 50u);
}

TEST(SpareThread, AStuckJobDoesNotHoldUpTheNext) {
  std::mutex m;
  std::condition_variable cv;
  bool release = false;
  SpareThread stuck([&] {
    std::unique_lock lk(m);
    cv.wait(lk, [&] { return release; });
  });
  std::atomic<bool> ran{false};
  SpareThread([&] { ran = true; }).join();
  EXPECT_TRUE(ran);
  {
    std::lock_guard g(m);
    release = true;
  }
  cv.notify_all();
  stuck.join();
}

TEST(SpareThread, ADetachedJobStillRuns) {
  std::atomic<bool> ran{false};
  std::mutex m;
  std::condition_variable cv;
  SpareThread([&] {
    std::lock_guard g(m);
    ran = true;
    cv.notify_all();
  }).detach();
  std::unique_lock lk(m);
  EXPECT_TRUE(cv.wait_for(lk, 10s, [&] { return ran.load(); }));
}
