// TensorBoard event files of a run: <run_dir>/tb/events.out.tfevents.<unix>.<host>.<pid>,
// one scalar per number of each metrics.jsonl row, readable by TensorBoard
// (`tensorboard --logdir runs/`) while the run is going.
//
// Format: TFRecord framing — uint64 length, uint32 masked CRC-32C of the
// length bytes, the data, uint32 masked CRC-32C of the data (all little-endian)
// — around serialized Event protos (proto/tensorboard.proto). The first event
// of a file carries file_version "brain.Event:2". A resumed run opens a new
// file beside the old ones; TensorBoard reads them all.
#pragma once
#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace fasrl::trainer {

// CRC-32C (Castagnoli), and TensorFlow's masking of it for records.
uint32_t crc32c(const void* data, size_t size);
uint32_t masked_crc32c(const void* data, size_t size);

// One TFRecord: the framing above around `data`.
std::string tfrecord(const std::string& data);

using Scalars = std::vector<std::pair<std::string, double>>;

// The scalars of a metrics.jsonl row: every number, tagged "train/<key>" on
// step rows and "eval/<key>" on evaluation rows (rows with "eval"); nested
// objects become "a/b"; "step" and "time" are the event's step and wall time.
Scalars row_scalars(const nlohmann::json& row);

class TensorBoardWriter {
 public:
  // Creates `dir` and a new event file in it; throws naming the path on failure.
  explicit TensorBoardWriter(const std::string& dir);
  ~TensorBoardWriter();
  TensorBoardWriter(const TensorBoardWriter&) = delete;
  TensorBoardWriter& operator=(const TensorBoardWriter&) = delete;

  // One event with these scalars, flushed so TensorBoard sees it at once.
  void write(int64_t step, double wall_time, const Scalars& scalars);
  const std::string& path() const { return path_; }

 private:
  void append(const std::string& event_bytes);
  std::string path_;
  std::FILE* file_ = nullptr;
};

}  // namespace fasrl::trainer
