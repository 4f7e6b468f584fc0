#include "trainer/losses.h"

#include "models/clip.h"

#include <cmath>

namespace fasrl::trainer {
namespace {

torch::Tensor l2n(const torch::Tensor& x) { return x / x.norm(2, -1, true).clamp_min(1e-12); }

// Means of normalised features per present class: centres [C, p], present class ids [C].
std::pair<torch::Tensor, torch::Tensor> class_centres(const torch::Tensor& fn, const torch::Tensor& labels) {
  const torch::Tensor classes = std::get<0>(torch::_unique(labels, /*sorted=*/true));
  std::vector<torch::Tensor> centres;
  for (int64_t k = 0; k < classes.size(0); ++k) centres.push_back(fn.index({labels == classes[k]}).mean(0));
  return {torch::stack(centres), classes};
}

// logsumexp over the last dim, skipping entries where `keep` is false.
torch::Tensor masked_lse(const torch::Tensor& x, const torch::Tensor& keep) {
  return torch::logsumexp(x.masked_fill(keep.logical_not(), -std::numeric_limits<double>::infinity()), -1);
}

}  // namespace

torch::Tensor clip_ce_loss(const torch::Tensor& img, const torch::Tensor& text, const torch::Tensor& logit_scale,
                           const torch::Tensor& labels) {
  return torch::nn::functional::cross_entropy(models::clip_logits(img, text, logit_scale), labels);
}

torch::Tensor dm_loss(const torch::Tensor& f, const torch::Tensor& labels, double threshold) {
  auto [centres, classes] = class_centres(l2n(f), labels);
  const int64_t c = centres.size(0);
  if (c < 2) return f.sum() * 0;
  const torch::Tensor rc = torch::matmul(centres, centres.t());                        // R_c [C, C]
  const torch::Tensor off = torch::ones({c, c}, torch::kBool).logical_xor(torch::eye(c, torch::kBool));
  const torch::Tensor q = torch::relu(rc * off.to(rc.dtype()) - threshold);             // Eq. 6-7
  return masked_lse(q, off).pow(2).mean();                                              // Eq. 8
}

torch::Tensor cdm_loss(const torch::Tensor& f, const torch::Tensor& labels) {
  const torch::Tensor fn = l2n(f);
  auto [centres, classes] = class_centres(fn, labels);
  const int64_t c = centres.size(0), p = fn.size(1);
  const torch::Tensor own = (labels.unsqueeze(1) == classes.unsqueeze(0));               // [N, C] one-hot
  const torch::Tensor own_index = own.to(torch::kInt64).argmax(1);                       // [N]
  const torch::Tensor r1 = (fn - centres.index_select(0, own_index)).abs();              // R' [N, p], Eq. 9
  const torch::Tensor att = (torch::logsumexp(r1, 1) - std::log(static_cast<double>(p))).pow(2).mean();  // Eq. 10
  if (c < 2) return att;
  const torch::Tensor r2 = torch::softmax(torch::matmul(fn, centres.t()), 1);           // R'' [N, C], Eq. 11
  const torch::Tensor rep = masked_lse(r2, own.logical_not()).pow(2).mean();             // Eq. 12
  return att + rep;                                                                      // Eq. 13
}

namespace {
// Pairwise squared Euclidean distances of normalised features [N, N] and masks.
struct Pairs {
  torch::Tensor dist, same, diff;
};
Pairs pairs(const torch::Tensor& f, const torch::Tensor& labels) {
  const torch::Tensor fn = l2n(f);
  const torch::Tensor dist = (2 - 2 * torch::matmul(fn, fn.t())).clamp_min(0);
  const torch::Tensor eq = labels.unsqueeze(0) == labels.unsqueeze(1);
  const torch::Tensor eye = torch::eye(f.size(0), torch::TensorOptions().dtype(torch::kBool).device(f.device()));
  return {dist, eq.logical_and(eye.logical_not()), eq.logical_not()};
}
}  // namespace

torch::Tensor triplet_loss(const torch::Tensor& f, const torch::Tensor& labels, double margin) {
  const Pairs p = pairs(f, labels);
  // [a, pos, neg]: d(a,pos) - d(a,neg) + margin over valid triplets; mean over the active ones.
  const torch::Tensor t = p.dist.unsqueeze(2) - p.dist.unsqueeze(1) + margin;
  const torch::Tensor valid = p.same.unsqueeze(2).logical_and(p.diff.unsqueeze(1));
  const torch::Tensor losses = torch::relu(t).masked_select(valid);
  const torch::Tensor active = (losses > 1e-12).sum();
  return losses.numel() == 0 ? f.sum() * 0 : losses.sum() / active.clamp_min(1).to(losses.dtype());
}

torch::Tensor hard_triplet_loss(const torch::Tensor& f, const torch::Tensor& labels, double margin) {
  const Pairs p = pairs(f, labels);
  const torch::Tensor hardest_pos = (p.dist * p.same.to(p.dist.dtype())).amax(1);
  const torch::Tensor hardest_neg = p.dist.masked_fill(p.diff.logical_not(), 1e9).amin(1);
  const torch::Tensor ok = p.same.any(1).logical_and(p.diff.any(1));
  if (!ok.any().item<bool>()) return f.sum() * 0;
  return torch::relu(hardest_pos - hardest_neg + margin).masked_select(ok).mean();
}

torch::Tensor npair_loss(const torch::Tensor& f, const torch::Tensor& labels) {
  // Anchor i, its first positive p(i), all negatives n: log(1 + Σ_n exp(s_in - s_ip)).
  const torch::Tensor fn = l2n(f);
  const torch::Tensor sim = torch::matmul(fn, fn.t());
  const Pairs p = pairs(f, labels);
  const torch::Tensor has_pos = p.same.any(1).logical_and(p.diff.any(1));
  if (!has_pos.any().item<bool>()) return f.sum() * 0;
  const torch::Tensor pos_index = p.same.to(torch::kInt64).argmax(1);
  const torch::Tensor s_pos = sim.gather(1, pos_index.unsqueeze(1));                  // [N, 1]
  const torch::Tensor logits = (sim - s_pos).masked_fill(p.diff.logical_not(), -1e9); // negatives only
  const torch::Tensor per = torch::log1p(torch::exp(logits).sum(1));
  return per.masked_select(has_pos).mean();
}

torch::Tensor supcon_loss(const torch::Tensor& f, const torch::Tensor& labels, double temperature) {
  // Khosla et al.: -mean over positives of log softmax over all others.
  const torch::Tensor fn = l2n(f);
  const int64_t n = f.size(0);
  const torch::Tensor eye = torch::eye(n, torch::TensorOptions().dtype(torch::kBool).device(f.device()));
  const torch::Tensor logits = (torch::matmul(fn, fn.t()) / temperature).masked_fill(eye, -1e9);
  const torch::Tensor log_prob = logits - torch::logsumexp(logits, 1, true);
  const Pairs p = pairs(f, labels);
  const torch::Tensor pos = p.same.to(log_prob.dtype());
  const torch::Tensor count = pos.sum(1);
  const torch::Tensor has = count > 0;
  if (!has.any().item<bool>()) return f.sum() * 0;
  return (-(log_prob * pos).sum(1) / count.clamp_min(1)).masked_select(has).mean();
}

}  // namespace fasrl::trainer
