#include "models/attention.h"

#include <cmath>
#include <limits>
#include <vector>

#include "models/decode_attention.h"

namespace fasrl::models {

namespace {

torch::Tensor additive(const torch::Tensor& allowed, torch::ScalarType dtype) {
  return torch::zeros(allowed.sizes(), torch::TensorOptions().dtype(dtype).device(allowed.device()))
      .masked_fill(allowed.logical_not(), -std::numeric_limits<double>::infinity());
}

// q [B, H, T, hd], k/v [B, Hkv, S, hd], mask [B, 1, T, S] -> [B, H, T, hd].
// The H query heads are Hkv groups of rep consecutive heads sharing one key
// head (HF's repeat_kv order), so a group's queries are one [rep * T] block.
torch::Tensor grouped_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                const torch::Tensor& mask) {
  const int64_t b = q.size(0), h = q.size(1), t = q.size(2), hd = q.size(3), hkv = k.size(1), s = k.size(2);
  const int64_t rep = h / hkv;
  // Scaling q (T x hd) instead of the scores (T x S) is the cheaper of the two.
  const torch::Tensor qg = q.reshape({b, hkv, rep * t, hd}) * (1.0 / std::sqrt(static_cast<double>(hd)));
  const torch::Tensor scores =
      torch::matmul(qg, k.transpose(-2, -1)).view({b, hkv, rep, t, s}) + mask.unsqueeze(2);  // [B, Hkv, rep, T, S]
  const auto wide = q.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;  // softmax in >= fp32
  const torch::Tensor probs = torch::softmax(scores.to(wide), -1).to(q.scalar_type());
  return torch::matmul(probs.view({b, hkv, rep * t, s}), v).view({b, h, t, hd});
}

}  // namespace

AttentionPlan dense_attention_plan(int64_t batch, int64_t t, int64_t past, const torch::Tensor& key_padding,
                                   torch::ScalarType dtype, const torch::Device& device) {
  // Causal over the new tokens, everything in the past visible, padding hidden: [B, 1, T, past+T].
  torch::Tensor allowed = torch::ones({t, past + t}, torch::kBool).tril(past).to(device).unsqueeze(0).unsqueeze(0);
  if (key_padding.defined()) {
    allowed = allowed.logical_and(key_padding.view({batch, 1, 1, past + t}).to(torch::kBool));
    // A padding query would see no key at all (softmax of all -inf = NaN, which
    // then leaks through 0 * NaN); let every token see itself.
    allowed = allowed.logical_or(torch::eye(t, past + t, torch::kBool).roll(past, 1).to(device).view({1, 1, t, past + t}));
  }
  AttentionPlan plan;
  plan.mask = additive(allowed, dtype);
  return plan;
}

AttentionPlan segment_attention_plan(const torch::Tensor& segments, torch::ScalarType dtype, bool causal) {
  const torch::Tensor ids = segments.to(torch::kCPU, torch::kInt64).contiguous();
  const int64_t rows = ids.size(0), t = ids.size(1);
  const int64_t* id = ids.data_ptr<int64_t>();
  struct Run { int64_t first, length; };  // first = flat token index
  std::vector<Run> runs;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < t;) {
      const int64_t s = id[r * t + i];
      int64_t j = i + 1;
      while (j < t && id[r * t + j] == s) ++j;
      if (s != 0) runs.push_back({r * t + i, j - i});
      i = j;
    }
  int64_t longest = 1;
  for (const Run& run : runs) longest = std::max(longest, run.length);
  const int64_t n = static_cast<int64_t>(runs.size());
  std::vector<int64_t> gather(static_cast<size_t>(n * longest)), lengths;
  std::vector<int64_t> slot_of_token, token_index;
  for (int64_t k = 0; k < n; ++k) {
    const Run& run = runs[static_cast<size_t>(k)];
    lengths.push_back(run.length);
    for (int64_t i = 0; i < longest; ++i) gather[static_cast<size_t>(k * longest + i)] = run.first + std::min(i, run.length - 1);
    for (int64_t i = 0; i < run.length; ++i) {
      slot_of_token.push_back(k * longest + i);
      token_index.push_back(run.first + i);
    }
  }
  auto to_tensor = [&](const std::vector<int64_t>& v) {
    return torch::tensor(v, torch::kInt64).to(segments.device());
  };
  AttentionPlan plan;
  plan.sequences = n;
  plan.slot_length = longest;
  plan.gather = to_tensor(gather);
  plan.slot_of_token = to_tensor(slot_of_token);
  plan.token_index = to_tensor(token_index);
  // Slot i of sequence k sees slots j (j <= i when causal) that hold its
  // tokens (j < length); empty slots (i >= length) still see slot 0, so no
  // row of -inf.
  const torch::Tensor pos = torch::arange(longest, torch::kInt64).to(segments.device());
  const torch::Tensor real = pos.view({1, 1, 1, longest}) < to_tensor(lengths).view({n, 1, 1, 1});
  const torch::Tensor allowed =
      causal ? real.logical_and(pos.view({1, 1, longest, 1}) >= pos.view({1, 1, 1, longest})) : real;
  plan.mask = additive(allowed, dtype);  // [N, 1, Lmax, Lmax]
  return plan;
}

torch::Tensor attend(const AttentionPlan& plan, const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
  const int64_t b = q.size(0), h = q.size(1), t = q.size(2), hd = q.size(3);
  if (!plan.visible.empty() && fused_decode_attention_applies(q, k, v)) return fused_decode_attention(q, k, v, plan.visible);
  if (!plan.segmented()) return grouped_attention(q, k, v, plan.mask).transpose(1, 2).reshape({b, t, h * hd});
  const int64_t n = plan.sequences, len = plan.slot_length;
  auto to_slots = [&](const torch::Tensor& x) {  // [B, heads, T, hd] -> [N, heads, Lmax, hd]
    const int64_t heads = x.size(1);
    return x.transpose(1, 2).reshape({b * t, heads, hd}).index_select(0, plan.gather).view({n, len, heads, hd}).transpose(1, 2);
  };
  const torch::Tensor out = grouped_attention(to_slots(q), to_slots(k), to_slots(v), plan.mask);  // [N, H, Lmax, hd]
  const torch::Tensor per_token = out.transpose(1, 2).reshape({n * len, h * hd}).index_select(0, plan.slot_of_token);
  return torch::zeros({b * t, h * hd}, per_token.options()).index_copy(0, plan.token_index, per_token).view({b, t, h * hd});
}

}  // namespace fasrl::models
