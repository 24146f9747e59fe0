// micro: Google Benchmark for the two pieces of code every byte goes through: the ROT13
// transform and the protocol state machine. Reported in bytes per second.
//
//   build/bin/micro [--benchmark_filter=...] [--benchmark_format=json]
#include <benchmark/benchmark.h>

#include <string>

#include "common/line_protocol.hpp"
#include "common/rot13.hpp"

namespace {

std::string text(std::size_t size) {
  std::string s;
  while (s.size() < size)
    s += "The quick brown fox jumps over the lazy dog. 0123456789\n";
  s.resize(size);
  return s;
}

void BM_Rot13Inplace(benchmark::State& state) {
  std::string buffer = text(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): the benchmark loop
    common::rot13_inplace(buffer);
    benchmark::DoNotOptimize(buffer.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Rot13Inplace)->Arg(16)->Arg(1024)->Arg(65536);

// Feeds lines of a given length (LF included), 16 KiB per read, and drains the answers.
void BM_LineProtocol(benchmark::State& state) {
  const auto line_bytes = static_cast<std::size_t>(state.range(0));
  std::string read = text(0);
  while (read.size() + line_bytes <= common::kMaxLine) {
    read += std::string(line_bytes - 1, 'x') + "\n";
  }
  common::LineProtocol protocol;
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores): the benchmark loop
    protocol.on_input(read);
    while (protocol.wants_write()) {
      benchmark::DoNotOptimize(protocol.pending_output().data());
      protocol.on_output_sent(protocol.pending_output().size());
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(read.size()));
}
BENCHMARK(BM_LineProtocol)->Arg(16)->Arg(512)->Arg(16384);

}  // namespace

BENCHMARK_MAIN();
