// LineProtocol against docs/protocol.md, case by case, then against the reference model under
// byte-at-a-time and random splits of the input and of the output.
#include "common/line_protocol.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "tests/reference/protocol_reference.hpp"

namespace {

using common::kMaxLine;
using common::LineProtocol;

// Takes everything the protocol has to send, as a client reading everything would.
std::string drain(LineProtocol& protocol) {
  std::string out;
  while (protocol.wants_write()) {
    const auto pending = protocol.pending_output();
    out.append(pending.begin(), pending.end());
    protocol.on_output_sent(pending.size());
  }
  return out;
}

// Sends the first @p n bytes owed, in as many pieces as pending_output() gives them.
void send_owed(LineProtocol& protocol, std::size_t n) {
  while (n > 0) {
    const std::size_t piece = std::min(n, protocol.pending_output().size());
    protocol.on_output_sent(piece);
    n -= piece;
  }
}

// Feeds `input` in the given chunks, draining after each, then optionally ends the input.
std::string run(const std::vector<std::string_view>& chunks, bool end) {
  LineProtocol protocol;
  std::string out;
  for (auto chunk : chunks) {
    protocol.on_input(chunk);
    out += drain(protocol);
  }
  if (end) protocol.on_end_of_input();
  out += drain(protocol);
  return out;
}

std::string run_whole(std::string_view input, bool end) { return run({input}, end); }

TEST(LineProtocol, AnswersOneLineWithItsRot13AndLf) {
  EXPECT_EQ(run_whole("Hello, World!\n", false), "Uryyb, Jbeyq!\n");
}

TEST(LineProtocol, AnswersEveryLineOfAPipelinedSend) {
  EXPECT_EQ(run_whole("one\ntwo\nthree\n", false), "bar\ngjb\nguerr\n");
}

TEST(LineProtocol, AnswersEmptyLinesWithEmptyLines) {
  EXPECT_EQ(run_whole("\n\n\n", false), "\n\n\n");
}

TEST(LineProtocol, HoldsAPartialLineUntilItsLfArrives) {
  LineProtocol protocol;
  protocol.on_input(std::string_view("abc"));
  EXPECT_FALSE(protocol.wants_write());
  EXPECT_TRUE(protocol.pending_output().empty());
  protocol.on_input(std::string_view("d\n"));
  EXPECT_EQ(drain(protocol), "nopq\n");
}

TEST(LineProtocol, AnswersThePartialLineAtEndOfInputWithoutAddingLf) {
  EXPECT_EQ(run_whole("one\ntwo", true), "bar\ngjb");
}

TEST(LineProtocol, EndOfInputWithNothingPendingAddsNothing) {
  EXPECT_EQ(run_whole("one\n", true), "bar\n");
  EXPECT_EQ(run_whole("", true), "");
}

TEST(LineProtocol, SplitsALongLineEvery16384Bytes) {
  const std::string input = std::string(40000, 'a') + "\n";
  const std::string expected = std::string(kMaxLine, 'n') + "\n" + std::string(kMaxLine, 'n') +
                               "\n" + std::string(40000 - 2 * kMaxLine, 'n') + "\n";
  EXPECT_EQ(run_whole(input, false), expected);
}

TEST(LineProtocol, ExactlyMaxLineBytesThenLfGivesTheLineThenAnEmptyLine) {
  const std::string input = std::string(kMaxLine, 'b') + "\n";
  EXPECT_EQ(run_whole(input, false), std::string(kMaxLine, 'o') + "\n\n");
}

TEST(LineProtocol, AnswersMaxLineBytesWithoutWaitingForLf) {
  LineProtocol protocol;
  protocol.on_input(std::string(kMaxLine - 1, 'c'));
  EXPECT_FALSE(protocol.wants_write());
  protocol.on_input(std::string_view("c"));
  EXPECT_EQ(drain(protocol), std::string(kMaxLine, 'p') + "\n");
}

TEST(LineProtocol, PassesEveryNonLetterByteThrough) {
  std::string input;
  for (int i = 0; i < 256; ++i) {
    if (i != '\n') input += static_cast<char>(i);
  }
  input += '\n';
  EXPECT_EQ(run_whole(input, false), reference::answer(input, false));
  EXPECT_EQ(run_whole(std::string_view("\0\r\x80\xff\n", 5), false),
            std::string_view("\0\r\x80\xff\n", 5));
}

TEST(LineProtocol, ByteAtATimeGivesTheSameAnswersAsOneSend) {
  std::string input = "The quick brown fox\njumps over\n\nthe lazy dog" + std::string(20000, 'x');
  input += "\nend";
  std::vector<std::string_view> bytes;
  for (std::size_t i = 0; i < input.size(); ++i)
    bytes.emplace_back(input.data() + i, 1);
  EXPECT_EQ(run(bytes, true), reference::answer(input, true));
}

// Random inputs made of short lines, long lines, binary bytes and runs of LFs.
std::string random_input(std::mt19937& rng) {
  std::string input;
  const int pieces = std::uniform_int_distribution<int>(0, 12)(rng);
  for (int p = 0; p < pieces; ++p) {
    switch (std::uniform_int_distribution<int>(0, 3)(rng)) {
      case 0:
        input += "hello\n";
        break;
      case 1:
        input += std::string(std::uniform_int_distribution<std::size_t>(1, 3 * kMaxLine)(rng), 'q');
        break;
      case 2:
        for (int i = std::uniform_int_distribution<int>(0, 64)(rng); i > 0; --i) {
          input += static_cast<char>(std::uniform_int_distribution<int>(0, 255)(rng));
        }
        break;
      default:
        input += std::string(std::uniform_int_distribution<std::size_t>(1, 5)(rng), '\n');
    }
  }
  return input;
}

TEST(LineProtocol, RandomSplitsOfInputAndOutputAgreeWithTheReference) {
  // A fixed seed, deliberately predictable: a failure reproduces.
  std::mt19937 rng(20261126);  // NOLINT(cert-msc32-c,cert-msc51-cpp)
  for (int round = 0; round < 300; ++round) {
    const std::string input = random_input(rng);
    const bool end = rng() % 2 == 0;
    LineProtocol protocol;
    std::string out;
    std::size_t at = 0;
    while (at < input.size()) {
      const std::size_t n =
          std::min(input.size() - at, std::uniform_int_distribution<std::size_t>(1, 40000)(rng));
      // As if a send of pending_output() were in flight: its bytes must not move meanwhile.
      const auto in_flight = protocol.pending_output();
      const std::string copy(in_flight.begin(), in_flight.end());
      protocol.on_input(std::string_view(input).substr(at, n));
      ASSERT_EQ(std::string_view(in_flight.data(), in_flight.size()), copy) << "round " << round;
      if (!copy.empty()) {
        ASSERT_EQ(protocol.pending_output().data(), in_flight.data()) << "round " << round;
      }
      at += n;
      // A client that reads only part of what is owed, each time.
      const auto pending = protocol.pending_output();
      const std::size_t take = std::uniform_int_distribution<std::size_t>(0, pending.size())(rng);
      out.append(pending.data(), take);
      protocol.on_output_sent(take);
    }
    if (end) protocol.on_end_of_input();
    out += drain(protocol);
    ASSERT_EQ(out, reference::answer(input, end)) << "round " << round;
  }
}

TEST(LineProtocol, StopsWantingInputWhileOwingTheBoundAndResumesWhenDrained) {
  LineProtocol protocol;
  const std::string line(1023, 'z');
  std::size_t fed = 0;
  while (protocol.wants_read()) {
    protocol.on_input(line + "\n");
    fed += line.size() + 1;
    ASSERT_LE(fed, 2 * common::kMaxPendingOutput) << "never stopped wanting input";
  }
  EXPECT_GE(protocol.owed(), common::kMaxPendingOutput);
  EXPECT_LT(protocol.owed(), common::kMaxPendingOutput + kMaxLine + 1);
  // One byte under the bound is enough: the protocol has no low-water mark of its own.
  send_owed(protocol, protocol.owed() - (common::kMaxPendingOutput - 1));
  EXPECT_TRUE(protocol.wants_read());
}

TEST(LineProtocol, IsFinishedOnlyOnceInputEndedAndEverythingIsSent) {
  LineProtocol protocol;
  protocol.on_input(std::string_view("abc\nde"));
  EXPECT_FALSE(protocol.finished());
  protocol.on_end_of_input();
  EXPECT_FALSE(protocol.wants_read());
  EXPECT_FALSE(protocol.finished());
  protocol.on_output_sent(3);
  EXPECT_FALSE(protocol.finished());
  EXPECT_EQ(drain(protocol), "\nqr");
  EXPECT_TRUE(protocol.finished());
}

TEST(LineProtocol, EndOfInputTwiceChangesNothing) {
  LineProtocol protocol;
  protocol.on_input(std::string_view("xy"));
  protocol.on_end_of_input();
  protocol.on_end_of_input();
  EXPECT_EQ(drain(protocol), "kl");
}

// The worst case for the bound: owing just under it, a partial line of kMaxLine - 1 bytes
// pending, then a read of kMaxLine bytes that are all LFs.
TEST(LineProtocol, OwesAtMostTheBoundPlusTwoLinesInTheWorstCase) {
  LineProtocol protocol;
  while (protocol.owed() + 1024 < common::kMaxPendingOutput) {
    protocol.on_input(std::string(1023, 'o') + "\n");
  }
  protocol.on_input(std::string(common::kMaxPendingOutput - 2 - protocol.owed(), 'n') +
                    "\n");  // last line ends 1 byte short of the bound
  ASSERT_EQ(protocol.owed(), common::kMaxPendingOutput - 1);
  ASSERT_TRUE(protocol.wants_read());
  protocol.on_input(std::string(kMaxLine - 1, 'p'));  // a partial line, not owed yet
  protocol.on_input(std::string(kMaxLine, '\n'));     // one read's worth of LFs
  EXPECT_EQ(protocol.owed(), common::kMaxPendingOutput - 1 + 2 * kMaxLine - 1);
  EXPECT_LE(protocol.owed(), common::kMaxPendingOutput + 2 * kMaxLine);
  EXPECT_FALSE(protocol.wants_read());
}

TEST(LineProtocol, NeverOwesMoreThanTheBoundToASlowReader) {
  LineProtocol protocol;
  const std::string line(99, 'w');
  for (int i = 0; i < 100000; ++i) {
    if (protocol.wants_read()) protocol.on_input(line + "\n");
    protocol.on_output_sent(std::min<std::size_t>(protocol.pending_output().size(), 70));
    ASSERT_LT(protocol.owed(), common::kMaxPendingOutput + 2 * kMaxLine + 1);
  }
}

// A send in flight reads pending_output() where it is (08b hands it to io_uring): however much
// input arrives meanwhile, and however often the buffer must grow for it, those bytes stay put.
TEST(LineProtocol, PendingOutputStaysPutWhileInputArrives) {
  const std::string first = "first\nsecond\nthird";
  LineProtocol protocol;
  protocol.on_input(first);
  protocol.on_output_sent(2);  // a short send: the rest is in flight now
  const auto in_flight = protocol.pending_output();
  const std::string copy(in_flight.begin(), in_flight.end());
  ASSERT_FALSE(copy.empty());
  std::string more;
  for (int i = 0; i < 400; ++i)
    more += std::string(100, 'x') + "\n";
  for (std::size_t at = 0; at < more.size(); at += 1000)
    protocol.on_input(std::string_view(more).substr(at, 1000));
  EXPECT_EQ(std::string_view(in_flight.data(), in_flight.size()), copy);
  EXPECT_EQ(protocol.pending_output().data(), in_flight.data());
  const std::string all = reference::answer(first + more, false);
  EXPECT_EQ(protocol.owed(), all.size() - 2);
  EXPECT_EQ(drain(protocol), all.substr(2));
  EXPECT_EQ(protocol.owed(), 0U);
}

// When the buffer grows while answers are owed, pending_output() gives the older answers first
// and the newer ones once those are sent: owed() counts both, and so does wants_read().
TEST(LineProtocol, OwedCountsTheAnswersAfterPendingOutputToo) {
  LineProtocol protocol;
  protocol.on_input(std::string_view("ab\n"));
  protocol.on_input(std::string(3 * kMaxLine, 'c'));
  EXPECT_EQ(protocol.owed(), 3 + 3 * (kMaxLine + 1));
  EXPECT_LE(protocol.pending_output().size(), protocol.owed());
  EXPECT_EQ(drain(protocol), "no\n" + reference::answer(std::string(3 * kMaxLine, 'c'), false));
}

// A multishot receive (08b) does not wait to be asked: input may come while the protocol owes
// the bound. It waits unanswered, and is answered one read at a time as the client reads, so
// that what is owed never passes the bound.
TEST(LineProtocol, InputPastTheBoundWaitsUnansweredUntilTheClientReads) {
  LineProtocol protocol;
  std::string input;
  while (protocol.wants_read()) {
    input += std::string(1023, 'a') + "\n";
    protocol.on_input(std::string_view(input).substr(input.size() - 1024));
  }
  const std::size_t owed = protocol.owed();
  std::string late;
  for (int i = 0; i < 40; ++i)
    late += std::string(kMaxLine - 1, 'b') + "\n";
  for (std::size_t at = 0; at < late.size(); at += kMaxLine)
    protocol.on_input(std::string_view(late).substr(at, kMaxLine));  // one read each
  EXPECT_EQ(protocol.owed(), owed);                                  // nothing more answered yet
  EXPECT_FALSE(protocol.wants_read());
  std::string out;
  while (protocol.wants_write()) {
    const auto pending = protocol.pending_output();
    const std::size_t n = std::min<std::size_t>(pending.size(), 1000);
    out.append(pending.data(), n);
    protocol.on_output_sent(n);
    ASSERT_LE(protocol.owed(), common::kMaxPendingOutput + 2 * kMaxLine);
  }
  EXPECT_EQ(out, reference::answer(input + late, false));
  EXPECT_TRUE(protocol.wants_read());
}

TEST(LineProtocol, EndOfInputAfterWaitingInputIsAnsweredAfterIt) {
  LineProtocol protocol;
  const std::string line = std::string(1023, 'c') + "\n";
  std::string input;
  while (protocol.wants_read()) {
    protocol.on_input(line);
    input += line;
  }
  protocol.on_input(std::string_view("abc\nde"));  // past the bound: waits
  protocol.on_end_of_input();
  EXPECT_FALSE(protocol.finished());
  EXPECT_EQ(drain(protocol), reference::answer(input + "abc\nde", true));
  EXPECT_TRUE(protocol.finished());
}

TEST(LineProtocolDeathTest, SendingMoreThanIsPendingIsABugThatAborts) {
  LineProtocol protocol;
  protocol.on_input(std::string_view("ab\n"));
  EXPECT_DEATH(protocol.on_output_sent(4), "beyond pending_output");
}

TEST(LineProtocolDeathTest, InputAfterEndOfInputIsABugThatAborts) {
  LineProtocol protocol;
  protocol.on_end_of_input();
  EXPECT_DEATH(protocol.on_input(std::string_view("x")), "after on_end_of_input");
}

}  // namespace
