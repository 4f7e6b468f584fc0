#include "models/rope.h"

#include "core/error.h"

namespace fasrl::models {

torch::Tensor rotary_inv_freq(int64_t dim, double theta) {
  return 1.0 / torch::pow(theta, torch::arange(0, dim, 2, torch::kFloat64) / static_cast<double>(dim));
}

RotaryTables rotary_tables(const torch::Tensor& positions, const torch::Tensor& inv_freq,
                           const std::vector<int64_t>& mrope_section, torch::ScalarType dtype) {
  const torch::Tensor inv = inv_freq.to(positions.device());
  torch::Tensor freqs;  // [B, T, F]
  if (positions.dim() == 2) {
    freqs = positions.to(torch::kFloat64).unsqueeze(-1) * inv;
  } else {
    FASRL_CHECK(positions.dim() == 3 && positions.size(0) == 3, "rotary_tables: positions must be [B, T] or [3, B, T]");
    int64_t total = 0;
    for (int64_t s : mrope_section) total += s;
    FASRL_CHECK(mrope_section.size() == 3 && total == inv.size(0), "rotary_tables: mrope_section must have 3 parts summing to ",
                inv.size(0), " (head_dim / 2)");
    const torch::Tensor all = positions.to(torch::kFloat64).unsqueeze(-1) * inv;  // [3, B, T, F]
    // Frequencies [0, s_t) follow row t, the next s_h row h, the last s_w row w.
    std::vector<torch::Tensor> parts;
    int64_t start = 0;
    for (int64_t row = 0; row < 3; ++row) {
      parts.push_back(all[row].slice(-1, start, start + mrope_section[static_cast<size_t>(row)]));
      start += mrope_section[static_cast<size_t>(row)];
    }
    freqs = torch::cat(parts, -1);
  }
  const torch::Tensor emb = torch::cat({freqs, freqs}, -1);
  return {emb.cos().to(dtype), emb.sin().to(dtype)};
}

torch::Tensor rotate_half(const torch::Tensor& x) {
  const int64_t half = x.size(-1) / 2;
  return torch::cat({-x.slice(-1, half), x.slice(-1, 0, half)}, -1);
}

torch::Tensor apply_rotary(const torch::Tensor& x, const RotaryTables& tables) {
  const torch::Tensor c = tables.cos.unsqueeze(1), s = tables.sin.unsqueeze(1);  // [B, 1, T, 2F]
  return x * c + rotate_half(x) * s;
}

}  // namespace fasrl::models
