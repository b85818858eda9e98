// Proves the progress watch wakes a waiter only for an acknowledgement of an
// op invoked after the moment it waits from, and otherwise at its deadline.
#include "nemesis/progress.h"

#include <gtest/gtest.h>

#include <thread>

namespace chaos::nemesis {
namespace {

using Clock = ProgressWatch::Clock;
using std::chrono::milliseconds;

TEST(ProgressWatch, AnOpInvokedBeforeTheStallDoesNotCount) {
  ProgressWatch watch;
  Clock::time_point stalled = Clock::now();
  watch.Acknowledged(stalled - milliseconds(5));
  watch.Acknowledged(stalled);
  EXPECT_FALSE(watch.AwaitAcknowledgedSince(stalled, Clock::now() + milliseconds(20)));
}

TEST(ProgressWatch, AnOpInvokedAfterwardsCountsAlreadyOrLater) {
  ProgressWatch watch;
  Clock::time_point stalled = Clock::now();
  watch.Acknowledged(stalled + milliseconds(1));
  EXPECT_TRUE(watch.AwaitAcknowledgedSince(stalled, Clock::now()));

  ProgressWatch later;
  std::thread client([&] {
    std::this_thread::sleep_for(milliseconds(20));
    later.Acknowledged(Clock::now());
  });
  EXPECT_TRUE(later.AwaitAcknowledgedSince(Clock::now(), Clock::now() + std::chrono::seconds(60)));
  client.join();
}

TEST(ProgressWatch, AnOlderAcknowledgementDoesNotHideANewerOne) {
  ProgressWatch watch;
  Clock::time_point t = Clock::now();
  watch.Acknowledged(t + milliseconds(10));
  watch.Acknowledged(t + milliseconds(3));  // a slower op, invoked earlier
  EXPECT_TRUE(watch.AwaitAcknowledgedSince(t + milliseconds(5), Clock::now()));
  EXPECT_FALSE(watch.AwaitAcknowledgedSince(t + milliseconds(10), Clock::now()));
}

}  // namespace
}  // namespace chaos::nemesis
