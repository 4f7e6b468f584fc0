// MoAE-CR losses (paper Eq. 1, 6-14) and the metric-learning baselines it is
// compared with. Labels are binary: 0 live, 1 fake. Features f: [N, p].
//
// Where the paper's text is incomplete or degenerate we choose, and say so:
// * Eq. 1 with two class prompts: S = logit_scale.exp() · norm(img) · norm(text)ᵀ
//   [N, 2] and CE(S, y) — the symmetric form is undefined when texts are
//   classes rather than per-image captions.
// * Eq. 2-5 (missing from every copy): class centres = batch means of the
//   L2-normalised features of each class; R_c = centres · centresᵀ.
// * Eq. 8, 10, 12 as printed, -(LSE(x - max x))², are zero for two classes and
//   would be maximised by the sign; we minimise (LSE)² — logsumexp is computed
//   stably (it subtracts the max internally), which is the paper's stated purpose.
//   Eq. 10 subtracts log p so attraction is zero when a feature sits at its centre.
// * Eq. 12's "j ≠ i" ranges over the classes other than the sample's own.
// A term whose classes are absent from the batch contributes 0.
// Centres are per rank (per local batch), as the paper's per-GPU batch of 32.
#pragma once
#include <torch/torch.h>

namespace fasrl::trainer {

// img [N, p], text [2, p] (row 0 live, row 1 fake), logit_scale scalar (log).
torch::Tensor clip_ce_loss(const torch::Tensor& img, const torch::Tensor& text, const torch::Tensor& logit_scale,
                           const torch::Tensor& labels);

torch::Tensor dm_loss(const torch::Tensor& f, const torch::Tensor& labels, double threshold = 0.5);  // Eq. 6-8
torch::Tensor cdm_loss(const torch::Tensor& f, const torch::Tensor& labels);                           // Eq. 9-13

// Baselines on L2-normalised features.
torch::Tensor triplet_loss(const torch::Tensor& f, const torch::Tensor& labels, double margin = 0.3);       // batch-all
torch::Tensor hard_triplet_loss(const torch::Tensor& f, const torch::Tensor& labels, double margin = 0.3);  // batch-hard
torch::Tensor npair_loss(const torch::Tensor& f, const torch::Tensor& labels);
torch::Tensor supcon_loss(const torch::Tensor& f, const torch::Tensor& labels, double temperature = 0.1);

}  // namespace fasrl::trainer
